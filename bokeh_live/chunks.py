"""Large binary values cut into pieces below Bokeh's websocket message limit.

Bokeh closes a websocket on any message over 20 MiB (tornado's default, which an app
cannot always change). So a ``bytes`` or numpy array larger than :data:`CHUNK_BYTES` in a
message leaves the message as a small placeholder::

    {"__bokeh_live_blob__": "<id>", "kind": "bytes" | "ndarray", "size": n, "dtype": ..., "shape": [...]}

and its bytes travel in the same events' ``chunks`` list, ``{"blob": id, "offset": k,
"size": n, "data": <binary buffer>}``, before the message that refers to it. Events
arrive in order and a receiver takes an event's chunks before its messages, so a
placeholder's bytes are always complete when it is read. ``bokehjs_ext/chunks.ts`` is
the TypeScript twin.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BLOB = "__bokeh_live_blob__"

#: Bytes of one chunk: well under Bokeh's 20 MiB.
CHUNK_BYTES = 4 * 1024 * 1024

#: An event takes chunks and messages up to this size; an item larger than that (a message of
#: at most 16 MiB of text) goes alone.
EVENT_BYTES = 2 * CHUNK_BYTES

#: numpy dtypes BokehJS has typed arrays for; other arrays are left to Bokeh whole.
DTYPES = frozenset({"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "float64", "bool"})


def split(value: Any, chunks: list[dict[str, Any]]) -> Any:
    """``value`` with its large binary leaves replaced by placeholders; their chunks are
    appended to ``chunks``."""
    if isinstance(value, dict):
        return {k: split(v, chunks) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [split(v, chunks) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)) and len(value) > CHUNK_BYTES:
        data = np.frombuffer(value, dtype=np.uint8)
        return _blob({"kind": "bytes"}, data, chunks)
    if isinstance(value, np.ndarray) and value.nbytes > CHUNK_BYTES and str(value.dtype) in DTYPES:
        data = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
        return _blob({"kind": "ndarray", "dtype": str(value.dtype), "shape": list(value.shape)}, data, chunks)
    return value


def _blob(info: dict[str, Any], data: np.ndarray, chunks: list[dict[str, Any]]) -> dict[str, Any]:
    blob_id = secrets.token_urlsafe(12)
    size = int(data.nbytes)
    for offset in range(0, size, CHUNK_BYTES):
        chunks.append({"blob": blob_id, "offset": offset, "size": size,
                       "data": data[offset:offset + CHUNK_BYTES]})
    return {BLOB: blob_id, "size": size, **info}


def chunk_size(chunk: dict[str, Any]) -> int:
    return int(chunk["data"].nbytes) if hasattr(chunk["data"], "nbytes") else len(chunk["data"])


@dataclass
class Assembler:
    """Puts blobs from an untrusted sender back together, within ``limit`` bytes in all."""

    limit: int
    _blobs: dict[str, bytearray] = field(default_factory=dict)
    _filled: dict[str, int] = field(default_factory=dict)

    def add(self, chunk: Any) -> str | None:
        """Take one chunk; return why it was refused, or None."""
        if not isinstance(chunk, dict) or set(chunk) != {"blob", "offset", "size", "data"}:
            return "a chunk takes the keys blob, offset, size, data"
        blob_id, offset, size, data = chunk["blob"], chunk["offset"], chunk["size"], chunk["data"]
        if not (isinstance(blob_id, str) and 0 < len(blob_id) <= 64 and isinstance(data, bytes)
                and type(offset) is int and type(size) is int and offset >= 0 and offset + len(data) <= size):
            return "a chunk needs a string blob id, int offset and size, and bytes within them"
        buffer = self._blobs.get(blob_id)
        if buffer is None:
            if size + sum(map(len, self._blobs.values())) > self.limit:
                return f"a blob of {size} bytes is over the limit of {self.limit} bytes"
            buffer = self._blobs[blob_id] = bytearray(size)
            self._filled[blob_id] = 0
        elif len(buffer) != size:
            return "a chunk's size disagrees with its blob's"
        buffer[offset:offset + len(data)] = data
        self._filled[blob_id] += len(data)
        return None

    def restore(self, value: Any) -> Any:
        """``value`` with placeholders replaced by their blobs (each blob is used once).
        Raises ``ValueError`` for a placeholder without its complete blob."""
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        if not isinstance(value, dict):
            return value
        if BLOB not in value:
            return {k: self.restore(v) for k, v in value.items()}
        blob_id = value[BLOB]
        buffer = self._blobs.pop(blob_id, None) if isinstance(blob_id, str) else None
        filled = self._filled.pop(blob_id, -1) if isinstance(blob_id, str) else -1
        if buffer is None or filled != len(buffer):
            raise ValueError("a placeholder refers to a missing or incomplete blob")
        if value.get("kind") == "bytes":
            return bytes(buffer)
        dtype, shape = value.get("dtype"), value.get("shape")
        if value.get("kind") != "ndarray" or dtype not in DTYPES or not isinstance(shape, list) \
                or not all(type(n) is int and n >= 0 for n in shape):
            raise ValueError("a blob placeholder has a bad kind, dtype or shape")
        array = np.frombuffer(buffer, dtype=dtype)
        if int(np.prod(shape, dtype=np.int64)) != array.size:
            raise ValueError("a blob's shape does not match its size")
        return array.reshape(shape)

    def clear(self) -> None:
        self._blobs.clear()
        self._filled.clear()
