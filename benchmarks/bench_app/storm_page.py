"""The fault storm's page and its calls (figure 15), in the ``bokeh serve`` process.

A page ``kind=storm`` holds one BokehLive (``live0``) whose code defines ``digest`` and
which exposes ``double`` to the browser. The driver (``benchmarks/storm.py``) loads it
through a fault-injecting proxy and sends the ``storm`` command; :func:`storm` then makes
calls for ``seconds`` from a few concurrent loops, each seeded from ``seed``:

- ``small``: batches of 1 to 8 small calls in flight (``[v * 2, s[::-1]]``, a number and a
  text of up to 4 KB), checked against the values sent;
- ``call``: calls the other way, ``await bokeh_live.call('double', v)`` in the browser,
  checked;
- ``up``: a random uint8 array (``sizes_mib``, weighted) to the browser, which answers its
  SHA-256, checked against the one computed here;
- ``echo``: a random array to the browser and back (``bytes(a)``), the reply's SHA-256
  checked against the one sent.

Every call is recorded with ``time.monotonic()`` at its start and its end (the system's
monotonic clock: the driver's proxy logs its cuts on the same clock), and how it ended. When
``seconds`` are over no new call starts; calls still running get ``grace`` seconds more,
and one that has not ended then is *lost*. The records go to the JSON file ``out``, which
the driver reads, so that nothing depends on the page's link at the end.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import json
import os
import random
import re
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

MIB = 2**20
MAX_MESSAGE_SIZE = 256 * MIB
#: Random arrays are filled in pieces of this many bytes (see random_array).
FILL_BYTES = 64 * 1024

#: The model's code in the browser.
STORM_CODE = """
import hashlib
import bokeh_live

def digest(a):
    return hashlib.sha256(bytes(a)).hexdigest()
"""

#: Each kind's timeout (seconds): a call's clock counts the browser's time, not the link's.
TIMEOUTS = {"small": 10.0, "call": 10.0, "up": 60.0, "echo": 60.0}

#: After an error a loop waits this long before its next call (the small loops hardly:
#: their next call, held while the page is away, is the first answer after a reconnection).
BACKOFF = {"small": 0.005, "call": 0.005, "up": 0.1, "echo": 0.1}


#: The server's view of the page's websocket connections: (monotonic, "open" or "close",
#: connections of the session after it). Observation only, for the driver's report.
connection_log: list[tuple[float, str, int]] = []


def setup(live: Any, doc: Any) -> None:
    """The storm page's model: the function the browser calls on the server; and a log of
    the session's connections opening and closing, as Bokeh's session sees them."""
    live.expose(lambda v: 2 * v, name="double")

    def watch() -> None:
        session = doc.session_context.session if doc.session_context is not None else None
        if session is None:
            return
        subscribe, unsubscribe = session.subscribe, session.unsubscribe

        def logged_subscribe(connection: Any) -> None:
            subscribe(connection)
            connection_log.append((time.monotonic(), "open", session.connection_count))

        def logged_unsubscribe(connection: Any) -> None:
            unsubscribe(connection)
            connection_log.append((time.monotonic(), "close", session.connection_count))

        session.subscribe, session.unsubscribe = logged_subscribe, logged_unsubscribe

    doc.add_next_tick_callback(watch)


async def random_array(seed: int, nbytes: int) -> tuple[np.ndarray, str]:
    """``nbytes`` random bytes from ``seed`` as a uint8 array, and their SHA-256.

    The array is allocated here, on the server's thread, and filled on a helper thread in
    pieces of FILL_BYTES. glibc gives each thread that allocates an arena of its own, and
    ``malloc_trim`` does not hand back the free memory at the top of a thread's arena (it
    trims only the main arena's top; a thread's shrinks when a free() leaves more than the
    trim threshold on top, which freeing 4 MiB buffers raises to 8 MiB). Whole arrays made on
    the helper threads left 15 to 35 MB of the storm's own test data resident in the server
    after it, which the memory figure would have counted as the server's."""
    a = np.empty(nbytes, dtype=np.uint8)
    return a, await asyncio.to_thread(_fill, a, seed)


def _fill(a: np.ndarray, seed: int) -> str:
    """The same bytes as ``default_rng(seed).bytes(a.nbytes)``, written into ``a``; their SHA-256."""
    rng, digest = np.random.default_rng(seed), hashlib.sha256()
    for start in range(0, a.nbytes, FILL_BYTES):
        piece = rng.bytes(min(FILL_BYTES, a.nbytes - start))
        a[start:start + len(piece)] = np.frombuffer(piece, dtype=np.uint8)
        digest.update(piece)
    return digest.hexdigest()


def sha256_of(value: Any) -> str | None:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return hashlib.sha256(value).hexdigest()
    return None


def reason(message: str) -> str:
    """A LiveError's message without its numbers and ids: what kind of ending it was."""
    return re.sub(r"\d+(\.\d+)?", "N", message.splitlines()[0] if message else "")[:160]


class Storm:
    def __init__(self, live: Any, p: dict[str, Any]) -> None:
        from bokeh_live import LiveError

        self.live, self.p, self.LiveError = live, p, LiveError
        self.rng = random.Random(p["seed"])
        self.sizes = [int(mib * MIB) for mib in p["sizes_mib"]]
        self.weights = p["size_weights"]
        #: [kind, bytes, start, end, outcome, detail]; end None: not ended (yet).
        self.records: list[list[Any]] = []
        self.wrong: list[dict[str, Any]] = []
        self.stop_at = 0.0

    async def call(self, kind: str, nbytes: int, code: str, check: Any, **kwargs: Any) -> str:
        record: list[Any] = [kind, nbytes, time.monotonic(), None, None, ""]
        self.records.append(record)
        try:
            result = await self.live.run_python(code, timeout=TIMEOUTS[kind], **kwargs)
            ok = await check(result) if asyncio.iscoroutinefunction(check) else check(result)
            record[4] = "ok" if ok else "wrong"
            if not ok and len(self.wrong) < 10:
                self.wrong.append({"kind": kind, "bytes": nbytes, "got": repr(result)[:200]})
        except self.LiveError as e:
            record[4], record[5] = "LiveError", reason(str(e))
        except TimeoutError:
            record[4] = "TimeoutError"
        except Exception as e:  # anything else is a finding: recorded as it came
            record[4], record[5] = type(e).__name__, str(e)[:200]
        record[3] = time.monotonic()
        return record[4]

    async def small(self, rng: random.Random) -> None:
        while time.monotonic() < self.stop_at:
            batch = []
            for _ in range(rng.randint(1, 8)):
                v, s = rng.randint(0, 10**12), "".join(rng.choices("abcdefgh", k=rng.randint(0, 4096)))
                expected = [2 * v, s[::-1]]
                batch.append(self.call("small", len(s), "[v * 2, s[::-1]]", lambda r, e=expected: r == e, v=v, s=s))
            outcomes = await asyncio.gather(*batch)
            await asyncio.sleep(BACKOFF["small"] if any(o != "ok" for o in outcomes) else rng.uniform(0, 0.05))

    async def other_way(self, rng: random.Random) -> None:
        while time.monotonic() < self.stop_at:
            v = rng.randint(0, 10**12)
            outcome = await self.call("call", 0, "await bokeh_live.call('double', v)", lambda r, e=2 * v: r == e, v=v)
            await asyncio.sleep(BACKOFF["call"] if outcome != "ok" else rng.uniform(0, 0.05))

    async def arrays(self, rng: random.Random, kind: str) -> None:
        while time.monotonic() < self.stop_at:
            nbytes = rng.choices(self.sizes, self.weights)[0]
            a, sent = await random_array(rng.randint(0, 2**32), nbytes)
            if kind == "up":
                outcome = await self.call(kind, nbytes, "digest(a)", lambda r, e=sent: r == e, a=a)
            else:
                async def same(r: Any, e: str = sent) -> bool:
                    return await asyncio.to_thread(sha256_of, r) == e
                outcome = await self.call(kind, nbytes, "bytes(a)", same, a=a)
            del a
            if outcome != "ok":
                await asyncio.sleep(BACKOFF[kind])

    async def run(self) -> dict[str, Any]:
        from bokeh_live.chunks import PROCESS_BUDGET

        p = self.p
        started = time.monotonic()
        self.stop_at = started + p["seconds"]
        seeds = [random.Random(self.rng.random()) for _ in range(5)]
        loops = [asyncio.ensure_future(c) for c in (self.small(seeds[0]), self.small(seeds[1]),
                                                     self.other_way(seeds[2]), self.arrays(seeds[3], "up"),
                                                     self.arrays(seeds[4], "echo"))]
        stopped = await wait_until(loops, self.stop_at + p["grace"])
        for loop in loops:  # a loop still waiting holds a call that never ended: lost
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        channel = self.live._channel  # private: what the tests look at too
        assembler = getattr(channel, "_assembler", None)
        after = {"pending": len(channel.pending) if channel is not None else None,
                 "blobs_held": assembler.held if assembler is not None else 0,
                 "budget_used": PROCESS_BUDGET.used}
        # The page works at the end, without a reload: a checksummed array and a small call.
        final = {}
        for kind in ("up", "small"):
            before = len(self.records)
            if kind == "up":
                a, sent = await random_array(7, MIB)
                await self.call("up", MIB, "digest(a)", lambda r, e=sent: r == e, a=a)
            else:
                await self.call("small", 1, "[v * 2, s[::-1]]", lambda r: r == [84, "ba"], v=42, s="ab")
            final[kind] = self.records.pop(before)[4]  # not counted among the storm's calls
        gc.collect()
        return {"started": started, "stop_at": self.stop_at, "ended": time.monotonic(), "stopped_in_time": stopped,
                "records": self.records, "wrong_examples": self.wrong, "after": after, "final": final,
                "connections": [c for c in connection_log if c[0] >= started],
                "seed": p["seed"]}


async def wait_until(tasks: list[asyncio.Future[Any]], deadline: float) -> bool:
    """Whether every task ended before ``deadline`` (monotonic)."""
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    return not pending


async def warmup(live: Any, p: dict[str, Any]) -> dict[str, Any]:
    """One call of each kind and each array size, no faults: first-use costs out of the
    memory baseline. Returns the round trips, in seconds."""
    storm = Storm(live, {**p, "seconds": 0})
    for nbytes in storm.sizes:
        a, sent = await random_array(nbytes, nbytes)
        await storm.call("up", nbytes, "digest(a)", lambda r, e=sent: r == e, a=a)
        await storm.call("echo", nbytes, "bytes(a)", lambda r, e=sent: sha256_of(r) == e, a=a)
        del a
    for _ in range(20):
        await storm.call("small", 2, "[v * 2, s[::-1]]", lambda r: r == [2, "ba"], v=1, s="ab")
        await storm.call("call", 0, "await bokeh_live.call('double', v)", lambda r: r == 2, v=1)
    gc.collect()
    bad = [r for r in storm.records if r[4] != "ok"]
    if bad:
        raise RuntimeError(f"the warm-up failed with no faults: {bad[:3]}")
    return {"calls": len(storm.records), "seconds": {r[0]: r[3] - r[2] for r in storm.records}}


def release_memory() -> dict[str, Any]:
    """Collect garbage and hand the C allocator's free memory back to the system
    (``malloc_trim``, glibc): what stays resident after that is memory still in use."""
    import ctypes

    gc.collect()
    try:
        trimmed = bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        trimmed = None
    return {"malloc_trim": trimmed}


async def op_storm(live: Any, p: dict[str, Any]) -> dict[str, Any]:
    """Run the storm and write its records to ``p["out"]`` (also on failure, with the error)."""
    try:
        result = await Storm(live, p).run()
    except BaseException as e:
        result = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}
    out = Path(p["out"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, out)
    return {"written": str(out), "error": result.get("error")}
