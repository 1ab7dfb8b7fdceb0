"""``BokehLive``: run Python in the visitor's browser and exchange data with it.

The view (``bokehjs_ext/live.ts``) runs ``code`` with Pyodide in a Web Worker shared by
every ``BokehLive`` on the page. Property changes carry state (``status``, ``stdout``...);
the request/reply traffic of :meth:`BokehLive.send` and :meth:`BokehLive.run_python`
rides the two events of :mod:`bokeh_live.protocol`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from bokeh.core.properties import Any as AnyProp
from bokeh.core.properties import Bool, Dict, Enum, Float, Instance, Int, List, Nullable, String, Tuple
from bokeh.models.layouts import LayoutDOM

from . import _bokeh_internals, sessions
from .boundary import Refusal, judge
from .calls import ExposedFunctions
from .channel import Channel, LiveError
from .chunks import PROCESS_BUDGET
from .editor import EDITOR_MODES, EditorAssets
from .functions import CALL, BrowserFunctions
from .modules import ModuleFile, code_text, collect, module_names, serve
from .protocol import (
    Call,
    ClientMessages,
    Interrupt,
    Output,
    Restart,
    RunPython,
    ServerData,
    ServerMessage,
    ServerMessages,
)
from .shared import (
    BROWSER_METRICS,
    CALL_TIMEOUT,
    MAX_MESSAGE_BYTES,
    MODES,
    STATUSES,
    THEMES,
    VERSION,
)
from .watch import watch_by_name

if TYPE_CHECKING:
    from bokeh.document import Document

__all__ = ("BokehLive", "LiveError")

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

#: Environment variable naming the Pyodide base URL to use when ``pyodide_url`` is not set.
PYODIDE_URL_ENV = "BOKEH_LIVE_PYODIDE_URL"

#: Environment variable naming where Pyodide's packages come from when ``package_url`` is not set.
PACKAGE_URL_ENV = "BOKEH_LIVE_PACKAGE_URL"

class BokehLive(LayoutDOM):
    """Runs Python in the visitor's browser with Pyodide, beside the rest of a Bokeh layout.

    >>> live = BokehLive(code="print(6 * 7)", mode="app")
    >>> result = await live.run_python("sum(range(n))", n=10)   # in a bokeh serve app
    """

    # Class-level defaults: Bokeh builds a model that a client's message adds to the
    # document (a forged RootAdded) without calling __init__, and that must not raise.
    _channel: Channel | None = None
    _made_here = False
    _guards: dict[Any, Callable[[str, Any, Any], None]] | None = None
    _exposed: ExposedFunctions | None = None
    _shipped: list[ModuleFile] = []  # noqa: RUF012 - replaced, never changed in place

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for prop, env in (("pyodide_url", PYODIDE_URL_ENV), ("package_url", PACKAGE_URL_ENV)):
            if prop not in kwargs and os.environ.get(env):
                kwargs[prop] = os.environ[env]
        if "watch" in kwargs:
            kwargs["watch"] = watch_by_name(kwargs["watch"])
        if "code" in kwargs:
            kwargs["code"] = code_text(kwargs["code"])
        shipped = kwargs.pop("modules", None)
        super().__init__(*args, **kwargs)
        self._made_here = True
        self._ask_for_editor()
        if shipped is not None:
            self.modules = shipped

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "watch":
            value = watch_by_name(value)
        elif name == "code":
            value = code_text(value)
        elif name == "modules" and self._made_here:
            self._ship(value)
            value = module_names(self._shipped)
        super().__setattr__(name, value)
        if name == "mode":
            self._ask_for_editor()

    def _ship(self, items: Any) -> None:
        """Read the files of ``modules`` now; in a server app they are served, not sent."""
        self._shipped = collect(items)
        self.update(module_files=[(f.path, f.sha256, None if self._served() else f.source, list(f.imports))
                                  for f in self._shipped])
        if self._served():
            serve(self._shipped)

    def _ask_for_editor(self) -> None:
        """A mode that shows the editor puts the editor's bundle on standalone pages (see
        editor.py)."""
        if self.mode in EDITOR_MODES and self.editor_assets is None:
            self.editor_assets = EditorAssets()

    code = String(default="", help="""
    Python code to run in the browser. With ``auto_run`` it runs as soon as the runtime
    is ready and again whenever it changes, each time in a fresh namespace. In the editor
    modes the visitor's edits are written back here.
    """)

    mode = Enum(*MODES, default=MODES[0], help="""
    What the component shows: ``editor`` (a Python editor with a Run button, Ctrl/Cmd+Enter
    also runs, beside or above the output), ``app`` (the output only), ``playground`` (the
    editor with a menu of ``examples``, reset and copy), ``headless`` (nothing; takes no
    space), ``compact`` (one status line) or ``debug`` (the stdout/stderr log). The output
    shows printed text as it is printed, the value of the last expression, tracebacks and
    what the code passes to ``bokeh_live.display``. Code run from the editor is written
    back to ``code``. Changing the mode keeps the runtime, the namespace and the output.
    """)

    progress = Nullable(Tuple(Float, String), help="""
    The last ``bokeh_live.progress(fraction, text)`` of the model's browser code: a pair of
    a fraction from 0 to 1 and a short text, or ``None`` (no report since ``code`` last
    started). Written by the browser a few times a second at most; the UI shows it as a bar.
    """)

    browser_metrics = Dict(String, Float, help="""
    What the browser measured, for ``metrics()``: how long Python took to start
    (``python_start_ms``), to load ``packages`` (``packages_ms``) and the last run of
    ``code`` (``last_run_ms``); how many runs of ``code`` ended (``code_runs``), how many
    times the page's Python restarted (``restarts``), and whether it last started from a
    memory snapshot (``from_snapshot``, 1 or 0; see ``snapshot``). Written by the browser.
    """)

    version = String(default=VERSION, help="""
    The version of the Python package that made this model. The view compares it with its
    own and warns in the browser's console when they differ (a view compiled from other
    sources than the server runs: rebuild or reinstall bokeh_live).
    """)

    editor_assets = Nullable(Instance(EditorAssets), help="""
    Set by bokeh_live when ``mode`` shows the editor: its presence puts the editor's
    bundle (CodeMirror) on standalone pages. Pages that show no editor never load it.
    """)

    status = Enum(*STATUSES, default=STATUSES[0], help="""
    Where the browser runtime is: ``idle`` before the view starts, ``loading`` while
    Pyodide and ``packages`` load, ``running`` while ``code`` runs, then ``ready`` or
    ``error``. Written by the browser.
    """)

    error = String(default="", help="""
    The traceback of the last failed run of ``code`` (or of a failed package load), with
    the line numbers of ``code``. Cleared by the next run. Written by the browser.
    """)

    stdout = String(default="", help="""
    Text the last run of ``code`` printed to ``sys.stdout``. Written by the browser.
    """)

    stderr = String(default="", help="""
    Text the last run of ``code`` wrote to ``sys.stderr``. Written by the browser.
    """)

    auto_run = Bool(default=True, help="""
    Run ``code`` as soon as the runtime is ready and whenever ``code`` changes. When
    off, ``code`` runs only from the editor's Run button.
    """)

    packages = List(String, default=[], help="""
    Packages to load before ``code`` runs: names from Pyodide's lockfile (numpy, pandas...,
    and their dependencies, from ``package_url``) or URLs of wheels. A package that fails
    to load puts the model in ``status="error"`` with an ``error`` that names it.
    """)

    package_url = Nullable(String, default=None, help="""
    Where Pyodide's packages come from: the base URL of a Pyodide distribution, whose
    ``pyodide-lock.json`` names the packages and whose wheels are checked against it (for
    instance a folder made by ``python -m bokeh_live vendor``). ``None`` uses the
    environment variable ``BOKEH_LIVE_PACKAGE_URL`` if set when the model is created, else
    ``pyodide_url`` if that is set, else the public Pyodide distribution of the same version
    (the Pyodide core still comes from the Bokeh server). The page's first model decides.
    """)

    auto_packages = Bool(default=True, help="""
    Before code runs (``code`` and ``run_python`` calls), load the packages of Pyodide's
    lockfile that it imports and that are not loaded yet, as ``import numpy`` needs. A
    package that cannot be loaded is said on stderr, and the import then fails.
    """)

    requirements = List(String, default=[], help="""
    Requirements installed from a Python package index with micropip before ``code`` runs
    (``"attrs>=23"``, or wheel URLs): pure-Python wheels, or those built for Pyodide. micropip
    itself comes from ``package_url``. A requirement that cannot be installed puts the model
    in ``status="error"`` with an ``error`` that names it.
    """)

    index_urls = List(String, default=[], help="""
    The package indexes micropip installs ``requirements`` from (their simple API), instead
    of PyPI. ``{package_name}`` in a URL stands for the package's name.
    """)

    pyodide_url = Nullable(String, default=None, help="""
    Base URL of the Pyodide distribution (the folder holding ``pyodide.mjs``). ``None``
    uses the environment variable ``BOKEH_LIVE_PYODIDE_URL`` if set when the model is
    created, else the copy of Pyodide served by the Bokeh server itself.
    """)

    value = Nullable(AnyProp, default=None, help="""
    State the browser can read at any time, as ``bokeh_live.value`` in browser Python.
    Set by the server.
    """)

    output = Nullable(AnyProp, default=None, help="""
    The last data the browser sent with ``bokeh_live.send(data)``. Watch it with
    ``live.on_change("output", callback)``: each message calls it, even one equal to the last.
    """)

    max_message_size = Int(default=MAX_MESSAGE_BYTES, help="""
    Largest batch of messages, in bytes, accepted from the browser (and allowed toward it).
    Larger ones are refused with an error on the side that sent them.
    """)

    examples = Dict(String, String, default={}, help="""
    Named code examples (name to code) offered by the playground mode's menu. Picking
    one puts its code in the editor and runs it.
    """)

    worker = String(default="", help="""
    The worker of the page this model's Python runs in. Models with the same ``worker``
    (by default, all of a page's models) share one Pyodide and run one at a time; models
    with different ones run in parallel, on as many cores as the visitor has, each worker
    costing its own Pyodide start and memory (some 30 MB). A model's namespace lives in its
    worker, and a stop, restart or crash there leaves the other workers' models alone.
    """)

    snapshot = Bool(default=True, help="""
    Start the page's Python from a memory snapshot when the browser has one: after the first
    start on a site, a background worker starts Python once more and caches its memory
    (about 31 MB, in the origin's Cache Storage, named by the Pyodide location and this
    package's version), and later pages start from it, skipping Python's own start-up. A
    snapshot that is damaged or made by another Pyodide is replaced by a fresh start's.
    Needs a secure origin (HTTPS or localhost); sandboxed models never use one. Set on the
    model that starts a worker: its first model decides. Packages loaded later are not in
    the snapshot. See docs/deployment.md.
    """)

    persist = Bool(default=False, help="""
    Keep what the visitor writes in the editor across reloads of the page: the browser
    stores it (``localStorage``, per page path and model ``name``, which must be set) when
    it runs and when the page is left, and on the next load it replaces ``code`` (the
    server sees the change; with ``auto_run`` it runs). Only for editors whose code the
    visitor owns: the stored text wins over the app's ``code``.
    """)

    theme = Enum(*THEMES, default=THEMES[0], help="""
    Colour theme of the editor and output; ``auto`` follows the visitor's light or dark
    preference (``prefers-color-scheme``).
    """)

    allow_update = Dict(String, List(String), default={}, help="""
    What browser code may change with ``bokeh_live.update(name, **props)``: model names
    (their ``name``) to the properties it may set, e.g. ``{"source": ["data"]}``. Nothing
    else can be changed, and never a ``BokehLive``. A property that carries HTML, CSS or
    code (a ``Div``'s ``text``, ``CustomJS`` code, ``stylesheets``...) is refused unless
    listed with a trailing ``!`` (``"text!"``): code in the browser, which may be untrusted,
    could then run script in the page.
    """)

    modules = List(String, default=[], help="""
    Python modules and packages installed in the browser before ``code`` runs, importable
    there by their names: give imported modules or paths of ``.py`` files and package folders
    (``BokehLive(modules=[mymodule, "path/to/pkg"])``); the property then holds their names.
    Their files are read when this is set. In a server app the Bokeh server serves them and
    the browser keeps them in its HTTP cache (a changed file is fetched again, an unchanged
    one never); standalone and notebook output carry them inline. Only the listed files
    leave the server, each at most 2 MiB and 8 MiB in all: do not ship secrets. Call their
    functions with ``await live.run(fn, *args)``.
    """)

    module_files = List(Tuple(String, String, Nullable(String), List(String)), default=[], help="""
    The files of ``modules``, as the browser installs them: their paths below the import
    root, the SHA-256 of each, their text (``None`` in a server app, which serves them), and
    the top-level names they import (the browser loads Pyodide's packages among them first).
    Set by bokeh_live.
    """)

    watch = Dict(String, List(String), default={}, help="""
    What browser code may hear: model names (their ``name``) to the properties and events
    whose changes it may follow with ``bokeh_live.on_change(name, attr, callback)`` and
    ``bokeh_live.on_event(name, event, callback)``, and read with ``bokeh_live.get``, e.g.
    ``{"freq": ["value"], "go": ["button_click"], "source": ["selected.indices"]}``. A model
    object may stand for its name (``watch={slider: ["value"]}``; it must have a ``name``).
    Nothing else can be heard, and never a ``BokehLive``. The page mirrors each listed
    property into the browser's Python (its value travels to the worker at start and on each
    change): list only what the code needs. What browser code hears it can send anywhere, so
    list nothing secret for untrusted code (see docs/security.md).
    """)

    run_timeout = Nullable(Float, default=300.0, help="""
    Seconds a run of ``code`` may take before the browser stops it (``None``: no limit).
    A stopped run puts the model in ``status="error"`` with an ``error`` saying so. Calls
    have their own ``timeout`` (see :meth:`run_python`).
    """)

    sandbox = Bool(default=False, help="""
    Run this model's Python in a worker inside a sandboxed iframe with an opaque origin:
    untrusted code then has no cookies, storage or credentials of the page's origin, and
    cannot read its same-origin resources. Sandboxed models of a page share one such
    worker, apart from the others. Costs: Pyodide must be served with CORS headers
    (``python -m bokeh_live serve``, or a CDN), binary data from the worker is copied once
    more, and a busy run is stopped by a restart (no interrupts). See docs/security.md.
    """)

    # --- server API -------------------------------------------------------------------

    def send(self, data: Any) -> None:
        """Push ``data`` to the browser, where ``bokeh_live.on_server_data`` callbacks get it.

        ``data`` is anything JSON can carry, plus ``bytes`` and numpy arrays (sent as
        binary buffers). Raises ``RuntimeError`` without a server session, ``ValueError``
        for data over ``max_message_size``, and :class:`LiveError` when the browser has not
        taken what was sent before (the outbox is full).
        """
        self._post(ServerData(type="server_data", data=data))

    async def run_python(self, code: str, *, timeout: float = 30.0, **kwargs: Any) -> Any:
        """Run ``code`` in this model's namespace in the browser and return the value of
        its last expression (``None`` if it ends in a statement). Top-level ``await`` works.

        ``kwargs`` are bound as globals for this call only. Raises :class:`LiveError`
        when the code raises in the browser or the browser goes away, ``TimeoutError``
        after ``timeout`` seconds (the browser is then told to stop the run). Time while the
        page says ``status="loading"`` (Python starting or restarting, packages loading) does
        not count, up to 300 s per call; time before the page's view appears does. Await it
        from a coroutine callback decorated with ``bokeh.document.without_document_lock``,
        or use :meth:`run_python_then` from an ordinary callback.
        """
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, not {type(code).__name__}")
        bad = [name for name in kwargs if not name.isidentifier()]
        if bad:
            raise ValueError(f"keyword argument names must be Python identifiers: {bad}")
        if _bokeh_internals.in_locked_callback():
            raise RuntimeError(
                "run_python() was awaited while holding the Bokeh document lock: the browser's "
                "reply could never be applied. Decorate the coroutine with "
                "@bokeh.document.without_document_lock (and change models only through "
                "doc.add_next_tick_callback), or call live.run_python_then(code, callback) instead."
            )
        self._session_document()
        message = RunPython(type="run_python", code=code, kwargs=kwargs, request_id="")
        return await self._live_channel().request(message, timeout, "run" if code is CALL else "run_python")

    @overload
    async def run(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R: ...

    @overload
    async def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R: ...

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in the browser, where ``fn`` is a function of a module
        this model ships (``modules``), and return its value; an ``async`` function is
        awaited there. Typed as the local call: mypy checks the arguments and infers the
        result. Everything else is as :meth:`run_python`'s (binary values, DataFrames,
        ``LiveError`` with the module's file and line); the timeout is 30 s, or
        ``live.with_timeout(seconds).run(...)``. A function the browser cannot find by name
        (not in a shipped module, nested, a lambda) raises ``ValueError`` at once."""
        return await BrowserFunctions(self, 30.0).run(fn, *args, **kwargs)

    def run_then(self, fn: Callable[..., Any], callback: Callable[[Any], None], /, *args: Any,
                 on_error: Callable[[BaseException], None] | None = None, **kwargs: Any) -> asyncio.Future[Any]:
        """:meth:`run` from a synchronous callback, as :meth:`run_python_then`."""
        return BrowserFunctions(self, 30.0).run_then(fn, callback, *args, on_error=on_error, **kwargs)

    def with_timeout(self, seconds: float) -> BrowserFunctions:
        """:meth:`run` and :meth:`run_then` with another timeout than 30 s:
        ``await live.with_timeout(120).run(fn, data)``."""
        return BrowserFunctions(self, seconds)

    def expose(self, fn: Callable[..., Any] | None = None, *, name: str | None = None,
               timeout: float = CALL_TIMEOUT) -> Any:
        """Let Python in the browser call ``fn`` on the server:
        ``result = await bokeh_live.call("fn", *args, **kwargs)``. Usable as a decorator,
        with or without arguments; returns ``fn`` unchanged. Exposing another function under
        the same ``name`` (default: the function's ``__name__``) replaces it.

        A plain function runs at once, holding the document lock, so it may change models;
        keep it quick, as it holds up the session. A coroutine function runs as a task without
        the lock (change models through ``doc.add_next_tick_callback``) and is cancelled after
        ``timeout`` seconds. Its return value travels as ``send`` data does.

        Arguments come from the browser: treat them as untrusted input, as a web form's.
        An exception reaches the browser as its class name and message (never its
        traceback, which is logged here): raise ones whose message may be shown.
        """
        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            self._calls().expose(name or str(getattr(function, "__name__", "")), function, timeout)
            return function

        return register if fn is None else register(fn)

    def interrupt(self) -> None:
        """Stop what this model runs in the browser now: its ``code`` and its calls.

        A run waiting at an ``await`` is cancelled; a busy one gets a ``KeyboardInterrupt``
        when the page is cross-origin isolated (``python -m bokeh_live serve --isolate``)
        and keeps its namespace; otherwise the page's Python runtime is restarted, and
        every model on the page runs its ``code`` again.
        """
        self._post(Interrupt(type="interrupt"))

    def restart(self) -> None:
        """Start a fresh Python runtime on the page: calls in flight fail with
        :class:`LiveError`, and every model on the page runs its ``code`` again."""
        self._post(Restart(type="restart"))

    def metrics(self) -> dict[str, Any]:
        """What this model has done, for an app to show or log: the browser's start-up and
        run times (``browser_metrics``), the ``run_python`` calls and how they ended, their
        round trips (the last and the median of the newest 100, in ms, as the server saw
        them) and the messages and bytes each way (bytes as counted against
        ``max_message_size``). Counts start at zero with each session."""
        channel = self._channel
        counts = channel.counts if channel is not None else {}
        trips = sorted(channel.round_trips) if channel is not None else []
        browser = cast(dict[str, float], self.browser_metrics)
        return {
            **{key: browser.get(key) for key in BROWSER_METRICS},
            **{key: counts.get(key, 0) for key in ("calls", "call_errors", "call_timeouts", "messages_sent",
                                                    "bytes_sent", "messages_received", "bytes_received")},
            "round_trip_last_ms": 1000 * channel.round_trips[-1] if channel is not None and trips else None,
            "round_trip_median_ms": 1000 * statistics.median(trips) if trips else None,
        }

    def run_python_then(
        self,
        code: str,
        callback: Callable[[Any], None],
        *,
        on_error: Callable[[BaseException], None] | None = None,
        timeout: float = 30.0,
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        """Start :meth:`run_python` from a synchronous callback (a button's ``on_click``)
        and call ``callback(result)`` (or ``on_error(exception)``) later, holding the
        document lock, so it may change any model. Returns the running task.

        It never raises into Bokeh: a call that cannot start (no session, the session
        ended) reaches ``on_error`` too, or the log without one."""
        doc = self.document

        def fail(error: BaseException) -> None:
            if on_error is not None:
                on_error(error)
            else:
                log.error("run_python_then: %s", error)

        def later(fn: Callable[[], None]) -> None:
            # With no session (or a destroyed one) nothing would run a next-tick callback,
            # and nothing holds the document lock any more: call at once.
            try:
                if doc is None or doc.session_context is None:
                    raise RuntimeError("no session")
                doc.add_next_tick_callback(fn)
            except Exception:
                fn()

        task = asyncio.ensure_future(self.run_python(code, timeout=timeout, **kwargs))

        def deliver(done: asyncio.Future[Any]) -> None:
            if done.cancelled():
                return
            error = done.exception()
            if error is None:
                later(lambda: callback(done.result()))
            else:
                later(lambda: fail(error))

        task.add_done_callback(deliver)
        return task

    def on_change(self, attr: str, *callbacks: Callable[[str, Any, Any], None]) -> None:
        """As Bokeh's ``on_change``; a callback that raises is logged and the others still run.

        The browser sets ``output``, ``status``, ``stdout``... at any time: an exception in
        an app's callback must cost only that callback. (Raised through Bokeh, it would
        also leave ``curdoc()`` patched to this session's document for the whole process,
        and close the browser's connection.)
        """
        if self._guards is None:
            self._guards = {}
        for callback in callbacks:
            self._guards.setdefault(callback, _guarded(self, callback))
        super().on_change(attr, *(self._guards[c] for c in callbacks))

    def remove_on_change(self, attr: str, *callbacks: Callable[[str, Any, Any], None]) -> None:
        guards = self._guards or {}
        super().remove_on_change(attr, *(guards.get(c, c) for c in callbacks))

    # --- plumbing ---------------------------------------------------------------------

    def _live_channel(self) -> Channel:
        if self._channel is None:
            self._channel = Channel(
                send=self._send_event, schedule=self._next_tick, limit=lambda: cast(int, self.max_message_size),
                deliver=self._on_message, name=f"BokehLive {self.name or self.id}",
                session=sessions.session_tag(self.document),
                budgets=(sessions.session_budget(self.document), PROCESS_BUDGET))
        return self._channel

    def _session_document(self) -> Document:
        doc = self.document
        if doc is None or doc.session_context is None:
            raise RuntimeError(
                "BokehLive.send() and run_python() need a Bokeh server session (bokeh serve, or a "
                "server app in a notebook). In standalone HTML, code in the browser runs one-way."
            )
        return doc

    def _post(self, message: ServerMessage) -> None:
        self._session_document()
        self._live_channel().post(message)

    def _send_event(self, messages: list[ServerMessage], chunks: list[dict[str, Any]]) -> None:
        doc = self.document
        if doc is not None:
            doc.callbacks.send_event(ServerMessages(self, messages, chunks))

    def _next_tick(self, callback: Callable[[], None]) -> None:
        # A next-tick callback runs holding the document lock, which sending needs, whoever
        # posted (a coroutine without the lock, say).
        self._session_document().add_next_tick_callback(callback)

    def _calls(self) -> ExposedFunctions:
        if self._exposed is None:
            self._exposed = ExposedFunctions(
                self._post, lambda e, what: self._live_channel().callback_failed(e, what))
        return self._exposed

    def _attach_document(self, doc: Document) -> None:
        under_server = doc.session_context is not None
        if under_server and not self._made_here:
            # Built by Bokeh from a client's message, not by the app: it gets no channel.
            sessions.log_client_model(self)
        elif under_server and ClientMessages.event_name not in self.subscribed_events:
            # Subscribe only under a server (a subscription in standalone output makes Bokeh
            # warn that Python callbacks cannot run there), and before Bokeh registers
            # subscriptions.
            self.on_event(ClientMessages, self._on_client_messages)  # type: ignore[arg-type]
        super()._attach_document(doc)
        if under_server and self._made_here:
            sessions.watch_document(doc, self)
            if any(file[2] is not None for file in cast(list[tuple[str, str, Any, Any]], self.module_files)):
                # Served instead:
                self.update(module_files=[(f.path, f.sha256, None, list(f.imports)) for f in self._shipped])
                serve(self._shipped)

    def _served(self) -> bool:
        doc = self.document
        return doc is not None and doc.session_context is not None

    def _on_client_messages(self, event: ClientMessages) -> None:
        self._live_channel().receive(event.messages, event.chunks, event.unexpected)

    def _on_message(self, message: Output | Call) -> None:
        if message["type"] == "output":
            self._set_output(message["data"])
        else:
            self._calls().handle(message)

    def _set_output(self, data: Any) -> None:
        # Set it as a change made by the session, so Bokeh does not echo it back to the
        # browser that sent it (it can be megabytes).
        # Each message is news, even one equal to the last: it is stored and heard.
        session = sessions.session_of(self.document)
        _bokeh_internals.set_even_if_equal(self, "output", data, session)

    def set_from_json(self, name: str, value: Any, *, setter: Any = None) -> None:
        # Browser-originated changes arrive with the connection as setter.
        if setter is not None and self._made_here:
            value = judge(name, value)
            if isinstance(value, Refusal):
                self._live_channel().refuse(value, "property")
                return
        reported = setter is not None and self._made_here and name in ("status", "browser_metrics")
        old = getattr(self, name) if reported else None
        super().set_from_json(name, value, setter=setter)
        if name == "status" and self._made_here:
            self._live_channel().note_status(cast(str, self.status))
        if reported:
            sessions.browser_reported(self, name, old)


def _guarded(model: BokehLive, callback: Callable[[str, Any, Any], None]) -> Callable[[str, Any, Any], None]:
    def guarded(attr: str, old: Any, new: Any) -> None:
        try:
            callback(attr, old, new)
        except Exception as e:
            model._live_channel().callback_failed(e)

    return guarded
