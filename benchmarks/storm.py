"""Figure 15's driver side: the fault schedule, the proxy's log, and what the storm's records say.

The proxy is the tests' own (``tests/faults.py``), in this process, between Chromium and a
``bokeh serve`` of ``bench_app`` (``kind=storm``; the calls are made there, see
``bench_app/storm_page.py``). :class:`LoggingProxy` notes, on the system's monotonic clock
(the one the app's records use), every moment it drops connections and every connection it
accepts. :func:`inject_faults` draws faults from a seeded generator until a deadline, one at
a time: after each, it waits for the page to reconnect (a new connection at the proxy)
before the next. :func:`analyse` joins the app's records with the proxy's log.
"""

from __future__ import annotations

import bisect
import contextlib
import math
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from faults import FaultProxy

MIB = 2**20

#: Fault kinds and their weights (the full run's; ``--quick`` leaves out the long stall).
FAULTS = {"cut": 0.30, "cut_mid_message": 0.30, "stall": 0.20, "long_stall": 0.05, "slow_link": 0.15}


class _Peek:
    """A stream reader that tells, on its first read, whether the connection is a websocket."""

    def __init__(self, reader: Any, found: Any) -> None:
        self._reader, self._found = reader, found

    async def read(self, n: int) -> bytes:
        data = await self._reader.read(n)
        if self._found is not None:
            self._found(b"upgrade: websocket" in data[:4096].lower())
            self._found = None
        return data


class LoggingProxy(FaultProxy):
    """The fault proxy, logging (on ``time.monotonic()``) each time it drops open connections
    (a cut, a cut after N bytes, the end of a stall): how many and how many of them were
    websockets (the rest are the page's idle HTTP keep-alive connections); and each websocket
    connection it accepts (when it was accepted)."""

    def __init__(self, upstream: int, port: int | None = None) -> None:
        self.cuts: list[tuple[float, int, int]] = []  # (when, connections dropped, of which websockets)
        self.accepts: list[float] = []  # websocket connections, when accepted
        self._websockets: set[int] = set()  # id() of the client writers of websocket links
        super().__init__(upstream, port)

    def _cut_all(self, graceful: bool = False) -> int:
        if self.links:
            sockets = sum(id(link.client) in self._websockets for link in self.links)
            self.cuts.append((time.monotonic(), len(self.links), sockets))
        return super()._cut_all(graceful)

    async def _accept(self, reader: Any, writer: Any) -> None:
        accepted = time.monotonic()

        def found(websocket: bool) -> None:
            if websocket:
                self.accepts.append(accepted)
                self._websockets.add(id(writer))

        await super()._accept(_Peek(reader, found), writer)


@dataclass
class FaultLog:
    faults: list[dict[str, Any]] = field(default_factory=list)
    no_reconnection: int = 0


def inject_faults(proxy: LoggingProxy, rng: random.Random, until: float, gap: tuple[float, float],
                  log: FaultLog, faults: dict[str, float] | None = None, reconnect_timeout: float = 30.0) -> None:
    """Faults one at a time, drawn from ``rng`` with the weights ``faults`` (default
    :data:`FAULTS`), until ``until`` (monotonic); the link is whole again when this returns."""
    faults = faults or FAULTS
    kinds, weights = list(faults), list(faults.values())
    while True:
        time.sleep(rng.uniform(*gap))
        if time.monotonic() >= until:
            break
        kind = rng.choices(kinds, weights)[0]
        cuts_before = len(proxy.cuts)
        fault: dict[str, Any] = {"kind": kind, "at": time.monotonic()}
        if kind == "cut":
            fault["links"] = proxy.cut()
        elif kind == "cut_mid_message":
            # After N more bytes one way (from 1 KB to 16 MB, log-uniform): mid-message, mostly.
            n, direction = int(math.exp(rng.uniform(math.log(1024), math.log(16 * MIB)))), rng.choice(["up", "down"])
            fault.update(bytes=n, direction=direction)
            proxy.cut_after(n, direction)
            deadline = time.monotonic() + 10
            while len(proxy.cuts) == cuts_before and time.monotonic() < deadline:
                time.sleep(0.01)
            if len(proxy.cuts) == cuts_before:  # not that many bytes went that way: cut now
                fault["reached"] = False
                proxy.cut()
        elif kind in ("stall", "long_stall"):
            # A half-open link (nothing forwarded either way) that a proxy's timeout then drops;
            # a long one outlasts the small calls' 10 s timeout.
            seconds = 12.0 if kind == "long_stall" else rng.uniform(0.5, 4.0)
            fault["seconds"] = seconds
            proxy.blackhole()
            time.sleep(seconds)
            proxy.restore()
        else:
            rate, latency = rng.choice([1, 4, 16]) * MIB, rng.choice([0.0, 0.05, 0.2])
            seconds = rng.uniform(2.0, 8.0)
            fault.update(bytes_per_s=rate, latency_s=latency, seconds=seconds)
            proxy.throttle(rate, latency)
            time.sleep(seconds)
            proxy.restore()
        fault["dropped"] = sum(c[1] for c in proxy.cuts[cuts_before:])
        fault["websockets_dropped"] = sum(c[2] for c in proxy.cuts[cuts_before:])
        if fault["websockets_dropped"]:  # the page must reconnect before the next fault
            cut_at = proxy.cuts[-1][0]
            deadline = time.monotonic() + reconnect_timeout
            while not any(a > cut_at for a in proxy.accepts) and time.monotonic() < deadline:
                time.sleep(0.01)
            if not any(a > cut_at for a in proxy.accepts):
                fault["reconnected"] = False
                log.faults.append(fault)
                log.no_reconnection += 1
                break  # a page that does not come back: no point cutting it again
        log.faults.append(fault)
    proxy.restore()


class RssSampler:
    """The resident memory of a process, sampled every ``interval`` seconds: its peak, and
    one sample a second (``series``: seconds since the start, bytes)."""

    def __init__(self, pid: int, read: Any, interval: float = 0.2) -> None:
        self.pid, self.read, self.interval = pid, read, interval
        self.peak = 0
        self.series: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            with contextlib.suppress(OSError, RuntimeError):
                rss = self.read(self.pid)
                self.peak = max(self.peak, rss)
                t = time.monotonic() - start
                if not self.series or t - self.series[-1][0] >= 1.0:
                    self.series.append((round(t, 1), rss))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def spread(ms: list[float]) -> dict[str, Any]:
    """n, p50, p99 and max of a list of milliseconds (None where there are none)."""
    if not ms:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    s = sorted(ms)
    pick = lambda q: s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]  # noqa: E731
    return {"n": len(s), "p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": s[-1]}


def analyse(storm: dict[str, Any], proxy: LoggingProxy, log: FaultLog) -> dict[str, Any]:
    """What the storm's records (the app's) and the proxy's log say together."""
    records = storm["records"]  # [kind, bytes, start, end, outcome, detail]
    start, stop = storm["started"], storm["stop_at"]
    out: dict[str, Any] = {"calls": len(records)}
    out["calls_by_kind"] = dict(Counter(r[0] for r in records))
    out["outcomes"] = dict(Counter(r[4] or "lost" for r in records))
    out["outcomes_by_kind"] = {k: dict(Counter(r[4] or "lost" for r in records if r[0] == k))
                               for k in out["calls_by_kind"]}
    out["lost"] = sum(r[3] is None for r in records)
    out["corrupted"] = sum(r[4] == "wrong" for r in records)
    out["other_errors"] = sum(r[4] not in ("ok", "wrong", "LiveError", "TimeoutError", None) for r in records)
    out["error_reasons"] = dict(Counter(f"{r[4]}: {r[5]}" if r[5] else r[4] for r in records
                                        if r[4] not in ("ok", None)).most_common(12))
    out["array_mib_moved_ok"] = sum(r[1] * (2 if r[0] == "echo" else 1) for r in records
                                    if r[0] in ("up", "echo") and r[4] == "ok") / MIB

    out["faults"] = dict(Counter(f["kind"] for f in log.faults))
    out["faults_total"] = len(log.faults)
    out["faults_cut_mid_message_not_reached"] = sum(f.get("reached") is False for f in log.faults)
    cuts = [c for c in proxy.cuts if start <= c[0] <= stop + 5]
    out["connections_dropped"] = sum(c[1] for c in cuts)  # with the page's idle HTTP connections
    cuts = [c for c in cuts if c[2]]  # those that dropped the page's websocket
    out["websocket_cuts"] = len(cuts)
    out["no_reconnection"] = log.no_reconnection

    # From each cut to the end of each call in flight at that moment.
    cut_to_end: list[float] = []
    reconnect: list[float] = []
    first_answer: list[float] = []
    ok_ends = sorted(r[3] for r in records if r[4] == "ok")
    caught: list[dict[str, Any]] = []
    for when, _, _ in cuts:
        fault = next((f["kind"] for f in reversed(log.faults) if f["at"] <= when), None)
        for r in records:
            if r[2] < when and r[3] is not None and r[3] > when:
                cut_to_end.append(1000 * (r[3] - when))
                caught.append({"ms": 1000 * (r[3] - when), "fault": fault, "kind": r[0], "bytes": r[1],
                               "started_ms_before_cut": 1000 * (when - r[2]), "outcome": r[4], "detail": r[5]})
        after = [a for a in proxy.accepts if a > when]
        if after:
            back = after[0]
            reconnect.append(1000 * (back - when))
            i = bisect.bisect_right(ok_ends, back)
            if i < len(ok_ends):
                first_answer.append(1000 * (ok_ends[i] - back))
    out["cut_to_call_end"] = spread(cut_to_end)
    out["cut_to_call_end_slowest"] = sorted(caught, key=lambda c: -c["ms"])[:5]
    # A cut ends the calls in flight (LiveError): one that ended by its timeout instead was
    # not told of the cut.
    out["caught_by_a_cut_ended_by_timeout"] = sum(c["outcome"] == "TimeoutError" for c in caught)
    out["cut_to_reconnection"] = spread(reconnect)
    out["reconnection_to_first_answer"] = spread(first_answer)
    small_ok = [1000 * (r[3] - r[2]) for r in records if r[0] == "small" and r[4] == "ok"]
    out["small_call_ok"] = spread(small_ok)
    timed_out = [r for r in records if r[4] == "TimeoutError"]
    out["timed_out_call_duration"] = spread([1000 * (r[3] - r[2]) for r in timed_out])
    # Each timed-out call beside the faults: a call ended by its timeout, not by a cut that
    # caught it, is worth a look (a stall longer than its timeout explains one).
    examples = []
    for r in timed_out[:10]:
        fault = next((f for f in reversed(log.faults) if f["at"] <= r[3]), None)
        during = [c[0] for c in cuts if r[2] < c[0] < r[3]]
        examples.append({"kind": r[0], "bytes": r[1], "ms": 1000 * (r[3] - r[2]),
                         "last_fault": fault and {k: v for k, v in fault.items() if k != "at"},
                         "last_fault_ms_after_start": fault and 1000 * (fault["at"] - r[2]),
                         "cuts_during_ms_after_start": [1000 * (c - r[2]) for c in during]})
    out["timed_out_examples"] = examples
    out["lost_examples"] = [{"kind": r[0], "bytes": r[1], "started_s": r[2] - start,
                             "cuts_after_start_ms": [1000 * (c[0] - r[2]) for c in cuts if c[0] > r[2]][:3]}
                            for r in records if r[3] is None][:10]
    # The server's view: each cut of the page's websocket, against the session's connections
    # closing and opening (bench_app/storm_page.py logs them).
    conns = storm.get("connections", [])
    seen = []
    for when, _, _ in cuts:
        around = [(round(1000 * (t - when), 1), what, n) for t, what, n in conns if when - 0.5 < t < when + 2]
        seen.append({"at_s": when - start, "server_saw_ms": around})
    out["server_saw_cuts"] = seen
    # Cuts after which the session never had 0 connections before the next cut: the page's
    # new websocket was subscribed before the lost one was unsubscribed.
    ends = [c[0] for c in cuts[1:]] + [math.inf] if cuts else []
    out["cuts_without_zero_connections"] = sum(
        not any(what == "close" and n == 0 and when <= t < end for t, what, n in conns)
        for (when, _, _), end in zip(cuts, ends, strict=True))
    # Everything, on the storm's clock (seconds from its start), to look into any of the above.
    out["raw"] = {
        "columns": ["kind", "bytes", "start_s", "end_s", "outcome", "detail"],
        "calls": [[r[0], r[1], round(r[2] - start, 4), None if r[3] is None else round(r[3] - start, 4), r[4], r[5]]
                  for r in records],
        "proxy_cuts_s": [(round(c[0] - start, 4), c[1], c[2]) for c in proxy.cuts],
        "proxy_websocket_accepts_s": [round(a - start, 4) for a in proxy.accepts],
        "server_connections_s": [(round(t - start, 4), what, n) for t, what, n in conns],
        "faults": [{**f, "at": round(f["at"] - start, 4)} for f in log.faults],
    }
    out["after"] = storm["after"]
    out["final"] = storm["final"]
    out["stopped_in_time"] = storm["stopped_in_time"]
    out["wrong_examples"] = storm["wrong_examples"]
    out["calls_per_s"] = len(records) / max(1e-9, stop - start)
    return out
