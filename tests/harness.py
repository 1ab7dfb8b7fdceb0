"""Real parts for browser tests: a Bokeh server in a thread, `bokeh serve` in a subprocess,
and headless Chromium driven by Selenium. Nothing here stands in for the browser, the
worker, the websocket or Pyodide.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from bokeh.application import Application
from bokeh.application.handlers.function import FunctionHandler
from bokeh.document import Document
from bokeh.server.server import Server
from tornado.ioloop import IOLoop

T = TypeVar("T")

#: Pyodide's first start in a fresh profile takes seconds; on a loaded CI machine, more.
PYODIDE_TIMEOUT = float(os.environ.get("BOKEH_LIVE_TEST_PYODIDE_TIMEOUT", "120"))

OUTPUT = Path(__file__).parent / "output"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    """Poll until ``predicate()`` is truthy and return it; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


class AppServer:
    """A Bokeh server (the machinery `bokeh serve` runs) on its own thread and event loop.

    Each test registers an app-building function with :meth:`app` and gets its URL; the
    documents the server creates for it are kept so the test can inspect the server side.
    """

    def __init__(self, *, isolate: bool = False, headers: bool = False, origins: tuple[str, ...] = ()) -> None:
        """``headers``: bokeh_live's response headers (CORS on its files), as
        ``python -m bokeh_live serve`` sends them; ``isolate`` adds cross-origin isolation;
        ``origins``: more hosts pages may come from (``127.0.0.1:<port>`` of a proxy)."""
        self.origins = origins
        self.port = free_port()
        self.isolate = isolate
        self.headers = headers or isolate
        self._builders: dict[str, Callable[[Document], None]] = {}
        self.docs: dict[str, list[Document]] = {}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="bokeh-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the Bokeh server did not start")

    def _main(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        handler = FunctionHandler(self._make_doc)
        # A session the page has not connected to within the unused lifetime is discarded:
        # on a busy machine a cold page takes seconds to open its websocket.
        self.server = Server(
            {"/app": Application(handler)}, io_loop=IOLoop.current(), port=self.port,
            address="127.0.0.1", allow_websocket_origin=[f"127.0.0.1:{self.port}", f"localhost:{self.port}",
                                                         *self.origins],
            unused_session_lifetime_milliseconds=8_000, check_unused_sessions_milliseconds=1_000,
        )
        if self.headers:
            from bokeh_live.serve import add_headers
            add_headers(self.server, isolate=self.isolate)
        self.server.start()
        self._ready.set()
        self.loop.run_forever()

    def _make_doc(self, doc: Document) -> None:
        case = doc.session_context.request.arguments["case"][0].decode()
        self.docs.setdefault(case, []).append(doc)
        self._builders[case](doc)

    def app(self, build: Callable[[Document], None], name: str | None = None) -> str:
        """Serve ``build`` (called with each new session's document); return its URL."""
        case = name or f"{build.__name__}-{len(self._builders)}"
        self._builders[case] = build
        return f"http://127.0.0.1:{self.port}/app?case={case}"

    def doc(self, url: str, index: int = -1, timeout: float = 30) -> Document:
        case = url.rsplit("case=", 1)[1]
        wait_for(lambda: self.docs.get(case), timeout, what=f"a session of {case}")
        return self.docs[case][index]

    # --- running things on the server's loop ---------------------------------------------

    def call(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the server loop, outside any document lock (like a callback
        decorated ``without_document_lock``), and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def locked(self, doc: Document, fn: Callable[[], T], timeout: float = 30) -> T:
        """Run ``fn`` as a next-tick callback of ``doc``: holding its lock, as app code does."""
        done: Future[T] = Future()

        def callback() -> None:
            try:
                done.set_result(fn())
            except BaseException as e:
                done.set_exception(e)

        self.loop.call_soon_threadsafe(doc.add_next_tick_callback, callback)
        return done.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)


def listening(proc: subprocess.Popen[Any], port: int, why_it_exited: Callable[[], str]) -> bool:
    """Whether ``proc`` accepts connections on ``port`` yet; raises if it has exited."""
    if proc.poll() is not None:
        raise RuntimeError(why_it_exited())
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class BokehServe:
    """`bokeh serve` of an app file, in a subprocess, on a free port."""

    def __init__(self, *apps: str | Path, env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                 module: str = "bokeh") -> None:
        """``module`` "bokeh_live" runs ``python -m bokeh_live serve`` (``args`` may hold --isolate)."""
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open for the server's whole life
            "w+", prefix="bokeh-serve-", suffix=".log", delete=False)
        cmd = [sys.executable, "-m", module, "serve", *map(str, apps), "--port", str(self.port),
               "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{self.port}", *args]
        # A session of its own: stop() ends the processes --num-procs forks too.
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
                                     start_new_session=True)
        wait_for(lambda: listening(self.proc, self.port, lambda: f"bokeh serve exited:\n{self.output()}"), 60,
                 what="bokeh serve to listen")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.url(path), timeout=30) as r:
            return r.read()

    def output(self) -> str:
        if self.log.closed:  # stopped: the log file is gone, its text was kept
            return self._final_output
        self.log.flush()
        return Path(self.log.name).read_text()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if not self.log.closed:  # a test may still read output() to explain a failure
            self._final_output = self.output()
            self.log.close()
            Path(self.log.name).unlink(missing_ok=True)


NGINX_RECIPE = Path(__file__).parents[1] / "examples" / "deploy" / "nginx.conf"


class Nginx:
    """nginx in the foreground with the recipe, its two upstreams moved to ``backends``."""

    def __init__(self, port: int, backends: list[int], root: Path) -> None:
        self.port = port
        recipe = NGINX_RECIPE.read_text()
        recipe = recipe.replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        recipe = recipe.replace("/var/cache/nginx/bokeh_live", str(root / "cache"))
        recipe = recipe.replace("server 127.0.0.1:5006;", f"server 127.0.0.1:{backends[0]};")
        recipe = recipe.replace("server 127.0.0.1:5007;", f"server 127.0.0.1:{backends[1]};")
        assert recipe.count(str(root)) == 1 and all(f":{port};" in recipe for port in backends)
        user = "user root;" if os.geteuid() == 0 else ""
        (root / "nginx.conf").write_text(f"""
{user}
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    access_log {root}/access.log;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    {recipe}
}}
""")
        self.root = root
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = subprocess.Popen([nginx, "-p", str(root), "-c", str(root / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(lambda: listening(self.proc, self.port, lambda: f"nginx exited: {(root / 'error.log').read_text()}"),
                 30, what="nginx to listen")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def fetch(self, path: str) -> tuple[int, dict[str, str], bytes]:
        with urllib.request.urlopen(self.url(path), timeout=60) as response:
            return response.status, dict(response.headers), response.read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def chromium(profile: str | None = None) -> Any:
    """Headless Chromium from the system packages; the driver path is explicit so Selenium
    never tries to download one."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary = shutil.which("chromium") or "/usr/bin/chromium"
    driver = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--disable-sync", "--window-size=1200,900"):
        options.add_argument(flag)
    own_profile = profile is None
    profile = profile or tempfile.mkdtemp(prefix="bokeh-live-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    if own_profile:  # a profile made here goes when the browser does (each is tens of MB)
        quit_browser = browser.quit

        def quit_and_remove_profile() -> None:
            try:
                quit_browser()
            finally:
                shutil.rmtree(profile, ignore_errors=True)

        browser.quit = quit_and_remove_profile
    return browser


def shadow_text(driver: Any, selector: str) -> str:
    """Text of the first element matching ``selector`` inside any BokehLive view's shadow root."""
    return driver.execute_script(JS_FIND + "const el = find(arguments[0]); return el ? el.textContent : null;",
                                 selector) or ""


#: Finds an element inside the (nested) shadow roots Bokeh renders into.
JS_FIND = """
function find(selector, root = document) {
  const hit = root.querySelector(selector);
  if (hit) return hit;
  for (const el of root.querySelectorAll('*')) {
    if (el.shadowRoot) { const inner = find(selector, el.shadowRoot); if (inner) return inner; }
  }
  return null;
}
"""

#: Finds the BokehJS view of the model called ``name``, from the root views down.
JS_VIEW = """
function live_view(name) {
  const stack = [...Bokeh.index];
  while (stack.length) {
    const view = stack.pop();
    if (view.model && view.model.name == name) return view;
    stack.push(...(view.child_views ?? []));
  }
  return null;
}
"""


#: Counts the Python workers a page starts in ``window.__workers`` (to be installed before
#: the page's scripts): not the one that makes a memory snapshot, which test_snapshot covers.
COUNT_WORKERS = """
    window.__workers = 0;
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url, options) {
        super(url, options);
        if (options?.name != "bokeh_live: snapshot") window.__workers += 1;
      }
    };
"""


def count_workers(driver: Any) -> None:
    """Count the Python workers of the next page loaded (see COUNT_WORKERS)."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_WORKERS})


def view_size(driver: Any, name: str) -> list[float]:
    """Width and height of the named model's element on the page."""
    return driver.execute_script(
        JS_VIEW + "const r = live_view(arguments[0]).el.getBoundingClientRect(); return [r.width, r.height];", name)


class StallMonitor:
    """The worst delay of the server's event loop: a callback due every 5 ms records how
    late it runs. A handler that blocks the loop for 2 s shows as a 2 s stall."""

    PERIOD = 0.005

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.worst = 0.0
        self._running = False

    def _tick(self, due: float) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - due)
        if self._running:
            self.loop.call_later(self.PERIOD, self._tick, now + self.PERIOD)

    def __enter__(self) -> StallMonitor:
        self._running = True
        self.loop.call_soon_threadsafe(lambda: self._tick(time.perf_counter()))
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(2 * self.PERIOD)  # let the loop run a last tick after the work
        self._running = False


def rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc")
