"""The server end of a ``BokehLive``'s transport: everything between the model and Bokeh's events.

A :class:`Channel` owns the outbox (bounded, batched per tick, packed into events that
stay under Bokeh's 20 MiB websocket limit, large binary values in chunks), the table of
pending requests (each with an id, a timeout and exactly one ending), and the way in:
chunk reassembly within memory budgets, restoring values, validating each message on its
own, and a log of what was refused that a hostile client cannot flood.

The model (``live.py``) only says ``channel.post(...)``, ``await channel.request(...)``
and hands incoming events to ``channel.receive``. ``bokehjs_ext/channel.ts`` is the page's
end.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
import weakref
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import tabular
from .chunks import PROCESS_BUDGET, SESSION_BLOB_BYTES, Assembler, Budget, Refused, chunk_size, split
from .protocol import (
    Call,
    Cancel,
    ClientMessage,
    ClientMessages,
    Output,
    Rejected,
    RunPython,
    ServerMessage,
    ServerMessages,
    ViewState,
    measure,
    parse_client_message,
)
from .shared import (
    ARRAY_TAG,
    BLOB_TAG,
    CATEGORY_TAG,
    DTYPE_FORMATS,
    EVENT_BYTES,
    FRAME_TAG,
    INT_TAG,
    MAX_DEPTH,
    MAX_INLINE_BYTES,
    MAX_SAFE_INT,
    STRINGS_TAG,
)
from .tabular import ARRAY_KINDS

#: Tags of values tabular.py decodes.
TABULAR_TAGS = frozenset({ARRAY_TAG, STRINGS_TAG, CATEGORY_TAG, FRAME_TAG})

if TYPE_CHECKING:
    from bokeh.document import Document

    from .live import BokehLive

__all__ = ("Channel", "LiveError", "Pending", "clean", "prepare")

log = logging.getLogger("bokeh_live.live")

#: Messages (and chunks) one batch from the browser may hold; more is refused whole.
MAX_BATCH_ITEMS = 2048

#: Messages the outbox holds for a browser that has not taken them (no view yet, or a
#: page gone away): past this, or past ``max_message_size`` bytes, posting raises.
MAX_OUTBOX_MESSAGES = 10_000

#: ``BokehLive.metrics()`` takes the median round trip of this many newest calls.
ROUND_TRIPS_KEPT = 100
#: A call's timeout does not count the time Python spends starting (or restarting, or loading
#: packages) on the page, up to this many seconds per call: the runtime's own limit on a
#: package load. Every call still ends: a page that says "loading" forever costs this at most.
MAX_START_WAIT = 300.0

#: Refusals logged per model before its log goes quiet, and per process per minute.
MAX_LOGGED_PER_MODEL = 10
MAX_LOGGED_PER_MINUTE = 60


class LiveError(Exception):
    """Python code in the browser raised, or the browser could not answer.

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


# --- logging what a client may control --------------------------------------------------------

_ESCAPE = re.compile(r"[^\x20-\x7e]")


def clean(text: str, limit: int = 300) -> str:
    """``text`` safe for one log line: printable ASCII only, newlines escaped, cut short."""
    text = _ESCAPE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text[:limit])
    return text[:limit] + ("..." if len(text) > limit else "")


class _ProcessLogBudget:
    """At most MAX_LOGGED_PER_MINUTE refusal lines per minute for the whole process:
    a client that makes many models cannot flood the log either."""

    def __init__(self) -> None:
        self.window = 0.0
        self.count = 0
        self.suppressed = 0

    def allow(self) -> bool:
        now = time.monotonic()
        if now - self.window > 60:
            if self.suppressed:
                log.warning("bokeh_live: %d more refused browser messages were not logged", self.suppressed)
            self.window, self.count, self.suppressed = now, 0, 0
        self.count += 1
        if self.count > MAX_LOGGED_PER_MINUTE:
            self.suppressed += 1
            return False
        return True


_LOG_BUDGET = _ProcessLogBudget()


# --- requests -----------------------------------------------------------------------------------

@dataclass
class _Request:
    future: asyncio.Future[Any]
    sent: bool = False


class Pending:
    """Requests waiting for the browser. Each has an id and ends exactly once: with its
    result or error, its timeout or cancellation (``forget``), or ``fail_all``."""

    def __init__(self) -> None:
        self._requests: dict[str, _Request] = {}

    def open(self) -> tuple[str, asyncio.Future[Any]]:
        request_id = secrets.token_urlsafe(16)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._requests[request_id] = _Request(future)
        return request_id, future

    def __contains__(self, request_id: str) -> bool:
        return request_id in self._requests

    def __len__(self) -> int:
        return len(self._requests)

    def ids(self) -> list[str]:
        return list(self._requests)

    def mark_sent(self, request_id: str) -> None:
        request = self._requests.get(request_id)
        if request is not None:
            request.sent = True

    def settle(self, request_id: str, result: Any = None, error: BaseException | None = None) -> bool:
        """End a request with its result or error; False if it is unknown or already ended."""
        request = self._requests.pop(request_id, None)
        if request is None or request.future.done():
            return False
        if error is not None:
            request.future.set_exception(error)
        else:
            request.future.set_result(result)
        return True

    def forget(self, request_id: str) -> bool:
        """The caller gave up (timeout, cancellation): returns whether the browser has it."""
        request = self._requests.pop(request_id, None)
        return request is not None and request.sent

    def fail_all(self, reason: str) -> None:
        requests, self._requests = self._requests, {}
        for request in requests.values():
            if not request.future.done():
                request.future.set_exception(LiveError(reason))


# --- values from the browser ----------------------------------------------------------------------

_DIGITS = re.compile(r"-?[0-9]{1,400}")


class _Restorer:
    """Turns a message as Bokeh decoded it into plain values: chunked placeholders become
    their bytes or arrays, tagged big integers become ints, and anything else that is not
    JSON-like, bytes or a numeric array (a Bokeh model a forged event built, say) is
    refused. Counts bytes as it goes, against ``limit``."""

    def __init__(self, assembler: Assembler, limit: int) -> None:
        self.assembler = assembler
        self.limit = limit
        self.total = 0

    def _count(self, n: int) -> None:
        self.total += n
        if self.total > self.limit:
            raise Refused(f"larger than the limit of {self.limit} bytes (BokehLive.max_message_size)")

    def restore(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise Refused(f"nested deeper than {MAX_DEPTH} levels")
        kind = type(value)
        if value is None or kind in (bool, int, float):
            self._count(8)
            return value
        if kind is str:
            self._count(len(value))
            return value
        if kind is bytes:
            self._count(len(value))
            return value
        if kind is list:
            self._count(len(value))
            return [self.restore(v, depth + 1) for v in value]
        if kind is dict:
            if BLOB_TAG in value:
                restored = self.assembler.take(value)
                self._count(len(restored) if isinstance(restored, bytes) else int(restored.nbytes))
                return restored
            if INT_TAG in value:
                digits = value[INT_TAG]
                if value.keys() != {INT_TAG} or not isinstance(digits, str) or not _DIGITS.fullmatch(digits):
                    raise Refused("a tagged integer takes only its decimal digits")
                return int(digits)
            self._count(2 * len(value))
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise Refused(f"dict keys must be strings, not {type(k).__name__}")
                self._count(len(k))
                out[k] = self.restore(v, depth + 1)
            if out.keys() & TABULAR_TAGS:
                try:
                    return tabular.decode(out)
                except (ValueError, TypeError) as e:
                    raise Refused(f"a tagged table or array: {e}") from None
            return out
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            self._count(int(value.nbytes))
            return value
        if kind.__name__ == "array" and kind.__module__ == "array":  # typed arrays arrive as array.array
            array = np.array(value)
            self._count(int(array.nbytes))
            return array
        raise Refused(f"a value of type {kind.__name__[:40]} is not accepted from the browser")


def _placeholders(value: Any, out: set[str], depth: int = 0) -> set[str]:
    """The blob ids a message refers to."""
    if depth > MAX_DEPTH:
        return out
    if isinstance(value, list):
        for v in value:
            _placeholders(v, out, depth + 1)
    elif isinstance(value, dict):
        blob_id = value.get(BLOB_TAG)
        if isinstance(blob_id, str):
            out.add(blob_id)
        else:
            for v in value.values():
                _placeholders(v, out, depth + 1)
    return out


def prepare(value: Any, depth: int = 0) -> Any:
    """``value`` as the browser can take it: integers beyond JavaScript's safe range tagged
    (exact both ways), DataFrames and arrays of dtypes BokehJS lacks as tagged bytes."""
    if type(value) is int and not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        return {INT_TAG: str(value)}
    if depth > MAX_DEPTH:
        return value
    if isinstance(value, dict):
        return {k: prepare(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [prepare(v, depth + 1) for v in value]
    if isinstance(value, np.ndarray) and str(value.dtype) not in DTYPE_FORMATS and value.dtype.kind in ARRAY_KINDS:
        return tabular.encode_array(value)
    if tabular.is_frame(value):
        return prepare(tabular.encode_frame(value), depth + 1)
    return value


# --- the channel --------------------------------------------------------------------------------------

@dataclass
class _Outgoing:
    message: ServerMessage
    chunks: list[dict[str, Any]]
    inline: int
    size: int
    request_id: str | None = None


#: Each session's budget for incomplete blobs, shared by its models.
_session_budgets: weakref.WeakKeyDictionary[Any, Budget] = weakref.WeakKeyDictionary()


def _session_budget(doc: Document | None) -> Budget:
    if doc is None:
        return Budget(SESSION_BLOB_BYTES)
    budget = _session_budgets.get(doc)
    if budget is None:
        budget = _session_budgets[doc] = Budget(SESSION_BLOB_BYTES)
    return budget


@dataclass
class Channel:
    """The transport of one ``BokehLive``. ``deliver`` gets each accepted ``output``,
    ``view`` and ``call`` message; replies end their requests here."""

    model: BokehLive
    deliver: Callable[[Output | ViewState | Call], None]
    pending: Pending = field(default_factory=Pending)
    view_ready: bool = False
    _outbox: deque[_Outgoing] = field(default_factory=deque)
    _outbox_bytes: int = 0
    _flush_scheduled: bool = False
    _assembler: Assembler | None = None
    _refused: int = 0
    _callback_errors: int = 0
    counts: Counter[str] = field(default_factory=Counter)  # calls, their endings, messages and bytes each way
    round_trips: deque[float] = field(default_factory=lambda: deque(maxlen=ROUND_TRIPS_KEPT))  # seconds
    _loading_total: float = 0.0  # seconds the page has said "loading", before _loading_since
    _loading_since: float | None = None

    @property
    def limit(self) -> int:
        return cast(int, self.model.max_message_size)

    def _document(self) -> Document:
        doc = self.model.document
        if doc is None or doc.session_context is None:
            raise RuntimeError(
                "BokehLive.send() and run_python() need a Bokeh server session (bokeh serve, or a "
                "server app in a notebook). In standalone HTML, code in the browser runs one-way."
            )
        return doc

    # --- out -------------------------------------------------------------------------------------

    def post(self, message: ServerMessage, request_id: str | None = None) -> None:
        """Queue ``message`` for the browser; it leaves with everything else posted this tick.

        Raises ``ValueError`` for a message over ``max_message_size`` or with more JSON
        text than one websocket message takes, ``TypeError`` for a value that cannot be
        sent, and :class:`LiveError` when the outbox is full (the browser has not taken
        what was posted before).
        """
        doc = self._document()
        message = cast(ServerMessage, prepare(message))
        try:
            measure(message, self.limit)
        except TypeError as e:
            raise TypeError(f"{message['type']} message refused: {e}") from None
        except ValueError as e:
            raise ValueError(f"{message['type']} message refused: {e} (BokehLive.max_message_size)") from None
        chunks: list[dict[str, Any]] = []
        small = split(message, chunks)
        try:
            inline, _ = measure(small, MAX_INLINE_BYTES)
        except ValueError:
            raise ValueError(f"{message['type']} message refused: over {MAX_INLINE_BYTES} bytes of text, numbers "
                             "or lists; send large data as bytes or numpy arrays, which travel in chunks") from None
        size = inline + sum(map(chunk_size, chunks))
        if len(self._outbox) >= MAX_OUTBOX_MESSAGES or self._outbox_bytes + size > max(self.limit, size):
            raise LiveError(
                f"{message['type']} message refused: the browser has not taken the {len(self._outbox)} messages "
                f"({self._outbox_bytes} bytes) posted before it, so the outbox is full"
            )
        self._outbox.append(_Outgoing(small, chunks, inline, size, request_id))
        self._outbox_bytes += size
        self.counts["messages_sent"] += 1
        self.counts["bytes_sent"] += size
        if not self._flush_scheduled:
            # One event per tick carries everything posted meanwhile; a next-tick callback
            # also runs with the document lock, which sending needs, from any caller.
            self._flush_scheduled = True
            doc.add_next_tick_callback(self.flush)

    async def request(self, message: RunPython, timeout: float) -> Any:
        """Post ``message`` with a fresh ``request_id`` and wait for its one ending."""
        request_id, future = self.pending.open()
        self.counts["calls"] += 1
        start = time.perf_counter()
        loading_before = self.loading_seconds()
        try:
            self.post(cast(RunPython, {**message, "request_id": request_id}), request_id)
            while True:
                # The clock stops while Python starts on the page: a call made during a
                # (re)start or a package load is not timed out by the wait for it.
                paused = min(self.loading_seconds() - loading_before, MAX_START_WAIT)
                remaining = start + timeout + paused - time.perf_counter()
                if remaining <= 0:
                    raise asyncio.TimeoutError
                done, _ = await asyncio.wait({future}, timeout=remaining)
                if done:
                    break
            result = future.result()
            self.round_trips.append(time.perf_counter() - start)
            return result
        except LiveError:
            if future.done():  # the browser answered with an error: a round trip all the same
                self.round_trips.append(time.perf_counter() - start)
            self.counts["call_errors"] += 1
            raise
        except asyncio.TimeoutError:
            self.counts["call_timeouts"] += 1
            raise TimeoutError(f"run_python: no answer from the browser within {timeout} s") from None
        finally:
            # Exactly one ending: a reply arriving after this is unknown and dropped. If the
            # browser has the call, tell it to stop; if not, it never leaves the outbox.
            if self.pending.forget(request_id):
                self._cancel(request_id)

    def note_status(self, status: str) -> None:
        """The page's ``status`` changed: keep count of the time it spends loading."""
        now = time.perf_counter()
        if self._loading_since is not None:
            self._loading_total += now - self._loading_since
        self._loading_since = now if status == "loading" else None

    def loading_seconds(self) -> float:
        """How long the page has said "loading" (Python starting, restarting or loading packages)."""
        since = self._loading_since
        return self._loading_total + (time.perf_counter() - since if since is not None else 0.0)

    def _cancel(self, request_id: str) -> None:
        try:
            self.post(Cancel(type="cancel", request_id=request_id))
        except Exception:  # the session is gone: nothing runs the call any more
            log.debug("bokeh_live: could not post the cancellation of %s", request_id)

    def flush(self) -> None:
        self._flush_scheduled = False
        doc = self.model.document
        if doc is None or not self.view_ready:
            return  # kept until a view in the browser says it is there (receive)
        # Chunks go before the message that needs them. An event holds at most EVENT_BYTES,
        # or one larger item alone (a message of at most MAX_INLINE_BYTES): every event stays
        # under Bokeh's 20 MiB websocket message limit.
        messages: list[ServerMessage] = []
        chunks: list[dict[str, Any]] = []
        size = 0

        def make_room(n: int) -> None:
            nonlocal messages, chunks, size
            if (messages or chunks) and size + n > EVENT_BYTES:
                doc.callbacks.send_event(ServerMessages(self.model, messages, chunks))
                messages, chunks, size = [], [], 0
            size += n

        outbox, self._outbox, self._outbox_bytes = self._outbox, deque(), 0
        for item in outbox:
            if item.request_id is not None:
                if item.request_id not in self.pending:
                    continue  # the call ended before it left: never send a stale request
                self.pending.mark_sent(item.request_id)
            for chunk in item.chunks:
                make_room(chunk_size(chunk))
                chunks.append(chunk)
            make_room(item.inline)
            messages.append(item.message)
        if messages or chunks:
            doc.callbacks.send_event(ServerMessages(self.model, messages, chunks))

    # --- state --------------------------------------------------------------------------------------

    def disconnected(self, reason: str) -> None:
        """The view is gone: fail every pending call now instead of at its timeout, and
        hold new messages until a view is back (BokehJS reconnects with new views)."""
        self.view_ready = False
        if self._assembler is not None:
            self._assembler.clear()
        self.pending.fail_all(reason)

    # --- in -------------------------------------------------------------------------------------------

    def receive(self, event: ClientMessages) -> None:
        """Take a batch from the browser. Nothing in it can raise out of here: each
        message is judged, delivered or refused on its own."""
        if not self.view_ready:
            # A view sends a batch (maybe empty) as soon as it exists: what the server sends
            # before that would be lost, as Bokeh drops events for a session with no
            # connection yet and BokehJS has nothing to give them to.
            self.view_ready = True
            self.flush()
        if event.unexpected:
            self.refuse(f"unexpected event fields {event.unexpected[:5]}")
        messages, chunks = event.messages, event.chunks
        if not isinstance(messages, list) or not isinstance(chunks, (list, tuple)):
            self.refuse(f"a batch must be a list, not {type(messages).__name__}")
            return
        if len(messages) > MAX_BATCH_ITEMS or len(chunks) > MAX_BATCH_ITEMS:
            self.refuse(f"a batch holds at most {MAX_BATCH_ITEMS} messages and {MAX_BATCH_ITEMS} chunks")
            return
        assembler = self._assembler_for()
        assembler.limit = self.limit
        # A page's event completes at most one message's blobs (max_message_size) and blobs
        # wholly inside it (EVENT_BYTES): a forged one may not make one batch join more.
        assembler.allow(assembler.limit + EVENT_BYTES)
        if not chunks and not assembler.held:
            for raw in messages:
                self._deliver(raw, assembler)
            return
        # Restore each message as soon as its blobs are complete, in order: memory then
        # holds one message's blobs at a time, not the whole batch's.
        queue = deque((raw, _placeholders(raw, set())) for raw in messages)
        for chunk in chunks:
            try:
                assembler.add(chunk)
            except Refused as e:
                self.refuse(str(e))
            while queue and all(assembler.complete(b) for b in queue[0][1]):
                self._deliver(queue.popleft()[0], assembler)
        for raw, _ in queue:
            self._deliver(raw, assembler)  # a placeholder still incomplete is refused there

    def _assembler_for(self) -> Assembler:
        if self._assembler is None:
            self._assembler = Assembler(self.limit, (_session_budget(self.model.document), PROCESS_BUDGET))
        return self._assembler

    def _deliver(self, raw: Any, assembler: Assembler) -> None:
        try:
            # assembler.limit is self.limit, read once per batch in receive: reading a Bokeh
            # property costs ~20 us, most of what a small message costs here
            restorer = _Restorer(assembler, assembler.limit)
            value = restorer.restore(raw)
        except (Refused, ValueError, RecursionError) as e:
            self.refuse(f"message refused: {e}")
            return
        self.counts["messages_received"] += 1
        self.counts["bytes_received"] += restorer.total
        message = parse_client_message(value)
        if isinstance(message, Rejected):
            self.refuse(message.reason)
        elif message["type"] in ("output", "view", "call"):
            try:
                self.deliver(message)
            except Exception as e:
                # The app's own callback (on_change("output")) raised: that costs only this
                # message, never the rest of the batch or the connection.
                self.callback_failed(e)
        else:
            self._settle(message)

    def _settle(self, message: ClientMessage) -> None:
        if message["type"] == "run_python_result":
            settled = self.pending.settle(message["request_id"], message["result"])
        elif message["type"] == "run_python_error":
            error_type, traceback = message.get("error_type", "Exception"), message["error"]
            last = traceback.strip().splitlines()[-1] if traceback.strip() else error_type
            settled = self.pending.settle(message["request_id"],
                                          error=LiveError(last[:1000], error_type=error_type, traceback=traceback))
        else:
            return
        if not settled:
            self.refuse("reply to an unknown or finished request")

    def refuse(self, reason: str) -> None:
        """Log a refused browser message: escaped, one line, and bounded per model and process."""
        self._refused += 1
        if self._refused <= MAX_LOGGED_PER_MODEL:
            self._log_once(f"BokehLive {self.model.id} dropped a browser message: {reason}")
            if self._refused == MAX_LOGGED_PER_MODEL:
                self._log_once(f"BokehLive {self.model.id}: further dropped messages are not logged")

    def callback_failed(self, error: Exception, what: str = "a callback") -> None:
        """Log an exception of the app's own callback: the first with its traceback."""
        self._callback_errors += 1
        if self._callback_errors <= MAX_LOGGED_PER_MODEL and _LOG_BUDGET.allow():
            log.error("%s", clean(f"{what} of BokehLive {self.model.id} raised {type(error).__name__}: {error}"),
                      exc_info=self._callback_errors == 1)

    @staticmethod
    def _log_once(text: str) -> None:
        if _LOG_BUDGET.allow():
            log.warning("%s", clean(text))

