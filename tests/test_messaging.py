"""send, output and run_python across the real wire: Bokeh server, websocket, Chromium, worker, Pyodide."""
from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
import pytest
from bokeh.document import without_document_lock
from bokeh.models import Button, Div

from bokeh_live import BokehLive, LiveError
from harness import JS_VIEW, PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser

ECHO = """
import bokeh_live

@bokeh_live.on_server_data
def echo(data):
    bokeh_live.send({"echo": data})
"""


def open_live(app_server, page, extra=None, **props):
    """Serve a BokehLive called "live" (plus ``extra(doc, live)``), wait until it is ready."""
    def build(doc):
        live = BokehLive(name="live", mode="app", **props)
        doc.add_root(live)
        if extra:
            extra(doc, live)
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status in ("ready", "error"), PYODIDE_TIMEOUT, what="runtime ready")
    assert live.status == "ready", live.error
    return live


def run(app_server, live, code, timeout=30.0, **kwargs):
    return app_server.call(live.run_python(code, timeout=timeout, **kwargs), timeout=timeout + 30)


def test_send_reaches_browser_and_output_comes_back(app_server, page):
    live = open_live(app_server, page, code=ECHO)
    outputs = []
    app_server.locked(live.document, lambda: live.on_change("output", lambda a, o, n: outputs.append(n)))
    app_server.locked(live.document, lambda: live.send({"n": 1, "s": "x", "l": [1, 2]}))
    wait_for(lambda: outputs, 30, what="output")
    assert outputs == [{"echo": {"n": 1, "s": "x", "l": [1, 2]}}] and live.output == outputs[0]


def test_every_output_is_heard_even_one_equal_to_the_last(app_server, page):
    """Bokeh skips a property value equal to the one it holds; outputs are messages: the
    same data sent twice calls the callbacks twice, and an array equal to the last but of
    another dtype replaces it."""
    live = open_live(app_server, page, code="import bokeh_live")
    outputs = []
    app_server.locked(live.document, lambda: live.on_change("output", lambda a, o, n: outputs.append(n)))
    run(app_server, live, "bokeh_live.send('tick')\nbokeh_live.send('tick')\nbokeh_live.send([1, 2])")
    run(app_server, live, "import array\nbokeh_live.send(memoryview(array.array('h', [0, 0, 0])))\n"
                          "bokeh_live.send(memoryview(array.array('H', [0, 0, 0])))")
    wait_for(lambda: len(outputs) == 5, 30, what="five outputs")
    assert outputs[:3] == ["tick", "tick", [1, 2]]
    assert [a.dtype for a in outputs[3:]] == [np.int16, np.uint16] and live.output.dtype == np.uint16


def test_dom_events_fire_for_server_data_and_output(app_server, page):
    live = open_live(app_server, page, code=ECHO)
    page.execute_script(JS_VIEW + """
        window.__events = [];
        const el = live_view("live").el;
        for (const name of ["bokeh-live:server-data", "bokeh-live:output"])
          el.addEventListener(name, (e) => window.__events.push([e.type, e.detail]));""")
    app_server.locked(live.document, lambda: live.send("ping"))
    events = wait_for(lambda: len(page.execute_script("return window.__events")) == 2
                      and page.execute_script("return window.__events"), 30, what="DOM events")
    assert events == [["bokeh-live:server-data", "ping"], ["bokeh-live:output", {"echo": "ping"}]]


def test_run_python_returns_the_last_expression(app_server, page):
    live = open_live(app_server, page, code="def square(x):\n    return x * x\n")
    assert run(app_server, live, "square(n) + 1", n=6) == 37
    assert run(app_server, live, "y = 3") is None
    assert run(app_server, live, "import asyncio\nawait asyncio.sleep(0.01)\n'awaited'") == "awaited"
    assert run(app_server, live, "y") == 3  # names bound by a call stay in the model's namespace


def test_browser_reads_value(app_server, page):
    live = open_live(app_server, page, code="import bokeh_live", value={"threshold": 0.5})
    assert run(app_server, live, "bokeh_live.value") == {"threshold": 0.5}
    app_server.locked(live.document, lambda: setattr(live, "value", [1, 2, 3]))
    wait_for(lambda: run(app_server, live, "bokeh_live.value") == [1, 2, 3], 10, what="new value")


VALUES = [None, True, 0, -7, 2**40, 1.5, "text", "ünïcödé ✓", [], [1, [2, [3]]], {}, {"a": {"b": [1.0, None, "c"]}}]


def test_json_values_both_ways(app_server, page):
    live = open_live(app_server, page, code="")
    for value in VALUES:
        assert run(app_server, live, "v", v=value) == value, value


def test_bytes_of_a_few_megabytes_both_ways(app_server, page):
    live = open_live(app_server, page, code="")
    data = np.random.default_rng(1).integers(0, 256, 3_000_000, dtype=np.uint8).tobytes()
    back = run(app_server, live, "assert isinstance(data, bytes), type(data)\ndata[::-1]", data=data)
    assert isinstance(back, bytes) and back == data[::-1]


def test_numpy_array_of_a_few_megabytes_both_ways(app_server, page):
    live = open_live(app_server, page, code="")
    array = np.random.default_rng(2).standard_normal((500, 1000))  # 4 MB of float64
    back = run(app_server, live, "a", a=array)
    assert isinstance(back, np.ndarray) and back.dtype == np.float64 and back.shape == (500, 1000)
    np.testing.assert_array_equal(back, array)


def test_typed_arrays_and_memoryviews_from_the_browser(app_server, page):
    live = open_live(app_server, page, code="")
    back = run(app_server, live, "import array\nmemoryview(array.array('f', [1.5, 2.5]))")
    assert isinstance(back, np.ndarray) and back.dtype == np.float32 and back.tolist() == [1.5, 2.5]
    back = run(app_server, live, "from js import Float64Array\nFloat64Array.new([1, 2, 3]).to_py()")
    assert back.dtype == np.float64 and back.tolist() == [1.0, 2.0, 3.0]
    assert run(app_server, live, "memoryview(b'abc')") == b"abc"


def test_browser_exception_raises_live_error(app_server, page):
    live = open_live(app_server, page, code="def f(x):\n    return {}[x]\n")
    with pytest.raises(LiveError) as info:
        run(app_server, live, "y = 1\nf('missing')")
    err = info.value
    assert err.error_type == "KeyError"
    assert "'missing'" in str(err) and 'File "<code>", line 2' in err.traceback and "line 2, in f" in err.traceback
    assert run(app_server, live, "'still fine'") == "still fine"


def test_unsendable_result_is_a_live_error(app_server, page):
    live = open_live(app_server, page, code="")
    with pytest.raises(LiveError, match="cannot be sent") as info:
        run(app_server, live, "object()")
    assert info.value.error_type == "TypeError"


def test_a_timeout_stops_the_run_in_the_browser(app_server, page, caplog):
    live = open_live(app_server, page, code="import asyncio, bokeh_live")
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        run(app_server, live, "await asyncio.sleep(2)\nbokeh_live.send('finished late')", timeout=0.5)
    assert time.monotonic() - start < 1.5
    assert len(live._channel.pending) == 0
    with caplog.at_level(logging.WARNING, logger="bokeh_live.live"):
        time.sleep(2.5)  # the run would have ended by now: it was cancelled instead
        assert run(app_server, live, "1 + 1") == 2
    assert live.output is None and "unknown or finished request" not in caplog.text


def test_200_concurrent_calls_finish_out_of_order_each_to_its_own_caller(app_server, page):
    live = open_live(app_server, page, code="import asyncio, random")
    finished = []

    async def one(i):
        result = await live.run_python("await asyncio.sleep(random.random() / 5)\n{'i': i, 'sq': i * i}", i=i)
        finished.append(i)
        return result

    async def all_of_them():
        return await asyncio.gather(*(one(i) for i in range(200)))
    results = app_server.call(all_of_them(), timeout=120)
    assert results == [{"i": i, "sq": i * i} for i in range(200)]
    assert finished != sorted(finished)  # they really did finish out of order
    assert len(live._channel.pending) == 0


def test_closing_the_tab_fails_pending_calls_promptly(app_server, page):
    page.switch_to.new_window("tab")
    try:
        live = open_live(app_server, page, code="import asyncio")
        future = asyncio.run_coroutine_threadsafe(
            live.run_python("await asyncio.sleep(60)", timeout=120), app_server.loop)
        wait_for(lambda: live._channel and len(live._channel.pending), 10, what="the call to be pending")
        time.sleep(0.5)
    finally:
        page.close()
        page.switch_to.window(page.window_handles[0])
    start = time.monotonic()
    with pytest.raises(LiveError, match="disconnected"):
        future.result(timeout=30)
    assert time.monotonic() - start < 5


def test_locked_coroutine_gets_a_clear_error_at_once(app_server, page):
    errors = []

    def extra(doc, live):
        async def locked_callback():
            try:
                await live.run_python("1")
            except RuntimeError as e:
                errors.append(str(e))
        doc.add_timeout_callback(locked_callback, 500)
    live = open_live(app_server, page, code="", extra=extra)
    wait_for(lambda: errors, 10, what="the locked callback")
    assert "without_document_lock" in errors[0] and "run_python_then" in errors[0]
    assert len(live._channel.pending) == 0


def test_unlocked_coroutine_callback_works(app_server, page):
    results = []

    def extra(doc, live):
        @without_document_lock
        async def unlocked():
            results.append(await live.run_python("6 * 7"))
        doc.add_timeout_callback(unlocked, 200)
    open_live(app_server, page, code="", extra=extra)
    assert wait_for(lambda: results, 30, what="the unlocked callback") == [42]


def test_run_python_then_from_a_button_click_may_change_the_document(app_server, page):
    def extra(doc, live):
        div = Div(name="div", text="waiting")
        button = Button(name="button", label="go")

        def on_click():
            live.run_python_then("sum(range(n))", lambda result: setattr(div, "text", f"sum={result}"), n=10)
        button.on_click(on_click)
        doc.add_root(button)
        doc.add_root(div)
    live = open_live(app_server, page, code="", extra=extra)
    page.execute_script(JS_VIEW + "live_view('button').button_el.click()")
    div = live.document.select_one({"name": "div"})
    wait_for(lambda: div.text == "sum=45", 30, what="the button's result")


# --- untrusted input ---------------------------------------------------------------------

#: Sends a raw batch as the model's ClientMessages event, bypassing the view's own checks.
JS_FORGE = JS_VIEW + """
function forge(name, batch) {
  const view = live_view(name);
  const model = view.model;
  const original = model.trigger_event.bind(model);
  model.trigger_event = (event) => {
    model.trigger_event = original;
    original(new event.constructor(model, batch));
  };
  view.channel.send({type: "output", data: "replaced by the forged batch"});
}
"""


def test_forged_messages_are_dropped_and_other_calls_go_on(app_server, page, caplog):
    live = open_live(app_server, page, code="import asyncio")
    pending = asyncio.run_coroutine_threadsafe(
        live.run_python("await asyncio.sleep(1)\n'real'", timeout=30), app_server.loop)
    wait_for(lambda: live._channel and len(live._channel.pending), 10, what="a pending call")
    real_id = next(iter(live._channel.pending))
    forgeries = [
        "not a list",
        [{"type": "run_python_result", "request_id": "made-up", "result": 1}],
        [{"type": "run_python_result", "request_id": real_id}],  # wrong shape for a real id
        [{"type": "teleport", "request_id": real_id}],
        [{"type": "output", "data": 1, "extra": True}],
        [42, None, "x"],
    ]
    with caplog.at_level(logging.WARNING, logger="bokeh_live.live"):
        for batch in forgeries:
            page.execute_script(JS_FORGE + "forge('live', arguments[0])", batch)
        assert pending.result(30) == "real"
    assert live.output is None
    assert "unknown or finished request" in caplog.text and "a batch must be a list" in caplog.text
    assert run(app_server, live, "'alive'") == "alive"


def test_a_reply_with_the_right_shape_for_another_sessions_call_is_refused(app_server, page, caplog):
    victim = open_live(app_server, page, code="import asyncio")
    call = asyncio.run_coroutine_threadsafe(
        victim.run_python("await asyncio.sleep(2)\n'genuine'", timeout=30), app_server.loop)
    wait_for(lambda: victim._channel and len(victim._channel.pending), 10, what="the victim's call")
    stolen_id = next(iter(victim._channel.pending))
    page.switch_to.new_window("tab")
    try:
        attacker = open_live(app_server, page, code="")
        with caplog.at_level(logging.WARNING, logger="bokeh_live.live"):
            page.execute_script(JS_FORGE + "forge('live', arguments[0])",
                                [{"type": "run_python_result", "request_id": stolen_id, "result": "forged"}])
            wait_for(lambda: "unknown or finished request" in caplog.text, 10, what="the rejection")
        assert run(app_server, attacker, "'attacker still works'") == "attacker still works"
    finally:
        page.close()
        page.switch_to.window(page.window_handles[0])
    assert call.result(30) == "genuine"


def test_oversized_messages_fail_clearly_on_both_sides(app_server, page, caplog):
    live = open_live(app_server, page, code="import bokeh_live", max_message_size=100_000)
    with pytest.raises(LiveError, match="over the server's limit of 100000 bytes") as info:
        run(app_server, live, "bokeh_live.send(b'x' * 200_000)")
    assert info.value.error_type == "ValueError"
    with pytest.raises(LiveError, match="over the server's limit"):
        run(app_server, live, "b'x' * 200_000")
    with pytest.raises(ValueError, match="max_message_size"):
        app_server.locked(live.document, lambda: live.send(b"y" * 200_000))
    # A forged batch that skips the browser's check is refused by the server.
    with caplog.at_level(logging.WARNING, logger="bokeh_live.live"):
        page.execute_script(JS_FORGE + "forge('live', [{type: 'output', data: 'z'.repeat(300000)}])")
        wait_for(lambda: "larger than the limit" in caplog.text, 10, what="the refusal")
    assert live.output is None
    assert run(app_server, live, "'ok'") == "ok"


def test_browser_cannot_overwrite_server_owned_properties(app_server, page):
    live = open_live(app_server, page, code="", value="server's")
    page.execute_script(JS_VIEW + "const m = live_view('live').model; m.value = 'forged'; m.max_message_size = 1e12;")
    time.sleep(0.5)
    assert live.value == "server's" and live.max_message_size == 64 * 1024 * 1024


def test_arrays_beyond_bokehs_websocket_limit_arrive_in_chunks(app_server, page):
    live = open_live(app_server, page, code="")
    array = np.random.default_rng(3).standard_normal(6_000_000)  # 48 MB: over Bokeh's 20 MiB per message
    back = run(app_server, live, "a", timeout=120, a=array)
    np.testing.assert_array_equal(back, array)
    data = np.random.default_rng(4).integers(0, 256, 30_000_000, dtype=np.uint8).tobytes()
    assert run(app_server, live, "len(data), data[-3:], data", timeout=120, data=data) == [30_000_000, data[-3:], data]


def test_large_json_like_data_is_refused_with_a_clear_error(app_server, page):
    live = open_live(app_server, page, code="")
    with pytest.raises(ValueError, match="send large data as bytes or numpy arrays"):
        app_server.locked(live.document, lambda: live.send("x" * 20_000_000))
    with pytest.raises(LiveError, match="travel in chunks"):
        run(app_server, live, "'y' * 20_000_000")
    assert run(app_server, live, "'still connected'") == "still connected"


def test_several_large_text_messages_in_one_tick_each_way(app_server, page):
    code = ECHO.replace('bokeh_live.send({"echo": data})', 'bokeh_live.send({"echo": data[:1], "n": len(data)})')
    live = open_live(app_server, page, code=code)
    outputs = []
    app_server.locked(live.document, lambda: live.on_change("output", lambda a, o, n: outputs.append(n)))

    def two_big_sends():  # together over Bokeh's 20 MiB per websocket message
        live.send("a" * 12_000_000)
        live.send("b" * 12_000_000)
    app_server.locked(live.document, two_big_sends)
    wait_for(lambda: len(outputs) == 2, 60, what="both echoes")
    assert outputs == [{"echo": "a", "n": 12_000_000}, {"echo": "b", "n": 12_000_000}]
    run(app_server, live, "bokeh_live.send('c' * 12_000_000)\nbokeh_live.send('d' * 12_000_000)", timeout=60)
    wait_for(lambda: isinstance(live.output, str) and live.output[:1] == "d", 60, what="the browser's two sends")
    assert len(live.output) == 12_000_000
    assert run(app_server, live, "'still connected'") == "still connected"


def test_a_million_row_dataframe_travels_both_ways_with_its_dtypes(app_server, page):
    import pandas as pd

    live = open_live(app_server, page, code="import bokeh_live", max_message_size=512 * 1024 * 1024)
    n = 1_000_000
    rng = np.random.default_rng(5)
    df = pd.DataFrame({
        "f8": rng.standard_normal(n),
        "f4": rng.standard_normal(n).astype("float32"),
        "i8": rng.integers(-(2**62), 2**62, n),
        "i4": rng.integers(-(2**31), 2**31, n, dtype=np.int32),
        "u1": rng.integers(0, 255, n, dtype=np.uint8),
        "flag": rng.random(n) > 0.5,
        "when": pd.date_range("2026-01-01", periods=n, freq="s"),
        "took": pd.to_timedelta(rng.integers(0, 10**12, n), unit="ns"),
        "name": [f"row-{i}" if i % 11 else None for i in range(n)],
        "kind": pd.Categorical(rng.choice(["low", "mid", "high"], n), categories=["low", "mid", "high"], ordered=True),
    })
    df.index = pd.RangeIndex(10, 10 + n, name="row")
    # In the browser (no pandas there): a Frame of columns, numbers as memoryviews, strings as lists.
    seen = run(app_server, live, """
[type(df).__name__, list(df), df.dtypes['when'], type(df['i8']).__name__, df['i8'].format, df['i8'][0],
 df['name'][:2], df['kind'][:1], df.index_name]""", timeout=120, df=df.head(3))
    assert seen == ["Frame", list(df.columns), str(df["when"].dtype), "memoryview", "q", int(df["i8"].iloc[0]),
                    [None, "row-1"], [df["kind"].iloc[0]], "row"]
    back = run(app_server, live, "df", timeout=180, df=df)  # a million rows out and back
    pd.testing.assert_frame_equal(back, df)


def test_metrics_count_calls_their_endings_round_trips_and_bytes(app_server, page):
    live = open_live(app_server, page, code="import asyncio\nprint('hi')")
    wait_for(lambda: live.metrics()["code_runs"] == 1, 30, what="the browser's first metrics")
    for n in range(3):
        assert run(app_server, live, "n * 2", n=n) == 2 * n
    with pytest.raises(LiveError):
        run(app_server, live, "1 / 0")
    with pytest.raises(TimeoutError):
        run(app_server, live, "await asyncio.sleep(5)", timeout=0.5)
    run(app_server, live, "bytes(100_000)")
    m = live.metrics()
    assert (m["calls"], m["call_errors"], m["call_timeouts"]) == (6, 1, 1)
    assert 0 < m["round_trip_median_ms"] < 10_000 and m["round_trip_last_ms"] > 0
    assert m["messages_received"] == 5  # the timed-out call never answered
    assert m["bytes_received"] >= 100_000 and m["bytes_sent"] > 0
    assert m["messages_sent"] == 7  # six calls and the cancellation of the one that timed out
    assert m["python_start_ms"] > 0 and m["restarts"] == 0 and m["last_run_ms"] >= 0
