"""The wire protocol between a ``BokehLive`` model on the server and its view in the browser.

Every message is a dict tagged by ``type``. The message types are named here and nowhere
else on the Python side; ``bokehjs_ext/protocol.ts`` is the TypeScript twin, and
``tests/test_protocol.py`` keeps the two lists equal. PanelLive's five types
(``server_data``, ``run_python``, ``output``, ``run_python_result``, ``run_python_error``)
keep their shapes; ``cancel``, ``interrupt``, ``restart``, ``view``, ``received``,
``sending`` and the calls the other way (``call``, ``call_result``, ``call_error``) are ours.

Messages travel in batches on two Bokeh events of the model: :class:`ServerMessages`
(server to browser, sent with ``document.callbacks.send_event``) and
:class:`ClientMessages` (browser to server, a model event). ``channel.py`` packs and
unpacks them.

Anything arriving from the browser can be forged: :func:`parse_client_message` checks
shape and types and turns everything it does not accept into a :class:`Rejected` with a
reason, never an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from bokeh.events import ModelEvent

from .shared import MAX_ID_LENGTH, MAX_NAME_LENGTH

__all__ = (
    "ClientMessage",
    "ClientMessages",
    "Rejected",
    "ServerMessage",
    "ServerMessages",
    "parse_client_message",
)


# --- server to browser --------------------------------------------------------------------

class ServerData(TypedDict):
    """``live.send(data)``: handed to the browser's ``on_server_data`` callbacks."""

    type: Literal["server_data"]
    data: Any


class RunPython(TypedDict):
    """``live.run_python(code, **kwargs)``: answered by a result or an error with the same id."""

    type: Literal["run_python"]
    code: str
    kwargs: dict[str, Any]
    request_id: str


class Cancel(TypedDict):
    """The call ``request_id`` ended on the server (timeout, cancellation): stop running it."""

    type: Literal["cancel"]
    request_id: str


class Interrupt(TypedDict):
    """``live.interrupt()``: stop whatever this model is running."""

    type: Literal["interrupt"]


class Restart(TypedDict):
    """``live.restart()``: a fresh Python runtime for the page."""

    type: Literal["restart"]


class CallResult(TypedDict):
    """What the exposed function of a ``bokeh_live.call`` returned."""

    type: Literal["call_result"]
    call_id: str
    result: Any


class CallError(TypedDict):
    """The ``bokeh_live.call`` failed on the server: the exception's message and class name,
    never its traceback (which may hold secrets)."""

    type: Literal["call_error"]
    call_id: str
    error: str
    error_type: str


ServerMessage = ServerData | RunPython | Cancel | Interrupt | Restart | CallResult | CallError


# --- browser to server --------------------------------------------------------------------

class Output(TypedDict):
    """``bokeh_live.send(data)`` in the browser: becomes the model's ``output``."""

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
    error_type: str  # the exception's class name; optional, PanelLive's clients omit it


class ViewState(TypedDict):
    """The page was hidden (navigated away, kept in the browser's back/forward cache) or
    shown again. A view also announces itself with an empty batch when it starts."""

    type: Literal["view"]
    state: Literal["hidden", "shown"]


class Call(TypedDict):
    """``await bokeh_live.call(name, *args, **kwargs)`` in the browser: call a function the
    server exposed (``live.expose``); answered by a result or an error with the same id."""

    type: Literal["call"]
    call_id: str
    name: str
    args: list[Any]
    kwargs: dict[str, Any]


class Received(TypedDict):
    """The call ``request_id``, which brought binary data, has arrived whole: its clock starts
    now, not when the server let it go (a large one on a slow link takes what the link needs)."""

    type: Literal["received"]
    request_id: str


class Sending(TypedDict):
    """The reply to ``request_id`` is on its way, in chunks: the call's clock stops until it
    has arrived (a large reply on a slow link is not timed out by its own transfer)."""

    type: Literal["sending"]
    request_id: str


ClientMessage = Output | RunPythonResult | RunPythonError | ViewState | Call | Received | Sending

SERVER_MESSAGE_TYPES = ("server_data", "run_python", "cancel", "interrupt", "restart", "call_result", "call_error")
CLIENT_MESSAGE_TYPES = ("output", "run_python_result", "run_python_error", "view", "call", "received", "sending")


# --- the two Bokeh events that carry batches ------------------------------------------------

class ServerMessages(ModelEvent):  # type: ignore[no-untyped-call]
    """A batch of :data:`ServerMessage` for one ``BokehLive`` view, and the chunks of the
    large binary values its messages hold placeholders for (see :mod:`bokeh_live.chunks`)."""

    event_name = "bokeh_live_server"

    def __init__(self, model: Any, messages: list[ServerMessage], chunks: list[dict[str, Any]] | None = None) -> None:
        super().__init__(model=model)
        self.messages = messages
        self.chunks = chunks or []

    def event_values(self) -> dict[str, Any]:
        return dict(**super().event_values(), messages=self.messages, chunks=self.chunks)


class ClientMessages(ModelEvent):  # type: ignore[no-untyped-call]
    """A batch of :data:`ClientMessage` from a ``BokehLive`` view.

    Bokeh builds this with ``cls(**values)`` from whatever the browser sent, so the
    constructor takes anything and leaves judging it to the channel.
    """

    event_name = "bokeh_live_client"

    def __init__(self, model: Any = None, messages: Any = None, chunks: Any = (), **unexpected: Any) -> None:
        super().__init__(model=model)
        self.messages = messages
        self.chunks = chunks
        self.unexpected = sorted(map(str, unexpected))

    def event_values(self) -> dict[str, Any]:
        return dict(**super().event_values(), messages=self.messages, chunks=self.chunks)


# --- validation -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Rejected:
    """A browser message that was not accepted, and why (for the server log). It ends no
    call, not even one whose id it names: the id may be forged."""

    reason: str


def _request_id(msg: dict[str, Any]) -> str | None:
    rid = msg.get("request_id")
    if isinstance(rid, str) and 0 < len(rid) <= MAX_ID_LENGTH:
        return rid
    return None


def _keys(msg: dict[str, Any]) -> list[str]:
    return sorted(str(k)[:40] for k in list(msg)[:8])


def parse_client_message(msg: Any) -> ClientMessage | Rejected:
    """Check one message from the browser (its values already restored by the channel)."""
    if not isinstance(msg, dict):
        return Rejected(f"a message must be a dict, not {type(msg).__name__}")
    kind = msg.get("type")
    if not isinstance(kind, str):  # (`==` on a numpy array, which Bokeh can decode, is no bool)
        return Rejected(f"unknown message type {str(kind)[:40]!r}")
    if kind == "output":
        if msg.keys() != {"type", "data"}:
            return Rejected(f"'output' takes the keys type, data; got {_keys(msg)}")
        return Output(type="output", data=msg["data"])

    if kind == "view":
        state = msg.get("state")
        if msg.keys() != {"type", "state"} or not isinstance(state, str) or state not in ("hidden", "shown"):
            return Rejected("'view' takes a state of 'hidden' or 'shown'")
        return ViewState(type="view", state="hidden" if state == "hidden" else "shown")

    if kind == "call":
        return _parse_call(msg)

    if kind not in ("run_python_result", "run_python_error", "received", "sending"):
        return Rejected(f"unknown message type {str(kind)[:40]!r}")
    rid = _request_id(msg)
    if rid is None:
        return Rejected(f"{kind!r} needs a string request_id of 1 to {MAX_ID_LENGTH} characters")

    if kind in ("received", "sending"):
        if msg.keys() != {"type", "request_id"}:
            return Rejected(f"{kind!r} takes type, request_id; got {_keys(msg)}")
        return Received(type="received", request_id=rid) if kind == "received" else Sending(type="sending",
                                                                                            request_id=rid)

    if kind == "run_python_result":
        if msg.keys() != {"type", "request_id", "result"}:
            return Rejected(f"'run_python_result' takes type, request_id, result; got {_keys(msg)}")
        return RunPythonResult(type="run_python_result", request_id=rid, result=msg["result"])

    error, error_type = msg.get("error"), msg.get("error_type", "Exception")
    if not msg.keys() <= {"type", "request_id", "error", "error_type"} or not isinstance(error, str) \
            or not isinstance(error_type, str) or not error_type.isidentifier() or len(error_type) > 200:
        return Rejected("'run_python_error' takes a string error and an optional identifier error_type")
    return RunPythonError(type="run_python_error", request_id=rid, error=error, error_type=error_type)


def _parse_call(msg: dict[str, Any]) -> Call | Rejected:
    if msg.keys() != {"type", "call_id", "name", "args", "kwargs"}:
        return Rejected(f"'call' takes type, call_id, name, args, kwargs; got {_keys(msg)}")
    call_id, name, args, kwargs = msg["call_id"], msg["name"], msg["args"], msg["kwargs"]
    if not isinstance(call_id, str) or not 0 < len(call_id) <= MAX_ID_LENGTH:
        return Rejected(f"'call' needs a string call_id of 1 to {MAX_ID_LENGTH} characters")
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH or not name.isidentifier():
        return Rejected(f"'call' needs a name that is an identifier of at most {MAX_NAME_LENGTH} characters")
    if not isinstance(args, list) or not isinstance(kwargs, dict) \
            or not all(isinstance(k, str) and k.isidentifier() for k in kwargs):
        return Rejected("'call' takes a list of args and a dict of kwargs named by identifiers")
    return Call(type="call", call_id=call_id, name=name, args=args, kwargs=kwargs)
