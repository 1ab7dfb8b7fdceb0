"""The wire protocol without a browser: the two languages agree, and browser input is judged."""
from __future__ import annotations

import re
import typing
from pathlib import Path

import numpy as np
import pytest

from bokeh_live import protocol
from bokeh_live.protocol import (
    CLIENT_MESSAGE_TYPES, SERVER_MESSAGE_TYPES, ClientMessages, Rejected, ServerMessages,
    parse_client_messages, payload_size,
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
]


@pytest.mark.parametrize("message", GOOD)
def test_valid_messages_pass(message):
    (parsed,) = parse_client_messages([message])
    assert not isinstance(parsed, Rejected)
    assert parsed["type"] == message["type"]


BAD = [
    ("not a dict", "must be a dict"),
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
]


@pytest.mark.parametrize("message,reason", BAD)
def test_invalid_messages_are_rejected_with_a_reason(message, reason):
    (parsed,) = parse_client_messages([message])
    assert isinstance(parsed, Rejected) and reason in parsed.reason


def test_a_bad_message_does_not_cost_its_neighbours():
    parsed = parse_client_messages([GOOD[0], {"type": "bogus"}, GOOD[1]])
    assert [isinstance(p, Rejected) for p in parsed] == [False, True, False]


@pytest.mark.parametrize("batch", [None, {"type": "output"}, "x", 7])
def test_batch_must_be_a_list(batch):
    (parsed,) = parse_client_messages(batch)
    assert isinstance(parsed, Rejected) and "must be a list" in parsed.reason


def test_oversized_batch_is_refused_whole():
    big = {"type": "run_python_result", "request_id": "r1", "result": b"x" * 2000}
    parsed = parse_client_messages([big, {"type": "output", "data": "y"}], limit=1000)
    assert len(parsed) == 1 and isinstance(parsed[0], Rejected)
    assert "larger than the limit of 1000 bytes" in parsed[0].reason


def test_payload_size_counts_binary_and_stops_early():
    assert payload_size(np.zeros(1000)) == 8000
    assert payload_size({"a": b"12345"}) == 2 + 1 + 5
    with pytest.raises(ValueError, match="limit"):
        payload_size([b"x" * 10] * 1000, limit=100)


def test_payload_size_refuses_deep_nesting():
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        payload_size(deep)


def test_client_event_takes_any_fields():
    event = ClientMessages(model=None, messages=[], forged=1)
    assert event.unexpected == ["forged"]
