"""The wire protocol between a ``BokehLive`` model on the server and its view in the browser.

Every message is a dict tagged by ``type``. The five message types are named here and
nowhere else on the Python side; ``bokehjs_ext/protocol.ts`` is the TypeScript twin, and
``tests/test_protocol.py`` keeps the two lists equal.

Messages travel in batches on two Bokeh events of the model: :class:`ServerMessages`
(server to browser, sent with ``document.callbacks.send_event``) and
:class:`ClientMessages` (browser to server, a model event). A batch is a list, so
many calls in flight cost one websocket message per tick rather than one each.

Anything arriving from the browser can be forged: :func:`parse_client_messages` checks
shape, types and size and turns everything it does not accept into a :class:`Rejected`
with a reason, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Union

from bokeh.events import ModelEvent

__all__ = (
    "ClientMessage",
    "ClientMessages",
    "MAX_MESSAGE_BYTES",
    "Output",
    "Rejected",
    "RunPython",
    "RunPythonError",
    "RunPythonResult",
    "ServerData",
    "ServerMessage",
    "ServerMessages",
    "parse_client_messages",
    "payload_size",
)

#: Default cap on the decoded size of one batch from the browser. Bokeh's own websocket
#: limit (20 MiB by default) closes the socket on anything larger before we see it.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

#: Request ids are ``secrets.token_urlsafe(16)``: 22 characters. Anything much longer is junk.
MAX_REQUEST_ID_LENGTH = 64

#: Nesting deeper than this is refused rather than walked (a forged value could be deep).
MAX_DEPTH = 64


# --- server to browser --------------------------------------------------------------------

class ServerData(TypedDict):
    type: Literal["server_data"]
    data: Any


class RunPython(TypedDict):
    type: Literal["run_python"]
    code: str
    kwargs: dict[str, Any]
    request_id: str


ServerMessage = Union[ServerData, RunPython]


# --- browser to server --------------------------------------------------------------------

class Output(TypedDict):
    type: Literal["output"]
    data: Any


class RunPythonResult(TypedDict):
    type: Literal["run_python_result"]
    request_id: str
    result: Any


class _RunPythonErrorBase(TypedDict):
    type: Literal["run_python_error"]
    request_id: str
    error: str


class RunPythonError(_RunPythonErrorBase, total=False):
    error_type: str  # the exception's class name; optional, older clients omit it


ClientMessage = Union[Output, RunPythonResult, RunPythonError]

SERVER_MESSAGE_TYPES = ("server_data", "run_python")
CLIENT_MESSAGE_TYPES = ("output", "run_python_result", "run_python_error")


# --- the two Bokeh events that carry batches ------------------------------------------------

class ServerMessages(ModelEvent):
    """A batch of :data:`ServerMessage` for one ``BokehLive`` view."""

    event_name = "bokeh_live_server"

    def __init__(self, model: Any, messages: list[ServerMessage]) -> None:
        super().__init__(model=model)
        self.messages = messages

    def event_values(self) -> dict[str, Any]:
        return dict(**super().event_values(), messages=self.messages)


class ClientMessages(ModelEvent):
    """A batch of :data:`ClientMessage` from a ``BokehLive`` view.

    Bokeh builds this with ``cls(**values)`` from whatever the browser sent, so the
    constructor takes anything and leaves judging it to :func:`parse_client_messages`.
    """

    event_name = "bokeh_live_client"

    def __init__(self, model: Any = None, messages: Any = None, **unexpected: Any) -> None:
        super().__init__(model=model)
        self.messages = messages
        self.unexpected = sorted(unexpected)

    def event_values(self) -> dict[str, Any]:
        return dict(**super().event_values(), messages=self.messages)


# --- validation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Rejected:
    """A browser message that was not accepted, and why (for the server log). It ends no
    call, not even one whose id it names: the id may be forged."""

    reason: str


class _TooLarge(Exception):
    pass


def payload_size(value: Any, limit: int = MAX_MESSAGE_BYTES) -> int:
    """Bytes a decoded value occupies on the wire, roughly; raises ``ValueError`` past ``limit``
    or :data:`MAX_DEPTH`. Stops walking as soon as the limit is passed."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (bytes, bytearray, memoryview)):
            total += len(item) if not isinstance(item, memoryview) else item.nbytes
        elif hasattr(item, "nbytes") and hasattr(item, "dtype"):  # numpy without importing it
            total += int(item.nbytes)
        elif isinstance(item, dict):
            total += 2 * len(item)
            stack.extend((k, depth + 1) for k in item.keys())
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            total += len(item)
            stack.extend((v, depth + 1) for v in item)
        elif hasattr(item, "itemsize") and hasattr(item, "__len__"):  # array.array
            total += item.itemsize * len(item)
        else:
            total += 8
        if total > limit:
            raise ValueError(f"larger than the limit of {limit} bytes")
    return total


def _request_id(msg: dict[str, Any]) -> str | None:
    rid = msg.get("request_id")
    if isinstance(rid, str) and 0 < len(rid) <= MAX_REQUEST_ID_LENGTH:
        return rid
    return None


def parse_client_messages(
    messages: Any, limit: int = MAX_MESSAGE_BYTES
) -> list[ClientMessage | Rejected]:
    """Check a batch that arrived from the browser, message by message.

    A batch that is not a list, or is larger than ``limit`` as a whole, is one ``Rejected``.
    Otherwise each element is returned as a valid message or a ``Rejected`` in its place,
    so a single bad message never costs the good ones beside it.
    """
    if not isinstance(messages, list):
        return [Rejected(f"a batch must be a list, not {type(messages).__name__}")]
    try:
        payload_size(messages, limit)
    except ValueError as e:
        return [Rejected(f"batch refused: {e}")]
    return [_parse_one(m) for m in messages]


def _parse_one(msg: Any) -> ClientMessage | Rejected:
    if not isinstance(msg, dict):
        return Rejected(f"a message must be a dict, not {type(msg).__name__}")
    kind = msg.get("type")
    if kind == "output":
        if set(msg) != {"type", "data"}:
            return Rejected(f"'output' takes the keys type, data; got {sorted(map(str, msg))}")
        return Output(type="output", data=msg["data"])

    if kind not in ("run_python_result", "run_python_error"):
        return Rejected(f"unknown message type {str(kind)[:40]!r}")
    rid = _request_id(msg)
    if rid is None:
        return Rejected(f"{kind!r} needs a string request_id of 1 to {MAX_REQUEST_ID_LENGTH} characters")

    if kind == "run_python_result":
        if set(msg) != {"type", "request_id", "result"}:
            return Rejected(f"'run_python_result' takes type, request_id, result; got {sorted(map(str, msg))}")
        return RunPythonResult(type=kind, request_id=rid, result=msg["result"])

    error, error_type = msg.get("error"), msg.get("error_type", "Exception")
    if not set(msg) <= {"type", "request_id", "error", "error_type"} or not isinstance(error, str) \
            or not isinstance(error_type, str) or not error_type.isidentifier():
        return Rejected("'run_python_error' takes a string error and an optional identifier error_type")
    return RunPythonError(type=kind, request_id=rid, error=error, error_type=error_type)
