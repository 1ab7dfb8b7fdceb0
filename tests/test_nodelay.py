"""TCP_NODELAY on the sessions of apps holding a BokehLive, read back from the OS socket."""
from __future__ import annotations

import logging
import socket

import pytest

from bokeh_live import BokehLive, _bokeh_internals
from harness import PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser


def nodelay_flags(session):
    """TCP_NODELAY as the kernel reports it for each of the session's websockets."""
    return [c._socket.ws_connection.stream.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
            for c in list(session._subscribed_connections)]


def open_live(app_server, page):
    url = app_server.app(lambda doc: doc.add_root(BokehLive(name="live", mode="app", code="x = 41")))
    page.get(url)
    live = app_server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="ready")
    return live


def drop_connection(app_server, session):
    """Cut the TCP stream under the websocket, as a network failure would (BokehJS reconnects)."""
    def cut():
        for connection in list(session._subscribed_connections):
            connection._socket.ws_connection.stream.close()
    app_server.loop.call_soon_threadsafe(cut)


def test_nodelay_on_first_connection_and_after_reconnect(app_server, page):
    live = open_live(app_server, page)
    session = live.document.session_context.session
    first = list(session._subscribed_connections)
    assert nodelay_flags(session) == [1]

    drop_connection(app_server, session)
    wait_for(lambda: session.connection_count == 1 and list(session._subscribed_connections) != first,
             30, what="BokehJS to reconnect")
    assert nodelay_flags(session) == [1]
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="ready after reconnect")
    assert app_server.call(live.run_python("x + 1")) == 42


def test_nodelay_can_be_turned_off(app_server, page, monkeypatch):
    monkeypatch.setenv(_bokeh_internals.NODELAY_ENV, "0")
    live = open_live(app_server, page)
    assert nodelay_flags(live.document.session_context.session) == [0]
    assert app_server.call(live.run_python("x + 1")) == 42


def test_internals_moved_warns_once_and_keeps_working(app_server, page, monkeypatch, caplog):
    monkeypatch.setattr(_bokeh_internals, "CONNECTIONS_ATTR", "_renamed_in_a_future_bokeh")
    monkeypatch.setattr(_bokeh_internals, "_warned", set())
    with caplog.at_level(logging.WARNING, logger="bokeh_live._bokeh_internals"):
        live = open_live(app_server, page)
        assert app_server.call(live.run_python("x + 1")) == 42
        page.refresh()
        live = open_live(app_server, page)
        assert app_server.call(live.run_python("x + 1")) == 42
    warnings = [r for r in caplog.records if "cannot watch Bokeh sessions" in r.getMessage()]
    assert len(warnings) == 1
    assert nodelay_flags(live.document.session_context.session) == [0]  # Bokeh's default, as promised
