"""Serve Bokeh apps with the response headers that bokeh_live can use.

``bokeh serve`` sends no headers an app could add, and two of bokeh_live's features need
some:

- **Cross-origin isolation** (``--isolate``): ``Cross-Origin-Opener-Policy: same-origin``
  and ``Cross-Origin-Embedder-Policy: credentialless`` on every response. An isolated page
  may share memory with its worker, so a run that must stop (a timeout, ``interrupt()``)
  gets a ``KeyboardInterrupt`` and the namespace survives; without it, the worker is
  restarted. ``credentialless`` still lets the page load cross-origin resources (a CDN's
  BokehJS), without their cookies.
- **CORS on Pyodide's files**: ``Access-Control-Allow-Origin: *`` on
  ``/static/extensions/bokeh_live/``, for pages of another origin that embed the app
  (``server_document``) and for the ``sandbox`` mode, whose worker has an opaque origin;
  and a week of ``Cache-Control`` on Pyodide's files, so browsers and proxies keep them.

It also imports bokeh_live before Bokeh starts (and before ``--num-procs`` forks), so
every server process serves the package's files from its first request; and it makes a
page's session token last a day (``--session-token-expiration 86400``, unless given):
Bokeh checks the token on every websocket a page opens, reconnections included, so with
its default of 300 s a page open for more than five minutes cannot reconnect after a
dropped link, and is dead until reloaded.

Use ``python -m bokeh_live serve [--isolate] <bokeh serve arguments>``, or, with a
``bokeh.server.server.Server`` of your own, :func:`add_headers`.

For operators: ``--metrics`` serves Prometheus metrics at ``/metrics`` (see
``bokeh_live/metrics.py``; :func:`add_metrics` with a ``Server`` of your own), and
``--log-json`` writes bokeh_live's log as JSON lines (``bokeh_live/logs.py``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from tornado.web import OutputTransform

from . import _bokeh_internals
from .shared import PYODIDE_VERSION, VERSION

__all__ = ("add_headers", "add_metrics", "main", "serve_pyodide")

#: How long a page's session token lets it (re)connect, unless the command line says.
SESSION_TOKEN_SECONDS = 86_400

#: Where the Bokeh server serves this package's files (the bundle, the worker, Pyodide).
STATIC_PREFIX = "/static/extensions/bokeh_live/"
PYODIDE_PREFIX = STATIC_PREFIX + "pyodide/"


def _transform(isolate: bool) -> type[OutputTransform]:
    class Headers(OutputTransform):
        def __init__(self, request: Any) -> None:
            super().__init__(request)
            self.path: str = request.path

        def transform_first_chunk(self, status_code: int, headers: Any, chunk: bytes,
                                  finishing: bool) -> tuple[int, Any, bytes]:
            if isolate:
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Cross-Origin-Embedder-Policy"] = "credentialless"
            if self.path.startswith(STATIC_PREFIX):
                headers["Access-Control-Allow-Origin"] = "*"
                headers["Cross-Origin-Resource-Policy"] = "cross-origin"
            if self.path.startswith(PYODIDE_PREFIX) and status_code == 200:
                # 14 MB that change only with the package: let browsers and proxies keep them.
                headers["Cache-Control"] = "public, max-age=604800"
            return status_code, headers, chunk

    return Headers


def add_headers(server: Any, *, isolate: bool = False) -> None:
    """Send bokeh_live's headers from a ``bokeh.server.server.Server`` (before it serves)."""
    _bokeh_internals.tornado_app(server).transforms.append(_transform(isolate))


def in_notebook_kernel() -> None:
    """In a notebook's kernel (called on import): the Bokeh servers that ``show(app)`` starts
    send the CORS headers on this package's files, so that the notebook's page, another
    origin, may load Pyodide from its kernel's server."""
    _bokeh_internals.on_tornado_app(lambda app: app.transforms.append(_transform(False)))


#: The URL :func:`serve_pyodide` serves at in this process, once it does.
_served: str | None = None


def stable_port() -> int:
    """A port named by this package's and Pyodide's versions: a kernel that restarts serves
    Pyodide at the same address, so pages keep the snapshot and the HTTP cache they have.
    It is below the ranges systems pick outgoing connections' ports from (32768 up on Linux,
    49152 up on Windows and macOS), so a connection does not happen to hold it."""
    digest = hashlib.sha256(f"bokeh_live {VERSION} pyodide {PYODIDE_VERSION}".encode()).digest()
    return 28000 + int.from_bytes(digest[:2], "big") % 4000


def serve_pyodide(port: int | None = None, address: str = "127.0.0.1") -> str:
    """Serve the Pyodide files installed with bokeh_live from this process, with CORS
    headers and a week of ``Cache-Control``, and make them the default ``pyodide_url`` of the
    models made from now on; return their URL. For notebooks without internet: call it in
    the kernel, and the notebook's page (static ``output_notebook()`` output) loads Pyodide
    from there.

    It serves on the running event loop (a notebook kernel's). Called again, it returns the
    same URL. ``port`` None uses a port named by the package's version (:func:`stable_port`),
    the same after a kernel restarts, or a free one if that is taken; 0 picks a free one.
    """
    global _served
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets
    from tornado.web import Application, StaticFileHandler

    from .live import PYODIDE_URL_ENV
    from .standalone import PYODIDE_DIR

    if _served is not None:
        os.environ[PYODIDE_URL_ENV] = _served
        return _served

    class Files(StaticFileHandler):
        def set_default_headers(self) -> None:
            self.set_header("Access-Control-Allow-Origin", "*")
            self.set_header("Cross-Origin-Resource-Policy", "cross-origin")

        def get_cache_time(self, path: str, modified: Any, mime_type: str) -> int:
            return 604800  # as the Bokeh server's copy: they change only with the package (and the port)

        def get_content_type(self) -> str:  # whatever the machine's mime.types says
            types = {".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json"}
            return types.get(Path(self.absolute_path or "").suffix) or super().get_content_type()

    try:
        sockets = bind_sockets(stable_port() if port is None else port, address)
    except OSError:
        if port is not None:
            raise
        sockets = bind_sockets(0, address)  # the stable port is taken (another kernel, another program)
    HTTPServer(Application([(r"/pyodide/(.*)", Files, {"path": str(PYODIDE_DIR)})])).add_sockets(sockets)
    _served = f"http://{address}:{sockets[0].getsockname()[1]}/pyodide/"
    os.environ[PYODIDE_URL_ENV] = _served
    return _served


def add_metrics(server: Any, path: str = "/metrics") -> None:
    """Count what the sessions of a ``bokeh.server.server.Server`` do and serve it for
    Prometheus at ``path`` (after the server's prefix). Needs ``prometheus_client``
    (``pip install 'bokeh_live[metrics]'``). See ``bokeh_live/metrics.py``."""
    from . import metrics

    metrics.install(_bokeh_internals.tornado_app(server), path)


def _num_procs(args: list[str]) -> int:
    """``bokeh serve``'s ``--num-procs`` among ``args`` (1 when absent; 0 means one per core)."""
    for i, arg in enumerate(args):
        value = arg.split("=", 1)[1] if arg.startswith("--num-procs=") else \
            args[i + 1] if arg == "--num-procs" and i + 1 < len(args) else None
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return 1  # bokeh serve says what is wrong with it
    return 1


def _serve_metrics(args: list[str]) -> None:
    """``--metrics``: every Bokeh application made from now on serves ``/metrics``. Processes
    that ``--num-procs`` forks write their figures to one folder (prometheus_client's
    multiprocess mode), made here unless ``PROMETHEUS_MULTIPROC_DIR`` names one already."""
    from . import metrics

    if _num_procs(args) != 1 and not os.environ.get(metrics.MULTIPROC_ENV):
        os.environ[metrics.MULTIPROC_ENV] = tempfile.mkdtemp(prefix="bokeh_live_metrics-")
    metrics.enable()  # before the fork, so that a missing prometheus_client says so at once
    _bokeh_internals.on_tornado_app(metrics.install)


def _log_level(args: list[str]) -> None:
    """bokeh_live's log at ``bokeh serve``'s ``--log-level`` (info unless said), as Bokeh's own
    (which sets only the ``bokeh`` logger's): the sessions' INFO lines (opened, Python
    started, ended) show beside Bokeh's."""
    import logging

    from bokeh.settings import convert_logging

    level = "info"
    for i, arg in enumerate(args):
        if arg.startswith("--log-level="):
            level = arg.split("=", 1)[1]
        elif arg == "--log-level" and i + 1 < len(args):
            level = args[i + 1]
    try:
        value = convert_logging(level)
    except ValueError:
        return  # bokeh serve says what is wrong with it
    logging.getLogger("bokeh_live").setLevel(logging.CRITICAL + 1 if value is None else value)


def main(argv: list[str] | None = None) -> int:
    """``python -m bokeh_live serve [--isolate] [--metrics] [--log-json] ...``: ``bokeh serve``
    with the headers, and what operators ask for."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "serve":
        print("usage: python -m bokeh_live serve [--isolate] [--metrics] [--log-json] <bokeh serve arguments>",
              file=sys.stderr)
        return 2
    isolate = "--isolate" in args
    ours = ("--isolate", "--metrics", "--log-json")
    if "--metrics" in args:
        _serve_metrics(args)
    _log_level(args)
    if "--log-json" in args:
        from .logs import json_lines
        json_lines()
    args = [a for a in args[1:] if a not in ours]
    _bokeh_internals.on_tornado_app(lambda app: app.transforms.append(_transform(isolate)))

    from bokeh.__main__ import main as bokeh_main

    if not any(a == "--session-token-expiration" or a.startswith("--session-token-expiration=") for a in args):
        args = ["--session-token-expiration", str(SESSION_TOKEN_SECONDS), *args]
    sys.argv = ["bokeh", "serve", *args]
    bokeh_main()  # type: ignore[no-untyped-call]
    return 0
