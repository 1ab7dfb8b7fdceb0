"""The server end of a ``BokehLive``'s transport: everything between the model and the page.

A :class:`Channel` owns the outbox (bounded, batched per tick, packed into events that
stay under Bokeh's 20 MiB websocket limit, large binary values in chunks), the table of
pending requests (``pending.py``: each with an id, a timeout and exactly one ending), and
the way in: chunk reassembly within memory budgets, decoding values, validating each
message on its own, and a log of what was refused that a hostile client cannot flood.

It knows nothing of Bokeh: the model (``live.py``) hands it a function that sends one
event and one that schedules a call for the session's next tick, says
``channel.post(...)`` and ``await channel.request(...)``, and gives it each incoming event's
messages and chunks. ``bokehjs_ext/channel.ts`` is the page's end.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import re
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from . import metrics, tabular
from .chunks import PROCESS_BUDGET, Assembler, Budget, Refused, chunk_size, cut
from .pending import PausableClock, Pending
from .protocol import (
    Call,
    Cancel,
    ClientMessage,
    Output,
    Rejected,
    RunPython,
    ServerMessage,
    parse_client_message,
)
from .shared import CHUNK_BYTES, EVENT_BYTES, MAX_DEPTH, MAX_INLINE_BYTES
from .wire import BLOB_TAG, DTYPE_FORMATS, Decoder, Encoder, Size

__all__ = ("Channel", "LiveError", "clean")

log = logging.getLogger("bokeh_live.live")

#: Messages (and chunks) one batch from the browser may hold; more is refused whole.
MAX_BATCH_ITEMS = 2048

#: Messages the outbox holds for a browser that has not taken them (no view yet, or a
#: page gone away): past this, or past ``max_message_size`` bytes, posting raises.
MAX_OUTBOX_MESSAGES = 10_000

#: ``BokehLive.metrics()`` takes the median round trip of this many newest calls.
ROUND_TRIPS_KEPT = 100
#: A call's timeout does not count the time Python spends starting (or restarting, or loading
#: packages) on the page, nor the time its request and reply take on the link, up to this
#: many seconds each per call: the runtime's own limit on a package load. Every call still
#: ends: a page that says "loading" forever, or a link that never drains, costs this at most.
MAX_START_WAIT = 300.0

#: Refusals logged per model before its log goes quiet, and per process per minute.
MAX_LOGGED_PER_MODEL = 10
MAX_LOGGED_PER_MINUTE = 60


class LiveError(Exception):
    """Python code in the browser raised, or the browser could not answer.

    ``error_type`` is the browser-side exception's class name (``"ZeroDivisionError"``)
    and ``traceback`` its formatted traceback, with line numbers of the code as sent.
    """

    #: The call ended because the browser, the session or the server went, not by an answer.
    _lost = False

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
    """At most MAX_LOGGED_PER_MINUTE lines of each kind (refusals, timeouts...) per minute
    for the whole process: a client that makes many models cannot flood the log either, nor
    silence one kind of line by flooding another."""

    def __init__(self) -> None:
        self.windows: dict[str, list[float]] = {}  # kind: [start, lines, suppressed]

    def allow(self, kind: str = "refused") -> bool:
        now = time.monotonic()
        window = self.windows.setdefault(kind, [now, 0, 0])
        if now - window[0] > 60:
            if window[2]:
                log.warning("bokeh_live: %d more %s lines were not logged", window[2], kind)
            window[:] = [now, 0, 0]
        window[1] += 1
        if window[1] > MAX_LOGGED_PER_MINUTE:
            window[2] += 1
            return False
        return True


_LOG_BUDGET = _ProcessLogBudget()


# --- the codec, as the server speaks it ----------------------------------------------------------

class ServerEncoder(Encoder):
    """wire.py's encoder with the server's fast paths: numpy arrays of the dtypes BokehJS has
    and ``bytes`` stay as they are (Bokeh sends them as binary buffers), and those larger
    than ``CHUNK_BYTES`` leave as placeholders whose bytes go to ``chunks``. One walk tags,
    measures and cuts a message."""

    dict_overhead = len('{"type":"map","entries":[]}')  # how Bokeh's server writes a dict

    def __init__(self, size: Size) -> None:
        super().__init__(size)
        self.chunks: list[dict[str, Any]] = []

    def leaf(self, value: Any, depth: int) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            flat = np.frombuffer(value, dtype=np.uint8)  # a view: no copy
            self.size.add(80, int(flat.nbytes))
            if flat.nbytes > CHUNK_BYTES:
                return cut({"kind": "bytes"}, flat, self.chunks)
            return value if type(value) is bytes else flat.tobytes()
        if isinstance(value, np.ndarray):
            if str(value.dtype) not in DTYPE_FORMATS:
                if value.dtype.kind in tabular.ARRAY_KINDS:  # int64, datetime64...: exact, as raw bytes
                    return self.encode(tabular.encode_array(value), depth)
                return self.encode(value.tolist(), depth)  # objects: as the values they hold
            self.size.add(160, int(value.nbytes))
            if value.nbytes > CHUNK_BYTES:
                data = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
                return cut({"kind": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape)}, data,
                           self.chunks)
            return value
        if isinstance(value, np.generic):
            return self.encode(value.item(), depth)
        if isinstance(value, (datetime.date, datetime.time)):  # Bokeh sends these as numbers
            self.size.add(40)
            return value
        # Caught here, not when the batch is serialized: that would lose the whole batch.
        raise TypeError(f"a {type(value).__name__} cannot be sent to the browser: use JSON-like values, "
                        "bytes, numpy arrays or DataFrames")


class ServerDecoder(Decoder):
    """wire.py's decoder for what a browser sends, as Bokeh decoded it: placeholders become
    the blobs their chunks brought, typed arrays numpy arrays, and anything else that is not
    JSON-like, bytes or a numeric array (a Bokeh model a forged event built, say) is refused.
    Counts bytes as it goes, against the size limit."""

    binary_tag = BLOB_TAG

    def __init__(self, assembler: Assembler, limit: int) -> None:
        super().__init__(Size(limit))
        self.assembler = assembler

    def binary(self, value: dict[str, Any]) -> Any:
        restored = self.assembler.take(value)
        self.size.add(0, len(restored) if isinstance(restored, bytes) else int(restored.nbytes))
        return restored

    def other(self, value: Any) -> Any:
        kind = type(value)
        if kind is bytes:
            self.size.add(0, len(value))
            return value
        if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
            self.size.add(0, int(value.nbytes))
            return value
        if kind.__name__ == "array" and kind.__module__ == "array":  # typed arrays arrive as array.array
            array = np.array(value)
            self.size.add(0, int(array.nbytes))
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


# --- the channel --------------------------------------------------------------------------------------

@dataclass
class _Outgoing:
    message: ServerMessage
    chunks: list[dict[str, Any]]
    inline: int
    size: int
    request_id: str | None = None
    binary: bool = False  # it carries bytes or arrays: the page says when it has arrived
    sent: int = 0  # chunks already on their way

    @property
    def started(self) -> bool:
        return self.sent > 0

    @property
    def may_pass(self) -> bool:
        """Whether later messages may go before it: a call's request, or a reply to the
        browser's call (calls run concurrently anyway)."""
        return self.request_id is not None or self.message["type"] in ("call_result", "call_error")


class _Events:
    """Messages and chunks packed into events, in order, each sent as it fills: an event
    holds at most EVENT_BYTES, or one larger item alone (a message of at most
    MAX_INLINE_BYTES), so every event stays under Bokeh's 20 MiB websocket message limit.
    Chunks go before the message that needs them."""

    def __init__(self, send: Callable[[list[ServerMessage], list[dict[str, Any]]], None]) -> None:
        self.send = send
        self.messages: list[ServerMessage] = []
        self.chunks: list[dict[str, Any]] = []
        self.size = 0

    def add(self, n: int, message: ServerMessage | None = None, chunk: dict[str, Any] | None = None) -> None:
        if (self.messages or self.chunks) and self.size + n > EVENT_BYTES:
            self.close()
        self.size += n
        if message is not None:
            self.messages.append(message)
        if chunk is not None:
            self.chunks.append(chunk)

    def close(self) -> None:
        if self.messages or self.chunks:
            self.send(self.messages, self.chunks)
        self.messages, self.chunks, self.size = [], [], 0


@dataclass
class Channel:
    """The transport of one ``BokehLive``.

    ``send(messages, chunks)`` sends one event to the page; ``schedule(fn)`` calls ``fn``
    later, where sending is allowed (Bokeh: the session's next tick, holding the document
    lock); ``limit()`` is the model's ``max_message_size``; ``deliver`` gets each accepted
    ``output`` and ``call`` message (replies end their requests here, and ``view`` messages
    are the channel's own); ``budgets`` bound incomplete blobs (the session's, the
    process's); ``name`` and ``session`` say whose channel it is in the log.
    """

    send: Callable[[list[ServerMessage], list[dict[str, Any]]], None]
    schedule: Callable[[Callable[[], None]], None]
    limit: Callable[[], int]
    deliver: Callable[[Output | Call], None]
    name: str = "BokehLive"
    session: str = ""
    budgets: tuple[Budget, ...] = (PROCESS_BUDGET,)
    pending: Pending = field(default_factory=Pending)
    #: Whether a view in the browser takes messages now (it announces itself).
    view_ready: bool = False
    counts: Counter[str] = field(default_factory=Counter)  # calls, their endings, messages and bytes each way
    round_trips: deque[float] = field(default_factory=lambda: deque(maxlen=ROUND_TRIPS_KEPT))  # seconds
    #: The time the page has said "loading" (Python starting): calls do not count it.
    loading: PausableClock = field(default_factory=PausableClock)
    #: By request that carries binary data: when it was handed to Bokeh, and when the page
    #: said it had arrived (None: not yet).
    _transit: dict[str, list[float | None]] = field(default_factory=dict)
    #: By request: when the page said its (chunked) reply is on its way.
    _incoming: dict[str, float] = field(default_factory=dict)
    _outbox: deque[_Outgoing] = field(default_factory=deque)
    _outbox_bytes: int = 0
    _flush_scheduled: bool = False
    _assembler: Assembler | None = None
    _logged: Counter[str] = field(default_factory=Counter)  # log lines of each kind

    # --- out -------------------------------------------------------------------------------------

    def post(self, message: ServerMessage, request_id: str | None = None) -> None:
        """Queue ``message`` for the browser; it leaves with everything else posted this tick.

        Raises ``ValueError`` for a message over ``max_message_size`` or with more JSON
        text than one websocket message takes, ``TypeError`` for a value that cannot be
        sent, and :class:`LiveError` when the outbox is full (the browser has not taken
        what was posted before).
        """
        limit = self.limit()
        size = Size(limit, ascii=True)
        encoder = ServerEncoder(size)
        try:
            encoded = cast(ServerMessage, encoder.encode(message))
        except TypeError as e:
            raise TypeError(f"{message['type']} message refused: {e}") from None
        except ValueError as e:
            raise ValueError(f"{message['type']} message refused: {e} (BokehLive.max_message_size)") from None
        chunked = sum(map(chunk_size, encoder.chunks))
        if size.json > MAX_INLINE_BYTES:
            raise ValueError(f"{message['type']} message refused: over {MAX_INLINE_BYTES} bytes of text, numbers "
                             "or lists; send large data as bytes or numpy arrays, which travel in chunks")
        inline = size.total - chunked
        if len(self._outbox) >= MAX_OUTBOX_MESSAGES or self._outbox_bytes + size.total > max(limit, size.total):
            raise LiveError(
                f"{message['type']} message refused: the browser has not taken the {len(self._outbox)} messages "
                f"({self._outbox_bytes} bytes) posted before it, so the outbox is full"
            )
        self._outbox.append(_Outgoing(encoded, encoder.chunks, inline, size.total, request_id, size.binary > 0))
        self._outbox_bytes += size.total
        self.counts["messages_sent"] += 1
        self.counts["bytes_sent"] += size.total
        metrics.sent(size.total)
        if not self._flush_scheduled:
            # One event per tick carries everything posted meanwhile.
            self._flush_scheduled = True
            self.schedule(self.flush)

    async def request(self, message: RunPython, timeout: float, kind: metrics.Kind = "run_python") -> Any:
        """Post ``message`` with a fresh ``request_id`` and wait for its one ending."""
        request_id, future = self.pending.open()
        self.counts["calls"] += 1
        start = time.perf_counter()
        outcome: metrics.Outcome = "error"

        def paused() -> float:
            # The clock stops while the request is on its way (a large one takes what the link
            # needs), while Python starts on the page (a call made during a restart or a
            # package load), and while a large reply arrives.
            arriving = time.perf_counter() - self._incoming.get(request_id, time.perf_counter())
            return self._transit_seconds(request_id) + min(arriving, MAX_START_WAIT) + self.loading.paused_seconds()

        try:
            self.post(cast(RunPython, {**message, "request_id": request_id}), request_id)
            result = await self.pending.wait(request_id, timeout, paused=paused, max_pause=3 * MAX_START_WAIT,
                                             abandoned=self._cancel)
            self.round_trips.append(time.perf_counter() - start)
            outcome = "ok"
            return result
        except LiveError as e:
            if future.done() and not e._lost:  # the browser answered with an error: a round trip all the same
                self.round_trips.append(time.perf_counter() - start)
            self.counts["call_errors"] += 1
            outcome = "disconnected" if e._lost else "error"
            raise
        except TimeoutError:
            self.counts["call_timeouts"] += 1
            outcome = "timeout"
            self.note("timeout", f"a {kind} call of {self.name} got no answer from the browser within {timeout} s")
            raise TimeoutError(f"run_python: no answer from the browser within {timeout} s") from None
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        finally:
            metrics.call_ended(kind, outcome, time.perf_counter() - start)
            # A request that never got to wait (the post raised) ends here too.
            self.pending.forget(request_id)
            self._transit.pop(request_id, None)
            self._incoming.pop(request_id, None)

    def _transit_seconds(self, request_id: str) -> float:
        """How long the request has been, or was, on its way to the page (at most MAX_START_WAIT)."""
        transit = self._transit.get(request_id)
        if transit is None or transit[0] is None:
            return 0.0
        return min((transit[1] or time.perf_counter()) - transit[0], MAX_START_WAIT)

    def note_status(self, status: str) -> None:
        """The page's ``status`` changed: keep count of the time it spends loading."""
        self.loading.pause(status == "loading")

    def _cancel(self, request_id: str) -> None:
        """The call ended on the server: if the browser has it, tell it to stop; if not, it
        never leaves the outbox."""
        try:
            self.post(Cancel(type="cancel", request_id=request_id))
        except Exception:  # the session is gone: nothing runs the call any more
            log.debug("bokeh_live: could not post the cancellation of %s", request_id)

    def flush(self) -> None:
        self._flush_scheduled = False
        if not self.view_ready:
            return  # kept until a view in the browser says it is there (receive)
        # Large values stream: a tick sends at most CHUNK_BYTES of their chunks (Bokeh holds
        # the session's lock until the websocket has taken a tick's events), so what is
        # posted meanwhile does not wait for the whole transfer. Calls' requests and replies
        # may pass each other and go before a tick's chunks (``_Outgoing.may_pass``);
        # anything else keeps its place (``send`` data arrives in the order sent, a cancel
        # after its call).
        ahead, events = _Events(self.send), _Events(self.send)
        streamed = 0
        outbox, self._outbox = self._outbox, deque()
        held: set[str] = set()  # calls part-way: nothing about them passes them
        blocked = False  # an item that keeps its place is waiting: everything after it waits
        for item in outbox:
            if item.request_id is not None and item.request_id not in self.pending and not item.started:
                self._outbox_bytes -= item.size
                continue  # the call ended before it left: never send a stale request
            about = item.request_id or cast("dict[str, Any]", item.message).get("request_id")
            if blocked or about in held or (item.chunks[item.sent:] and streamed >= CHUNK_BYTES):
                self._outbox.append(item)
                blocked = blocked or not item.may_pass
                if about is not None:
                    held.add(about)
                continue
            if item.request_id is not None and not item.started:
                self.pending.mark_sent(item.request_id)
                if item.binary:  # on its way until the page says it arrived ("received")
                    self._transit[item.request_id] = [time.perf_counter(), None]
            while item.sent < len(item.chunks) and streamed < CHUNK_BYTES:
                chunk = item.chunks[item.sent]
                item.sent += 1
                n = chunk_size(chunk)
                events.add(n, chunk=chunk)
                streamed += n
                self._outbox_bytes -= n
            if item.sent < len(item.chunks):
                self._outbox.append(item)
                blocked = blocked or not item.may_pass
                if about is not None:
                    held.add(about)
                continue
            passing = streamed and not item.chunks and item.may_pass
            (ahead if passing else events).add(item.inline, message=item.message)
            self._outbox_bytes -= item.inline
        ahead.close()
        events.close()
        if self._outbox and not self._flush_scheduled:
            self._flush_scheduled = True
            self.schedule(self.flush)

    # --- state --------------------------------------------------------------------------------------

    def disconnected(self, reason: str, *, connection_lost: bool = True) -> None:
        """The view is gone: fail every pending call now instead of at its timeout, and
        hold new messages until a view is back (BokehJS reconnects with new views).

        A page kept in the back/forward cache keeps its connection (``connection_lost``
        false): what crossed it half-way, either way, goes on when the page is shown."""
        self.view_ready = False
        if len(self.pending):
            self.note("disconnected", f"{self.name}: {reason}: {len(self.pending)} pending calls end", logging.INFO)

        def lost() -> LiveError:
            error = LiveError(reason)
            error._lost = True
            return error

        self.pending.end_all(lost)
        if not connection_lost:
            return
        if self._assembler is not None:
            self._assembler.clear()
        # A value part-way would reach the next view without its first chunks: it is lost
        # with the connection, as what was on the wire is.
        for item in [item for item in self._outbox if item.started]:
            self._outbox.remove(item)
            self._outbox_bytes -= item.inline + sum(map(chunk_size, item.chunks[item.sent:]))

    def _view_ready(self) -> None:
        if not self.view_ready:
            self.view_ready = True
            self.flush()

    # --- in -------------------------------------------------------------------------------------------

    def receive(self, messages: Any, chunks: Any, unexpected: list[str] | tuple[str, ...] = ()) -> None:
        """Take a batch from the browser (an event's ``messages`` and ``chunks``). Nothing
        in it can raise out of here: each message is judged, delivered or refused on its own."""
        # A view sends a batch (maybe empty) as soon as it exists: what the server sends
        # before that would be lost, as Bokeh drops events for a session with no
        # connection yet and BokehJS has nothing to give them to.
        self._view_ready()
        if unexpected:
            self.refuse(f"unexpected event fields {list(unexpected)[:5]}", "fields")
        if not isinstance(messages, list) or not isinstance(chunks, (list, tuple)):
            self.refuse(f"a batch must be a list, not {type(messages).__name__}", "batch")
            return
        if len(messages) > MAX_BATCH_ITEMS or len(chunks) > MAX_BATCH_ITEMS:
            self.refuse(f"a batch holds at most {MAX_BATCH_ITEMS} messages and {MAX_BATCH_ITEMS} chunks", "batch")
            return
        assembler = self._assembler_for()
        # The limit is read once per batch: reading a Bokeh property costs ~20 us, most of
        # what a small message costs here.
        assembler.limit = self.limit()
        # A page's event completes at most one message's blobs (max_message_size) and blobs
        # wholly inside it (EVENT_BYTES): a forged one may not make one batch join more.
        assembler.allow(assembler.limit + EVENT_BYTES)
        if not chunks and not assembler.held:
            for raw in messages:
                self._deliver(raw, assembler)
            return
        # Decode each message as soon as its blobs are complete, in order: memory then
        # holds one message's blobs at a time, not the whole batch's.
        queue = deque((raw, _placeholders(raw, set())) for raw in messages)
        for chunk in chunks:
            try:
                assembler.add(chunk)
            except Refused as e:
                self.refuse(str(e), "chunk")
            while queue and all(assembler.complete(b) for b in queue[0][1]):
                self._deliver(queue.popleft()[0], assembler)
        for raw, _ in queue:
            self._deliver(raw, assembler)  # a placeholder still incomplete is refused there

    def _assembler_for(self) -> Assembler:
        if self._assembler is None:
            self._assembler = Assembler(self.limit(), self.budgets)
        return self._assembler

    def _deliver(self, raw: Any, assembler: Assembler) -> None:
        decoder = ServerDecoder(assembler, assembler.limit)
        try:
            value = decoder.decode(raw)
        except (ValueError, RecursionError) as e:  # Refused is a ValueError
            self.refuse(f"message refused: {e}", "value")
            return
        message = parse_client_message(value)
        if isinstance(message, Rejected) or message["type"] not in ("received", "sending"):
            # (A call's transport notices are not messages of the app's.)
            self.counts["messages_received"] += 1
            self.counts["bytes_received"] += decoder.size.total
            metrics.received(decoder.size.total)
        if isinstance(message, Rejected):
            self.refuse(message.reason, "message")
        elif message["type"] == "view":
            if message["state"] == "hidden":
                self.disconnected("the page was left before answering (it may be kept in the browser's "
                                  "back/forward cache); calls fail until it is shown again",
                                  connection_lost=False)
            else:
                self._view_ready()
        elif message["type"] == "sending":
            if message["request_id"] in self.pending:  # (an unknown id changes nothing)
                self._incoming.setdefault(message["request_id"], time.perf_counter())
        elif message["type"] == "received":
            transit = self._transit.get(message["request_id"])
            if transit is not None and transit[1] is None:
                transit[1] = time.perf_counter()
        elif message["type"] in ("output", "call"):
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
            self.refuse("reply to an unknown or finished request", "reply")

    def refuse(self, reason: str, kind: metrics.Refusal = "message") -> None:
        """Count and log a refused browser message: escaped, one line, and bounded per model and process."""
        metrics.refused(kind)
        self.note("refused", f"{self.name} dropped a browser message: {reason}")

    def callback_failed(self, error: Exception, what: str = "a callback") -> None:
        """Log an exception of the app's own callback: the first with its traceback."""
        self.note("callback", f"{what} of {self.name} raised {type(error).__name__}: {error}", logging.ERROR,
                  exc_info=self._logged["callback"] == 0)

    def note(self, event: str, text: str, level: int = logging.WARNING, exc_info: bool = False) -> None:
        """One line in the log about this model: its session, then ``text``, which names the
        model (escaped, cut short). At most MAX_LOGGED_PER_MODEL lines of each ``event`` per model, and
        MAX_LOGGED_PER_MINUTE per process: a client cannot flood the log. The record carries
        ``bokeh_live = {"event", "session", "model"}`` for structured logs (``bokeh_live.logs``)."""
        self._logged[event] += 1
        n = self._logged[event]
        if n > MAX_LOGGED_PER_MODEL or not _LOG_BUDGET.allow(event):
            return
        if n == MAX_LOGGED_PER_MODEL:
            text += f" (further {event} lines of this model are not logged)"
        log.log(level, "%s", clean(f"session {self.session or '-'}: {text}", 400), exc_info=exc_info,
                extra={"bokeh_live": {"event": event, "session": self.session, "model": self.name}})
