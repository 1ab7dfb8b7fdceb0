"""The value codec (bokeh_live/wire.py) and the server's side of it, without a browser: sizes as
each encoder writes them, tags both ways, and values that cannot travel."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bokeh_live.channel import ServerDecoder, ServerEncoder
from bokeh_live.chunks import Assembler, Refused
from bokeh_live.wire import ARRAY_TAG, BINARY_TAG, INT_TAG, MAX_SAFE_INT, Decoder, Encoder, Size


def server_size(value, limit=10**6):
    size = Size(limit, ascii=True)
    ServerEncoder(size).encode(value)
    return size.json, size.binary


def test_the_server_counts_json_text_as_bokeh_encodes_it():
    assert server_size("abc") == (5, 0)
    assert server_size("中" * 10) == (62, 0)  # Bokeh's encoder escapes non-ASCII: 6 bytes each
    assert server_size('a"\n') == (7, 0)  # quotes, and two escapes of 2 bytes
    text, binary = server_size({"a": b"12345", "b": np.zeros(1000)})
    assert binary == 5 + 8000 and text < 400


def test_the_page_form_counts_json_text_as_javascript_writes_it():
    size = Size()
    Encoder(size).encode(["中" * 10, "\x01"])
    assert size.json == 32 + 8 + 4  # UTF-8 bytes, \u0001, and the list's brackets and commas


def test_sizes_are_upper_bounds_for_numbers_and_structure():
    for value in [2**52, -(2**52), 0.1 + 0.2, -1.2345678901234567e-300, [1.5] * 100, {"k": [True, None]}]:
        assert server_size(value)[0] >= len(json.dumps(value))
        size = Size()
        Encoder(size).encode(value)
        assert size.json >= len(json.dumps(value, separators=(",", ":")))


def test_the_walk_stops_at_the_limit_and_refuses_deep_nesting():
    with pytest.raises(ValueError, match="limit"):
        server_size([b"x" * 10] * 1000, limit=100)
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(ValueError, match="nested deeper"):
        server_size(deep)
    with pytest.raises(ValueError, match="nested deeper"):
        Decoder().decode(deep)


@pytest.mark.parametrize("value", [2**53, 2**64 + 1, -(2**70)])
def test_big_integers_are_tagged_both_ways_and_exact(value):
    for encoder in (Encoder(), ServerEncoder(Size())):
        assert encoder.encode([value, MAX_SAFE_INT]) == [{INT_TAG: str(value)}, MAX_SAFE_INT]
    assert Decoder().decode({INT_TAG: str(value)}) == value
    for forged in ({INT_TAG: "1e5"}, {INT_TAG: 5}, {INT_TAG: "1", "x": 1}, {INT_TAG: "9" * 401}):
        with pytest.raises(ValueError, match="decimal digits"):
            Decoder().decode(forged)


def test_numpy_scalars_and_subclasses_of_plain_types_travel_as_plain_values():
    assert ServerEncoder(Size()).encode({"a": np.float32(1.5), "b": np.uint64(2**60), "c": (1, 2)}) == \
        {"a": 1.5, "b": {INT_TAG: str(2**60)}, "c": [1, 2]}
    assert Encoder().encode(np.bool_(True)) is True


def test_arrays_of_dtypes_bokehjs_lacks_travel_as_tagged_bytes():
    page = Encoder().encode(np.array([2**40, 1]))
    assert page[ARRAY_TAG] == "<i8" and page["data"][BINARY_TAG] == "bytes"
    assert Decoder().decode(page).tolist() == [2**40, 1]
    server = ServerEncoder(Size()).encode(np.array([2**40, 1]))
    assert server[ARRAY_TAG] == "<i8" and isinstance(server["data"], bytes)
    assert ServerDecoder(Assembler(10**6), 10**6).decode(server).tolist() == [2**40, 1]


def test_what_cannot_travel_is_a_clear_error():
    for encoder in (Encoder(), ServerEncoder(Size())):
        with pytest.raises(TypeError, match="cannot be sent"):
            encoder.encode({"x": object()})
        with pytest.raises(TypeError, match="keys must be str"):
            encoder.encode({1: 2})


def test_the_server_refuses_what_a_browser_cannot_have_sent():
    decoder = ServerDecoder(Assembler(10**6), 10**6)
    with pytest.raises(Refused, match="not accepted"):
        decoder.decode({"x": object()})
    with pytest.raises(ValueError, match="keys must be strings"):
        decoder.decode({1: 2})
    with pytest.raises(ValueError, match="limit"):
        ServerDecoder(Assembler(10**6), 100).decode(["x" * 200])
