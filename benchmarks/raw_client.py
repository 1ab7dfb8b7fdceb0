"""Bokeh's own Python client as a raw browser stand-in for the hostile-client figure: it
sends events no page would. Bytes go inline (base64) in one websocket message, as an
attacker may send them, and TCP_NODELAY is set so that Nagle's 40 ms does not hide what
the server does."""

from __future__ import annotations

import functools
import sys
from typing import Any

from bokeh.client import pull_session
from bokeh.core.serialization import Serializer

from bokeh_live.protocol import ClientMessages


def raw_session(url: str) -> Any:
    patch_doc = sys.modules.get("bokeh.protocol.messages.patch_doc")
    if patch_doc is None:
        import bokeh.protocol.messages.patch_doc  # noqa: F401
        patch_doc = sys.modules["bokeh.protocol.messages.patch_doc"]
    patch_doc.Serializer = functools.partial(Serializer, deferred=False)  # type: ignore[attr-defined]
    session = pull_session(url=url, arguments={"models": "1"})
    session._connection._socket._socket.protocol.set_nodelay(True)  # private: a measuring client
    return session


def forge(session: Any, messages: list[Any] | None = None, chunks: list[Any] | None = None) -> None:
    """One ClientMessages event from this client; returns once the server handled it."""
    live = session.document.select_one({"name": "live0"})
    session.document.callbacks.send_event(ClientMessages(model=live, messages=messages or [], chunks=chunks or []))
    session.force_roundtrip()
