"""Large binary values in chunks, without a browser: the cut, the reassembly, hostile chunks."""
from __future__ import annotations

import time

import numpy as np
import pytest

from bokeh_live.channel import ServerDecoder, ServerEncoder
from bokeh_live.chunks import BLOB_IDLE_SECONDS, MAX_OPEN_BLOBS, Assembler, Budget, Refused
from bokeh_live.shared import CHUNK_BYTES
from bokeh_live.wire import ARRAY_TAG, BLOB_TAG, Size

BIG = CHUNK_BYTES + 10  # the smallest blobs are just over one chunk


def split(value, chunks):
    """``value`` as the server encodes it, its large binary leaves cut into ``chunks``."""
    encoder = ServerEncoder(Size())
    encoded = encoder.encode(value)
    chunks.extend(encoder.chunks)
    return encoded


def to_wire(chunks):
    """What arrives from the browser: chunk data as bytes."""
    return [{**c, "data": bytes(c["data"])} for c in chunks]


def chunk(blob="b", offset=0, size=BIG, n=None):
    n = min(CHUNK_BYTES, size - offset) if n is None else n
    return {"blob": blob, "offset": offset, "size": size, "data": b"x" * n}


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
    placeholder = small["result"]["big"]
    assert placeholder[BLOB_TAG] and len(chunks) > 1
    assert all(len(bytes(c["data"])) <= CHUNK_BYTES for c in chunks)
    assembler = Assembler(limit=10 * CHUNK_BYTES)
    for c in to_wire(chunks):
        assembler.add(c)
    restored = assembler.take(placeholder)
    if isinstance(value, bytes):
        assert restored == value
    else:
        np.testing.assert_array_equal(restored, value)
    assert assembler.held == 0


def test_int64_arrays_travel_as_tagged_bytes_in_chunks():
    chunks = []
    array = np.arange(CHUNK_BYTES // 4, dtype=np.int64)  # 2 MiB of int64: BokehJS has no typed array for it
    encoded = split(array, chunks)
    assert encoded[ARRAY_TAG] == "<i8" and encoded["data"][BLOB_TAG] and len(chunks) == 2
    assembler = Assembler(limit=10 * CHUNK_BYTES)
    for c in to_wire(chunks):
        assembler.add(c)
    np.testing.assert_array_equal(ServerDecoder(assembler, 10 * CHUNK_BYTES).decode(encoded), array)


@pytest.mark.parametrize("bad,reason", [
    ("junk", "takes the keys"),
    ({"blob": "b", "offset": 0, "size": 3}, "takes the keys"),
    ({"blob": 1, "offset": 0, "size": BIG, "data": b"abc"}, "string blob id"),
    ({"blob": "b", "offset": 0, "size": float(BIG), "data": b"abc"}, "int offset and size"),
    ({"blob": "b", "offset": 0, "size": BIG, "data": "text"}, "and bytes"),
    (chunk(offset=CHUNK_BYTES), "offset 0"),
    (chunk(size=10), "must be over"),
    (chunk(size=0, n=0), "must be over"),
    (chunk(size=10**12), "at most the limit"),
    (chunk(n=3), "must hold"),
])
def test_hostile_chunks_are_refused(bad, reason):
    with pytest.raises(Refused, match=reason):
        Assembler(limit=4 * CHUNK_BYTES).add(bad)


def test_chunks_must_come_in_order_and_once():
    assembler = Assembler(limit=4 * CHUNK_BYTES)
    size = 2 * CHUNK_BYTES + 5
    assembler.add(chunk(size=size))
    with pytest.raises(Refused, match="in order, each once"):
        assembler.add(chunk(size=size))  # the same chunk again: it is not counted twice
    assert assembler.held == 0  # a blob that went wrong is dropped whole
    assembler.add(chunk(blob="c", size=size))
    with pytest.raises(Refused, match="in order"):
        assembler.add(chunk(blob="c", size=size, offset=2 * CHUNK_BYTES))


def test_memory_is_held_only_for_bytes_that_arrived():
    budget = Budget(10 * CHUNK_BYTES)
    assembler = Assembler(limit=64 * CHUNK_BYTES, budgets=(budget,))
    assembler.add(chunk(size=64 * CHUNK_BYTES))  # declares 256 MiB, sends 4 MiB
    assert assembler.held == CHUNK_BYTES and budget.used == CHUNK_BYTES
    assembler.clear()
    assert budget.used == 0


def test_budgets_bound_all_open_blobs_together():
    session, process = Budget(3 * CHUNK_BYTES), Budget(100 * CHUNK_BYTES)
    first = Assembler(limit=10 * CHUNK_BYTES, budgets=(session, process))
    second = Assembler(limit=10 * CHUNK_BYTES, budgets=(session, process))
    first.add(chunk(size=5 * CHUNK_BYTES))
    first.add(chunk(size=5 * CHUNK_BYTES, offset=CHUNK_BYTES))
    second.add(chunk(size=5 * CHUNK_BYTES))
    with pytest.raises(Refused, match="budget"):
        second.add(chunk(blob="other", size=5 * CHUNK_BYTES))
    assert session.used == process.used == 3 * CHUNK_BYTES  # a refusal takes nothing from either


def test_open_blobs_are_counted():
    assembler = Assembler(limit=4 * CHUNK_BYTES, budgets=())
    for i in range(MAX_OPEN_BLOBS):
        assembler.add(chunk(blob=f"b{i}"))
    with pytest.raises(Refused, match=f"more than {MAX_OPEN_BLOBS} blobs"):
        assembler.add(chunk(blob="one-too-many"))


def test_stalled_blobs_expire():
    budget = Budget(10 * CHUNK_BYTES)
    assembler = Assembler(limit=4 * CHUNK_BYTES, budgets=(budget,))
    now = time.monotonic()
    assembler.add(chunk(size=3 * CHUNK_BYTES), now=now)
    assembler.add(chunk(blob="later", size=3 * CHUNK_BYTES), now=now + BLOB_IDLE_SECONDS + 1)
    assert not assembler.complete("b") and budget.used == CHUNK_BYTES  # the stalled one is gone


def test_many_chunks_take_linear_time():
    """Each chunk costs O(1): 20,000 refused empty blobs take well under a second."""
    assembler = Assembler(limit=4 * CHUNK_BYTES)
    start = time.perf_counter()
    for i in range(20_000):
        with pytest.raises(Refused):
            assembler.add({"blob": f"b{i}", "offset": 0, "size": 0, "data": b""})
    assert time.perf_counter() - start < 2  # quadratic accounting took minutes for this


@pytest.mark.parametrize("placeholder", [
    {BLOB_TAG: "missing", "size": BIG, "kind": "bytes"},
    {BLOB_TAG: "b", "size": BIG, "kind": "bytes"},  # incomplete
])
def test_placeholder_needs_its_complete_blob(placeholder):
    assembler = Assembler(limit=4 * CHUNK_BYTES)
    assembler.add(chunk())
    with pytest.raises(Refused, match="missing or incomplete"):
        assembler.take(placeholder)


@pytest.mark.parametrize("extra", [
    {"kind": "ndarray", "dtype": "object", "shape": [BIG]},
    {"kind": "ndarray", "dtype": "uint8", "shape": [7]},
    {"kind": "ndarray", "dtype": "uint8", "shape": "3"},
    {"kind": "ndarray", "dtype": "uint8", "shape": [2**62, 2**62]},  # no OverflowError
    {"kind": "ndarray", "dtype": "uint8", "shape": [1] * 100},
    {"kind": "pickle"},
])
def test_placeholder_kind_dtype_and_shape_are_checked(extra):
    assembler = Assembler(limit=4 * CHUNK_BYTES)
    assembler.add(chunk())
    assembler.add(chunk(offset=CHUNK_BYTES))
    with pytest.raises(Refused):
        assembler.take({BLOB_TAG: "b", "size": BIG, **extra})
