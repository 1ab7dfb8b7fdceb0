"""A ``BokehLive``'s life in a Bokeh server session: the session's memory budget for what its
browser sends, and the ends of a session (the browser gone, the session destroyed), which
end the model's pending calls at once instead of at their timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from typing import TYPE_CHECKING, Any, cast

from . import _bokeh_internals, metrics
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
    _session_opened(doc, model)

    def fail_all(reason: str) -> None:
        _fail(models, reason)

    def session_destroyed(session_context: Any) -> None:
        fail_all("the Bokeh session ended before the browser answered")
        _session_closed(doc, models)

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
    metrics.refused("client_model")
    if _client_models_logged <= 10:
        log.warning("%s", clean(f"ignoring BokehLive {model.id}: a browser added it to the document, not the app"))


# --- what operators see: the session's story in the log, and its metrics ---------------------------

#: Characters of a Bokeh session id that the log shows: enough to tell sessions apart, not
#: enough to join one (whoever holds a whole id can open a connection to its session).
SESSION_TAG_CHARS = 12


def session_tag(doc: Document | None) -> str:
    """The first SESSION_TAG_CHARS characters of ``doc``'s Bokeh session id ("" without a session)."""
    ctx = doc.session_context if doc is not None else None
    return str(getattr(ctx, "id", "") or "")[:SESSION_TAG_CHARS] if ctx is not None else ""


#: What each session's pages have reported once already: (worker, "start" | "restart", count).
_reported: weakref.WeakKeyDictionary[Document, set[tuple[Any, ...]]] = weakref.WeakKeyDictionary()


def _session_opened(doc: Document, model: BokehLive) -> None:
    metrics.session_opened()
    name = f"BokehLive {model.name or model.id}"  # as the model's own lines name it (channel.py)
    log.info("session %s: opened, with %s", session_tag(doc), clean(name, 80),
             extra={"bokeh_live": {"event": "session_opened", "session": session_tag(doc), "model": name}})


def _session_closed(doc: Document, models: weakref.WeakSet[BokehLive]) -> None:
    metrics.session_closed()
    counts: dict[str, int] = {}
    for each in list(models):
        if each._channel is not None:
            for key in ("calls", "call_errors", "call_timeouts"):
                counts[key] = counts.get(key, 0) + each._channel.counts.get(key, 0)
    log.info("session %s: ended after %d calls to the browser (%d errors, %d timeouts)", session_tag(doc),
             counts.get("calls", 0), counts.get("call_errors", 0), counts.get("call_timeouts", 0),
             extra={"bokeh_live": {"event": "session_closed", "session": session_tag(doc), **counts}})


def browser_reported(model: BokehLive, name: str, old: Any) -> None:
    """The page changed ``status`` or ``browser_metrics`` of ``model`` (was ``old``): count and
    log its runtime's starts, restarts and failures, once per worker of the page however
    many models share it. The numbers are the browser's: untrusted, and bounded as such."""
    doc = model.document
    if doc is None:
        return
    channel = model._live_channel()
    if name == "status":
        if model.status == "error" and old == "loading":
            channel.note("start_failed", f"{channel.name}: the page's Python failed to start or to load packages: "
                                         f"{model.error}", logging.ERROR)
        return
    new = cast(dict[str, float], model.browser_metrics)
    before = cast(dict[str, float], old or {})
    seen = _reported.setdefault(doc, set())
    worker = (model.worker, model.sandbox)
    restarts = int(new.get("restarts", 0))
    if restarts > int(before.get("restarts", 0)) and (worker, "restart", restarts) not in seen:
        seen.add((worker, "restart", restarts))
        metrics.browser_restarted()
        channel.note("restart", f"{channel.name}: the page's Python runtime restarted ({restarts} restarts "
                                "in this page so far)")
    start_ms = new.get("python_start_ms")
    if start_ms is not None and (worker, "start", restarts) not in seen:
        seen.add((worker, "start", restarts))
        snapshot = new.get("from_snapshot") == 1
        metrics.browser_started(start_ms / 1000, snapshot)
        channel.note("started", f"{channel.name}: the page's Python started in {start_ms:.0f} ms"
                                f"{' from a memory snapshot' if snapshot else ''}", logging.INFO)
