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
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from bokeh.core.properties import Any as AnyProp
from bokeh.core.properties import Bool, Dict, Enum, Int, List, Nullable, String
from bokeh.models.layouts import LayoutDOM

from . import _bokeh_internals
from .chunks import EVENT_BYTES, Assembler, chunk_size, split
from .protocol import (
    MAX_INLINE_BYTES,
    MAX_MESSAGE_BYTES,
    ClientMessages,
    Rejected,
    RunPython,
    ServerData,
    ServerMessage,
    ServerMessages,
    parse_client_messages,
    payload_size,
)

if TYPE_CHECKING:
    from bokeh.document import Document

__all__ = ("BokehLive", "LiveError")

log = logging.getLogger(__name__)

#: Environment variable naming the Pyodide base URL to use when ``pyodide_url`` is not set.
PYODIDE_URL_ENV = "BOKEH_LIVE_PYODIDE_URL"

#: Rejected browser messages logged per model before the log goes quiet (a forging client
#: must not be able to flood the server log).
MAX_LOGGED_REJECTIONS = 10

#: Properties only the server may set. Bokeh applies any property change a browser sends,
#: so changes to these from a browser are refused (see ``set_from_json``).
SERVER_OWNED = frozenset({
    "mode", "auto_run", "packages", "pyodide_url", "value", "output", "max_message_size",
    "examples", "theme",
})


class LiveError(Exception):
    """Python code in the browser raised, or the browser went away before answering.

    ``error_type`` is the browser-side exception's class name (``"ZeroDivisionError"``)
    and ``traceback`` its formatted traceback, with line numbers of the code as sent.
    """

    def __init__(self, message: str, *, error_type: str = "LiveError", traceback: str = "") -> None:
        super().__init__(message)
        self.error_type = error_type
        self.traceback = traceback

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message}\n\nBrowser traceback:\n{self.traceback}" if self.traceback else message


class BokehLive(LayoutDOM):
    """Runs Python in the visitor's browser with Pyodide, beside the rest of a Bokeh layout.

    >>> live = BokehLive(code="print(6 * 7)", mode="app")
    >>> result = await live.run_python("sum(range(n))", n=10)   # in a bokeh serve app
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if "pyodide_url" not in kwargs and os.environ.get(PYODIDE_URL_ENV):
            kwargs["pyodide_url"] = os.environ[PYODIDE_URL_ENV]
        super().__init__(*args, **kwargs)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._outbox: list[tuple[ServerMessage, list[dict[str, Any]], int]] = []
        self._blobs = Assembler(self._limit)
        self._flush_scheduled = False
        self._view_ready = False
        self._rejections = 0

    code = String(default="", help="""
    Python code to run in the browser. With ``auto_run`` it runs as soon as the runtime
    is ready and again whenever it changes, each time in a fresh namespace. In the editor
    modes the visitor's edits are written back here.
    """)

    mode = Enum("editor", "app", "playground", "headless", "compact", "debug", default="editor", help="""
    What the component shows: ``editor`` (a Python editor with a Run button, Ctrl/Cmd+Enter
    also runs, beside or above the output), ``app`` (the output only), ``playground`` (the
    editor with a menu of ``examples``, reset and copy), ``headless`` (nothing; takes no
    space), ``compact`` (one status line) or ``debug`` (the stdout/stderr log). The output
    shows printed text as it is printed, the value of the last expression, tracebacks and
    what the code passes to ``bokeh_live.display``. Code run from the editor is written
    back to ``code``. Changing the mode keeps the runtime, the namespace and the output.
    """)

    status = Enum("idle", "loading", "ready", "running", "error", default="idle", help="""
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
    Packages to load before ``code`` runs: names from Pyodide's lockfile (loaded from
    ``pyodide_url``'s distribution) or URLs of wheels. A package that fails to load puts
    the model in ``status="error"`` with an ``error`` that names it.
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
    ``live.on_change("output", callback)``.
    """)

    max_message_size = Int(default=MAX_MESSAGE_BYTES, help="""
    Largest batch of messages, in bytes, accepted from the browser (and allowed toward it).
    Larger ones are refused with an error on the side that sent them.
    """)

    examples = Dict(String, String, default={}, help="""
    Named code examples (name to code) offered by the playground mode's menu. Picking
    one puts its code in the editor and runs it.
    """)

    theme = Enum("auto", "light", "dark", default="auto", help="""
    Colour theme of the editor and output; ``auto`` follows the visitor's light or dark
    preference (``prefers-color-scheme``).
    """)

    # --- server API -------------------------------------------------------------------

    def send(self, data: Any) -> None:
        """Push ``data`` to the browser, where ``bokeh_live.on_server_data`` callbacks get it.

        ``data`` is anything JSON can carry, plus ``bytes`` and numpy arrays (sent as
        binary buffers). Raises ``RuntimeError`` without a server session.
        """
        self._post(ServerData(type="server_data", data=data))

    async def run_python(self, code: str, *, timeout: float = 30.0, **kwargs: Any) -> Any:
        """Run ``code`` in this model's namespace in the browser and return the value of
        its last expression (``None`` if it ends in a statement). Top-level ``await`` works.

        ``kwargs`` are bound as globals for this call only. Raises :class:`LiveError`
        when the code raises in the browser or the browser goes away, ``TimeoutError``
        after ``timeout`` seconds. Await it from a coroutine callback decorated with
        ``bokeh.document.without_document_lock``, or use :meth:`run_python_then` from an
        ordinary callback.
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
        request_id = secrets.token_urlsafe(16)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._post(RunPython(type="run_python", code=code, kwargs=kwargs, request_id=request_id))
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise TimeoutError(f"run_python: no answer from the browser within {timeout} s") from None
        finally:
            # Exactly one ending: a reply arriving after this is unknown and dropped.
            self._pending.pop(request_id, None)

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
        document lock, so it may change any model. Returns the running task."""
        doc = self._server_document()
        task = asyncio.ensure_future(self.run_python(code, timeout=timeout, **kwargs))

        def deliver(done: asyncio.Future[Any]) -> None:
            if done.cancelled():
                return
            error = done.exception()
            if error is None:
                doc.add_next_tick_callback(lambda: callback(done.result()))
            elif on_error is not None:
                doc.add_next_tick_callback(lambda: on_error(error))
            else:
                log.error("run_python_then: %s", error)

        task.add_done_callback(deliver)
        return task

    # --- plumbing ---------------------------------------------------------------------

    @property
    def _limit(self) -> int:
        return cast(int, self.max_message_size)  # Bokeh's descriptors are not typed for reading

    def _server_document(self) -> Document:
        doc = self.document
        if doc is None or doc.session_context is None:
            raise RuntimeError(
                "BokehLive.send() and run_python() need a Bokeh server session (bokeh serve, or a "
                "server app in a notebook). In standalone HTML, code in the browser runs one-way."
            )
        return doc

    def _post(self, message: ServerMessage) -> None:
        doc = self._server_document()
        try:
            payload_size(message, self._limit)
        except ValueError as e:
            raise ValueError(f"{message['type']} message refused: {e} (BokehLive.max_message_size)") from None
        chunks: list[dict[str, Any]] = []
        small = split(message, chunks)
        try:
            inline = payload_size(small, MAX_INLINE_BYTES)
        except ValueError:
            raise ValueError(f"{message['type']} message refused: over {MAX_INLINE_BYTES} bytes of text, numbers "
                             "or lists; send large data as bytes or numpy arrays, which travel in chunks") from None
        self._outbox.append((small, chunks, inline))
        if not self._flush_scheduled:
            # One event per tick carries everything posted meanwhile; a next-tick callback
            # also runs with the document lock, which sending needs, from any caller.
            self._flush_scheduled = True
            doc.add_next_tick_callback(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        doc = self.document
        if doc is None or not self._view_ready:
            return  # kept until a view in the browser says it is there (_on_client_messages)
        _bokeh_internals.watch_session(doc, self._on_disconnect)
        # Chunks go before the message that needs them. An event holds at most EVENT_BYTES,
        # or one larger item alone (a message of at most MAX_INLINE_BYTES): every event stays
        # under Bokeh's 20 MiB websocket message limit.
        messages: list[ServerMessage] = []
        chunks: list[dict[str, Any]] = []
        size = 0

        def make_room(n: int) -> None:
            nonlocal messages, chunks, size
            if (messages or chunks) and size + n > EVENT_BYTES:
                doc.callbacks.send_event(ServerMessages(self, messages, chunks))
                messages, chunks, size = [], [], 0
            size += n

        for message, pieces, inline in self._outbox:
            for chunk in pieces:
                make_room(chunk_size(chunk))
                chunks.append(chunk)
            make_room(inline)
            messages.append(message)
        self._outbox = []
        if messages or chunks:
            doc.callbacks.send_event(ServerMessages(self, messages, chunks))

    def _attach_document(self, doc: Document) -> None:
        # Subscribe only under a server (a subscription in standalone output makes Bokeh warn
        # that Python callbacks cannot run there), and before Bokeh registers subscriptions.
        if doc.session_context is not None and ClientMessages.event_name not in self.subscribed_events:
            self.on_event(ClientMessages, self._on_client_messages)  # type: ignore[arg-type]
        super()._attach_document(doc)
        if doc.session_context is not None:
            # The session exists only once the app script has run: look at it next tick.
            doc.add_next_tick_callback(lambda: _bokeh_internals.watch_session(doc, self._on_disconnect))

    def _on_disconnect(self) -> None:
        """The browser is gone: fail every pending call now instead of at its timeout, and
        hold new messages until a view is back (BokehJS reconnects with new views)."""
        doc = self.document
        for model in _live_models(doc) if doc else [self]:
            model._view_ready = False
            model._fail_pending("the browser disconnected before answering")

    def _fail_pending(self, reason: str) -> None:
        self._blobs.clear()
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(LiveError(reason))

    def _reject(self, rejected: Rejected) -> None:
        self._rejections += 1
        if self._rejections <= MAX_LOGGED_REJECTIONS:
            log.warning("BokehLive %s dropped a browser message: %s", self.id, rejected.reason)
            if self._rejections == MAX_LOGGED_REJECTIONS:
                log.warning("BokehLive %s: further dropped messages are not logged", self.id)

    def _on_client_messages(self, event: ClientMessages) -> None:
        if not self._view_ready:
            # A view sends a batch (maybe empty) as soon as it exists: what the server sends
            # before that would be lost, as Bokeh drops events for a session with no
            # connection yet and BokehJS has nothing to give them to.
            self._view_ready = True
            self._flush()
        if event.unexpected:
            self._reject(Rejected(f"unexpected event fields {event.unexpected[:5]}"))
        self._blobs.limit = self._limit
        for chunk in event.chunks if isinstance(event.chunks, list) else [None]:
            reason = self._blobs.add(chunk)
            if reason is not None:
                self._reject(Rejected(reason))
        try:
            messages = self._blobs.restore(event.messages)
        except (ValueError, RecursionError) as e:
            self._reject(Rejected(f"batch refused: {e}"))
            return
        for message in parse_client_messages(messages, self._limit):
            if isinstance(message, Rejected):
                self._reject(message)
            elif message["type"] == "output":
                self._set_output(message["data"])
            else:
                future = self._pending.get(message["request_id"])
                if future is None or future.done():
                    self._reject(Rejected("reply to an unknown or finished request"))
                elif message["type"] == "run_python_result":
                    future.set_result(message["result"])
                else:
                    error_type, traceback = message["error_type"], message["error"]
                    last = traceback.strip().splitlines()[-1] if traceback.strip() else error_type
                    future.set_exception(LiveError(last, error_type=error_type, traceback=traceback))

    def _set_output(self, data: Any) -> None:
        # Set it as a change made by the session, so Bokeh does not echo it back to the
        # browser that sent it (it can be megabytes).
        session = _session_of(self.document)
        self.lookup("output").__set__(self, data, setter=session)

    def set_from_json(self, name: str, value: Any, *, setter: Any = None) -> None:
        # Browser-originated changes arrive with the connection as setter.
        if setter is not None and name in SERVER_OWNED:
            self._reject(Rejected(f"the browser may not set {name!r}"))
            return
        super().set_from_json(name, value, setter=setter)


def _live_models(doc: Document) -> list[BokehLive]:
    return [model for model in list(doc.models) if isinstance(model, BokehLive)]


def _session_of(doc: Document | None) -> Any:
    ctx = doc.session_context if doc is not None else None
    return getattr(ctx, "session", None) if ctx is not None else None
