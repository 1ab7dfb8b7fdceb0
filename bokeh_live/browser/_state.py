"""Who runs: one :class:`ModelState` per ``BokehLive`` of the worker, and the way to the page.

One worker serves several models. Each has its own namespace, callbacks, runs and calls in
its state, so forgetting a model is one step that also ends what it had waiting. Context
variables say which model (and which run of it) the running code belongs to, so ``send``
and ``print`` reach the right model even when several runs interleave at ``await`` points.
"""

from __future__ import annotations

import asyncio
import contextvars
import io
import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from ..pending import Pending
from ..shared import MAX_CALLS_IN_FLIGHT, MAX_INLINE_BYTES, MAX_MESSAGE_BYTES, PROGRESS_INTERVAL_MS
from ..wire import Encoder, Size

#: The page: ``post(kind, payload)`` sends a message to it (set by ``_install`` in the
#: worker; a recorder in tests under CPython).
post: Callable[[str, dict[str, Any]], None] | None = None

current_model: contextvars.ContextVar[str] = contextvars.ContextVar("bokeh_live_model")
current_run: contextvars.ContextVar[str] = contextvars.ContextVar("bokeh_live_run", default="")

#: Strong references to running tasks: the event loop keeps only weak ones.
_tasks: set[asyncio.Task[Any]] = set()


@dataclass
class ModelState:
    """Everything the worker holds for one model."""

    id: str
    namespace: dict[str, Any] = field(default_factory=dict)
    #: ``on_server_data`` callbacks, until the model's code runs again.
    handlers: list[Callable[[Any], Any]] = field(default_factory=list)
    value: Any = None
    limit: int = MAX_MESSAGE_BYTES
    auto_packages: bool = True
    #: Runs that have not finished (waiting at an await), by run id: what "cancel" stops.
    runs: Pending = field(default_factory=Pending)
    #: ``bokeh_live.call``\\ s waiting for the server.
    calls: Pending = field(default_factory=lambda: Pending(limit=MAX_CALLS_IN_FLIGHT, prefix="call-"))
    #: By run: when its last progress report left, and a report held back since.
    progress_sent: dict[str, float] = field(default_factory=dict)
    progress_held: dict[str, dict[str, Any]] = field(default_factory=dict)
    # What the page lets this model's code hear (watch.py): the app's ``watch``, which of it
    # are properties (with their mirrored values) and events, why an entry cannot be watched,
    # and the callbacks registered for them.
    watchable: dict[str, list[str]] = field(default_factory=dict)
    watched_properties: dict[str, list[str]] = field(default_factory=dict)
    watched_events: dict[str, list[str]] = field(default_factory=dict)
    watch_missing: dict[str, str] = field(default_factory=dict)
    mirror: dict[tuple[str, str], Any] = field(default_factory=dict)
    watchers: dict[tuple[str, str], list[Callable[..., Any]]] = field(default_factory=dict)
    event_watchers: dict[tuple[str, str], list[Callable[..., Any]]] = field(default_factory=dict)
    #: While callbacks run: their ``update()``\ s, merged per target model, sent when they end.
    updates: dict[str, dict[str, Any]] | None = None

    def fresh_namespace(self) -> dict[str, Any]:
        """A new namespace for the model's own code: what the old one registered goes."""
        import builtins
        self.namespace = {"__name__": "__main__", "__builtins__": builtins}
        self.handlers.clear()
        self.watchers.clear()
        self.event_watchers.clear()
        return self.namespace

    def close(self) -> None:
        """The model left the page: its runs and calls end now."""
        self.calls.end_all(lambda: RuntimeError("the BokehLive left the page before the server answered"))
        for run_id in self.runs:
            self.runs.cancel(run_id, "the BokehLive left the page")

    # --- progress: at most one report per PROGRESS_INTERVAL_MS leaves, the last always ---

    def progress(self, report: dict[str, Any]) -> None:
        run_id = report["id"]
        now = time.monotonic()
        if now - self.progress_sent.get(run_id, -math.inf) >= PROGRESS_INTERVAL_MS / 1000:
            self.progress_sent[run_id] = now
            self.progress_held.pop(run_id, None)
            emit("progress", report)
        else:
            self.progress_held[run_id] = report

    def progress_done(self, run_id: str) -> None:
        """A run ended: its held report leaves, and its clock is forgotten."""
        self.progress_sent.pop(run_id, None)
        held = self.progress_held.pop(run_id, None)
        if held is not None:
            emit("progress", held)


#: The models of this worker, by id.
models: dict[str, ModelState] = {}


def model_state(model: str) -> ModelState:
    state = models.get(model)
    if state is None:
        state = models[model] = ModelState(model)
        state.fresh_namespace()
    return state


def forget(model: str) -> None:
    state = models.pop(model, None)
    if state is not None:
        state.close()


def current(what: str) -> ModelState:
    """The state of the model whose code runs, or a clear error outside any."""
    model = current_model.get(None)
    if model is None:
        raise RuntimeError(f"bokeh_live.{what} works only in code run by a BokehLive model")
    return model_state(model)


def emit(kind: str, payload: dict[str, Any]) -> None:
    if post is None:
        raise RuntimeError("bokeh_live only works inside a BokehLive worker (bokeh_live.testing gives tests one)")
    post(kind, payload)


def start(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
    """Run ``coro`` as a task that starts at once: code that never awaits then finishes
    before control returns to the worker, and its reply leaves in the same batch. Returns
    the task if it has not finished yet."""
    loop = asyncio.get_event_loop()  # Pyodide's WebLoop: there is no *running* loop in a worker
    try:
        task = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]  # Python >= 3.12
    except TypeError:
        task = loop.create_task(coro)
    if task.done():
        return None
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


def in_model(model: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn(*args)`` as code of ``model`` (what it prints and sends is the model's)."""
    ctx = contextvars.copy_context()
    ctx.run(current_model.set, model)
    return ctx.run(fn, *args)


class Stream(io.TextIOBase):
    """sys.stdout/stderr that forwards text to the page, labelled with the model and run
    that wrote it, and falls back to the original stream outside any model."""

    def __init__(self, name: str, fallback: Any) -> None:
        self.name = name
        self._fallback = fallback

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        model = current_model.get(None)
        if model is None or post is None:
            return int(self._fallback.write(text))
        emit("stream", {"model": model, "id": current_run.get(), "name": self.name, "text": text})
        return len(text)


def encode_for_server(value: Any, state: ModelState, what: str) -> Any:
    """``value`` in the page's form, within the server's limits: ``max_message_size`` in
    all, and :data:`MAX_INLINE_BYTES` of JSON text (bytes and arrays are sent in chunks; the
    rest must fit one websocket message)."""
    size = Size()
    payload = Encoder(size).encode(value)
    if size.total > state.limit:
        raise ValueError(f"{what} is {size.total} bytes, over the server's limit of {state.limit} bytes "
                         "(BokehLive.max_message_size)")
    if size.json > MAX_INLINE_BYTES:
        raise ValueError(f"{what} holds {size.json} bytes of JSON text, numbers or lists, over {MAX_INLINE_BYTES}: "
                         "send large data as bytes, memoryviews or arrays, which travel in chunks")
    return payload
