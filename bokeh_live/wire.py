"""How values travel between the server, the page and the worker: one codec, in CPython and Pyodide.

Values are anything JSON can carry, plus binary data and tables. What JSON lacks travels
tagged, and the tags are named here and nowhere else in Python (the build writes them into
``bokehjs_ext/shared.ts`` for ``values.ts``, the page's codec):

- ``INT_TAG``: an integer beyond JavaScript's safe range, as its decimal digits, anywhere.
- ``BINARY_TAG``: bytes or a typed array between page and worker, where structured clone
  would drop an ndarray's dtype and shape: ``{BINARY_TAG: "bytes", "data": ...}`` or
  ``{BINARY_TAG: "ndarray", "dtype": "float64", "shape": [2, 3], "data": ...}``.
- ``BLOB_TAG``: a placeholder, server <-> page, for a large binary value whose bytes travel
  in chunks (``chunks.py``).
- ``ARRAY_TAG``, ``STRINGS_TAG``, ``CATEGORY_TAG``, ``FRAME_TAG``: arrays of dtypes BokehJS
  has no typed array for, string and categorical columns, and DataFrames (``tabular.py``).

:class:`Encoder` and :class:`Decoder` walk a value once each way, tagging or untagging as
they go, and measure it on the way with :class:`Size`, the one size measure. As they are,
they speak the page <-> worker form that the browser half uses; the server (``channel.py``)
subclasses both with its numpy fast paths, Bokeh's own binary buffers and chunks.

It imports nothing outside the standard library: it runs in Pyodide too.
"""

from __future__ import annotations

import re
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from .shared import MAX_DEPTH

# --- the tag vocabulary ------------------------------------------------------------------------

#: A placeholder for a chunked binary value, server <-> page (chunks.py).
BLOB_TAG = "__bokeh_live_blob__"

#: A binary value between page and worker.
BINARY_TAG = "__bokeh_live_binary__"

#: An integer beyond MAX_SAFE_INT, as its decimal digits, anywhere a value travels.
INT_TAG = "__bokeh_live_int__"

#: An array of a dtype BokehJS has no typed array for, as raw bytes; a column of strings;
#: a categorical column; a DataFrame (tabular.py).
ARRAY_TAG = "__bokeh_live_array__"
STRINGS_TAG = "__bokeh_live_strings__"
CATEGORY_TAG = "__bokeh_live_category__"
FRAME_TAG = "__bokeh_live_frame__"

#: The tags tabular.py decodes.
TABULAR_TAGS = frozenset({ARRAY_TAG, STRINGS_TAG, CATEGORY_TAG, FRAME_TAG})

#: Integers beyond this travel tagged (``INT_TAG``): JavaScript numbers are doubles, and
#: Pyodide turns larger Python ints into BigInts, which BokehJS cannot serialize.
MAX_SAFE_INT = 2**53 - 1

#: numpy dtypes that BokehJS has typed arrays for (it has no 64-bit integers), and the
#: ``memoryview`` format of each.
DTYPE_FORMATS = {
    "uint8": "B", "int8": "b", "uint16": "H", "int16": "h", "uint32": "I", "int32": "i",
    "float32": "f", "float64": "d", "bool": "?",
}

#: memoryview format characters -> BokehJS ndarray dtypes.
_DTYPES = {fmt: dtype for dtype, fmt in DTYPE_FORMATS.items()}

_DIGITS = re.compile(r"-?[0-9]{1,400}")


# --- size -------------------------------------------------------------------------------------

class Size:
    """What a value takes on the wire: the UTF-8 bytes of its JSON text (exact for strings,
    an upper bound for numbers and structure) and the bytes of its binary buffers.

    ``ascii``: the JSON is written by Python's encoder, as Bokeh's server writes it, which
    escapes every non-ASCII character (6 bytes each); else by ``JSON.stringify``, as BokehJS
    and the worker write it. Past ``limit`` bytes in all, counting raises ``ValueError``:
    a walk over a huge value stops there.
    """

    __slots__ = ("ascii", "binary", "json", "limit")

    def __init__(self, limit: int | None = None, *, ascii: bool = False) -> None:
        self.json = 0
        self.binary = 0
        self.limit = limit
        self.ascii = ascii

    @property
    def total(self) -> int:
        return self.json + self.binary

    def text(self, value: str) -> None:
        if self.ascii or value.isascii():
            self.json += len(encode_basestring_ascii(value))
        else:
            self.json += len(encode_basestring(value).encode("utf-8", "surrogatepass"))
        self._check()

    def add(self, json: int = 0, binary: int = 0) -> None:
        self.json += json
        self.binary += binary
        self._check()

    def _check(self) -> None:
        if self.limit is not None and self.json + self.binary > self.limit:
            raise ValueError(f"larger than the limit of {self.limit} bytes")


def _int_text(value: int) -> int:
    return value.bit_length() * 30103 // 100000 + 2  # digits and sign, an upper bound


# --- encoding ---------------------------------------------------------------------------------

class Encoder:
    """Turns a value into its travelling form in one walk, measuring it in ``size``.

    Big integers are tagged, DataFrames become tagged tables, tuples lists; :meth:`leaf`
    takes what JSON cannot carry. Raises ``TypeError`` for a value that cannot travel and
    ``ValueError`` past the size limit or ``MAX_DEPTH`` levels of nesting.
    """

    #: What a dict costs in JSON besides its keys and values (Bokeh's server writes one as
    #: ``{"type":"map","entries":[[k,v],...]}``; JSON.stringify as an object).
    dict_overhead = 2

    def __init__(self, size: Size | None = None) -> None:
        self.size = size if size is not None else Size()

    def encode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        kind = type(value)
        size = self.size
        if value is None or kind is bool:
            size.add(5)
            return value
        if kind is int:
            size.add(_int_text(value))
            return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else {INT_TAG: str(value)}
        if kind is float:
            size.add(24)
            return value
        if kind is str:
            size.text(value)
            return value
        if kind is list or kind is tuple:
            size.add(2 + len(value))
            return [self.encode(v, depth + 1) for v in value]
        if kind is dict:
            return self.encode_dict(value, depth)
        if _is_frame(value):
            from . import tabular
            return self.encode(tabular.encode_frame(value), depth)
        # Subclasses of plain types (an IntEnum, a str subclass) travel as their base type.
        for base in (bool, int, float, str, list, tuple, dict):
            if isinstance(value, base):
                return self.encode(base(value), depth)  # type: ignore[arg-type]
        return self.leaf(value, depth)

    def encode_dict(self, value: dict[Any, Any], depth: int) -> dict[str, Any]:
        size = self.size
        size.add(self.dict_overhead + 4 * len(value))
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise TypeError(f"dict keys must be str to travel, not {type(k).__name__}")
            size.text(k)
            out[k] = self.encode(v, depth + 1)
        return out

    def leaf(self, value: Any, depth: int) -> Any:
        """A value JSON cannot carry, in the page <-> worker form."""
        if isinstance(value, (bytes, bytearray)):
            self.size.add(80, len(value))
            return {BINARY_TAG: "bytes", "data": bytes(value)}
        if isinstance(value, memoryview):
            self.size.add(160, value.nbytes)
            return _buffer(value)
        if _is_numpy(value, "ndarray"):
            return self.numpy_array(value, depth)
        if _is_numpy_scalar(value):
            return self.encode(value.item(), depth)
        raise TypeError(f"a {type(value).__name__} cannot be sent: use JSON-like values, bytes, memoryviews, "
                        "numpy arrays or DataFrames")

    def numpy_array(self, array: Any, depth: int) -> Any:
        from . import tabular
        name = str(array.dtype)
        if name not in DTYPE_FORMATS:
            if array.dtype.kind in tabular.ARRAY_KINDS:  # int64, datetime64...: exact, as raw bytes
                return self.encode(tabular.encode_array(array), depth)
            return self.encode(array.tolist(), depth)  # objects: as the values they hold
        self.size.add(160, int(array.nbytes))
        if array.dtype.byteorder == ">":
            array = array.astype(name)
        if not array.flags.c_contiguous:
            array = tabular.numpy().ascontiguousarray(array)
        # A view, not a copy: the worker copies it out of WebAssembly memory once, as it posts it.
        return {BINARY_TAG: "ndarray", "dtype": name, "shape": list(array.shape), "data": memoryview(array).cast("B")}


def _buffer(view: memoryview) -> dict[str, Any]:
    fmt = view.format.lstrip("@=<")
    dtype = _DTYPES.get(fmt)
    if fmt in ("B", "c") and view.ndim <= 1:  # plain bytes
        return {BINARY_TAG: "bytes", "data": view.tobytes()}
    if dtype is None:  # a format BokehJS has no typed array for (int64, float16...): raw, tagged
        if fmt not in "bhilqBHILQefd?":
            return {BINARY_TAG: "bytes", "data": view.tobytes()}
        from . import tabular
        return {ARRAY_TAG: tabular.numpy_dtype_str(view), "shape": list(view.shape or ()),
                "data": {BINARY_TAG: "bytes", "data": view.tobytes()}}
    return {BINARY_TAG: "ndarray", "dtype": dtype, "shape": list(view.shape or ()), "data": view.tobytes()}


def _is_numpy(value: Any, name: str) -> bool:
    kind = type(value)
    return kind.__module__ == "numpy" and kind.__name__ == name


def _is_numpy_scalar(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", None) == 0


def _is_frame(value: Any) -> bool:
    from .tabular import is_frame
    return is_frame(value)


# --- decoding ---------------------------------------------------------------------------------

class Decoder:
    """Turns a travelling value back into Python in one walk, measuring it in ``size``.

    Tagged integers, binary values and tables come back as what they were. A value of a
    shape or type that is not accepted raises ``ValueError`` with the reason (the server
    hears from untrusted browsers, so every tag is checked, not trusted).
    """

    #: The tag of the binary values this side receives (the server: BLOB_TAG).
    binary_tag = BINARY_TAG

    def __init__(self, size: Size | None = None) -> None:
        self.size = size if size is not None else Size()

    def decode(self, value: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        kind = type(value)
        if kind is str:
            self.size.text(value)
            return value
        if value is None or kind is bool or kind is int or kind is float:
            self.size.add(8)
            return value
        if kind is list:
            self.size.add(2 + len(value))
            return [self.decode(v, depth + 1) for v in value]
        if kind is dict:
            return self.decode_dict(value, depth)
        return self.other(value)

    def decode_dict(self, value: dict[Any, Any], depth: int) -> Any:
        if INT_TAG in value:
            digits = value[INT_TAG]
            if value.keys() != {INT_TAG} or not isinstance(digits, str) or not _DIGITS.fullmatch(digits):
                raise ValueError("a tagged integer takes only its decimal digits")
            self.size.add(len(digits))
            return int(digits)
        if self.binary_tag in value:
            return self.binary(value)
        self.size.add(2 + 4 * len(value))
        out = {}
        for k, v in value.items():
            if type(k) is not str:
                raise ValueError(f"dict keys must be strings, not {type(k).__name__}")
            self.size.text(k)
            out[k] = self.decode(v, depth + 1)
        if out.keys() & TABULAR_TAGS:
            from . import tabular
            try:
                return tabular.decode(out)
            except (ValueError, TypeError) as e:
                raise ValueError(f"a tagged table or array: {e}") from None
        return out

    def binary(self, value: dict[str, Any]) -> Any:
        """A ``BINARY_TAG`` value from the page: bytes, or an array (numpy's where it is
        loaded, else a memoryview)."""
        kind, data = value.get(self.binary_tag), value.get("data")
        if kind == "bytes":
            data = bytes(data) if data is not None else b""
            self.size.add(80, len(data))
            return data
        if kind == "ndarray":
            dtype, shape = value.get("dtype"), value.get("shape")
            if not isinstance(dtype, str) or dtype not in DTYPE_FORMATS or not isinstance(shape, list):
                raise ValueError("a binary array needs a known dtype and a shape")
            array = _array(data, dtype, [int(n) for n in shape])
            self.size.add(160, int(getattr(array, "nbytes", 0)))
            return array
        raise ValueError(f"unknown binary kind {str(kind)[:40]!r}")

    def other(self, value: Any) -> Any:
        """A value of no JSON type: JavaScript's null as Pyodide hands it over is None;
        other objects pass as they are (the page is trusted by the worker)."""
        if type(value).__name__ == "JsNull":
            return None
        return value


def _array(data: Any, dtype: str, shape: list[int]) -> Any:
    from . import tabular
    numpy = tabular.numpy()
    if numpy is not None:  # the data is a fresh buffer: no copy for numpy
        return numpy.frombuffer(data, dtype=dtype).reshape(shape)
    view = memoryview(data).cast(DTYPE_FORMATS[dtype])  # type: ignore[call-overload]
    return view.cast("B").cast(view.format, shape) if len(shape) > 1 else view


def encode(value: Any, size: Size | None = None) -> Any:
    """``value`` in the page <-> worker form (see :class:`Encoder`)."""
    return Encoder(size).encode(value)


def decode(value: Any, size: Size | None = None) -> Any:
    """The inverse of :func:`encode` (see :class:`Decoder`)."""
    return Decoder(size).decode(value)
