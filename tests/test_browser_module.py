"""The browser half's Python logic (bokeh_live/browser/) under CPython, without Pyodide.

The browser tests run the same file in Pyodide; these pin down its rules precisely.
"""
from __future__ import annotations

import asyncio
import contextvars
import sys
import time

import numpy as np
import pytest

from bokeh_live import browser as api
from bokeh_live import wire
from bokeh_live.browser import _complete, _dispatch, _display, _runner, _state
from bokeh_live.wire import ARRAY_TAG, BINARY_TAG, INT_TAG


@pytest.fixture(autouse=True)
def posted(monkeypatch):
    out: list[tuple[str, dict]] = []
    monkeypatch.setattr(_state, "post", lambda kind, payload: out.append((kind, payload)))
    _state.models.clear()
    return out


def run(code, kwargs=None, fresh=False, model="m"):
    return asyncio.run(_runner.run(model, code, kwargs, fresh=fresh))


def test_last_expression_is_the_result():
    assert run("x = 2\nx * 21") == 42
    assert run("x = 2") is None
    assert run("") is None


def test_top_level_await():
    assert run("import asyncio\nawait asyncio.sleep(0)\n'done'") == "done"


def test_namespace_persists_until_a_fresh_run():
    run("x = 1", fresh=True)
    assert run("x + 1") == 2
    run("y = 1", fresh=True)
    with pytest.raises(NameError):
        run("x")


def test_kwargs_are_for_one_call_only_and_other_names_stick():
    run("base = 10", fresh=True)
    assert run("z = base + n\nz", {"n": 5}) == 15
    assert run("z") == 15
    with pytest.raises(NameError):
        run("n")


def test_concurrent_calls_do_not_see_each_others_kwargs():
    async def both():
        code = "import asyncio\nawait asyncio.sleep(0.01)\nn"
        return await asyncio.gather(*(_runner.run("m", code, {"n": i}) for i in range(20)))
    assert asyncio.run(both()) == list(range(20))


def test_models_have_separate_namespaces():
    run("x = 'a'", model="a")
    with pytest.raises(NameError):
        run("x", model="b")


def test_traceback_shows_only_user_frames_with_their_lines():
    code = "def f():\n    return 1 / 0\n\nf()\n"
    with pytest.raises(ZeroDivisionError) as info:
        run(code)
    text = _runner.format_exception(info.value)
    assert text.startswith("Traceback")
    assert 'File "<code>", line 4, in <module>' in text and 'line 2, in f' in text
    assert "_browser" not in text and text.rstrip().endswith("ZeroDivisionError: division by zero")


def test_syntax_error_points_at_the_line():
    with pytest.raises(SyntaxError) as info:
        run("x = 1\ndef (:\n")
    text = _runner.format_exception(info.value)
    assert "line 2" in text and "SyntaxError" in text


def encode(value):
    size = wire.Size()
    return wire.Encoder(size).encode(value), size


@pytest.mark.parametrize("value", [None, True, 3, 2.5, "s", [1, "a"], {"k": [1, {"n": None}]}, 2**53 - 1, -(2**53) + 1])
def test_json_values_round_trip(value):
    encoded, _ = encode(value)
    assert wire.decode(encoded) == value


@pytest.mark.parametrize("value", [2**53, 2**60, -(2**70), 10**300])
def test_big_integers_travel_tagged_and_exact(value):
    encoded, _ = encode({"n": value})
    assert encoded == {"n": {INT_TAG: str(value)}}  # never a JavaScript BigInt
    assert wire.decode(encoded) == {"n": value}


def test_sizes_are_utf8_json_bytes():
    assert encode("abc")[1].json == 5
    assert encode("中" * 10)[1].json == 32  # 3 bytes each in UTF-8, as BokehJS sends it
    assert encode("\x01")[1].json == 8  # JSON escapes control characters as \u0001


def test_bytes_and_arrays_travel_marked():
    encoded, size = encode({"raw": b"\x00\x01", "arr": np.arange(6, dtype="float64").reshape(2, 3)})
    assert size.binary == 50
    assert encoded["raw"] == {BINARY_TAG: "bytes", "data": b"\x00\x01"}
    assert encoded["arr"][BINARY_TAG] == "ndarray" and encoded["arr"]["shape"] == [2, 3]
    decoded = wire.decode(encoded)
    assert decoded["raw"] == b"\x00\x01"
    np.testing.assert_array_equal(decoded["arr"], np.arange(6.0).reshape(2, 3))


def test_memoryviews_and_64_bit_integers():
    view = memoryview(np.arange(4, dtype="int32").tobytes()).cast("i")
    assert encode(view)[0]["dtype"] == "int32"
    assert encode(memoryview(b"abc"))[0] == {BINARY_TAG: "bytes", "data": b"abc"}
    int64 = encode(np.array([2**40, 1]))[0]  # no BokehJS dtype: exact, as tagged raw bytes
    assert int64[ARRAY_TAG] == "<i8" and int64["shape"] == [2] and int64["data"][BINARY_TAG] == "bytes"
    assert wire.decode(int64).tolist() == [2**40, 1]
    assert wire.decode(encode(memoryview(np.array([2**40], dtype="int64").tobytes()).cast("q"))[0]).tolist() == [2**40]


def test_unsendable_values_are_a_clear_error():
    with pytest.raises(TypeError, match="cannot be sent"):
        encode(object())
    with pytest.raises(TypeError, match="keys must be str"):
        encode({1: 2})


def test_send_respects_the_server_limit(posted):
    _state.model_state("m").limit = 100

    def in_model():
        _state.current_model.set("m")
        api.send("small")
        assert posted[-1] == ("send", {"model": "m", "data": "small"})
        with pytest.raises(ValueError, match="over the server's limit of 100 bytes"):
            api.send(b"x" * 1000)
    contextvars.Context().run(in_model)


def test_api_outside_a_model_says_so():
    with pytest.raises(RuntimeError, match="only in code run by a BokehLive"):
        contextvars.Context().run(api.send, 1)


def test_compiled_code_is_reused_and_the_cache_is_bounded():
    run("x = 1", fresh=True)
    assert run("x + 1") == 2
    first = _runner._compiled["x + 1"]
    assert run("x + 1") == 2 and _runner._compiled["x + 1"] is first  # compiled once
    for i in range(_runner.COMPILED_ENTRIES + 10):
        run(f"x + {i}")
    assert len(_runner._compiled) == _runner.COMPILED_ENTRIES and "x + 1" not in _runner._compiled
    run("y = 1" + " " * _runner.COMPILED_MAX_CHARS)  # too long to keep
    assert not any(len(code) > _runner.COMPILED_MAX_CHARS for code in _runner._compiled)


def test_progress_in_a_tight_loop_leaves_rarely_and_its_last_report_always(posted, monkeypatch):
    code = "import bokeh_live\nfor i in range(20_000):\n    bokeh_live.progress((i + 1) / 20_000, f'step {i + 1}')"
    monkeypatch.setitem(sys.modules, "bokeh_live", api)  # as the worker installs it
    start = time.monotonic()
    asyncio.run(_runner.run_and_reply(_state.model_state("m"), {"id": "r1", "code": code, "kwargs": {}, "fresh": True}))
    took = time.monotonic() - start
    reports = [p for kind, p in posted if kind == "progress"]
    assert 1 <= len(reports) <= took / 0.05 + 2  # one per 50 ms at most, of 20,000 calls
    assert reports[-1] == {"model": "m", "id": "r1", "fraction": 1.0, "text": "step 20000"}
    assert [kind for kind, _ in posted][-1] == "done"  # the held last report left before the run's end


def test_progress_checks_its_arguments():
    token = _state.current_model.set("m")
    try:
        for bad in (1.5, -0.1, "half", True, float("nan")):
            with pytest.raises(ValueError, match="from 0 to 1"):
                api.progress(bad)
        api.progress(0.5, "x" * 500)
    finally:
        _state.current_model.reset(token)


class Rich:
    """An object with a notebook's rich representations: the richest one wins."""

    def __init__(self, **reprs):
        for name, value in reprs.items():
            setattr(self, f"_repr_{name}_", lambda value=value: value)


@pytest.mark.parametrize(("obj", "html"), [
    (Rich(html="<b>bold</b>", png=b"\x89PNG"), "<b>bold</b>"),
    (Rich(svg="<svg><circle r='4'/></svg>"), "<svg><circle r='4'/></svg>"),
    (Rich(png=b"\x89PNG\r\n"), '<img src="data:image/png;base64,iVBORw0K" alt="">'),
    (Rich(jpeg=(b"\xff\xd8", {"width": 10})), '<img src="data:image/jpeg;base64,/9g=" alt="">'),
    (Rich(mimebundle={"image/png": "iVBORw0K\n", "text/plain": "<Rich>"}), '<img src="data:image/png;base64,iVBORw0K" alt="">'),
    (Rich(html=None, svg="<svg/>"), "<svg/>"),  # a repr that declines passes to the next
])
def test_rich_representations_show_as_notebooks_show_them(posted, obj, html):
    token = _state.current_model.set("m")
    try:
        api.display(obj)
        _display.show(obj)
    finally:
        _state.current_model.reset(token)
    assert [(p["display"], p["data"]) for _, p in posted] == [("html", html)] * 2


def test_a_matplotlib_figure_shows_as_a_png(posted):
    Figure = type("Figure", (), {"__module__": "matplotlib.figure",
                                 "savefig": lambda self, buffer, **options: buffer.write(b"\x89PNG")})
    token = _state.current_model.set("m")
    try:
        api.display(Figure())
    finally:
        _state.current_model.reset(token)
    assert posted[0][1]["data"] == '<img src="data:image/png;base64,iVBORw==" alt="">'


def test_plain_objects_show_as_text_and_their_repr(posted):
    token = _state.current_model.set("m")
    try:
        api.display([1, 2])
        _display.show([1, 2])
        _display.show(Rich)  # a class with repr methods is not rich itself
    finally:
        _state.current_model.reset(token)
    assert [(p["display"], p["data"]) for _, p in posted] == [
        ("text", "[1, 2]"), ("result", "[1, 2]"), ("result", repr(Rich))]


def test_completion_offers_names_attributes_and_keywords_without_running_anything():
    run("import math\nalpha_value = 1\nclass Box:\n    width = 3\n    @property\n    def costly(self):\n"
        "        raise RuntimeError('ran')\nbox = Box()", fresh=True)
    labels = lambda before: (_complete.complete("m", before)[0], [o["label"] for o in _complete.complete("m", before)[1]])  # noqa: E731
    assert labels("x = alp") == ("alp", ["alpha_value"])
    assert labels("math.sq") == ("sq", ["sqrt"])
    assert labels("box.") == ("", ["costly", "width"])  # the property is listed, never run
    assert labels("whi") == ("whi", ["while"])
    assert "print" in labels("pri")[1] and labels("_")[1]  # builtins; private names only when asked
    assert labels("nothing_here.x") == ("x", []) and labels("'text'.up") == ("up", [])
    kinds = {o["label"]: o["type"] for o in _complete.complete("m", "")[1]}
    assert kinds["math"] == "namespace" and kinds["Box"] == "class" and kinds["alpha_value"] == "variable"
    assert kinds["print"] == "function" and kinds["while"] == "keyword"
    assert {o["label"]: o["type"] for o in _complete.complete("m", "box.")[1]} == {"costly": "property", "width": "variable"}


def test_calls_to_the_server_are_bounded_per_model(posted):
    async def main():
        token = _state.current_model.set("m")
        try:
            waiting = [asyncio.ensure_future(api.call("slow", timeout=5)) for _ in range(16)]
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="16 calls of this model already wait"):
                await api.call("slow")
            for id_ in [p["id"] for kind, p in posted if kind == "call"]:  # the server answers them all
                _dispatch.handle("reply", {"model": "m", "id": id_, "result": 1, "error": None, "error_type": None})
            assert await asyncio.gather(*waiting) == [1] * 16
            with pytest.raises(TimeoutError, match=r"no answer from the server within 0\.05 s"):
                await api.call("late", timeout=0.05)  # and one nobody answers ends too
        finally:
            _state.current_model.reset(token)
    asyncio.run(main())
