"""DataFrames and arrays of any dtype on the wire (bokeh_live/tabular.py), without a browser.

The browser tests send the same frames through Bokeh, the page and Pyodide; these pin down
the encoding: dtypes, index and column order kept, numbers as bytes, and the Frame that
stands in for a DataFrame where pandas is not loaded.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bokeh_live import tabular
from bokeh_live.wire import ARRAY_TAG, FRAME_TAG, STRINGS_TAG


def decode_all(value):
    """What a receiver does: decode tagged values bottom up."""
    if isinstance(value, list):
        return [decode_all(v) for v in value]
    if isinstance(value, dict):
        inner = {k: decode_all(v) for k, v in value.items()}
        return tabular.decode(inner) if set(inner) & {ARRAY_TAG, FRAME_TAG, STRINGS_TAG, tabular.CATEGORY_TAG} else inner
    return value


def leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value


def sample(n=1000):
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "f8": rng.standard_normal(n),
        "f4": rng.standard_normal(n).astype("float32"),
        "i8": rng.integers(-(2**62), 2**62, n),
        "u2": rng.integers(0, 60000, n).astype("uint16"),
        "flag": rng.random(n) > 0.5,
        "when": pd.date_range("2026-01-01", periods=n, freq="min"),
        "when_utc": pd.date_range("2026-01-01", periods=n, freq="h", tz="Europe/Paris"),
        "took": pd.to_timedelta(rng.integers(0, 10**9, n), unit="ns"),
        "name": [f"ünï-{i}" if i % 7 else None for i in range(n)],
        "kind": pd.Categorical(rng.choice(["a", "b", "c"], n), categories=["c", "b", "a"], ordered=True),
    })


def test_a_dataframe_round_trips_with_dtypes_index_and_column_order():
    df = sample().iloc[::-1]  # an index that is not 0..n-1
    df.index.name = "row"
    back = decode_all(tabular.encode_frame(df))
    pd.testing.assert_frame_equal(back, df)


def test_numbers_travel_as_bytes_never_as_lists():
    encoded = tabular.encode_frame(sample())
    numbers = [leaf for leaf in leaves(encoded) if isinstance(leaf, (int, float)) and not isinstance(leaf, bool)]
    assert len(numbers) < 20  # only flags and tags: no column of numbers as JSON
    assert all(isinstance(col, (np.ndarray, dict)) for col in encoded["data"])


def test_without_pandas_a_frame_stands_in_and_goes_back_as_the_same_dataframe(monkeypatch):
    df = sample(50)
    encoded = tabular.encode_frame(df)
    monkeypatch.setattr(tabular, "_pandas", lambda: None)
    frame = decode_all(encoded)
    assert isinstance(frame, tabular.Frame) and list(frame) == list(df.columns)
    assert frame["i8"].dtype == np.int64 and frame["name"][1] == "ünï-1" and frame["name"][0] is None
    assert frame["kind"][:3] == list(df["kind"][:3])
    monkeypatch.undo()
    pd.testing.assert_frame_equal(decode_all(tabular.encode_frame(frame)), df)


@pytest.mark.parametrize("dtype", ["int64", "uint64", "float16", "datetime64[ms]", "complex128"])
def test_arrays_of_dtypes_bokehjs_lacks(dtype):
    array = np.arange(12).astype(dtype).reshape(3, 4)
    back = decode_all(tabular.encode_array(array))
    assert back.dtype == array.dtype and np.array_equal(back, array)


@pytest.mark.parametrize("bad", [
    {ARRAY_TAG: "|O", "shape": [1], "data": b"\0" * 8},  # objects: never
    {ARRAY_TAG: "<i8", "shape": [3], "data": b"\0" * 8},  # shape and bytes disagree
    {ARRAY_TAG: "no such dtype", "shape": [1], "data": b"\0"},
    {ARRAY_TAG: "<i8", "shape": [2**62, 2**62], "data": b"\0" * 8},
    {STRINGS_TAG: 1, "offsets": [0, 5], "data": b"ab", "valid": [True]},
    {FRAME_TAG: 1, "columns": ["a"], "dtypes": ["float64", "int64"], "data": [[1.0]]},
    {FRAME_TAG: 1, "columns": ["a", "b"], "dtypes": ["float64", "float64"], "data": [[1.0], [1.0, 2.0]]},
])
def test_malformed_tagged_values_are_refused(bad):
    with pytest.raises(ValueError):
        tabular.decode(bad)


def test_what_cannot_be_sent_says_so():
    with pytest.raises(TypeError, match="MultiIndex"):
        tabular.encode_frame(pd.DataFrame({"a": [1]}, index=pd.MultiIndex.from_tuples([(1, 2)])))
    with pytest.raises(TypeError, match="duplicate"):
        tabular.encode_frame(pd.DataFrame([[1, 2]], columns=["a", "a"]))
