"""Every example in examples/ runs as its docstring says and does its job, in real Chromium:
the server apps under a real ``bokeh serve``, the standalone one as a saved page."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_standalone import StaticServer, model_prop, pyodide_cdn, wait_live  # noqa: F401 - fixture

from harness import JS_VIEW, OUTPUT, PYODIDE_TIMEOUT, BokehServe, wait_for

pytestmark = pytest.mark.browser

EXAMPLES = Path(__file__).parent.parent / "examples"
SERVER_APPS = ["hello", "offload", "streaming", "sandbox", "messaging"]


@pytest.fixture(scope="module")
def served():
    server = BokehServe(*(EXAMPLES / f"{name}.py" for name in SERVER_APPS))
    yield server
    server.stop()


def open_app(page, served, name):
    page.get(served.url(name))
    result = wait_live(page)
    assert result["status"] == "ready", f"{result}\n{served.output()}"
    return result


def click(page, name):
    """Click a Bokeh button once the page has it enabled (a disabled button ignores clicks)."""
    wait_for(lambda: page.execute_script(
        "const b = Bokeh.documents[0].get_model_by_name(arguments[0]); return b != null && !b.disabled", name),
        30, what=f"the {name} button to be enabled")
    page.execute_script(JS_VIEW + "live_view(arguments[0]).button_el.click()", name)


def set_prop(page, name, prop, value):
    page.execute_script("Bokeh.documents[0].get_model_by_name(arguments[0])[arguments[1]] = arguments[2]",
                        name, prop, value)


def screenshot(page, name):
    OUTPUT.mkdir(exist_ok=True)
    page.save_screenshot(str(OUTPUT / f"example-{name}.png"))


def test_hello(page, served):
    result = open_app(page, served, "hello")
    assert "6 * 7 = 42" in result["stdout"]
    text = wait_for(lambda: "received" in (model_prop(page, "seen", "text") or "")
                    and model_prop(page, "seen", "text"), 30, what="the server's echo")
    assert "6 * 7 = 42" in text
    screenshot(page, "hello")


def test_offload_computes_the_image_in_the_browser(page, served):
    open_app(page, served, "offload")
    info = wait_for(lambda: "round trip" in (model_prop(page, "info", "text") or "")
                    and model_prop(page, "info", "text"), 120, what="the first image")
    assert "300&times;240" in info
    shape, inside, outside = page.execute_script("""
        const data = Bokeh.documents[0].get_model_by_name("image").data;
        const image = (data instanceof Map ? data.get("image") : data.image)[0];
        // c = 0 (column 220, row 120) is in the set: it reaches the iteration limit; c = -2.2 escapes at once.
        return [image.shape, image[120 * 300 + 220], image[120 * 300]];""")
    assert shape == [240, 300] and inside == 80 and outside < 5
    # The dashboard shows live.metrics(): the start-up, the one call and the bytes it moved.
    text = wait_for(lambda: "1 calls" in (model_prop(page, "metrics", "text") or "")
                    and model_prop(page, "metrics", "text"), 30, what="the metrics after the call")
    assert re.search(r"Python started in [\d,]+ ms", text) and "0 failed, 0 timed out" in text, text
    assert re.search(r"received 1 \((\d+\.\d) KB\)", text) and float(re.search(r"received 1 \(([\d,.]+) KB", text)[1].replace(",", "")) > 500
    screenshot(page, "offload")


def test_streaming_browser_analyses_what_the_server_pushes(page, served):
    open_app(page, served, "streaming")
    wait_for(lambda: "analysed" in (model_prop(page, "counter", "text") or "")
             and int(model_prop(page, "counter", "text").split()[3]) >= 10, 60, what="ten analysed readings")
    stats = model_prop(page, "stats", "data")
    raw = model_prop(page, "raw", "data")
    assert len(stats["t"]) >= 10 and set(stats["t"]) <= set(raw["t"])
    assert all(low <= mean <= high for low, mean, high in zip(stats["low"], stats["mean"], stats["high"], strict=True))
    screenshot(page, "streaming")


def test_sandbox_runs_code_in_the_browser_and_reports_errors(page, served):
    open_app(page, served, "sandbox")
    click(page, "run")
    wait_for(lambda: "[2, 3, 5, 7, 11" in (model_prop(page, "result", "text") or ""), 30, what="primes")
    set_prop(page, "source", "value", "import sys\nsys.platform")
    click(page, "run")
    wait_for(lambda: "emscripten" in (model_prop(page, "result", "text") or ""), 30, what="the browser's platform")
    set_prop(page, "source", "value", "def parse(text):\n    return int(text)\n\nparse('forty-two')")
    click(page, "run")
    text = wait_for(lambda: "Error" in (model_prop(page, "result", "text") or "")
                    and model_prop(page, "result", "text"), 30, what="the error")
    assert "ValueError" in text and "invalid literal" in text and "line 4" in text
    screenshot(page, "sandbox")
    set_prop(page, "source", "value", "while True:\n    pass")  # runaway code: stopped, and the page goes on
    click(page, "run")
    wait_for(lambda: "stopped in your browser" in (model_prop(page, "result", "text") or ""), 30, what="the stop")
    set_prop(page, "source", "value", "6 * 7")
    click(page, "run")
    # A sandboxed worker cannot be interrupted: the stop replaced it, and Python starts again.
    wait_for(lambda: "42" in (model_prop(page, "result", "text") or ""), PYODIDE_TIMEOUT, what="the next snippet")


def test_messaging_send_output_and_run_python(page, served):
    open_app(page, served, "messaging")
    for _ in range(3):
        click(page, "send")
    try:
        wait_for(lambda: "holds 3 documents" in (model_prop(page, "status", "text") or ""), 60, what="three documents")
    except AssertionError as e:
        raise AssertionError(f"{e}; status: {model_prop(page, 'status', 'text')}\n{served.output()[-2000:]}") from None
    bars = model_prop(page, "bars", "data")
    assert bars["words"] and min(bars["counts"]) >= 1
    assert not set(bars["words"]) & {"the", "a", "and", "of", "to", "in"}  # the server's stopwords, fetched by the browser
    set_prop(page, "query", "value", bars["words"][0])
    click(page, "search")
    found = wait_for(lambda: "documents</b>" in (model_prop(page, "found", "text") or "")
                     and model_prop(page, "found", "text"), 60, what="search results")
    assert not found.startswith("<b>0 ") and bars["words"][0] in found.lower()
    screenshot(page, "messaging")


def run_example(*args, env=None):
    return subprocess.run([sys.executable, str(EXAMPLES / "standalone_plot.py"), *args], capture_output=True,
                          text=True, check=True, timeout=120, env={**os.environ, **(env or {})})


def check_lorenz(page):
    result = wait_live(page)
    assert result["status"] == "ready", result
    assert result["stdout"] == "computed 5000 points in the browser\n"
    data = model_prop(page, "trajectory", "data")
    assert len(data["x"]) == 5000 and max(data["z"]) > 40  # the attractor's upper lobe
    assert "5000 steps" in model_prop(page, "title", "text")


def test_standalone_plot_page(page, tmp_path, pyodide_cdn):  # noqa: F811 - the fixture
    out = tmp_path / "standalone_plot.html"
    run_example(str(out), env={"BOKEH_LIVE_PYODIDE_URL": pyodide_cdn})
    page.get(out.as_uri())
    check_lorenz(page)
    screenshot(page, "standalone")


def test_standalone_plot_offline_folder(page, tmp_path):
    proc = run_example("--offline", str(tmp_path / "site"))
    assert "python -m http.server" in proc.stdout
    server = StaticServer(tmp_path / "site")
    try:
        page.get(server.url("index.html"))
        check_lorenz(page)
    finally:
        server.stop()


# --- browser callbacks: the sliders page (no server) and the dashboard (server) ---------------------------------

def check_sliders(page):
    """The classic sliders demo: moving a slider redraws the curve in the browser."""
    result = wait_live(page)
    assert result["status"] == "ready", result
    wait_for(lambda: len((model_prop(page, "curve", "data") or {}).get("y", [])) == 200, 30, what="the first curve")
    set_prop(page, "amplitude", "value", 2.0)
    set_prop(page, "offset", "value", 0.5)
    wait_for(lambda: max(model_prop(page, "curve", "data")["y"]) == pytest.approx(2.5, abs=0.01), 30,
             what="the curve to follow the sliders")
    set_prop(page, "title", "value", "moved in the browser")
    wait_for(lambda: page.execute_script(
        "return Bokeh.documents[0].get_model_by_name('plot_title').text") == "moved in the browser", 30,
        what="the title to follow its input")


def run_sliders(*args, env=None):
    return subprocess.run([sys.executable, str(EXAMPLES / "sliders.py"), *args], capture_output=True,
                          text=True, check=True, timeout=120, env={**os.environ, **(env or {})})


def test_sliders_page_over_http(page, tmp_path, pyodide_cdn):  # noqa: F811 - the fixture
    run_sliders(str(tmp_path / "sliders.html"), env={"BOKEH_LIVE_PYODIDE_URL": pyodide_cdn})
    server = StaticServer(tmp_path)
    try:
        page.get(server.url("sliders.html"))
        check_sliders(page)
        screenshot(page, "sliders")
    finally:
        server.stop()


def test_sliders_offline_folder(page, tmp_path):
    run_sliders("--offline", str(tmp_path / "site"))
    server = StaticServer(tmp_path / "site")
    try:
        page.get(server.url("index.html"))
        check_sliders(page)
    finally:
        server.stop()


def test_dashboard_computes_in_the_browser_and_keeps_what_is_chosen(page):
    server = BokehServe(EXAMPLES / "dashboard.py")
    try:
        page.get(server.url("dashboard"))
        result = wait_live(page)
        assert result["status"] == "ready", f"{result}\n{server.output()}"
        wait_for(lambda: "outliers" in (model_prop(page, "summary", "text") or ""), 30, what="the first summary")
        set_prop(page, "threshold", "value", 2.0)
        wait_for(lambda: "threshold 2.0 sigma" in model_prop(page, "summary", "text"), 30, what="a recomputation")
        flagged = len(model_prop(page, "outliers", "data")["x"])
        assert flagged > 25  # the 25 planted outliers, and more at 2 sigma
        click(page, "keep")
        kept = wait_for(lambda: page.execute_script("""
            for (const m of Bokeh.documents[0].all_models)
              if (m.type == 'DataTable') { const d = m.source.data; const w = d instanceof Map ? d.get('window') : d.window;
                return w != null && w.length ? [Array.from(w), Array.from(d instanceof Map ? d.get('outliers') : d.outliers)] : null }
            return null"""), 30, what="the kept row, streamed by the server")
        assert kept == [[51], [flagged]]
        screenshot(page, "dashboard")
    finally:
        server.stop()


def test_operations_dashboard_shows_what_the_servers_metrics_say(page, tmp_path):
    """examples/operations.py against a real ``python -m bokeh_live serve --metrics`` whose
    pages made real calls: its table shows their counts, its rates start from there."""
    from test_metrics import APP  # each page: two calls answered, one raising in the browser

    (tmp_path / "app.py").write_text(APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--metrics",))
    dashboard = None
    try:
        page.get(server.url("app"))
        wait_for(lambda: model_prop(page, "report", "text"), PYODIDE_TIMEOUT, what="the page's calls")
        page.get("about:blank")
        dashboard = BokehServe(EXAMPLES / "operations.py", env={"BOKEH_LIVE_METRICS_URL": server.url("metrics")})
        page.get(dashboard.url("operations"))
        table = wait_for(lambda: model_prop(page, "counters", "text"), 30, what="the dashboard's table")
        for what, value in (("calls", "3"), ("timeouts", "0"), ("refused browser messages", "0")):
            assert f"<td>{what}</td><td align='right'>{value}</td>" in table, table
        assert "<td>mean browser start</td><td align='right'>-" not in table  # the page's start, reported
        rates = wait_for(lambda: (model_prop(page, "rates", "data") or {}).get("t") and model_prop(page, "rates", "data"),
                         30, what="the first rates, two scrapes apart")
        assert rates["ok"][0] == rates["error"][0] == 0  # (no calls since the first scrape)
        screenshot(page, "operations")
    finally:
        if dashboard is not None:
            dashboard.stop()
        server.stop()
