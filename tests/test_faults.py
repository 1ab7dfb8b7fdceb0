"""Faults in the middle: a TCP proxy of the tests' own (tests/faults.py) between Chromium and a
real Bokeh server cuts, stalls and slows the link while things are in flight. Whatever was in
flight ends exactly once, with an error that says what happened, and the page answers again
without a reload."""
from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from distribution import StaticServer, make
from faults import FaultProxy

from bokeh_live import BokehLive, LiveError
from harness import JS_VIEW, OUTPUT, PYODIDE_TIMEOUT, AppServer, free_port, wait_for

pytestmark = pytest.mark.browser

MB = 2**20


@pytest.fixture(scope="module")
def link():
    """A Bokeh server reached through the fault proxy."""
    port = free_port()
    server = AppServer(origins=(f"127.0.0.1:{port}",))
    proxy = FaultProxy(server.port, port)
    yield server, proxy
    proxy.stop()
    server.stop()


def open_through(link, page, **props):
    """A page of one BokehLive ("live") loaded through the proxy; waits until it is ready."""
    server, proxy = link
    proxy.restore()

    def build(doc):
        doc.add_root(BokehLive(name="live", mode="app", max_message_size=256 * MB, **props))

    url = server.app(build)
    page.get(url.replace(f":{server.port}/", f":{proxy.port}/"))
    live = server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="the page to be ready")
    return live


def call(server, live, code, timeout=30.0, **kwargs):
    return asyncio.run_coroutine_threadsafe(live.run_python(code, timeout=timeout, **kwargs), server.loop)


def answers_again(server, live, within=60.0):
    """The page answers a call again (it reconnects by itself); returns how long that took."""
    start = time.monotonic()

    def answered():
        try:
            return call(server, live, "x + 41", timeout=5).result(30) == 42
        except (LiveError, TimeoutError):
            return False
    wait_for(answered, within, interval=0.2, what="the page to answer again")
    return time.monotonic() - start


def test_a_cut_in_the_middle_of_a_large_array_to_the_browser_leaves_a_page_that_answers(link, page):
    """The link drops while a 64 MB array is on its way: BokehJS's message receiver was left
    expecting the rest of the message, and no message of the new connection parsed again."""
    server, proxy = link
    live = open_through(link, page, code="x = 1")
    pending = call(server, live, "len(a)", timeout=60, a=np.ones(8 * MB))  # 64 MB, in chunks
    proxy.cut_after(20 * MB, "down")
    with pytest.raises(LiveError, match="disconnected"):
        pending.result(90)
    answers_again(server, live)
    assert call(server, live, "len(a)", a=np.ones(MB)).result(60) == MB  # large values travel again


def test_a_page_that_reconnects_before_the_server_sees_its_old_connection_close_ends_its_calls(link, page):
    """The browser's side drops, the server's stays open (a NAT that forgot it): the page
    reconnects while the server still counts the old connection. Calls sent to the old page
    end at once, and those carrying arrays too (they wait for the page to say they arrived)."""
    server, proxy = link
    live = open_through(link, page, code="import asyncio\nx = 1")
    waiting = call(server, live, "await asyncio.sleep(600)", timeout=900)
    carrying = call(server, live, "await asyncio.sleep(600)\nlen(a)", timeout=900, a=np.ones(MB))
    wait_for(lambda: len(live._channel.pending) == 2, 30, what="both calls to be sent")
    try:
        assert proxy.drop_browser_side() >= 1
        for pending in (waiting, carrying):  # long before their timeouts
            with pytest.raises(LiveError, match="reconnected"):
                pending.result(PYODIDE_TIMEOUT)
        answers_again(server, live)
    finally:
        proxy.restore()  # the server's side of the old connection ends now
    answers_again(server, live)


def test_a_cut_in_the_middle_of_a_large_reply_frees_what_arrived_and_the_page_answers(link, page):
    server, proxy = link
    live = open_through(link, page, code="x = 1\nbig = bytes(48 * 2**20)")
    pending = call(server, live, "big", timeout=60)
    proxy.cut_after(16 * MB, "up")
    with pytest.raises(LiveError, match="disconnected"):
        pending.result(90)
    assert live._channel._assembler.held == 0  # the half-received blob is gone at once
    answers_again(server, live)
    assert len(call(server, live, "big", timeout=60).result(90)) == 48 * MB


def test_a_cut_while_browser_code_waits_for_the_server_ends_both_calls(link, page):
    server, proxy = link
    live = open_through(link, page, code="import bokeh_live\nx = 1")

    async def slow():
        await asyncio.sleep(2)
        return "late"

    live.expose(slow)
    pending = call(server, live, "await bokeh_live.call('slow', timeout=20)")
    time.sleep(0.5)  # the browser's call is on the server now
    assert proxy.cut() >= 1
    with pytest.raises(LiveError, match="disconnected"):
        pending.result(30)
    answers_again(server, live)
    assert call(server, live, "await bokeh_live.call('slow', timeout=20)").result(60) == "late"


def test_a_cut_while_python_starts_leaves_a_page_that_starts(link, page):
    server, proxy = link
    proxy.restore()

    def build(doc):
        doc.add_root(BokehLive(name="live", mode="app", code="x = 1"))

    url = server.app(build)
    page.get(url.replace(f":{server.port}/", f":{proxy.port}/"))
    live = server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status == "loading", 60, what="Python to be starting")
    proxy.cut()
    answers_again(server, live, within=PYODIDE_TIMEOUT)


def test_a_cut_while_a_package_downloads_ends_the_call_and_a_later_import_loads_it(app_server, page, tmp_path):
    """The packages' host drops the connection part-way through a wheel: the call that
    imported it ends with an error naming the package, and the next import loads it."""
    dist = StaticServer(make(tmp_path / "dist", OUTPUT / "wheels"))
    shelf = FaultProxy(dist.port)  # the package distribution, through the proxy
    try:
        def build(doc):
            doc.add_root(BokehLive(name="live", mode="app", package_url=shelf.url(""), code="x = 1"))

        url = app_server.app(build)
        page.get(url)
        live = app_server.doc(url).select_one({"name": "live"})
        wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="the page to be ready")
        shelf.cut_after(400, "down")  # a few hundred bytes of the next response, then the end
        with pytest.raises(LiveError, match="Loading the package of 'demo_beta' failed"):
            call(app_server, live, "import demo_beta\ndemo_beta.DOUBLE", timeout=60).result(90)
        assert shelf.bytes["down"] > 0
        assert call(app_server, live, "import demo_beta\ndemo_beta.DOUBLE", timeout=60).result(90) == 42
        assert call(app_server, live, "x").result(30) == 1  # the same Python: nothing restarted
    finally:
        shelf.stop()
        dist.stop()


def test_a_cut_while_the_snapshot_is_made_leaves_a_page_that_answers_and_a_store_that_works(page):
    """A first visit makes Python's memory snapshot in a background worker, fetching Pyodide's
    files again: a cut then (the page's websocket and those fetches) costs at most that
    snapshot, never a page that answers or a later page's start."""
    port = free_port()  # an origin of its own: its snapshot store is empty
    server = AppServer(origins=(f"127.0.0.1:{port}",))
    proxy = FaultProxy(server.port, port)
    try:
        def build(doc):
            doc.add_root(BokehLive(name="live", mode="app", code="x = 1"))

        url = server.app(build)
        through = url.replace(f":{server.port}/", f":{proxy.port}/")
        making = JS_VIEW + """const view = live_view('live');
            return view != null && view.runtime.state == 'ready' && view.runtime.constructor._making.size > 0"""
        page.get(through)
        live = server.doc(url).select_one({"name": "live"})
        # (Making one is a second start of Python: seconds, against this poll's 20 ms.)
        wait_for(lambda: page.execute_script(making), PYODIDE_TIMEOUT, interval=0.02,
                 what="the page to be ready and making its snapshot")
        assert proxy.cut() >= 1
        answers_again(server, live)
        # The snapshot was made or given up, never left half-made: the next pages start.
        wait_for(lambda: not page.execute_script(making), PYODIDE_TIMEOUT, what="the snapshot to be done with")
        starts = []
        for _ in range(2):
            page.get(through)
            live = server.doc(url).select_one({"name": "live"})
            wait_for(lambda live=live: live.status == "ready", PYODIDE_TIMEOUT, what="the page to start again")
            assert call(server, live, "x + 41").result(30) == 42
            starts.append(page.execute_script(JS_VIEW + "return live_view('live').runtime.snapshot"))
            wait_for(lambda: not page.execute_script(making), PYODIDE_TIMEOUT, what="a snapshot to be done with")
        assert starts[-1] == "loaded", starts  # by the second page at the latest, from a snapshot
    finally:
        proxy.stop()
        server.stop()


def test_a_silent_link_times_calls_out_and_the_page_answers_once_it_is_back(link, page):
    """A half-open link (a proxy that stopped forwarding): Bokeh sees no disconnection, so a call
    ends at its timeout; when the link is replaced, the page answers again."""
    server, proxy = link
    live = open_through(link, page, code="x = 1")
    proxy.blackhole()
    pending = call(server, live, "x", timeout=2)
    with pytest.raises(TimeoutError):
        pending.result(30)
    proxy.restore()  # the stalled connections are dropped, as a timeout of the proxy would
    answers_again(server, live)


def storm(server, proxy, live, rng, rounds, max_mb):
    """Rounds of mixed calls in flight (small values, arrays checked by their SHA-256, calls the
    other way) while the proxy injects a random fault; returns how the calls ended."""
    import hashlib
    import threading

    outcomes = {"ok": 0, "wrong": 0, "LiveError": 0, "TimeoutError": 0, "faults": []}
    for _ in range(rounds):
        expected = []
        for _ in range(rng.randint(3, 8)):
            kind = rng.choice(["small", "array", "call"])
            v = rng.randint(0, 10**9)
            if kind == "small":
                expected.append((call(server, live, "v * 2", timeout=20, v=v), 2 * v))
            elif kind == "call":
                expected.append((call(server, live, "await bokeh_live.call('double', v)", timeout=20, v=v), 2 * v))
            else:
                data = np.random.default_rng(v).integers(0, 255, rng.choice([1, 2, max_mb]) * MB, dtype=np.uint8)
                expected.append((call(server, live, "digest(a)", timeout=30, a=data),
                                 hashlib.sha256(data.tobytes()).hexdigest()))
        fault = rng.choice(["none", "cut", "cut_after", "throttle", "blackhole"])
        outcomes["faults"].append(fault)
        delay = rng.uniform(0, 0.3)
        if fault == "cut":
            threading.Timer(delay, proxy.cut).start()
        elif fault == "cut_after":
            proxy.cut_after(rng.randint(1, 3 * MB), rng.choice(["up", "down"]))
        elif fault == "throttle":
            proxy.throttle(rng.choice([2, 8]) * MB, latency=rng.choice([0, 0.05]))
        elif fault == "blackhole":
            threading.Timer(delay, proxy.blackhole).start()
            threading.Timer(delay + 1.0, proxy.restore).start()  # a stall a proxy's timeout ends
        for future, value in expected:
            try:
                outcomes["ok" if future.result(120) == value else "wrong"] += 1
            except (LiveError, TimeoutError) as e:
                outcomes[type(e).__name__] += 1
        time.sleep(1.2)  # let a timer's fault land before the next round
        proxy.restore()
        answers_again(server, live, within=120)
    return outcomes


STORM_CODE = """
import hashlib, bokeh_live
x = 1
def digest(a):
    return hashlib.sha256(bytes(a)).hexdigest()
"""


def test_a_seeded_storm_of_calls_and_faults_loses_nothing(link, page):
    import random

    from bokeh_live.chunks import PROCESS_BUDGET

    server, proxy = link
    live = open_through(link, page, code=STORM_CODE)
    live.expose(lambda v: 2 * v, name="double")
    budget = PROCESS_BUDGET.used
    outcomes = storm(server, proxy, live, random.Random(2026), rounds=12, max_mb=4)
    assert outcomes["wrong"] == 0, outcomes  # every value that arrived is the one sent
    assert outcomes["ok"] > 0 and outcomes["LiveError"] + outcomes["TimeoutError"] > 0, outcomes  # faults did land
    assert len(live._channel.pending) == 0  # every call ended, once
    wait_for(lambda: live._channel._assembler is None or live._channel._assembler.held == 0, 30,
             what="half-received blobs to be freed")
    assert PROCESS_BUDGET.used == budget
    assert call(server, live, "digest(a)", a=np.zeros(MB, dtype=np.uint8)).result(60)  # and the page works


def test_on_a_slow_link_large_values_arrive_both_ways_and_timeouts_count_only_the_browser(link, page):
    """1 MB/s with 200 ms of latency: 3 MB each way take longer than the calls' timeouts, which
    count the browser's time, not the link's."""
    server, proxy = link
    live = open_through(link, page, code="x = 1\nbig = bytes(3 * 2**20)")
    proxy.throttle(MB, latency=0.2)
    started = time.monotonic()
    assert call(server, live, "len(a)", timeout=1.5, a=np.ones(3 * MB // 8)).result(120) == 3 * MB // 8
    assert len(call(server, live, "big", timeout=1.5).result(120)) == 3 * MB
    assert time.monotonic() - started > 5  # the link really was slower than the timeouts
    proxy.restore()


def test_on_a_slow_link_a_small_call_does_not_wait_for_a_large_value_to_arrive(link, page):
    """An 8 MB array streams a chunk at a time: calls made meanwhile go between its chunks."""
    server, proxy = link
    live = open_through(link, page, code="x = 1")
    proxy.throttle(MB, latency=0.2)
    large = call(server, live, "len(a)", timeout=5, a=np.ones(8 * MB // 8))
    small = [call(server, live, f"x + {i}", timeout=5) for i in range(3)]
    assert [future.result(120) for future in small] == [1, 2, 3]
    assert not large.done()  # still on its way
    assert large.result(120) == MB
    proxy.restore()


# --- the host: memory and a frozen tab ----------------------------------------------------------

def test_code_that_runs_out_of_memory_leaves_a_page_that_answers(app_server, page):
    from test_messaging import open_live, run

    live = open_live(app_server, page, code="x = 41")
    with pytest.raises(LiveError) as python_heap:  # until WebAssembly's heap cannot grow
        run(app_server, live, "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 2**20))", timeout=120)
    assert python_heap.value.error_type == "MemoryError" and 'line 3' in python_heap.value.traceback
    assert run(app_server, live, "del blocks\nlen(bytearray(256 * 2**20))") == 256 * MB  # the memory is back
    with pytest.raises(LiveError, match="allocation failed"):  # the worker's JavaScript heap, then
        run(app_server, live, "import js\nbufs = []\nwhile True:\n    bufs.append(js.ArrayBuffer.new(256 * 2**20))",
            timeout=120)
    assert run(app_server, live, "del bufs\nx + 1") == 42


def test_calls_to_a_frozen_tab_end_and_the_page_works_when_it_is_back(app_server, page):
    from test_messaging import open_live

    live = open_live(app_server, page, code="x = 1")
    in_flight = call(app_server, live, "import asyncio\nawait asyncio.sleep(1)\nx", timeout=3)
    time.sleep(0.2)
    page.execute_cdp_cmd("Page.setWebLifecycleState", {"state": "frozen"})  # as a browser freezes a hidden tab
    try:
        with pytest.raises(TimeoutError):
            in_flight.result(60)
        with pytest.raises(TimeoutError):
            call(app_server, live, "x", timeout=2).result(60)
    finally:
        page.execute_cdp_cmd("Page.setWebLifecycleState", {"state": "active"})
    answers_again(app_server, live)


STOPPING_APP = """
import asyncio
from bokeh.document import without_document_lock
from bokeh.io import curdoc
from bokeh_live import BokehLive, LiveError

doc = curdoc()
live = BokehLive(name="live", mode="app", code="import asyncio")
doc.add_root(live)

@without_document_lock
async def wait_long():
    try:
        await live.run_python("await asyncio.sleep(600)", timeout=900)
    except LiveError as e:
        print("the call ended:", e, flush=True)

def on_status(attr, old, new):
    if new == "ready":
        print("calling", flush=True)
        doc.add_next_tick_callback(wait_long)

live.on_change("status", on_status)
"""


def test_a_server_that_stops_ends_its_pending_calls_with_a_message_that_says_so(page, tmp_path):
    import signal

    from harness import BokehServe

    (tmp_path / "stopping.py").write_text(STOPPING_APP)
    server = BokehServe(tmp_path / "stopping.py")
    try:
        page.get(server.url("stopping"))
        wait_for(lambda: "calling" in server.output(), PYODIDE_TIMEOUT, what="the app's call")
        time.sleep(0.5)
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(30)
        assert "the call ended: the Bokeh server is stopping" in server.output()
    finally:
        server.stop()
