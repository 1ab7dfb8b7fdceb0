"""A ``BokehLive``'s life in a Bokeh server session: the session's memory budget for what its
browser sends, and the ends of a session (the browser gone, the session destroyed), which
end the model's pending calls at once instead of at their timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import TYPE_CHECKING, Any

from . import _bokeh_internals
from .channel import clean
from .chunks import SESSION_BLOB_BYTES, Budget

if TYPE_CHECKING:
    from bokeh.document import Document

    from .live import BokehLive

log = logging.getLogger("bokeh_live.live")

#: Each session's budget for incomplete blobs from its browser, shared by its models.
_budgets: weakref.WeakKeyDictionary[Document, Budget] = weakref.WeakKeyDictionary()


def session_budget(doc: Document | None) -> Budget:
    if doc is None:
        return Budget(SESSION_BLOB_BYTES)
    budget = _budgets.get(doc)
    if budget is None:
        budget = _budgets[doc] = Budget(SESSION_BLOB_BYTES)
    return budget


def session_of(doc: Document | None) -> Any:
    ctx = doc.session_context if doc is not None else None
    return getattr(ctx, "session", None) if ctx is not None else None


#: The BokehLive models of each server document, to reach even once the document is gone.
_watched: weakref.WeakKeyDictionary[Document, weakref.WeakSet[BokehLive]] = weakref.WeakKeyDictionary()


def watch_document(doc: Document, model: BokehLive) -> None:
    """Fail ``model``'s pending calls when the browser goes or the session ends. The
    document is watched once, for all its models."""
    models = _watched.get(doc)
    if models is not None:
        models.add(model)
        return
    models = _watched[doc] = weakref.WeakSet([model])

    def fail_all(reason: str) -> None:
        _fail(models, reason)

    def session_destroyed(session_context: Any) -> None:
        fail_all("the Bokeh session ended before the browser answered")

    doc.on_session_destroyed(session_destroyed)
    # The session exists only once the app script has run: look at it next tick.
    doc.add_next_tick_callback(lambda: _bokeh_internals.watch_session(
        doc, lambda: fail_all("the browser disconnected before answering"),
        # A page that reconnects rebuilds its views: what was sent to the old ones is lost,
        # even when its old connection is not closed yet (it never would be answered).
        lambda: fail_all("the browser reconnected before answering")))


def _fail(models: weakref.WeakSet[BokehLive], reason: str) -> None:
    for each in list(models):
        if each._channel is not None:
            each._channel.disconnected(reason)
        if each._exposed is not None:
            each._exposed.cancel_all()


def server_stopping(documents: list[Document]) -> None:
    """A Bokeh server stops (SIGTERM, a deploy): every pending call of its sessions ends now,
    with a message that says so, and the app's code awaiting one hears it before the process
    goes (Bokeh stops its event loop first: it runs a moment more here)."""
    for doc in documents:
        models = _watched.get(doc)
        if models is not None:
            _fail(models, "the Bokeh server is stopping")
    with contextlib.suppress(RuntimeError):  # a loop still running (a server stopped from its app)
        loop = asyncio.get_event_loop()
        if not loop.is_running() and not loop.is_closed():
            loop.run_until_complete(asyncio.sleep(0.05))


_client_models_logged = 0


def log_client_model(model: BokehLive) -> None:
    global _client_models_logged
    _client_models_logged += 1
    if _client_models_logged <= 10:
        log.warning("%s", clean(f"ignoring BokehLive {model.id}: a browser added it to the document, not the app"))
