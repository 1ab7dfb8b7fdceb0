"""The wire protocol without a browser: the two languages agree, and browser input is judged."""
from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from bokeh_live import protocol
from bokeh_live.protocol import (
    CLIENT_MESSAGE_TYPES,
    SERVER_MESSAGE_TYPES,
    ClientMessages,
    Rejected,
    ServerMessages,
    parse_client_message,
)

TS = (Path(__file__).parents[1] / "bokehjs_ext" / "protocol.ts").read_text()


def ts_list(name: str) -> tuple[str, ...]:
    body = re.search(rf"export const {name}[^=]*=\s*\[([^\]]*)\]", TS).group(1)
    return tuple(re.findall(r'"([a-z_]+)"', body))


def ts_union_tags(name: str) -> set[str]:
    members = re.search(rf"export type {name} = ([^\n]+)", TS).group(1).split("|")
    tags = set()
    for member in (m.strip() for m in members):
        tags |= set(re.findall(r'type: "([a-z_]+)"', re.search(rf"export type {member} = ([^\n]+)", TS).group(1)))
    return tags


def test_message_types_match_typescript():
    assert ts_list("SERVER_MESSAGE_TYPES") == SERVER_MESSAGE_TYPES
    assert ts_list("CLIENT_MESSAGE_TYPES") == CLIENT_MESSAGE_TYPES
    assert ts_union_tags("ServerMessage") == set(SERVER_MESSAGE_TYPES)
    assert ts_union_tags("ClientMessage") == set(CLIENT_MESSAGE_TYPES)


def test_python_typeddicts_match_the_type_lists():
    def tags(union):
        return {typing.get_type_hints(cls)["type"].__args__[0] for cls in union.__args__}
    assert tags(protocol.ServerMessage) == set(SERVER_MESSAGE_TYPES)
    assert tags(protocol.ClientMessage) == set(CLIENT_MESSAGE_TYPES)


def test_event_names_match_typescript():
    assert f'@server_event("{ServerMessages.event_name}")' in TS
    assert f'event_name = "{ClientMessages.event_name}"' in TS


GOOD = [
    {"type": "output", "data": {"x": [1, 2.5, None, "s"]}},
    {"type": "run_python_result", "request_id": "abc", "result": b"\x00\x01"},
    {"type": "run_python_error", "request_id": "abc", "error": "Traceback...", "error_type": "ValueError"},
    {"type": "run_python_error", "request_id": "abc", "error": "Traceback..."},
    {"type": "view", "state": "hidden"},
    {"type": "view", "state": "shown"},
    {"type": "call", "call_id": "call-1", "name": "query", "args": [1, "a"], "kwargs": {"limit": 10}},
    {"type": "sending", "request_id": "abc"},
    {"type": "received", "request_id": "abc"},
]


@pytest.mark.parametrize("message", GOOD)
def test_valid_messages_pass(message):
    parsed = parse_client_message(message)
    assert not isinstance(parsed, Rejected)
    assert parsed["type"] == message["type"]


BAD = [
    ("not a dict", "must be a dict"),
    ({"type": "call", "call_id": "c", "name": "q", "args": []}, "'call' takes type, call_id, name, args, kwargs"),
    ({"type": "call", "call_id": "", "name": "q", "args": [], "kwargs": {}}, "needs a string call_id"),
    ({"type": "call", "call_id": "c" * 65, "name": "q", "args": [], "kwargs": {}}, "needs a string call_id"),
    ({"type": "call", "call_id": "c", "name": "os.system", "args": [], "kwargs": {}}, "needs a name that is an identifier"),
    ({"type": "call", "call_id": "c", "name": "q" * 101, "args": [], "kwargs": {}}, "needs a name"),
    ({"type": "call", "call_id": "c", "name": 7, "args": [], "kwargs": {}}, "needs a name"),
    ({"type": "call", "call_id": "c", "name": "q", "args": {}, "kwargs": {}}, "a list of args"),
    ({"type": "call", "call_id": "c", "name": "q", "args": [], "kwargs": {"not-a-name": 1}}, "kwargs named by"),
    ({"type": "nope"}, "unknown message type"),
    ({"data": 1}, "unknown message type"),
    ({"type": "output"}, "takes the keys"),
    ({"type": "output", "data": 1, "extra": 2}, "takes the keys"),
    ({"type": "run_python_result", "result": 1}, "needs a string request_id"),
    ({"type": "run_python_result", "request_id": 5, "result": 1}, "needs a string request_id"),
    ({"type": "run_python_result", "request_id": "x" * 65, "result": 1}, "needs a string request_id"),
    ({"type": "run_python_result", "request_id": "abc"}, "takes type, request_id, result"),
    ({"type": "run_python_error", "request_id": "abc", "error": 3}, "string error"),
    ({"type": "run_python_error", "request_id": "abc", "error": "e", "error_type": "not an id!"}, "identifier"),
    ({"type": "view", "state": "gone"}, "'hidden' or 'shown'"),
    ({"type": "view", "state": "hidden", "x": 1}, "'hidden' or 'shown'"),
    ({"type": "sending"}, "needs a string request_id"),
    ({"type": "sending", "request_id": "abc", "x": 1}, "'sending' takes type, request_id"),
]


@pytest.mark.parametrize("message,reason", BAD)
def test_invalid_messages_are_rejected_with_a_reason(message, reason):
    parsed = parse_client_message(message)
    assert isinstance(parsed, Rejected) and reason in parsed.reason


def test_client_event_takes_any_fields():
    event = ClientMessages(model=None, messages=[], forged=1)
    assert event.unexpected == ["forged"]
