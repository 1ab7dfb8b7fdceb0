"""docs/protocol.md describes every message the code defines, each with exactly its fields:
the server <-> page messages of bokeh_live/protocol.py and the page <-> worker messages of
bokehjs_ext/worker.ts (whose Python ones bokeh_live/browser/messages.py types too)."""
from __future__ import annotations

import re
import typing
from pathlib import Path

from bokeh_live import protocol

ROOT = Path(__file__).parents[1]
DOC = (ROOT / "docs" / "protocol.md").read_text()
WORKER_TS = (ROOT / "bokehjs_ext" / "worker.ts").read_text()


def documented(tag_key: str) -> dict[str, set[str]]:
    """The messages the doc shows as JSON lines starting ``{"<tag_key>": "<tag>"``: tag -> keys."""
    found: dict[str, set[str]] = {}
    for block in re.findall(r"```jsonc\n(.*?)```", DOC, re.DOTALL):
        # A message may wrap onto the next lines: join lines that do not start a new one.
        messages = re.split(r"\n(?=\{)", block)
        for message in messages:
            match = re.match(rf'\{{"{tag_key}": "(\w+)"', message.strip())
            if match:
                text = re.sub(r"\s//[^\n]*", "", message).strip()  # comments, not the // of a URL
                inner = text[1:text.rindex("}")]
                while re.search(r"\{[^{}]*\}", inner):  # nested values' keys are not the message's
                    inner = re.sub(r"\{[^{}]*\}", "", inner)
                found.setdefault(match.group(1), set()).update(re.findall(r'"(\w+)":', inner))
    return found


def ts_members(union: str) -> dict[str, set[str]]:
    """The members of a union type of worker.ts: kind -> its top-level fields."""
    text = re.search(rf"export type {union} =\n(.*?)\n\n", WORKER_TS, re.DOTALL).group(1)
    members: dict[str, set[str]] = {}
    for start in [m.start() for m in re.finditer(r"\| \{kind:", text)]:
        depth, i = 0, text.index("{", start)
        for j in range(i, len(text)):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                break
        body = text[i + 1:j]
        flat = body
        while re.search(r"\{[^{}]*\}", flat):
            flat = re.sub(r"\{[^{}]*\}", "", flat)
        kind = re.match(r'kind: "(\w+)"', body).group(1)
        members[kind] = set(re.findall(r"(\w+)\??:", flat))
    return members


def test_every_server_page_message_is_documented_with_exactly_its_fields():
    doc = documented("type")
    classes = [*typing.get_args(protocol.ServerMessage), *typing.get_args(protocol.ClientMessage)]
    for cls in classes:
        hints = typing.get_type_hints(cls)
        tag = hints["type"].__args__[0]
        assert doc.get(tag) == set(hints), f"docs/protocol.md shows {tag!r} with {doc.get(tag)}, not {set(hints)}"
    assert len(classes) == len(protocol.SERVER_MESSAGE_TYPES) + len(protocol.CLIENT_MESSAGE_TYPES) == 14


def test_every_page_worker_message_is_documented_with_exactly_its_fields():
    doc = documented("kind")
    members = {**ts_members("ToWorker"), **ts_members("FromWorker")}
    assert len(members) >= 30
    for kind, fields in members.items():
        assert doc.get(kind) == fields, f"docs/protocol.md shows {kind!r} with {doc.get(kind)}, not {fields}"
