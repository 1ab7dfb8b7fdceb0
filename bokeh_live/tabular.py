"""Tables and arrays of any numeric dtype on the wire, the same on the server and in Pyodide.

BokehJS carries numpy arrays as binary buffers only for the dtypes it has typed arrays for.
Everything else a DataFrame holds travels as raw bytes with its dtype named, never as JSON
lists:

- ``{ARRAY_TAG: "<i8", "shape": [n], "data": bytes}``: an array of any numeric, boolean,
  datetime or timedelta dtype (int64, uint64, float16, datetime64[ns]...);
- ``{STRINGS_TAG: 1, "offsets": int64 array, "data": utf-8 bytes, "valid": bool array}``:
  a column of strings (and missing values);
- ``{CATEGORY_TAG: 1, "codes": int array, "categories": column, "ordered": bool}``;
- ``{FRAME_TAG: 1, "columns": [...], "dtypes": [...], "data": [column, ...], "index":
  column or None, "index_name": ...}``: a DataFrame, column order, dtypes and index kept.

A frame becomes a pandas ``DataFrame`` where pandas is imported (on the server, pandas is an
optional dependency), else a :class:`Frame`: a dict of column name to column (numpy arrays
or, without numpy, memoryviews; strings as lists) that remembers its dtypes and index, so it
goes back as the same DataFrame. numpy and pandas are imported only if already loaded or
installed: this module runs in Pyodide too, with neither.
"""

from __future__ import annotations

import itertools
import sys
from typing import Any

from .wire import ARRAY_TAG, CATEGORY_TAG, DTYPE_FORMATS, FRAME_TAG, STRINGS_TAG

__all__ = ("Frame", "decode", "encode_array", "encode_frame", "is_frame", "numpy")

#: Raw dtypes accepted from the other side: numbers, booleans, datetimes and durations
#: (numpy ``dtype.kind``), never objects.
ARRAY_KINDS = "biufcmM"


def numpy() -> Any:
    """numpy if it is loaded or can be (in Pyodide it may not be installed)."""
    if "numpy" not in sys.modules:
        try:
            import numpy  # noqa: F401
        except ImportError:
            return None
    return sys.modules["numpy"]


def _pandas() -> Any:
    """pandas if the code already imported it (on the server: if it is installed)."""
    if "pandas" not in sys.modules and "pyodide" not in sys.modules:  # never load it into a browser unasked
        try:
            import pandas  # noqa: F401
        except ImportError:
            return None
    return sys.modules.get("pandas")


class Frame(dict):  # type: ignore[type-arg]
    """A DataFrame where pandas is not loaded: column name to column, in order. ``dtypes``
    and ``index`` (None for 0..n-1) are kept, so returning it gives the same DataFrame back."""

    def __init__(self, columns: dict[Any, Any], dtypes: dict[Any, str], index: Any = None,
                 index_name: Any = None, index_dtype: str = "object") -> None:
        super().__init__(columns)
        self.dtypes = dtypes
        self.index = index
        self.index_name = index_name
        self.index_dtype = index_dtype

    def __repr__(self) -> str:
        rows = len(next(iter(self.values()))) if self else 0
        return f"Frame({rows} rows, columns {list(self)})"


class Categories(list):  # type: ignore[type-arg]
    """A categorical column where pandas is not loaded: its values, and the ``categories``
    (in their order) and ``ordered`` it goes back with."""

    def __init__(self, values: list[Any], categories: list[Any], ordered: bool) -> None:
        super().__init__(values)
        self.categories = categories
        self.ordered = ordered


def is_frame(value: Any) -> bool:
    return isinstance(value, Frame) or (type(value).__name__ == "DataFrame" and hasattr(value, "columns"))


# --- encoding -------------------------------------------------------------------------------

def encode_array(array: Any) -> Any:
    """A numpy array whose dtype BokehJS has no typed array for, as raw bytes."""
    array = numpy().ascontiguousarray(array)
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return {ARRAY_TAG: array.dtype.str, "shape": list(array.shape), "data": array.tobytes()}


def _encode_numbers(values: Any) -> Any:
    np = numpy()
    if np is not None and isinstance(values, np.ndarray):
        return values if str(values.dtype) in DTYPE_FORMATS else encode_array(values)
    return values  # a memoryview (Pyodide without numpy): the caller's encoder handles it


def _encode_strings(values: Any) -> dict[str, Any]:
    np = numpy()
    encoded = [v.encode("utf-8") if isinstance(v, str) else None for v in values]
    offsets, total = [0], 0
    for item in encoded:
        total += len(item) if item is not None else 0
        offsets.append(total)
    data = b"".join(item for item in encoded if item is not None)
    valid = [item is not None for item in encoded]
    if np is not None:
        return {STRINGS_TAG: 1, "offsets": encode_array(np.array(offsets, dtype=np.int64)), "data": data,
                "valid": np.array(valid, dtype=bool)}
    import array as arrays
    return {STRINGS_TAG: 1, "offsets": {ARRAY_TAG: "<i8", "shape": [len(offsets)],
                                        "data": arrays.array("q", offsets).tobytes()},
            "data": data, "valid": memoryview(bytes(valid)).cast("?")}


def _encode_column(values: Any, dtype: str) -> Any:
    """One column: numpy values (datetimes naive, in UTC), a pandas Categorical, a list, or
    (in Pyodide without numpy) a memoryview; ``dtype`` is the pandas dtype's name."""
    if dtype == "category":
        if hasattr(values, "codes"):  # a pandas Categorical
            codes, categories, ordered = numpy().asarray(values.codes), list(values.categories), bool(values.ordered)
        else:  # a Frame's category column holds its values
            known, ordered = getattr(values, "categories", None), bool(getattr(values, "ordered", False))
            values = list(values)
            categories = list(known) if known is not None else sorted({v for v in values if v is not None}, key=str)
            lookup = {v: i for i, v in enumerate(categories)}
            codes = [lookup[v] if v is not None else -1 for v in values]
            np = numpy()
            codes = np.array(codes, dtype=np.int32) if np is not None else memoryview(
                __import__("array").array("i", codes)).cast("B").cast("i")
        return {CATEGORY_TAG: 1, "codes": _encode_numbers(codes), "categories": _encode_column(categories, "object"),
                "ordered": ordered}
    np = numpy()
    if np is not None and isinstance(values, np.ndarray) and values.dtype.kind in ARRAY_KINDS:
        return _encode_numbers(values)
    if isinstance(values, memoryview):  # Pyodide without numpy: raw bytes, the dtype named
        return {ARRAY_TAG: numpy_dtype_str(values), "shape": [len(values)], "data": values.tobytes()}
    items = list(values)
    if all(isinstance(v, str) or v is None or v != v for v in items):  # strings, None and NaN
        return _encode_strings(items)
    return [v.item() if hasattr(v, "item") else v for v in items]


def _column_values(series: Any, dtype: str) -> Any:
    """What :func:`_encode_column` takes from a pandas Series or Index of ``dtype``."""
    if dtype == "category":
        return series.array
    if dtype.startswith("datetime64[") and "," in dtype:  # tz-aware: UTC instants, the zone in the dtype
        if hasattr(series, "dt"):  # a Series; else an Index
            return series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy()
        return series.tz_convert("UTC").tz_localize(None).to_numpy()
    return series.to_numpy()


def encode_frame(frame: Any) -> dict[str, Any]:
    """A pandas DataFrame or a :class:`Frame` in the wire form above."""
    if isinstance(frame, Frame):
        names = list(frame)
        dtypes = [frame.dtypes.get(name) or _dtype_of(frame[name]) for name in names]
        data = [_encode_column(frame[name], dtype) for name, dtype in zip(names, dtypes, strict=True)]
        index = None if frame.index is None else {"dtype": frame.index_dtype, "values": _encode_column(
            frame.index, frame.index_dtype)}
        return {FRAME_TAG: 1, "columns": names, "dtypes": dtypes, "data": data, "index": index,
                "index_name": frame.index_name}
    if getattr(frame.columns, "nlevels", 1) > 1 or getattr(frame.index, "nlevels", 1) > 1:
        raise TypeError("a DataFrame with a MultiIndex cannot be sent: reset_index() or flatten the columns first")
    names = [_plain(name) for name in frame.columns]
    if len(set(map(repr, names))) != len(names):
        raise TypeError("a DataFrame with duplicate column names cannot be sent")
    dtypes = [str(dtype) for dtype in frame.dtypes]
    data = [_encode_column(_column_values(frame.iloc[:, i], dtype), dtype) for i, dtype in enumerate(dtypes)]
    index = frame.index
    if type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1:
        encoded_index = None
    else:
        dtype = str(index.dtype)
        encoded_index = {"dtype": dtype, "values": _encode_column(_column_values(index, dtype), dtype)}
    return {FRAME_TAG: 1, "columns": names, "dtypes": dtypes, "data": data, "index": encoded_index,
            "index_name": _plain(index.name)}


def numpy_dtype_str(view: memoryview) -> str:
    """The numpy ``dtype.str`` of a memoryview's items ("<i8" for format "q")."""
    fmt = view.format.lstrip("@=<")
    kind = "b" if fmt == "?" else "f" if fmt in "efd" else "i" if fmt.islower() else "u"
    return f"{'|' if view.itemsize == 1 else '<'}{kind}{view.itemsize}"


def _dtype_of(column: Any) -> str:
    """The dtype name of a column added to a Frame in the browser."""
    if isinstance(column, Categories):
        return "category"
    if hasattr(column, "dtype"):
        return str(column.dtype)
    fmt = column.format.lstrip("@=<") if isinstance(column, memoryview) else ""
    if fmt == "?":
        return "bool"
    if fmt and fmt in "efd":
        return f"float{column.itemsize * 8}"
    if fmt and fmt in "bhilqBHILQ":
        return f"{'int' if fmt.islower() else 'uint'}{column.itemsize * 8}"
    return "object"


def _plain(name: Any) -> Any:
    """A column or index name as JSON can carry it."""
    if hasattr(name, "item"):
        name = name.item()
    return name if name is None or isinstance(name, (str, bool, int, float)) else str(name)


# --- decoding ----------------------------------------------------------------------------------

def decode(value: dict[str, Any]) -> Any:
    """A tagged array, column or frame (values already decoded below it), or ``ValueError``."""
    if ARRAY_TAG in value:
        return _decode_array(value)
    if FRAME_TAG in value:
        return _decode_frame(value)
    if STRINGS_TAG in value:
        return _decode_strings(value)
    if CATEGORY_TAG in value:
        return _decode_category(value, _pandas())
    raise ValueError("not a tagged value")


def _decode_array(value: dict[str, Any]) -> Any:
    dtype, shape, data = value.get(ARRAY_TAG), value.get("shape"), value.get("data")
    if not isinstance(dtype, str) or not isinstance(shape, list) or not isinstance(data, (bytes, bytearray)) \
            or len(shape) > 32 or not all(type(n) is int and 0 <= n <= len(data) for n in shape):
        raise ValueError("a tagged array needs a dtype string, a shape and bytes")
    np = numpy()
    if np is None:  # Pyodide without numpy: a flat memoryview (datetimes as int64 counts)
        fmt = _FORMATS.get(dtype[1:3]) if len(dtype) >= 3 and dtype[1:4] != "c16" else None
        return memoryview(bytes(data)).cast(fmt) if fmt else bytes(data)  # type: ignore[call-overload]
    try:
        parsed = np.dtype(dtype)
    except TypeError:
        raise ValueError(f"unknown dtype {dtype[:40]!r}") from None
    if parsed.kind not in ARRAY_KINDS:
        raise ValueError(f"dtype {dtype[:40]!r} is not accepted")
    count = 1
    for n in shape:
        count *= n
    if count * parsed.itemsize != len(data):
        raise ValueError("a tagged array's shape does not match its bytes")
    return np.frombuffer(data, dtype=parsed).reshape(shape)


#: numpy dtype.str without its byte order (and unit) -> memoryview format.
_FORMATS = {"i1": "b", "u1": "B", "b1": "?", "i2": "h", "u2": "H", "f2": "e", "i4": "i", "u4": "I", "f4": "f",
            "i8": "q", "u8": "Q", "f8": "d", "M8": "q", "m8": "q"}


def _decode_strings(value: dict[str, Any]) -> list[str | None]:
    offsets, data, valid = value.get("offsets"), value.get("data"), value.get("valid")
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError("a strings column needs its bytes")
    offsets = list(offsets) if offsets is not None else []
    valid = list(valid) if valid is not None else []
    if len(offsets) != len(valid) + 1 or (offsets and (offsets[0] != 0 or offsets[-1] != len(data))) \
            or any(a > b for a, b in itertools.pairwise(offsets)):
        raise ValueError("a strings column's offsets do not match its bytes")
    text = bytes(data)
    return [text[a:b].decode("utf-8") if ok else None
            for a, b, ok in zip(offsets, offsets[1:], valid, strict=False)]


def _decode_category(value: dict[str, Any], pd: Any) -> Any:
    codes, categories = value.get("codes"), value.get("categories")
    if not isinstance(categories, list) or codes is None:
        raise ValueError("a categorical column needs its categories")
    if pd is not None:
        return pd.Categorical.from_codes(numpy().asarray(codes), categories=categories,
                                         ordered=bool(value.get("ordered")))
    values = [categories[int(code)] if int(code) >= 0 else None for code in codes]
    return Categories(values, categories, bool(value.get("ordered")))


def _decode_frame(value: dict[str, Any]) -> Any:
    names, dtypes, data = value.get("columns"), value.get("dtypes"), value.get("data")
    if not (isinstance(names, list) and isinstance(dtypes, list) and isinstance(data, list)
            and len(names) == len(dtypes) == len(data) and all(isinstance(d, str) for d in dtypes)):
        raise ValueError("a frame needs as many columns, dtypes and data")
    lengths = {len(column) for column in data}
    if len(lengths) > 1:
        raise ValueError("a frame's columns differ in length")
    index_value = value.get("index")
    pd = _pandas()
    if pd is None:
        index = index_value.get("values") if isinstance(index_value, dict) else None
        index_dtype = str(index_value.get("dtype")) if isinstance(index_value, dict) else "object"
        return Frame(dict(zip(names, data, strict=True)), dict(zip(names, dtypes, strict=True)), index,
                     value.get("index_name"), index_dtype)
    columns = {}
    for name, dtype, column in zip(names, dtypes, data, strict=True):
        columns[name] = _series_values(pd, column, dtype)
    index = None
    if isinstance(index_value, dict):
        index = pd.Index(_series_values(pd, index_value.get("values"), str(index_value.get("dtype"))),
                         name=value.get("index_name"))
    frame = pd.DataFrame(columns, index=index)
    return frame[names] if list(frame.columns) != names else frame


def _series_values(pd: Any, column: Any, dtype: str) -> Any:
    """A decoded column as pandas values of ``dtype``."""
    if dtype.startswith("datetime64[ns,") or dtype.startswith("datetime64[us,"):
        tz = dtype.split(",", 1)[1].rstrip("]").strip()
        return pd.DatetimeIndex(numpy().asarray(column)).tz_localize("UTC").tz_convert(tz)
    if dtype == "category":
        return column if not isinstance(column, list) else pd.Categorical(column)
    try:
        return pd.array(column, dtype=dtype) if dtype not in ("object",) else numpy().asarray(column, dtype=object)
    except (TypeError, ValueError):
        return column
