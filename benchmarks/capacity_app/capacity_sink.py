"""Per-process state of the capacity app, shared by its sessions (it outlives them).

- The call period: every session calls once per ``period`` seconds (0: not at all). The
  driver (benchmarks/capacity.py) changes it while the pages stay open by writing a number to
  ``$CAPACITY_DIR/period``; it is read four times a second, and a change wakes every session
  that waits (:func:`nap`) to take a new random phase at once.
- Each call's end time and round trip, appended to ``$CAPACITY_DIR/<pid>.bin`` four times a
  second (16 bytes a call: wall-clock end, seconds; a negative round trip is a call that
  failed), for the driver to read.
- What held the event loop up: each collection of the garbage collector's oldest generation,
  and each time a 10 ms timer fired more than 20 ms late, in ``<pid>.gc`` and ``<pid>.stall``
  (wall-clock end, seconds). SIGUSR1 makes a full collection now (to time one).
- ``CAPACITY_GC_FREEZE=1``: ``gc.freeze()`` once the first session has imported everything,
  so that full collections skip the objects of the imported modules.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import struct
import time
from pathlib import Path
from typing import Any

from tornado.ioloop import PeriodicCallback

FOLDER = Path(os.environ.get("CAPACITY_DIR", "."))

period = 0.0
#: Bumped on every change of ``period``.
generation = 0
_napping: set[asyncio.Future[None]] = set()

_calls: list[tuple[float, float]] = []
_collections: list[tuple[float, float]] = []
_stalls: list[tuple[float, float]] = []
_ticker: PeriodicCallback | None = None
_collecting = 0.0
_probe = 0.0


def start() -> None:
    """Start reading the period and writing the round trips (once per process)."""
    global _ticker
    if _ticker is None:
        tick()
        _ticker = PeriodicCallback(tick, 250)
        _ticker.start()
        gc.callbacks.append(_on_gc)
        PeriodicCallback(_on_probe, 10).start()
        signal.signal(signal.SIGUSR1, lambda *_: gc.collect())
        if os.environ.get("CAPACITY_GC_FREEZE"):
            gc.freeze()
        if os.environ.get("CAPACITY_GC_THRESHOLD"):
            gc.set_threshold(*map(int, os.environ["CAPACITY_GC_THRESHOLD"].split(",")))


def _on_gc(phase: str, info: dict[str, Any]) -> None:
    global _collecting
    if info["generation"] == 2:
        if phase == "start":
            _collecting = time.perf_counter()
        else:
            _collections.append((time.time(), time.perf_counter() - _collecting))


def _on_probe() -> None:
    global _probe
    now = time.perf_counter()
    if _probe and now - _probe > 0.030:
        _stalls.append((time.time(), now - _probe - 0.010))
    _probe = now


async def nap(seconds: float) -> None:
    """``asyncio.sleep(seconds)``, cut short when the period changes."""
    woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    timer = asyncio.get_running_loop().call_later(seconds, _wake, woken)
    _napping.add(woken)
    try:
        await woken
    finally:
        _napping.discard(woken)
        timer.cancel()


def _wake(woken: asyncio.Future[None]) -> None:
    if not woken.done():
        woken.set_result(None)


def record(end: float, seconds: float) -> None:
    _calls.append((end, seconds))


def tick() -> None:
    global period, generation
    try:
        wanted = float((FOLDER / "period").read_text())
    except (OSError, ValueError):
        wanted = period
    if wanted != period:
        period, generation = wanted, generation + 1
        for woken in list(_napping):
            _wake(woken)
    for records, suffix in ((_calls, "bin"), (_collections, "gc"), (_stalls, "stall")):
        if records:
            data = b"".join(struct.pack("dd", end, seconds) for end, seconds in records)
            records.clear()
            with (FOLDER / f"{os.getpid()}.{suffix}").open("ab") as f:
                f.write(data)
