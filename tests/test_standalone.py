"""One-way use with no server: saved HTML (file:// and http://), components, json_item,
notebook output, the offline folder, bokeh_live.update, and BokehLive inside existing layouts.

There is no internet here, so pages load Pyodide from a local copy served with the CORS
header a public CDN sends (a page opened from file:// has an opaque origin).
"""
from __future__ import annotations

import functools
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from bokeh.embed import components, file_html, json_item
from bokeh.embed.notebook import notebook_content
from bokeh.io import save
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, CustomJS, Div, Paragraph, Slider
from bokeh.plotting import figure
from bokeh.resources import INLINE

from bokeh_live import BokehLive, save_offline
from bokeh_live.live import PYODIDE_URL_ENV
from bokeh_live.standalone import PYODIDE_DIR, resources_html
from harness import JS_VIEW, PYODIDE_TIMEOUT, count_workers, wait_for

pytestmark = pytest.mark.browser

PLOT_CODE = """\
import math
import bokeh_live
xs = [i / 10 for i in range(50)]
bokeh_live.update("src", data={"x": xs, "y": [math.sin(x) for x in xs]})
print("updated", len(xs))
"""


# --- small web servers -------------------------------------------------------------------

class StaticServer:
    """``http.server`` on 127.0.0.1 in a thread, serving ``root``; ``cors`` adds the
    Access-Control-Allow-Origin header public CDNs send, ``headers`` any others."""

    def __init__(self, root: Path, cors: bool = False, headers: dict[str, str] | None = None) -> None:
        extra = {"Access-Control-Allow-Origin": "*"} if cors else {}
        extra.update(headers or {})

        class Handler(SimpleHTTPRequestHandler):
            def end_headers(self) -> None:
                for name, value in extra.items():
                    self.send_header(name, value)
                super().end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def pyodide_cdn():
    """Pyodide's files as a CDN serves them: another origin, with CORS."""
    server = StaticServer(PYODIDE_DIR, cors=True)
    yield server.url()
    server.stop()


@pytest.fixture
def site(tmp_path):
    """A plain web server (no CORS header) for pages written to ``tmp_path``."""
    server = StaticServer(tmp_path)
    yield server
    server.stop()


# --- reading the page ---------------------------------------------------------------------

def wait_live(page, name="live", timeout=PYODIDE_TIMEOUT):
    """Wait until the named BokehLive finished its code; return its status, stdout, stderr, error."""
    script = JS_VIEW + """
        if (typeof Bokeh == "undefined") return null;
        const view = live_view(arguments[0]);
        if (view == null || !["ready", "error"].includes(view.model.status)) return null;
        const {status, stdout, stderr, error} = view.model;
        return {status, stdout, stderr, error};"""
    return wait_for(lambda: page.execute_script(script, name), timeout, what=f"{name} to finish")


def model_prop(page, name, prop):
    """A property of the page's model called ``name``, as BokehJS has it (arrays as lists)."""
    return page.execute_script("""
        for (const doc of Bokeh.documents) {
          const [name, prop] = arguments, model = doc.get_model_by_name(name);
          if (model != null) { const v = model[prop];
            const entries = v instanceof Map ? [...v] : prop == "data" ? Object.entries(v) : null;
            return entries ? Object.fromEntries(entries.map(([k, a]) => [k, Array.from(a)])) : v; }
        }
        return undefined;""", name, prop)


def console(page):
    return [entry["message"] for entry in page.get_log("browser")]


def plot_page(**live_props):
    source = ColumnDataSource(data={"x": [0.0], "y": [0.0]}, name="src")
    plot = figure(width=300, height=200)
    plot.line("x", "y", source=source)
    live = BokehLive(name="live", mode="app", code=PLOT_CODE, allow_update={"src": ["data"]}, **live_props)
    return column(Div(text="A page"), live, plot)


def assert_plot_updated(page):
    result = wait_live(page)
    assert result["status"] == "ready", result
    assert result["stdout"] == "updated 50\n"
    data = model_prop(page, "src", "data")
    assert len(data["x"]) == 50 and data["y"][10] == pytest.approx(0.8414709848)


# --- saved pages ----------------------------------------------------------------------------

def test_saved_page_runs_from_file_url(page, tmp_path, pyodide_cdn):
    path = tmp_path / "page.html"
    save(plot_page(pyodide_url=pyodide_cdn), path, resources=INLINE, title="file")
    page.get(path.as_uri())
    assert_plot_updated(page)


def test_saved_page_runs_over_http(page, tmp_path, site, pyodide_cdn):
    (tmp_path / "page.html").write_text(file_html(plot_page(pyodide_url=pyodide_cdn), INLINE, "http"))
    page.get(site.url("page.html"))
    assert_plot_updated(page)


def test_environment_variable_names_the_pyodide_url(page, tmp_path, monkeypatch, pyodide_cdn):
    monkeypatch.setenv(PYODIDE_URL_ENV, pyodide_cdn)
    layout = plot_page()
    assert layout.children[1].pyodide_url == pyodide_cdn
    path = tmp_path / "page.html"
    path.write_text(file_html(layout, INLINE, "env"))
    page.get(path.as_uri())
    assert_plot_updated(page)


def test_standalone_pages_default_to_the_public_cdn(page, tmp_path):
    path = tmp_path / "page.html"
    path.write_text(file_html(BokehLive(name="live", code="1"), INLINE, "cdn"))
    page.get(path.as_uri())
    url = page.execute_script(JS_VIEW + "return live_view('live').runtime.index_url")
    assert url.startswith("https://cdn.jsdelivr.net/pyodide/v") and url.endswith("/full/")


def test_send_without_a_server_is_a_noop_said_once(page, tmp_path, pyodide_cdn):
    code = "import bokeh_live\nbokeh_live.send(1)\nbokeh_live.send({'two': 2})\nprint('still running')"
    path = tmp_path / "page.html"
    path.write_text(file_html(BokehLive(name="live", code=code, pyodide_url=pyodide_cdn), INLINE, "send"))
    console(page)  # drop older entries
    page.get(path.as_uri())
    result = wait_live(page)
    assert result["status"] == "ready" and result["stdout"] == "still running\n", result
    notes = [m for m in console(page) if "has no Bokeh server" in m]
    assert len(notes) == 1 and "bokeh_live.send()" in notes[0]


def test_update_reports_unknown_models_properties_and_bad_values(page, tmp_path, pyodide_cdn):
    code = """\
import bokeh_live
bokeh_live.update("nowhere", text="x")
bokeh_live.update("label", colour="red")
bokeh_live.update("label", text=42)
bokeh_live.update("label", text="changed")
print("done")
"""
    live = BokehLive(name="live", code=code, pyodide_url=pyodide_cdn,
                     allow_update={"nowhere": ["text"], "label": ["text", "colour"]})
    layout = column(Paragraph(name="label", text="before"), live)
    path = tmp_path / "page.html"
    path.write_text(file_html(layout, INLINE, "update errors"))
    page.get(path.as_uri())
    result = wait_live(page)
    assert result["status"] == "ready" and result["stdout"] == "done\n"
    errors = result["stderr"].splitlines()
    assert errors == [
        "bokeh_live.update: no model named 'nowhere' in this document (give the model name=\"nowhere\")",
        "bokeh_live.update: Paragraph 'label' has no property 'colour'",
        "bokeh_live.update: Paragraph.text cannot take this value (expected Str)",
    ]
    assert model_prop(page, "label", "text") == "changed"  # the failures changed nothing else


def test_offline_folder_served_over_http(page, tmp_path, site):
    index = save_offline(plot_page(), tmp_path / "offline", title="offline")
    assert index == tmp_path / "offline" / "index.html"
    assert (tmp_path / "offline" / "pyodide" / "pyodide.asm.wasm").exists()
    assert "https://cdn" not in index.read_text()[:5000]  # BokehJS is inlined, not from a CDN
    page.get(site.url("offline/index.html"))
    assert_plot_updated(page)


def test_offline_folder_from_file_url_says_to_serve_it(page, tmp_path):
    """Chromium refuses a module worker importing from file://: the page says what to do."""
    layout = plot_page(pyodide_url="https://example.invalid/")
    index = save_offline(layout, tmp_path / "offline")
    assert layout.children[1].pyodide_url == "https://example.invalid/"  # restored after saving
    page.get(index.as_uri())
    note = wait_for(lambda: page.execute_script(
        "const n = document.querySelector('.bokeh-live-file-note'); return n && n.textContent"), 30, what="note")
    assert "python -m http.server" in note
    result = wait_live(page, timeout=60)
    assert result["status"] == "error" and "pyodide/" in result["error"]


# --- components, json_item, notebook output -------------------------------------------------

def test_components_page(page, tmp_path, pyodide_cdn):
    layout = plot_page(pyodide_url=pyodide_cdn)
    script, div = components(layout)
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><head>{resources_html([layout], INLINE)}</head>"
                    f"<body><h1>My page</h1>{div}{script}</body></html>")
    page.get(path.as_uri())
    assert_plot_updated(page)


def test_json_item_page(page, tmp_path, site, pyodide_cdn):
    layout = plot_page(pyodide_url=pyodide_cdn)
    (tmp_path / "item.json").write_text(json.dumps(json_item(layout, "target")))
    (tmp_path / "page.html").write_text(f"""<!doctype html><html><head>{resources_html(None, INLINE)}</head>
<body><div id="target"></div><script>
fetch("item.json").then((r) => r.json()).then((item) => Bokeh.embed.embed_item(item))
</script></body></html>""")
    page.get(site.url("page.html"))
    assert_plot_updated(page)


def test_notebook_output(page, tmp_path, pyodide_cdn):
    """What ``output_notebook()`` + ``show()`` put in a notebook cell, outside Jupyter."""
    layout = plot_page(pyodide_url=pyodide_cdn)
    script, div, _ = notebook_content(layout)
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><head>{resources_html(None, INLINE)}</head>"
                    f"<body>{div}<script>{script}</script></body></html>")
    page.get(path.as_uri())
    assert_plot_updated(page)


# --- beside an existing dashboard -----------------------------------------------------------

def dashboard(pyodide_url=None):
    source = ColumnDataSource(data={"x": [0.0], "y": [0.0]}, name="src")
    plot = figure(width=300, height=200, title="existing plot")
    plot.scatter("x", "y", source=source)
    slider = Slider(start=0, end=10, value=3, title="existing slider", name="slider")
    echo, state = Div(name="echo", text="-"), Div(name="state", text="-")
    first = BokehLive(name="live", mode="app", code=PLOT_CODE, pyodide_url=pyodide_url, allow_update={"src": ["data"]})
    second = BokehLive(name="second", mode="compact", code="print('second says hi')", pyodide_url=pyodide_url)
    second.js_on_change("stdout", CustomJS(args=dict(div=echo), code="div.text = 'echo: ' + cb_obj.stdout"))
    first.js_on_change("status", CustomJS(args=dict(div=state), code="div.text = div.text + ' ' + cb_obj.status"))
    return column(Div(text="<h1>Existing dashboard</h1>"), row(slider, plot), first, second, echo, state)


def test_standalone_dashboard_custom_js_and_one_runtime(page, tmp_path, pyodide_cdn):
    path = tmp_path / "page.html"
    path.write_text(file_html(dashboard(pyodide_cdn), INLINE, "dashboard", suppress_callback_warning=True))
    count_workers(page)
    page.get(path.as_uri())
    assert_plot_updated(page)
    assert wait_live(page, "second")["stdout"] == "second says hi\n"
    wait_for(lambda: model_prop(page, "echo", "text") == "echo: second says hi\n", 10, what="CustomJS on stdout")
    assert model_prop(page, "state", "text").split()[-2:] == ["running", "ready"]
    assert model_prop(page, "slider", "value") == 3
    assert page.execute_script("return window.__workers") == 1


def test_dashboard_in_a_server_app_and_update_reaches_the_server(app_server, page):
    def build(doc):
        doc.add_root(dashboard())
    url = app_server.app(build)
    count_workers(page)
    page.get(url)
    doc = app_server.doc(url)
    source, echo = doc.select_one({"name": "src"}), doc.select_one({"name": "echo"})
    # bokeh_live.update ran in the browser; the change came back to the server like any other.
    wait_for(lambda: len(source.data["x"]) == 50, PYODIDE_TIMEOUT, what="update synced to the server")
    assert source.data["y"][10] == pytest.approx(0.8414709848)
    wait_for(lambda: echo.text == "echo: second says hi\n", 30, what="CustomJS change synced")
    assert page.execute_script("return window.__workers") == 1


def test_server_app_embedded_in_another_sites_page(page, tmp_path, site, pyodide_cdn):
    """``server_document`` puts a live app into a page of another origin. The Bokeh server's
    copy of Pyodide is then cross-origin without CORS, so Pyodide must come from a host that
    sends the header (the public CDN does): here through BOKEH_LIVE_PYODIDE_URL."""
    from bokeh.embed import server_document

    from harness import BokehServe

    app = Path(__file__).parent.parent / "examples" / "hello.py"
    served = BokehServe(app, env={PYODIDE_URL_ENV: pyodide_cdn},
                        args=("--allow-websocket-origin", f"127.0.0.1:{site.port}"))
    try:
        (tmp_path / "index.html").write_text(
            f"<!doctype html><html><body><h1>Another site</h1>{server_document(served.url('hello'))}</body></html>")
        page.get(site.url("index.html"))
        result = wait_live(page)
        assert result["status"] == "ready" and "6 * 7 = 42" in result["stdout"], result
        wait_for(lambda: "received" in (model_prop(page, "seen", "text") or ""), 30, what="the server's echo")
    finally:
        served.stop()
