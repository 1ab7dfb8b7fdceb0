"""Bokeh's own deployment path: several server processes, and the headers bokeh_live adds.

Bokeh learns an extension's folder only when a process first bundles a page with one of its
models; a process that has not answers 404 for the files. `python -m bokeh_live serve`
imports bokeh_live before it forks, and so does a directory app's app_hooks.py.
"""
from __future__ import annotations

import urllib.error
import urllib.request

import pytest

from harness import PYODIDE_TIMEOUT, BokehServe, wait_for

pytestmark = pytest.mark.browser

APP = """
from bokeh.io import curdoc
from bokeh_live import BokehLive
curdoc().add_root(BokehLive(name="live", mode="app", code="print('served')"))
"""
FILES = ("pyodide/pyodide.mjs", "pyodide/pyodide.asm.wasm", "bokeh_live.min.js", "worker.mjs")


def status(server, path):
    try:
        with urllib.request.urlopen(server.url(path), timeout=30) as response:
            return response.status, dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def test_every_process_serves_the_files_from_its_first_request(page, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--num-procs", "2"))
    try:
        # Before any page: each request may reach either process.
        codes = [status(server, f"static/extensions/bokeh_live/{name}")[0] for _ in range(6) for name in FILES]
        assert codes == [200] * len(codes)
        for _ in range(3):  # pages whose requests land on either process all start
            page.get(server.url("app"))
            wait_for(lambda: page.execute_script(
                "const d = window.Bokeh && Bokeh.documents[0]; const m = d && d.get_model_by_name('live');"
                "return m && m.status == 'ready' && m.stdout"), PYODIDE_TIMEOUT, what="the page to be ready")
    finally:
        server.stop()


def test_a_directory_app_that_imports_bokeh_live_in_its_hooks_serves_them_too(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text(APP)
    (app / "app_hooks.py").write_text("import bokeh_live  # registers its files before bokeh serve forks\n")
    server = BokehServe(app, args=("--num-procs", "2"))
    try:
        codes = [status(server, f"static/extensions/bokeh_live/{name}")[0] for _ in range(4) for name in FILES]
        assert codes == [200] * len(codes)
    finally:
        server.stop()


def test_the_launchers_headers(tmp_path):
    (tmp_path / "app.py").write_text(APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--isolate",))
    try:
        code, headers = status(server, "static/extensions/bokeh_live/pyodide/pyodide.mjs")
        assert code == 200 and headers["Access-Control-Allow-Origin"] == "*"
        assert "max-age" in headers["Cache-Control"]
        code, headers = status(server, "app")
        assert code == 200 and headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Cross-Origin-Embedder-Policy"] == "credentialless"
    finally:
        server.stop()


def session_expiry(server) -> float:
    """Seconds from now until the session token of a page of ``server`` expires."""
    import re
    import time

    from bokeh.util.token import get_token_payload
    with urllib.request.urlopen(server.url("app"), timeout=30) as response:
        html = response.read().decode()
    token = re.search(r'"token":"([^"]+)"', html.replace("&quot;", '"').replace('\\"', '"')).group(1)
    return get_token_payload(token)["session_expiry"] - time.time()


def test_the_launcher_gives_pages_a_token_that_outlives_a_dropped_link(tmp_path):
    """Bokeh checks the token on every websocket, reconnections included: with its default
    of five minutes, an older page cannot reconnect. The launcher makes it a day."""
    (tmp_path / "app.py").write_text(APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live")
    try:
        assert 23 * 3600 < session_expiry(server) <= 24 * 3600
    finally:
        server.stop()
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--session-token-expiration", "600"))
    try:
        assert 500 < session_expiry(server) <= 600  # the command line's wins
    finally:
        server.stop()


def test_an_app_served_at_the_root_serves_the_files_too():
    """``Server({"/": app})`` (scripts that embed a server, a notebook's ``show(app)``): Bokeh
    gives such an app a ``/static/(.*)`` route that would shadow the extensions' files."""
    import asyncio
    import threading

    from bokeh.server.server import Server
    from tornado.ioloop import IOLoop

    from bokeh_live import BokehLive
    from harness import free_port

    port, started = free_port(), threading.Event()
    servers = []

    def run():
        asyncio.set_event_loop(asyncio.new_event_loop())
        server = Server({"/": lambda doc: doc.add_root(BokehLive())}, port=port, address="127.0.0.1",
                        io_loop=IOLoop.current())
        server.start()
        servers.append(server)
        started.set()
        IOLoop.current().start()

    threading.Thread(target=run, daemon=True).start()
    assert started.wait(30)
    try:
        for path in ("/static/extensions/bokeh_live/bokeh_live.min.js", "/static/extensions/bokeh_live/pyodide/pyodide.mjs",
                     "/static/js/bokeh.min.js"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
                assert response.status == 200, path
    finally:
        servers[0].io_loop.add_callback(servers[0].io_loop.stop)
