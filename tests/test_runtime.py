"""The foundation, end to end: a real Bokeh server, real Chromium, Pyodide in a real worker."""
from __future__ import annotations

import logging

import pytest
from bokeh.layouts import column
from bokeh.models import Div

from bokeh_live import BokehLive
from harness import PYODIDE_TIMEOUT, chromium, count_workers, shadow_text, view_size, wait_for

pytestmark = pytest.mark.browser


def serve(app_server, page, **props):
    """Serve one BokehLive with ``props``; return the server-side model once the page loaded."""
    def build(doc):
        doc.add_root(column(Div(text="beside"), BokehLive(name="live", **props)))
    url = app_server.app(build)
    page.get(url)
    doc = app_server.doc(url)
    return doc.select_one({"name": "live"})


def test_print_reaches_the_server(app_server, page):
    live = serve(app_server, page, code="print(6*7)", mode="app")
    wait_for(lambda: live.status == "ready" and live.stdout, PYODIDE_TIMEOUT, what="status ready with stdout")
    assert live.stdout == "42\n"
    assert live.stderr == "" and live.error == ""
    assert "42" in shadow_text(page, ".bl-output")


def test_status_goes_through_loading_to_ready(app_server, page):
    seen = []

    def build(doc):
        live = BokehLive(name="live", code="x = 1")
        live.on_change("status", lambda attr, old, new: seen.append(new))
        doc.add_root(live)
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="ready")
    assert seen[0] == "loading" and seen[-2:] == ["running", "ready"]


def test_exception_sets_error_with_user_line_numbers(app_server, page):
    code = "x = 1\n\ndef f():\n    return 1 / 0\n\nf()\n"
    live = serve(app_server, page, code=code)
    wait_for(lambda: live.status == "error", PYODIDE_TIMEOUT, what="status error")
    assert "ZeroDivisionError: division by zero" in live.error
    assert 'File "<code>", line 6' in live.error and 'line 4, in f' in live.error
    assert "return 1 / 0" in live.error
    assert "bokeh_live/" not in live.error and "<code-" not in live.error  # only the user's frames, by their names


def test_next_run_clears_the_error(app_server, page):
    live = serve(app_server, page, code="raise ValueError('boom')")
    wait_for(lambda: live.status == "error", PYODIDE_TIMEOUT, what="status error")
    assert live.error.strip().endswith("ValueError: boom")
    doc = live.document
    app_server.locked(doc, lambda: setattr(live, "code", "print('fine')"))
    wait_for(lambda: live.status == "ready" and live.stdout == "fine\n", 30, what="second run")
    assert live.error == ""


def test_stderr_and_syntax_error(app_server, page):
    live = serve(app_server, page, code="import sys\nprint('oops', file=sys.stderr)\n")
    wait_for(lambda: live.status == "ready" and live.stderr, PYODIDE_TIMEOUT, what="stderr")
    assert live.stderr == "oops\n" and live.stdout == ""
    app_server.locked(live.document, lambda: setattr(live, "code", "def broken(:\n"))
    wait_for(lambda: live.status == "error", 30, what="syntax error")
    assert "SyntaxError" in live.error and "line 1" in live.error


def test_models_share_one_worker_but_not_namespaces(app_server, page):
    def build(doc):
        doc.add_root(column(
            BokehLive(name="a", code="x = 'a'\nprint(x)"),
            BokehLive(name="b", code="print(globals().get('x', 'unset'))"),
        ))
    url = app_server.app(build)
    count_workers(page)
    page.get(url)
    doc = app_server.doc(url)
    a, b = doc.select_one({"name": "a"}), doc.select_one({"name": "b"})
    wait_for(lambda: a.stdout and b.stdout, PYODIDE_TIMEOUT, what="both models ran")
    assert (a.stdout, b.stdout) == ("a\n", "unset\n")
    assert page.execute_script("return window.__workers") == 1  # one runtime, not one per model


def test_headless_takes_no_space(app_server, page):
    live = serve(app_server, page, code="print('hidden')", mode="headless")
    wait_for(lambda: live.stdout == "hidden\n", PYODIDE_TIMEOUT, what="headless run")
    size = view_size(page, "live")
    assert size == [0, 0]


def test_auto_run_off_waits(app_server, page):
    live = serve(app_server, page, code="print('should not run')", auto_run=False)
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="ready")
    assert live.stdout == ""


def test_pyodide_comes_from_the_bokeh_server(app_server, caplog):
    cold = chromium()  # a fresh profile: nothing cached, every file must be fetched
    try:
        with caplog.at_level(logging.INFO, logger="tornado.access"):
            live = serve(app_server, cold, code="1")
            wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="ready")
    finally:
        cold.quit()
    served = " ".join(r.getMessage() for r in caplog.records)
    for name in ("pyodide.mjs", "pyodide.asm.wasm", "python_stdlib.zip"):
        assert f"200 GET /static/extensions/bokeh_live/pyodide/{name}" in served


def test_a_runtime_that_failed_to_start_does_not_hold_the_page(app_server, page):
    """The first model names a Pyodide that cannot be had; a model added later with a
    working one gets a fresh runtime instead of the failed one."""
    def build(doc):
        doc.add_root(BokehLive(name="broken", mode="app", code="1", pyodide_url="http://127.0.0.1:9/no-pyodide/"))
    url = app_server.app(build)
    page.get(url)
    doc = app_server.doc(url)
    broken = doc.select_one({"name": "broken"})
    wait_for(lambda: broken.status == "error", PYODIDE_TIMEOUT, what="the broken model to fail")
    assert "127.0.0.1:9/no-pyodide/" in broken.error
    working = BokehLive(name="working", mode="app", code="print('fresh runtime')")
    app_server.locked(doc, lambda: doc.add_root(working))
    wait_for(lambda: working.status in ("ready", "error"), PYODIDE_TIMEOUT, what="the added model to start")
    assert working.status == "ready" and working.stdout == "fresh runtime\n", working.error
    assert broken.status == "error"
