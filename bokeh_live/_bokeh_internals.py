"""Every reach into Bokeh's private server internals, in one place.

Bokeh (3.9) has no public way to (a) set TCP_NODELAY on a session's websocket, (b) hear
promptly that a session lost its last connection, or (c) tell whether the running
coroutine holds the document lock. All three are conveniences: if a Bokeh release moves
what they rely on, each logs ONE warning and the package keeps working as before (a
slower round trip, pending calls failing at session destruction instead of at once, a
timeout instead of an immediate error).

Why TCP_NODELAY: Bokeh's server leaves Nagle's algorithm on, so a small server-to-browser
message waits for the browser's delayed ACK, about 40 ms. With it off a round trip takes
a few milliseconds. It is per socket, and BokehJS reconnects with a new socket, so it is
applied on every ``subscribe`` of a connection to the session.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bokeh.document import Document

log = logging.getLogger(__name__)

#: Set ``BOKEH_LIVE_NODELAY=0`` to keep Bokeh's default (Nagle's algorithm on).
NODELAY_ENV = "BOKEH_LIVE_NODELAY"

_warned: set[str] = set()

# The private attributes relied on (bokeh 3.9): a ServerSession's set of connections, and
# a ServerConnection's tornado websocket handler.
CONNECTIONS_ATTR = "_subscribed_connections"
SOCKET_ATTR = "_socket"


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def nodelay_enabled() -> bool:
    return os.environ.get(NODELAY_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _set_nodelay(connection: Any) -> None:
    try:
        getattr(connection, SOCKET_ATTR).set_nodelay(True)
    except Exception as e:
        _warn_once("nodelay", f"bokeh_live could not set TCP_NODELAY on a Bokeh websocket ({e!r}); "
                              "round trips will take about 40 ms longer")


def watch_session(doc: Document, on_disconnect: Callable[[], None],
                  on_replaced: Callable[[], None] | None = None) -> None:
    """Turn TCP_NODELAY on for ``doc``'s session (now and on every reconnect) and call
    ``on_disconnect`` when its last connection goes, ``on_replaced`` when a connection
    comes while another is still open (a page that reconnects before the server has seen
    its old connection close). Idempotent per document.

    Call it once the session exists (from a next-tick callback of the app).
    """
    ctx = doc.session_context
    session = getattr(ctx, "session", None) if ctx is not None else None
    if session is None or getattr(session, "_bokeh_live_watched", False):
        return
    try:
        subscribe, unsubscribe = session.subscribe, session.unsubscribe
        connections = getattr(session, CONNECTIONS_ATTR)
    except AttributeError as e:
        _warn_once("session", f"bokeh_live cannot watch Bokeh sessions ({e!r}): no TCP_NODELAY, and "
                              "pending calls fail only when the session is destroyed")
        return
    nodelay = nodelay_enabled()

    def subscribe_with_nodelay(connection: Any) -> None:
        subscribe(connection)
        if nodelay:
            _set_nodelay(connection)
        if on_replaced is not None and session.connection_count > 1:
            on_replaced()

    def unsubscribe_and_notify(connection: Any) -> None:
        unsubscribe(connection)
        if session.connection_count == 0:
            on_disconnect()

    session.subscribe = subscribe_with_nodelay
    session.unsubscribe = unsubscribe_and_notify
    session._bokeh_live_watched = True
    if nodelay:
        for connection in list(connections):
            _set_nodelay(connection)


def set_even_if_equal(obj: Any, name: str, value: Any, setter: Any) -> None:
    """Set ``obj.name`` to ``value`` and tell its ``on_change`` callbacks, even when Bokeh
    finds the value equal to the one held (it skips those: ``[1, 2]`` after ``[1, 2]``, or
    zeros of int16 after zeros of uint16, whose dtypes differ)."""
    descriptor = obj.lookup(name)
    old = getattr(obj, name)
    if not descriptor.property.matches(value, old):
        descriptor.__set__(obj, value, setter=setter)
        return
    try:
        descriptor._set_value(obj, value)
        descriptor._trigger(obj, old, value, setter=setter)
    except AttributeError as e:
        _warn_once("set", f"bokeh_live cannot tell Bokeh of a value equal to the last ({e!r}): "
                          "such a value from the browser changes nothing")


def in_locked_callback() -> bool:
    """True when the running code is inside a Bokeh callback holding the document lock.

    Such a callback cannot receive a browser reply while it waits: the reply is a
    document patch, and applying it needs the lock the callback holds. Bokeh runs locked
    callbacks inside ``ServerSession._needs_document_lock``'s wrapper coroutine; while a
    task runs, the frames of the coroutines awaiting each other are on the stack.
    """
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "_needs_document_lock_wrapper":
            return True
        frame = frame.f_back
    return False


def tornado_app(server: Any) -> Any:
    """The Tornado application of a ``bokeh.server.server.Server`` (Bokeh keeps it private)."""
    return server._tornado


def on_tornado_app(hook: Callable[[Any], None]) -> None:
    """Call ``hook(app)`` on each Bokeh Tornado application made from now on: ``bokeh serve``
    makes its own, and offers no way to add response headers."""
    from bokeh.server.tornado import BokehTornado

    init = BokehTornado.__init__

    def init_and_hook(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        hook(self)

    BokehTornado.__init__ = init_and_hook  # type: ignore[method-assign]


def on_tornado_stop(hook: Callable[[list[Any]], None]) -> None:
    """Call ``hook(documents)`` with the documents of a Bokeh Tornado application's sessions
    when it stops (its server shuts down), before Bokeh's own stop: Bokeh ends no session
    then, so nothing else would tell the app."""
    from bokeh.server.tornado import BokehTornado

    stop = BokehTornado.stop

    def hook_and_stop(self: Any, wait: bool = True) -> None:
        try:
            contexts = getattr(self, "_applications", {}).values()
            hook([session.document for context in contexts for session in context.sessions])
        except Exception as e:
            _warn_once("stop", f"bokeh_live could not end its pending calls as the server stopped ({e!r})")
        stop(self, wait)

    BokehTornado.stop = hook_and_stop  # type: ignore[method-assign]


def extensions_first(app: Any) -> None:
    """Route ``/static/extensions/`` ahead of an app's own ``/static/``: Bokeh gives an app
    served at ``/`` (``Server({"/": app})``, a notebook's ``show(app)``) a ``/static/(.*)``
    route that comes first and answers 404 for every extension's files."""
    from bokeh.embed.bundle import extension_dirs
    from bokeh.server.views.multi_root_static_handler import MultiRootStaticHandler

    # Tornado puts handlers added later before the ones the application was made with.
    app.add_handlers(r".*", [(r"/static/extensions/(.*)", MultiRootStaticHandler, {"root": extension_dirs})])


def serve_extension_files(name: str, folder: Any, replace: bool = False) -> None:
    """Let this process serve ``folder`` at ``/static/extensions/<name>/`` from now on.

    Bokeh learns an extension's folder only when it first bundles a page with one of its
    models, so a process that has not served such a page yet answers 404 for the files,
    which is what happens under ``bokeh serve --num-procs`` (and for requests made before
    the first page). Registering on import fixes it for every process that imported
    bokeh_live before it serves: ``python -m bokeh_live serve`` does, before it forks.
    """
    try:
        from bokeh.embed.bundle import extension_dirs

        if replace:
            extension_dirs[name] = folder
        else:
            extension_dirs.setdefault(name, folder)
    except ImportError as e:
        _warn_once("extension_dirs", f"bokeh_live cannot register its static files with Bokeh ({e!r}); "
                                     "they are served once a page with a BokehLive has been")
