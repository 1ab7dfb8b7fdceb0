"""Large binary values cut into pieces below Bokeh's websocket message limit.

Bokeh closes a websocket on any message over 20 MiB (tornado's default, which an app
cannot always change). So a ``bytes`` or numpy array larger than ``CHUNK_BYTES`` in a
message leaves the message as a small placeholder::

    {BLOB_TAG: "<id>", "kind": "bytes" | "ndarray", "size": n, "dtype": ..., "shape": [...]}

and its bytes travel in the ``chunks`` of the same or earlier events, in order:
``{"blob": id, "offset": k, "size": n, "data": <binary buffer>}``, every chunk but the
last exactly ``CHUNK_BYTES`` long. ``bokehjs_ext/chunks.ts`` is the TypeScript twin.

What arrives from a browser is untrusted. :class:`Assembler` holds memory only for bytes
that really arrived (never for a declared size), refuses chunks out of order, duplicated
or of the wrong length, keeps the number of open blobs and their bytes within a budget per
model, per session and per process, and forgets blobs that stop making progress. Each
check is O(1) per chunk.
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .shared import CHUNK_BYTES, MAX_ID_LENGTH
from .wire import BLOB_TAG, DTYPE_FORMATS

#: Blobs one model may have open (arrived in part) at once.
MAX_OPEN_BLOBS = 32

#: A blob that gets no new chunk for this long is dropped with its bytes.
BLOB_IDLE_SECONDS = 60.0

#: Bytes all sessions of this server process may hold in blobs not yet complete:
#: ``BOKEH_LIVE_BLOB_BUDGET`` (bytes) in the server's environment changes it.
PROCESS_BLOB_BYTES = int(os.environ.get("BOKEH_LIVE_BLOB_BUDGET", 2**30))

#: Bytes one session may hold in incomplete blobs, over all its models.
SESSION_BLOB_BYTES = 256 * 1024 * 1024


def cut(info: dict[str, Any], data: Any, chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The placeholder of a large binary value (``data``: its bytes as a flat uint8 array),
    whose chunks are appended to ``chunks``; ``info`` says what it is (kind, dtype, shape)."""
    blob_id = secrets.token_urlsafe(12)
    size = int(data.nbytes)
    for offset in range(0, size, CHUNK_BYTES):
        chunks.append({"blob": blob_id, "offset": offset, "size": size,
                       "data": data[offset:offset + CHUNK_BYTES]})
    return {BLOB_TAG: blob_id, "size": size, **info}


def chunk_size(chunk: dict[str, Any]) -> int:
    return int(chunk["data"].nbytes) if hasattr(chunk["data"], "nbytes") else len(chunk["data"])


class Budget:
    """Bytes that incomplete blobs may hold, shared by everything that takes from it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, n: int) -> bool:
        if self.used + n > self.limit:
            return False
        self.used += n
        return True

    def give(self, n: int) -> None:
        self.used -= n


#: The budget of the whole server process.
PROCESS_BUDGET = Budget(PROCESS_BLOB_BYTES)


@dataclass
class _Blob:
    size: int
    parts: list[bytes] = field(default_factory=list)
    filled: int = 0
    touched: float = 0.0


class Refused(ValueError):
    """A chunk or placeholder that was not accepted; the message says why."""


class Assembler:
    """Puts blobs from an untrusted sender back together.

    ``limit`` bounds one blob (the model's ``max_message_size``); ``budgets`` (the
    session's and the process's) bound the bytes of all incomplete blobs together.
    """

    def __init__(self, limit: int, budgets: tuple[Budget, ...] = (PROCESS_BUDGET,)) -> None:
        self.limit = limit
        self.budgets = budgets
        self._blobs: dict[str, _Blob] = {}
        #: Bytes ``take`` may still join before ``allow`` is called again (once per batch).
        self.allowance = limit

    def allow(self, n: int) -> None:
        """Let the takes that follow (one batch's) join at most ``n`` bytes in all: joining is
        the one step here whose cost grows with a blob's size."""
        self.allowance = n

    def add(self, chunk: Any, now: float | None = None) -> None:
        """Take one chunk, or raise :class:`Refused` (dropping the blob it belongs to)."""
        now = time.monotonic() if now is None else now
        if not isinstance(chunk, dict) or chunk.keys() != {"blob", "offset", "size", "data"}:
            raise Refused("a chunk takes the keys blob, offset, size, data")
        blob_id, offset, size, data = chunk["blob"], chunk["offset"], chunk["size"], chunk["data"]
        if not (isinstance(blob_id, str) and 0 < len(blob_id) <= MAX_ID_LENGTH and isinstance(data, bytes)
                and type(offset) is int and type(size) is int):
            raise Refused("a chunk needs a string blob id, int offset and size, and bytes")
        blob = self._blobs.get(blob_id)
        try:
            if blob is None:
                blob = self._open(blob_id, size, offset, now)
            if size != blob.size or offset != blob.filled:
                raise Refused("chunks of a blob must come in order, each once, with the same size")
            if len(data) != min(CHUNK_BYTES, size - offset):
                raise Refused(f"a chunk must hold {CHUNK_BYTES} bytes, or the rest of its blob")
            self._take(len(data))
        except Refused:
            self.drop(blob_id)
            raise
        blob.parts.append(data)
        blob.filled += len(data)
        blob.touched = now

    def _open(self, blob_id: str, size: int, offset: int, now: float) -> _Blob:
        if offset != 0:
            raise Refused("a blob's first chunk must have offset 0")
        if not CHUNK_BYTES < size <= self.limit:
            raise Refused(f"a blob must be over {CHUNK_BYTES} bytes and at most the limit of {self.limit} bytes")
        self.expire(now)
        if len(self._blobs) >= MAX_OPEN_BLOBS:
            raise Refused(f"more than {MAX_OPEN_BLOBS} blobs open at once")
        blob = self._blobs[blob_id] = _Blob(size, touched=now)
        return blob

    def _take(self, n: int) -> None:
        for i, budget in enumerate(self.budgets):
            if not budget.take(n):
                for taken in self.budgets[:i]:
                    taken.give(n)
                raise Refused("the server's memory budget for incoming binary data is spent; try again later")

    def complete(self, blob_id: Any) -> bool:
        blob = self._blobs.get(blob_id) if isinstance(blob_id, str) else None
        return blob is not None and blob.filled == blob.size

    def take(self, placeholder: dict[str, Any]) -> Any:
        """The value a placeholder stands for (each blob is used once), or :class:`Refused`."""
        blob_id = placeholder.get(BLOB_TAG)
        blob = self._blobs.get(blob_id) if isinstance(blob_id, str) else None
        size = placeholder.get("size")
        if blob is None or blob.filled != blob.size or type(size) is not int or size != blob.size:
            self.drop(blob_id)
            raise Refused("a placeholder refers to a missing or incomplete blob")
        if blob.size > self.allowance:
            self.drop(blob_id)
            raise Refused("more chunked data than one batch may restore; a page sends one large value at a time")
        self.allowance -= blob.size
        data = b"".join(blob.parts)
        self.drop(blob_id)
        kind, dtype, shape = placeholder.get("kind"), placeholder.get("dtype"), placeholder.get("shape")
        if placeholder.keys() == {BLOB_TAG, "size", "kind"} and isinstance(kind, str) and kind == "bytes":
            return data
        # isinstance first: `in` hashes (a list raises TypeError) and `!=` on an array is no bool
        if placeholder.keys() != {BLOB_TAG, "size", "kind", "dtype", "shape"} or not isinstance(kind, str) \
                or kind != "ndarray" or not isinstance(dtype, str) or dtype not in DTYPE_FORMATS \
                or not isinstance(shape, list) or len(shape) > 32 \
                or not all(type(n) is int and 0 <= n <= len(data) for n in shape):
            raise Refused("a blob placeholder has a bad kind, dtype or shape")
        array = np.frombuffer(data, dtype=dtype)
        count = 1
        for n in shape:
            count *= n
        if count != array.size:
            raise Refused("a blob's shape does not match its size")
        return array.reshape(shape)

    def drop(self, blob_id: Any) -> None:
        blob = self._blobs.pop(blob_id, None) if isinstance(blob_id, str) else None
        if blob is not None:
            for budget in self.budgets:
                budget.give(blob.filled)

    def expire(self, now: float) -> None:
        for blob_id in [b for b, blob in self._blobs.items() if now - blob.touched > BLOB_IDLE_SECONDS]:
            self.drop(blob_id)

    def clear(self) -> None:
        for blob_id in list(self._blobs):
            self.drop(blob_id)

    def __del__(self) -> None:
        # The budgets outlive this assembler (the process's lives forever): give back what
        # it holds, whichever way its session ended.
        self.clear()

    @property
    def held(self) -> int:
        """Bytes held by open blobs."""
        return sum(blob.filled for blob in self._blobs.values())
