"""Calls the other way, across the real wire: Python in Chromium's worker calls functions the
Bokeh server exposes (``live.expose``; ``await bokeh_live.call(...)`` in the browser)."""
from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest
from bokeh.document import without_document_lock
from bokeh.models import Div
from test_messaging import open_live, run

pytestmark = pytest.mark.browser

#: Browser code that returns what a call raised, as (class name, ServerError's type, message).
CAUGHT = """
async def caught(name, *args, **kwargs):
    try:
        return ("returned", await bokeh_live.call(name, *args, **kwargs))
    except bokeh_live.ServerError as e:
        return ("ServerError", e.error_type, str(e))
    except Exception as e:
        return (type(e).__name__, str(e))
"""


def exposing(**functions):
    """An ``extra`` for open_live: a Div "note", and ``functions`` exposed (a value may be
    ``(fn, timeout)``); each function gets the document and the Div as keyword arguments
    bound in a closure by its maker."""
    def extra(doc, live):
        note = Div(name="note", text="")
        doc.add_root(note)
        for name, make in functions.items():
            fn, *timeout = make(doc, note)
            live.expose(fn, name=name, **({"timeout": timeout[0]} if timeout else {}))
    return extra


def test_browser_code_calls_what_the_server_exposes(app_server, page):
    def add(doc, note):
        def add(a, b=0):
            note.text = f"added {a} and {b}"  # a plain function holds the document lock
            return a + b
        return (add,)

    def rows(doc, note):
        async def rows(n):
            await asyncio.sleep(0.05)  # e.g. a database query
            return {"x": np.arange(n, dtype="float64"), "label": [f"row {i}" for i in range(n)]}
        return (rows,)

    def blob(doc, note):
        return (lambda start, stop: bytes(range(256))[start:stop],)

    def unlocked(doc, note):
        @without_document_lock  # (Bokeh's decorator drops values: what it wraps is called instead)
        async def unlocked(x):
            await asyncio.sleep(0.01)
            return x * 2
        return (unlocked,)

    live = open_live(app_server, page, code="import bokeh_live",
                     extra=exposing(add=add, rows=rows, blob=blob, unlocked=unlocked))
    assert run(app_server, live, "await bokeh_live.call('unlocked', 21)") == 42
    assert run(app_server, live, "await bokeh_live.call('add', 2, b=40)") == 42
    assert live.document.select_one({"name": "note"}).text == "added 2 and 40"
    got = run(app_server, live, "r = await bokeh_live.call('rows', 5)\n"
                                "(r['x'].format, r['x'].tolist(), r['label'][-1])")
    assert got == ["d", [0.0, 1.0, 2.0, 3.0, 4.0], "row 4"]  # the array arrives as binary float64
    assert run(app_server, live, "await bokeh_live.call('blob', 250, 256)") == bytes(range(250, 256))
    # Many at once: each answer finds its own call.
    assert run(app_server, live, "import asyncio\nawait asyncio.gather(*(bokeh_live.call('add', i, b=i) "
                                 "for i in range(10)))") == [2 * i for i in range(10)]


def test_errors_timeouts_and_refused_names_reach_the_browser(app_server, page, caplog):
    def secret(doc, note):
        def secret(key):
            raise PermissionError(f"no access to {key!r}")
        return (secret,)

    def slow(doc, note):
        async def slow(seconds):
            await asyncio.sleep(seconds)
            return "late"
        return (slow,)

    def bounded(doc, note):
        async def bounded():
            await asyncio.sleep(30)
        return (bounded, 0.3)

    def unsendable(doc, note):
        return (lambda: object(),)

    live = open_live(app_server, page, code="import bokeh_live\n" + CAUGHT,
                     extra=exposing(secret=secret, slow=slow, bounded=bounded, unsendable=unsendable))
    with caplog.at_level(logging.ERROR, logger="bokeh_live"):
        got = run(app_server, live, "await caught('secret', 'db')")
    assert got == ["ServerError", "PermissionError", "no access to 'db'"]  # the message, not the traceback
    assert "the exposed function secret of BokehLive" in caplog.text and "Traceback" in caplog.text
    assert __file__ in caplog.text  # the server's log has where it happened; the browser never does

    refused = run(app_server, live, "await caught('os_system', 'rm -rf /')")
    assert refused[:2] == ["ServerError", "NameError"] and "no function 'os_system'" in refused[2]
    assert "exposed: bounded, secret, slow, unsendable" in refused[2]

    wrong = run(app_server, live, "await caught('secret')")  # a missing argument: the server's TypeError
    assert wrong[:2] == ["ServerError", "TypeError"] and "key" in wrong[2]

    late = run(app_server, live, "await caught('slow', 2, timeout=0.3)")
    assert late == ["TimeoutError", "bokeh_live.call('slow'): no answer from the server within 0.3 s"]
    assert run(app_server, live, "await caught('slow', 0)") == ["returned", "late"]  # the page goes on

    assert run(app_server, live, "await caught('bounded')") == [
        "ServerError", "TimeoutError", "bounded took longer than its 0.3 s on the server"]
    cannot = run(app_server, live, "await caught('unsendable')")
    assert cannot[:2] == ["ServerError", "TypeError"] and "object cannot be sent" in cannot[2]
    arguments = run(app_server, live, "await caught('slow', {1, 2})")  # a set cannot leave the browser
    assert arguments[0] == "TypeError" and "set cannot be sent" in arguments[1]
