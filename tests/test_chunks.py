"""Large binary values in chunks, without a browser: the cut, the reassembly, hostile chunks."""
from __future__ import annotations

import numpy as np
import pytest

from bokeh_live.chunks import BLOB, CHUNK_BYTES, Assembler, split


def to_wire(chunks):
    """What arrives from the browser: chunk data as bytes."""
    return [{**c, "data": bytes(c["data"])} for c in chunks]


def test_small_values_are_untouched():
    chunks = []
    value = {"a": b"x" * 10, "b": np.zeros(10), "c": [1, "s"]}
    assert split(value, chunks) is not value and chunks == []


@pytest.mark.parametrize("value", [
    np.random.default_rng(0).standard_normal((3, CHUNK_BYTES // 8)),  # 3 chunks of float64
    bytes(range(256)) * (CHUNK_BYTES // 100),
])
def test_large_values_round_trip(value):
    chunks = []
    message = {"type": "run_python_result", "request_id": "r", "result": {"big": value}}
    small = split(message, chunks)
    assert small["result"]["big"][BLOB] and len(chunks) > 1
    assert all(len(bytes(c["data"])) <= CHUNK_BYTES for c in chunks)
    assembler = Assembler(limit=10 * CHUNK_BYTES)
    for chunk in to_wire(chunks):
        assert assembler.add(chunk) is None
    restored = assembler.restore(small)["result"]["big"]
    if isinstance(value, bytes):
        assert restored == value
    else:
        np.testing.assert_array_equal(restored, value)


def test_int64_arrays_are_left_whole():
    chunks = []
    array = np.zeros(CHUNK_BYTES, dtype=np.int64)
    assert split(array, chunks) is array and chunks == []


@pytest.mark.parametrize("chunk,reason", [
    ("junk", "takes the keys"),
    ({"blob": "b", "offset": 0, "size": 3}, "takes the keys"),
    ({"blob": 1, "offset": 0, "size": 3, "data": b"abc"}, "string blob id"),
    ({"blob": "b", "offset": -1, "size": 3, "data": b"abc"}, "within them"),
    ({"blob": "b", "offset": 2, "size": 3, "data": b"abc"}, "within them"),
    ({"blob": "b", "offset": 0, "size": 3.0, "data": b"abc"}, "int offset and size"),
    ({"blob": "b", "offset": 0, "size": 10**12, "data": b"abc"}, "over the limit"),
])
def test_hostile_chunks_are_refused(chunk, reason):
    assert reason in Assembler(limit=1000).add(chunk)


def test_blobs_together_stay_within_the_limit():
    assembler = Assembler(limit=100)
    assert assembler.add({"blob": "a", "offset": 0, "size": 60, "data": b"x"}) is None
    assert "over the limit" in assembler.add({"blob": "b", "offset": 0, "size": 60, "data": b"x"})


@pytest.mark.parametrize("placeholder", [
    {BLOB: "missing", "size": 3, "kind": "bytes"},
    {BLOB: "a", "size": 3, "kind": "bytes"},  # incomplete
])
def test_placeholder_needs_its_complete_blob(placeholder):
    assembler = Assembler(limit=100)
    assembler.add({"blob": "a", "offset": 0, "size": 3, "data": b"ab"})
    with pytest.raises(ValueError, match="missing or incomplete"):
        assembler.restore([placeholder])


@pytest.mark.parametrize("extra", [
    {"kind": "ndarray", "dtype": "object", "shape": [1]},
    {"kind": "ndarray", "dtype": "uint8", "shape": [7]},
    {"kind": "ndarray", "dtype": "uint8", "shape": "3"},
    {"kind": "pickle"},
])
def test_placeholder_kind_dtype_and_shape_are_checked(extra):
    assembler = Assembler(limit=100)
    assembler.add({"blob": "a", "offset": 0, "size": 3, "data": b"abc"})
    with pytest.raises(ValueError):
        assembler.restore({BLOB: "a", "size": 3, **extra})
