"""A runtime that recovers, in real Chromium with real Pyodide: runaway code, cancelled calls,
crashes, and the rough edges of `code` runs.

Without cross-origin isolation a busy run can only be stopped by replacing the page's
worker; with it, a KeyboardInterrupt stops the run and the namespace survives. Either way
every call ends, and other models on the page go on.
"""
from __future__ import annotations

import asyncio
import io
import time
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread

import pytest
from bokeh.layouts import column

from bokeh_live import BokehLive, LiveError
from harness import JS_VIEW, PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser

#: Counts the Python workers a page starts and terminates (installed before the page's
#: scripts); not the one that makes a memory snapshot, which test_snapshot covers.
COUNT_WORKERS = """{
    window.__worker_life = {started: 0, terminated: 0};
    const Original = window.Worker;
    const counted = (options) => options?.name != "bokeh_live: snapshot";
    window.Worker = class extends Original {
      constructor(url, options) {
        super(url, options);
        this.__counted = counted(options);
        if (this.__counted) window.__worker_life.started += 1;
      }
      terminate() { if (this.__counted) window.__worker_life.terminated += 1; super.terminate(); }
    };
}"""


@pytest.fixture
def counted(page):
    """The page, counting the workers of the next page it loads (for this test only)."""
    script = page.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_WORKERS})
    yield page
    page.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})


def open_models(server, page, *names, **props):
    """A page with one BokehLive per name, each with ``props``; the server's models once all are ready."""

    props.setdefault("mode", "app")

    def build(doc):
        doc.add_root(column(*[BokehLive(name=name, **props) for name in names]))
    url = server.app(build)
    page.get(url)
    doc = server.doc(url)
    models = [doc.select_one({"name": name}) for name in names]
    for model in models:
        wait_for(lambda m=model: m.status in ("ready", "error"), PYODIDE_TIMEOUT, what=f"{model.name} ready")
        assert model.status == "ready", model.error
    return models


def call(server, live, code, timeout=30.0, **kwargs):
    return server.call(live.run_python(code, timeout=timeout, **kwargs), timeout=timeout + 60)


def start(server, live, code, timeout=60.0, **kwargs):
    return asyncio.run_coroutine_threadsafe(live.run_python(code, timeout=timeout, **kwargs), server.loop)


def workers(page):
    return page.execute_script("return window.__worker_life")


def runtime(page, attr):
    return page.execute_script(JS_VIEW + f"return live_view(arguments[0]).runtime.{attr}", "a")


def test_a_runaway_call_restarts_the_runtime_and_everything_ends(app_server, counted):
    page = counted
    a, b = open_models(app_server, page, "a", "b", code="import asyncio\nx = 41")
    waiting = start(app_server, b, "await asyncio.sleep(30)\n'never'")  # another model's call in flight
    wait_for(lambda: b._channel and len(b._channel.pending), 10, what="b's call")
    with pytest.raises(TimeoutError):
        call(app_server, a, "while True:\n    pass", timeout=2)
    with pytest.raises(LiveError, match="restarted") as info:
        waiting.result(10)  # fails at once, says why: never a silent timeout
    assert info.value.error_type == "RuntimeError"
    assert call(app_server, b, "x + 1") == 42  # the other model answers, its code ran again
    assert call(app_server, a, "x + 1") == 42  # and the same model, in a fresh namespace
    assert workers(page) == {"started": 2, "terminated": 1}  # the runaway's worker is gone, none leaked
    assert runtime(page, "restarts") == 1 and runtime(page, "can_interrupt") is False


def test_the_restart_after_a_stop_does_not_count_against_the_next_call(app_server, page):
    # Python starts afresh (no snapshot), so the restart takes about as long as the first start
    # did, on a fast machine as on a slow one: the next call's timeout is well under that.
    (live,) = open_models(app_server, page, "a", code="x = 41", snapshot=False)
    timeout = max(0.2, runtime(page, "start_ms") / 2500)
    with pytest.raises(TimeoutError):
        call(app_server, live, "while True:\n    pass", timeout=1)
    # Sent at once, while the page replaces its worker and starts Python again: the call waits
    # for Python without its clock running, then answers.
    assert call(app_server, live, "x + 1", timeout=timeout) == 42
    assert runtime(page, "restarts") == 1 and runtime(page, "start_ms") > 1000 * timeout  # the restart outlasted it


#: Keeps Python busy for ``seconds`` without awaiting; returns when it ran, by the page's clock.
BUSY = "import time\nbegan = time.time()\nwhile time.time() - began < seconds:\n    pass\n(began, time.time())"


def test_models_of_different_workers_run_in_parallel_and_recover_apart(app_server, counted):
    page = counted

    def build(doc):
        doc.add_root(column(*[BokehLive(name=name, mode="app", worker=worker, code=f"mine = {name!r}")
                              for name, worker in (("a", "one"), ("b", "two"), ("c", "one"))]))
    url = app_server.app(build)
    page.get(url)
    doc = app_server.doc(url)
    a, b, c = (doc.select_one({"name": name}) for name in "abc")
    for model in (a, b, c):
        wait_for(lambda m=model: m.status == "ready", PYODIDE_TIMEOUT, what=f"{model.name} ready")
    assert workers(page)["started"] == 2  # one per worker name

    runs = [start(app_server, model, BUSY, seconds=1.5) for model in (a, b, c)]
    (a0, a1), (b0, b1), (c0, c1) = (run.result(60) for run in runs)
    assert max(a0, b0) < min(a1, b1)  # a and b ran at the same time, in two workers
    assert c0 >= a1 or a0 >= c1  # a and c share a worker: one after the other

    with pytest.raises(TimeoutError):  # a runaway in worker "one" replaces that worker only
        call(app_server, a, "while True:\n    pass", timeout=1)
    assert call(app_server, b, "mine") == "b"
    assert call(app_server, a, "mine") == "a" and call(app_server, c, "mine") == "c"  # ran again
    assert workers(page) == {"started": 3, "terminated": 1}


def test_with_isolation_an_interrupt_stops_the_run_and_keeps_the_namespace(isolated_server, counted):
    page = counted
    (live,) = open_models(isolated_server, page, "a", code="x = 41")
    assert page.execute_script("return window.crossOriginIsolated") is True
    assert runtime(page, "can_interrupt") is True
    # Several in a row: one SIGINT read by Python is, now and then (about 1 in 30 in Pyodide
    # 314), not followed by its KeyboardInterrupt; the page stores it again until the run ends.
    for i in range(8):
        with pytest.raises(TimeoutError):
            call(isolated_server, live, f"y = {i}\nwhile True:\n    y += 1", timeout=1)
        assert call(isolated_server, live, "x + 1") == 42  # the namespace survived
        assert call(isolated_server, live, f"y > {i}") is True  # the interrupted run really ran, and stopped
    assert workers(page) == {"started": 1, "terminated": 0} and runtime(page, "restarts") == 0


def test_a_cancelled_call_stops_in_the_browser(app_server, page):
    (live,) = open_models(app_server, page, "a", code="import asyncio, bokeh_live")
    task = start(app_server, live, """
try:
    await asyncio.sleep(30)
    bokeh_live.send("finished anyway")
except asyncio.CancelledError:
    bokeh_live.send("cancelled in the browser")
    raise
""")
    wait_for(lambda: live._channel and len(live._channel.pending), 10, what="the call")
    app_server.loop.call_soon_threadsafe(task.cancel)
    wait_for(lambda: live.output == "cancelled in the browser", 10, what="the browser to cancel the run")
    assert call(app_server, live, "'still here'") == "still here"
    assert runtime(page, "restarts") == 0  # a waiting run needs no restart


def test_a_worker_that_dies_is_reported_and_restarts_on_the_next_call(app_server, page):
    a, b = open_models(app_server, page, "a", "b", code="z = 1")
    with pytest.raises(LiveError, match="crashed"):
        call(app_server, a, "import js\njs.close()\nimport asyncio\nawait asyncio.sleep(30)")
    for model in (a, b):  # every model says what happened
        wait_for(lambda m=model: m.status == "error" and "crashed" in m.error, 10, what=f"{model.name} to report")
    assert "restarts on the next run or call" in b.error
    assert call(app_server, b, "z + 1") == 2  # the next call starts a fresh runtime
    wait_for(lambda: a.status == "ready", 30, what="a to run its code again")


def test_a_fatal_pyodide_error_ends_every_call_and_restarts_on_the_next(app_server, page):
    (live,) = open_models(app_server, page, "a", code="w = 3")
    start = time.monotonic()
    with pytest.raises(LiveError, match="fatal error"):
        call(app_server, live, "import pyodide_js\npyodide_js._api.fatal_error(Exception('boom'))", timeout=60)
    assert time.monotonic() - start < 10  # at once, not at the call's timeout
    wait_for(lambda: live.status == "error" and "crashed" in live.error, 10, what="the crash to be reported")
    assert call(app_server, live, "w") == 3  # a fresh runtime, the code ran again


def test_a_runaway_code_is_stopped_by_run_timeout_and_not_run_again(app_server, page):
    a, b = open_models(app_server, page, "a", "b", code="n = 1")
    app_server.locked(a.document, lambda: setattr(a, "run_timeout", 1.0))
    app_server.locked(a.document, lambda: setattr(a, "code", "while True:\n    pass"))
    wait_for(lambda: a.status == "error", 30, what="the runaway code to be stopped")
    assert a.error.strip().splitlines()[-1] == "TimeoutError: the code ran longer than run_timeout (1 s)"
    assert call(app_server, b, "n") == 1  # the other model ran its code again in the fresh runtime
    time.sleep(3)
    assert a.status == "error" and runtime(page, "restarts") == 1  # no restart loop


def test_interrupt_and_restart_from_the_server(app_server, page):
    (live,) = open_models(app_server, page, "a", code="import time\nk = 5")
    app_server.locked(live.document, lambda: setattr(live, "code", "import time\nk = 6\nwhile True:\n    time.sleep(0.01)"))
    wait_for(lambda: live.status == "running", 10, what="the busy code")
    app_server.locked(live.document, live.interrupt)
    wait_for(lambda: live.status == "error", 30, what="the interrupt")
    assert "interrupted by the server" in live.error
    app_server.locked(live.document, lambda: setattr(live, "code", "k = 7"))
    wait_for(lambda: live.status == "ready", 30, what="the new code")
    before = runtime(page, "restarts")
    app_server.locked(live.document, live.restart)
    wait_for(lambda: runtime(page, "restarts") == before + 1 and live.status == "ready", 30, what="the restart")
    assert call(app_server, live, "k") == 7  # its code ran again in the fresh runtime


def test_the_stop_button_and_escape_stop_running_code(app_server, page):
    def build(doc):
        doc.add_root(BokehLive(name="a", mode="editor", code="while True:\n    pass", run_timeout=None))
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "a"})
    wait_for(lambda: live.status == "running", PYODIDE_TIMEOUT, what="the runaway code")
    button = JS_VIEW + "return live_view('a').shadow_el.querySelector('.bl-stop')"
    wait_for(lambda: page.execute_script(button + ".getClientRects().length") > 0, 10, what="a visible Stop button")
    page.execute_script(button + ".click()")
    wait_for(lambda: live.status == "error" and "KeyboardInterrupt: stopped from the page" in live.error, 30,
             what="Stop")
    app_server.locked(live.document, lambda: setattr(live, "code", "while True:\n    pass\n# again"))
    wait_for(lambda: live.status == "running", 30, what="the code again")
    page.execute_script(JS_VIEW + """live_view('a').shadow_el.querySelector('.cm-content')
        .dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true, composed: true}))""")
    wait_for(lambda: live.status == "error" and "stopped from the page" in live.error, 30, what="Esc")


def test_a_bare_last_expression_of_any_kind_is_shown_not_sent(app_server, page):
    code = "import bokeh_live\ndef handler(data):\n    pass\nbokeh_live.on_server_data(handler)"
    (live,) = open_models(app_server, page, "a", code=code, mode="headless")  # ready, not "cannot be sent"
    assert live.error == "" and live.output is None
    app_server.locked(live.document, lambda: setattr(live, "mode", "app"))
    shown = JS_VIEW + "return live_view('a').shadow_el.querySelector('.bl-result')?.textContent"
    assert "function handler" in wait_for(lambda: page.execute_script(shown), 10, what="the repr in the output")


def test_prints_of_a_busy_loop_stream_to_the_page_and_the_server(app_server, page):
    (live,) = open_models(app_server, page, "a", code="")
    seen = []
    app_server.locked(live.document, lambda: live.on_change("stdout", lambda attr, old, new: seen.append(new)))
    busy = "import time\nfor i in range(12):\n    print(i)\n    end = time.time() + 0.25\n    while time.time() < end:\n        pass\n"
    app_server.locked(live.document, lambda: setattr(live, "code", busy))
    wait_for(lambda: live.status == "running", 10, what="the run")
    wait_for(lambda: live.status == "ready", 30, what="the end of the run")
    partial = [text for text in seen if text and not text.endswith("11\n")]
    assert len(partial) >= 4, seen  # the server saw the output grow while the loop kept the worker busy


def test_data_sent_before_the_code_ran_is_delivered_after_it_in_order(app_server, page):
    code = ("import bokeh_live, time\ntime.sleep(0.5)  # the handler comes late\n"
            "got = []\nbokeh_live.on_server_data(got.append)")

    def build(doc):
        live = BokehLive(name="a", mode="app", code=code)
        doc.add_root(live)
        for i in range(5):
            live.send(i)  # before the page even exists
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "a"})
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="ready")
    assert call(app_server, live, "got") == [0, 1, 2, 3, 4]


def test_status_says_loading_and_names_the_packages_while_they_load(app_server, page, tmp_path):
    wheel = SlowWheel(tmp_path, delay=2.0)
    running_at = []

    def build(doc):
        live = BokehLive(name="a", mode="compact", code="import slow_pkg", packages=[wheel.url])
        live.on_change("status", lambda attr, old, new: new == "running" and running_at.append(time.monotonic()))
        doc.add_root(live)
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "a"})
    status_line = JS_VIEW + "return live_view('a')?.shadow_el.querySelector('.bl-status')?.textContent ?? ''"
    lines = set()
    deadline = time.monotonic() + PYODIDE_TIMEOUT
    while live.status != "ready" and time.monotonic() < deadline:
        lines.add(page.execute_script(status_line))
        time.sleep(0.05)
    assert live.status == "ready", live.error
    assert any("loading packages: " + wheel.url in line for line in lines), lines
    assert wheel.served_at and running_at and running_at[0] >= wheel.served_at[0]  # "running" only once loaded
    assert call(app_server, live, "slow_pkg.VALUE") == 42


def test_output_of_calls_shows_in_debug_mode(app_server, page):
    (live,) = open_models(app_server, page, "a", code="", mode="debug")
    call(app_server, live, "print('printed by a call')")
    log = JS_VIEW + "return live_view('a').shadow_el.querySelector('.bl-output').textContent"
    wait_for(lambda: "printed by a call" in page.execute_script(log), 10, what="the call's output in the log")


def test_leaving_the_page_fails_pending_calls_at_once_and_coming_back_works(app_server, page):
    (live,) = open_models(app_server, page, "a", code="import asyncio")
    calls = [start(app_server, live, "await asyncio.sleep(60)", timeout=120) for _ in range(20)]
    wait_for(lambda: len(live._channel.pending) == 20, 10, what="the calls")
    started = time.monotonic()
    page.get(f"http://127.0.0.1:{app_server.port}/static/js/bokeh.min.js")  # another page, same origin
    for future in calls:
        with pytest.raises(LiveError):
            future.result(30)
    assert time.monotonic() - started < 10  # not their 120 s timeout
    page.back()
    if page.execute_script("return performance.getEntriesByType('navigation')[0].type") == "back_forward":
        assert call(app_server, live, "'back again'") == "back again"


# --- a wheel that takes its time ---------------------------------------------------------------

class SlowWheel:
    """Serves one pure-Python wheel (`slow_pkg`, VALUE = 42) after ``delay`` seconds, with CORS."""

    def __init__(self, root: Path, delay: float) -> None:
        name = "slow_pkg-1.0-py3-none-any.whl"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as z:
            z.writestr("slow_pkg/__init__.py", "VALUE = 42\n")
            z.writestr("slow_pkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: slow_pkg\nVersion: 1.0\n")
            z.writestr("slow_pkg-1.0.dist-info/WHEEL",
                       "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
            z.writestr("slow_pkg-1.0.dist-info/RECORD", "")
        (root / name).write_bytes(buffer.getvalue())
        self.served_at: list[float] = []
        served_at = self.served_at

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def end_headers(self):
                self.send_header("Access-Control-Allow-Origin", "*")
                super().end_headers()

            def do_GET(self):
                time.sleep(delay)
                super().do_GET()
                served_at.append(time.monotonic())

            def log_message(self, *args):
                pass
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"
