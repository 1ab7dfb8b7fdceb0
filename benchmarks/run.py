"""The bokeh_live benchmark suite: real ``bokeh serve``, real headless Chromium, real Pyodide.

    python -m benchmarks            # the full suite, several minutes
    python -m benchmarks --quick    # small counts and 1 MB arrays, a few minutes
    python -m benchmarks --only fault_storm   # one section (repeatable)

Every figure is measured together with its baseline in the same run, on this machine, and
reported with the ratio and the target it is held against. The table goes to stdout; the
figures to ``benchmarks/output/results.json`` and, when matplotlib is installed,
``benchmarks/output/results.png``.

Three ``bokeh serve`` processes of ``benchmarks/bench_app`` take part:

- ``live``: pages with BokehLive models (TCP_NODELAY set by bokeh_live, as shipped);
- ``stock``: pages without BokehLive; that process never imports bokeh_live, so it is a
  stock Bokeh server (no extension bundle, Nagle's algorithm on);
- ``nagle``: the live app with ``BOKEH_LIVE_NODELAY=0``, to show what Nagle costs.

Timings of calls are taken in the server app around the awaited calls (see
``bench_app/main.py``); the driver here starts them through the page and collects them.
A case that fails is recorded with its error, and the suite goes on.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import itertools
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import JS_VIEW, PYODIDE_TIMEOUT, BokehServe, Nginx, chromium, free_port, wait_for  # noqa: E402

HERE = Path(__file__).resolve().parent
APP = HERE / "bench_app"
OUTPUT = HERE / "output"
MARKER = "<bokeh-live-bench-bare>"  # the same string as bench_app/main.py's MARKER
DATA_PATHS = ("binary", "base64", "list")


@dataclass
class Settings:
    quick: bool = False
    calls: int = 500                 # sequential round trips per series
    throughput_calls: int = 1000     # calls in flight at once
    throughput_reps: int = 3
    issue7_calls: int = 200          # round trips per series in the issue 7 comparison
    sizes_mb: list[int] = field(default_factory=lambda: [1, 8, 64, 256])
    list_max_mb: int = 64            # the JSON-list baseline stops here
    data_timeout: float = 180.0
    data_reps: int = 3               # repeats of each data case up to 8 MB (median reported)
    startup_reps: int = 5            # cold and warm loads per page kind (median reported)
    model_counts: list[int] = field(default_factory=lambda: [1, 5, 10])
    sessions: int = 40               # open sessions for the memory figure
    recovery_reps: int = 5           # runaway calls per kind of page (median reported)
    recovery_cycles: int = 100       # runaway/restart cycles for the leak figure
    parallel_seconds: float = 1.0    # CPU time of one call in the parallel figure
    callback_samples: int = 300      # slider changes per path in the browser-callbacks figure
    burst_changes: int = 200         # slider changes in the burst (each in a task of its own)
    module_reps: int = 5             # page loads per kind in the shipped-module figure (median)
    module_kb: int = 200             # size of the generated shipped module
    storm_seconds: float = 240.0     # calls under random faults (figure 15)
    storm_again_seconds: float = 120.0  # a second storm: does the server's memory keep growing?
    storm_seed: int = 2026
    storm_sizes_mib: list[int] = field(default_factory=lambda: [1, 4, 16, 64])
    storm_size_weights: list[float] = field(default_factory=lambda: [0.5, 0.3, 0.15, 0.05])
    storm_gap_s: tuple[float, float] = (0.5, 3.0)  # quiet time before each fault
    storm_grace_s: float = 90.0      # after the storm, a call not ended within this is lost
    storm_faults: dict[str, float] | None = None  # fault kinds and weights; None: storm.FAULTS

    @classmethod
    def make(cls, quick: bool, max_mb: float | None) -> Settings:
        s = cls(quick=quick)
        if quick:
            s.calls, s.throughput_calls, s.throughput_reps, s.issue7_calls = 20, 200, 1, 20
            s.sizes_mb, s.startup_reps, s.sessions, s.data_timeout = [1], 1, 5, 60.0
            s.model_counts, s.data_reps = [1, 10], 1
            s.recovery_reps, s.recovery_cycles, s.parallel_seconds = 1, 3, 0.3
            s.callback_samples, s.module_reps = 30, 1
            s.storm_seconds, s.storm_sizes_mib, s.storm_size_weights = 20.0, [1, 2, 4], [0.5, 0.3, 0.2]
            s.storm_again_seconds = 10.0
            s.storm_gap_s = (0.3, 1.5)
            s.storm_faults = {"cut": 0.35, "cut_mid_message": 0.35, "stall": 0.15, "slow_link": 0.15}  # no 12 s stall
        if max_mb is not None:
            s.sizes_mb = [mb for mb in s.sizes_mb if mb <= max_mb]
        return s


# --- the page side ---------------------------------------------------------------------------

#: Installed before any page script runs: remembers the page's websockets so that a
#: reconnect can be forced by closing one (BokehJS then reconnects by itself).
JS_TRACK_SOCKETS = """
(() => {
  const Base = window.WebSocket
  window.__bench_sockets = []
  window.WebSocket = class extends Base {
    constructor(...args) { super(...args); window.__bench_sockets.push(this) }
  }
})()
"""

#: Counts the workers a page starts and terminates (installed before the page's scripts).
JS_COUNT_WORKERS = """{
  window.__bench_workers = {started: 0, terminated: 0}
  const Base = window.Worker
  window.Worker = class extends Base {
    constructor(...args) { super(...args); window.__bench_workers.started += 1 }
    terminate() { window.__bench_workers.terminated += 1; super.terminate() }
  }
}"""

JS_DOC = "const doc = () => (window.Bokeh && Bokeh.documents.length) ? Bokeh.documents[0] : null;\n"

#: The bare Bokeh event round trip: `run_python` messages whose code is the marker are
#: answered by the view at once (same events, same wire, same batching), never reaching
#: the worker or Pyodide. The answer echoes the `i` keyword so that results can be checked.
JS_BARE = JS_VIEW + """
const view = live_view(arguments[0])
if (view.__bench_on_server == null) {
  const original = view.on_server.bind(view)
  const queue = view.channel.send.bind(view.channel)
  const started = new Map()
  window.__bench_worker_ms = []
  view.__bench_on_server = original
  view.on_server = (messages) => {
    const rest = []
    for (const m of messages) {
      if (m.type == "run_python" && m.code == arguments[1]) {
        const kwargs = m.kwargs instanceof Map ? Object.fromEntries(m.kwargs) : (m.kwargs ?? {})
        queue({type: "run_python_result", request_id: m.request_id, result: kwargs.i ?? null})
      } else {
        if (m.type == "run_python") {
          started.set(m.request_id, performance.now())
        }
        rest.push(m)
      }
    }
    if (rest.length != 0) {
      original(rest)
    }
  }
  // The part of a real call spent between the view and the worker (worker, Pyodide and
  // the hops there and back), for the report: what the bare round trip leaves out.
  view.channel.send = (message) => {
    const t0 = started.get(message.request_id)
    if (t0 != null) {
      started.delete(message.request_id)
      window.__bench_worker_ms.push(performance.now() - t0)
    }
    queue(message)
  }
}
return true
"""


#: Figure 13 in the page: for each sample and each path (rotating which goes first), set the
#: path's slider to a new value and wait until its source's data holds that value, as the
#: ``CustomJS`` on the source's ``data`` reports it (``window.__bench_stamp``, see
#: bench_app/callbacks_page.py). Milliseconds from the slider's change to the source's.
JS_CALLBACK_PATHS = """
const [paths, n, pause_ms, done] = [arguments[0], arguments[1], arguments[2], arguments[arguments.length - 1]]
const d = Bokeh.documents[0]
let waiting = null
window.__bench_stamp = (name, y) => {
  if (waiting != null && waiting.name == name && y == waiting.y) {
    const w = waiting
    waiting = null
    w.resolve(performance.now())
  }
}
const worker_ms = []
const once = (path, value) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`source_${path} did not change to ${value} within 10 s`)), 10000)
  waiting = {name: `source_${path}`, y: value, resolve: (t1) => {
    clearTimeout(timer)
    const [sent, back] = [window.__bench_changes_sent, window.__bench_update_back]
    if (path == "live" && sent > t0 && back > sent) {
      worker_ms.push(back - sent)
    }
    resolve(t1 - t0)
  }}
  const t0 = performance.now()
  d.get_model_by_name(`slider_${path}`).value = value
})
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
;(async () => {
  const out = Object.fromEntries(paths.map((p) => [p, []]))
  for (let i = 0; i < n; i++) {
    const k = i % paths.length
    for (const path of [...paths.slice(k), ...paths.slice(0, k)]) {
      window.__bench_value = (window.__bench_value ?? 0) + 1
      out[path].push(await once(path, window.__bench_value))
      await sleep(pause_ms)
    }
  }
  out.live_worker = worker_ms
  return out
})().then(done, (e) => done({error: String(e)}))
"""

#: Installed before the callbacks page's scripts: notes when the page last posted a batch of
#: changes to a worker and when an update last came back, for the browser callback's share
#: between the page and the worker (worker, Python and the postMessage hops).
JS_WATCH_WORKER = """{
  const Base = window.Worker
  const has = (data, kind) => data != null && (data.kind == kind || (data.kind == "batch"
    && Array.isArray(data.messages) && data.messages.some((m) => m != null && m.kind == kind)))
  window.Worker = class extends Base {
    constructor(...args) {
      super(...args)
      this.addEventListener("message", (e) => { if (has(e.data, "update")) window.__bench_update_back = performance.now() })
    }
    postMessage(message, transfer) {
      if (has(message, "changes")) window.__bench_changes_sent = performance.now()
      return super.postMessage(message, transfer)
    }
  }
}"""

#: The burst: the slider steps through ``values``, each change in a task of its own as fast
#: as the page can (a MessageChannel loop, as a drag does), then the page waits until its
#: source shows the last value. Milliseconds of the drag and from its last change to that.
JS_BURST = """
const [values, done] = [arguments[0], arguments[arguments.length - 1]]
const d = Bokeh.documents[0], slider = d.get_model_by_name("slider_burst")
const final = values[values.length - 1]
let t_first = null, t_last = null
const shown = new Promise((resolve) => {
  window.__bench_stamp = (name, y) => { if (name == "source_burst" && y == final) { resolve(performance.now()) } }
})
const channel = new MessageChannel()
let i = 0
channel.port1.onmessage = () => {
  if (i < values.length) {
    t_first = t_first ?? performance.now()
    slider.value = values[i++]
    t_last = performance.now()
    channel.port2.postMessage(null)
  }
}
channel.port2.postMessage(null)
const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 60000))
Promise.race([shown, timeout]).then((t) => done(t == null ? {error: "the last value never reached the source"}
  : {drag_ms: t_last - t_first, last_change_to_shown_ms: t - t_last}))
"""

#: What the page fetched of shipped modules: Resource Timing entries (transferSize 0 means
#: the HTTP cache answered).
JS_MODULE_ENTRIES = """
return performance.getEntriesByType("resource").filter((e) => e.name.includes("/bokeh_live_modules/"))
  .map((e) => ({name: new URL(e.name).pathname, transfer_bytes: e.transferSize, encoded_bytes: e.encodedBodySize,
                decoded_bytes: e.decodedBodySize, duration_ms: e.duration}))
"""


#: Run in the browser after a page with the generated module is ready: milliseconds that
#: Python takes to scan its text for imports (as auto_packages does with shipped modules) and
#: to compile it (as its import does).
PY_MODULE_WORK = """
def _bench_module_work():
    import sys, time
    from pyodide.code import find_imports
    path = sys.modules["bench_big"].__file__
    with open(path) as f:
        text = f.read()
    t0 = time.perf_counter()
    find_imports(text)
    t1 = time.perf_counter()
    compile(text, path, "exec")
    return [(t1 - t0) * 1000, (time.perf_counter() - t1) * 1000]
_bench_module_work()
"""


class CaseError(Exception):
    """A measurement that failed; recorded with its message, and the suite goes on."""


class Page:
    """One browser tab on one benchmark page, and the command channel to its server app."""

    _ids = itertools.count(1)

    def __init__(self, driver: Any, url: str, models: int = 0) -> None:
        self.driver, self.url, self.models = driver, url, models

    def open(self) -> Page:
        self.driver.get(self.url)
        self.wait_ready()
        return self

    def statuses(self) -> list[str] | None:
        return self.driver.execute_script(JS_DOC + """
            const d = doc(); if (d == null || d.get_model_by_name("bench_out") == null) return null;
            const out = [];
            for (let i = 0; i < arguments[0]; i++) {
              const m = d.get_model_by_name("live" + i); if (m == null) return null; out.push(m.status)
            }
            return out""", self.models)

    def wait_ready(self, timeout: float = PYODIDE_TIMEOUT) -> None:
        def ready() -> bool:
            statuses = self.statuses()
            if statuses is None:
                return False
            if "error" in statuses:
                raise CaseError(f"a BokehLive failed to start: {statuses}")
            return all(s == "ready" for s in statuses)
        wait_for(ready, timeout, 0.1, what=f"{self.url} to be ready")

    def extension_loaded(self) -> bool:
        return self.driver.execute_script(
            "return document.querySelector('script[src*=\"/extensions/bokeh_live/\"]') != null")

    def command(self, op: str, timeout: float = 300, **params: Any) -> dict[str, Any]:
        return self.result(self.post(op, **params), op, timeout)

    def post(self, op: str, **params: Any) -> int:
        """Send a command to the page's server app; :meth:`result` waits for its result."""
        cid = next(self._ids)
        self.driver.execute_script(JS_DOC + "doc().get_model_by_name('bench_cmd').text = arguments[0]",
                                   json.dumps({"id": cid, "op": op, **params}))
        return cid

    def result(self, cid: int, op: str, timeout: float = 300) -> dict[str, Any]:
        def reply() -> dict[str, Any] | None:
            text = self.driver.execute_script(
                JS_DOC + "const d = doc(); const m = d && d.get_model_by_name('bench_out'); return m ? m.text : null")
            if text:
                message = json.loads(text)
                if message.get("id") == cid:
                    return message
            return None
        message = wait_for(reply, timeout, 0.25, what=f"the result of {op}")
        if not message["ok"]:
            raise CaseError(message["error"])
        return message["result"]

    def install_bare(self, model: int = 0) -> None:
        self.driver.execute_script(JS_BARE, f"live{model}", MARKER)

    def force_reconnect(self) -> None:
        """Close the page's websocket; BokehJS reconnects and rebuilds the document."""
        count = self.driver.execute_script(JS_DOC + """
            window.__bench_before = doc().get_model_by_name("bench_out")
            window.__bench_sockets.at(-1).close()
            return window.__bench_sockets.length""")
        wait_for(lambda: self.driver.execute_script(JS_DOC + """
            const s = window.__bench_sockets, d = doc();
            return s.length > arguments[0] && s.at(-1).readyState == 1 && d != null
              && d.get_model_by_name("bench_out") != null && d.get_model_by_name("bench_out") !== window.__bench_before
            """, count), 30, 0.05, what="the websocket to reconnect and the document to be rebuilt")
        self.wait_ready(60)
        time.sleep(0.5)


def new_browser(profile: str | None = None) -> Any:
    driver = chromium(profile)
    driver.set_script_timeout(300)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": JS_TRACK_SOCKETS})
    return driver


# --- statistics ---------------------------------------------------------------------------------

def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1000
    return {"n": len(ms), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
            "p99_ms": float(np.percentile(ms, 99)), "mean_ms": float(ms.mean()), "max_ms": float(ms.max())}


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def guarded(results: dict[str, Any], name: str, fn: Callable[[], dict[str, Any]]) -> None:
    """Run one figure's section; a failure is recorded under the figure, never raised."""
    start = time.monotonic()
    print(f"[bench] {name} ...", flush=True)
    try:
        results[name] = fn()
    except Exception as e:
        results[name] = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc(limit=8)}
        print(f"[bench] {name} FAILED: {e}", flush=True)
    results[name]["section_seconds"] = round(time.monotonic() - start, 1)


# --- the suite ---------------------------------------------------------------------------------

class Suite:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.servers: dict[str, BokehServe] = {}
        self.driver: Any = None
        self.raw: dict[str, Any] = {}  # latency samples for the plot

    # servers and pages

    def server(self, name: str) -> BokehServe:
        if name not in self.servers:
            env = {"BOKEH_LIVE_NODELAY": "0"} if name == "nagle" else {"BOKEH_LIVE_NODELAY": "1"}
            if name == "isolated":  # cross-origin isolated pages: python -m bokeh_live serve --isolate
                self.servers[name] = BokehServe(APP, env=env, module="bokeh_live", args=("--isolate",))
            else:
                self.servers[name] = BokehServe(APP, env=env)
        return self.servers[name]

    def url(self, server: str, **query: Any) -> str:
        q = "&".join(f"{k}={v}" for k, v in query.items())
        return self.server(server).url(f"/bench_app?{q}")

    def page(self, server: str, models: int = 1, **query: Any) -> Page:
        if self.driver is None:
            self.driver = new_browser()
        kind = {"kind": "stock"} if models == 0 else {"models": models}
        return Page(self.driver, self.url(server, **kind, **query), models).open()

    def close(self) -> None:
        if self.driver is not None:
            self.driver.quit()
            self.driver = None
        for server in self.servers.values():
            server.stop()

    # 1 and 5a: sequential round trips against the bare event round trip

    def round_trip(self) -> dict[str, Any]:
        page = self.page("live")
        page.install_bare()
        # Interleaved blocks, so that a busy moment of this shared machine hits both series.
        blocks = max(1, min(5, self.s.calls // 100))
        per_block = self.s.calls // blocks
        page.command("live_latency", n=20, warmup=0)
        page.command("live_latency", n=20, warmup=0, marker=True)
        self.driver.execute_script("window.__bench_worker_ms = []")
        runs: dict[str, list[dict[str, Any]]] = {"live": [], "bare": []}
        for _ in range(blocks):
            runs["live"].append(page.command("live_latency", n=per_block))
            runs["bare"].append(page.command("live_latency", n=per_block, marker=True))
        self.page_live = page
        out: dict[str, Any] = {}
        worker_ms = self.driver.execute_script("return window.__bench_worker_ms.splice(0)")
        for name, rs in runs.items():
            lat = [x for r in rs for x in r["latencies"]]
            self.raw[f"round_trip_{name}"] = lat
            out[name] = {**percentiles(lat), "wrong_results": sum(r["wrong"] for r in rs),
                         "server_cpu_ms_per_call": 1000 * sum(r["cpu_s"] for r in rs) / len(lat)}
        out["ratio"] = {k: ratio(out["live"][k], out["bare"][k]) for k in ("p50_ms", "p95_ms", "p99_ms")}
        if worker_ms:
            out["live"]["page_to_worker_and_back"] = percentiles([ms / 1000 for ms in worker_ms])
        out["target"] = "live p50 <= 1.25 x bare p50"
        out["met"] = out["ratio"]["p50_ms"] <= 1.25
        return out

    # 2: calls in flight at once

    def throughput(self) -> dict[str, Any]:
        page = self.page_live
        n = self.s.throughput_calls
        page.command("live_throughput", n=min(n, 200))  # first-use costs (JIT, memory growth) out
        page.command("live_throughput", n=min(n, 200), marker=True)
        runs: dict[str, list[dict[str, Any]]] = {"live": [], "bare": []}
        for _ in range(self.s.throughput_reps):
            runs["live"].append(page.command("live_throughput", n=n))
            runs["bare"].append(page.command("live_throughput", n=n, marker=True))
        out: dict[str, Any] = {"calls_in_flight": n, "reps": self.s.throughput_reps}
        for name, rs in runs.items():
            rates = [r["n"] / r["wall_s"] for r in rs]
            out[name] = {"calls_per_s": float(np.median(rates)), "calls_per_s_each": rates,
                         "lost": sum(r["lost"] for r in rs), "mismatched": sum(r["mismatched"] for r in rs),
                         "errors": [e for r in rs for e in r["errors"]][:5],
                         "server_cpu_ms_per_call": 1000 * sum(r["cpu_s"] for r in rs) / (n * len(rs))}
        out["ratio"] = ratio(out["live"]["calls_per_s"], out["bare"]["calls_per_s"])
        out["target"] = ">= 2000 calls/s, 0 lost, 0 mismatched"
        out["met"] = out["live"]["calls_per_s"] >= 2000 and out["live"]["lost"] == out["live"]["mismatched"] == 0
        return out

    # 3: arrays both ways

    def data(self) -> dict[str, Any]:
        limit = 512 * 2**20  # the model's own cap out of the way: the case meets the wire's
        page: Page | None = None
        cases = []
        for mb in self.s.sizes_mb:
            for path in DATA_PATHS:
                if path == "list" and mb > self.s.list_max_mb:
                    cases.append({"mb": mb, "path": path, "ok": False, "skipped": True,
                                  "error": f"not run: the JSON-list baseline is capped at {self.s.list_max_mb} MB"})
                    continue
                case: dict[str, Any] = {"mb": mb, "path": path}
                print(f"[bench]   data {mb} MB {path}", flush=True)
                try:
                    if page is None:
                        page = self.page("live", max_message_size=limit)
                        page.install_bare()  # only for its timing of the browser's share
                        for warm in DATA_PATHS:  # first-use costs (JIT, wasm memory growth) out
                            page.command("data", mb=1, path=warm)
                    browser_log(self.driver)  # drop older entries
                    self.driver.execute_script("window.__bench_worker_ms = []")
                    reps = self.s.data_reps if mb <= 8 else 1
                    seconds = [page.command("data", timeout=self.s.data_timeout + 60, mb=mb, path=path,
                                            timeout_s=self.s.data_timeout)["seconds"] for _ in range(reps)]
                    best = float(np.median(seconds))
                    in_browser = self.driver.execute_script("return window.__bench_worker_ms.splice(0)")
                    case.update(ok=True, seconds=best, seconds_each=seconds, mb_per_s=mb / best,
                                view_to_worker_and_back_s=float(np.median(in_browser)) / 1000 if in_browser else None)
                except Exception as e:
                    closed = [m for m in browser_log(self.driver) if "Lost websocket" in m or "1009" in m]
                    case.update(ok=False, error=f"{type(e).__name__}: {e}"[:500])
                    if closed:
                        case["browser_log"] = closed[-1][:300]
                    page = None
                cases.append(case)
            if page is not None:
                try:
                    page.command("drop_arrays")
                except Exception:
                    page = None
        by = {(c["mb"], c["path"]): c for c in cases}
        sizes = []
        for mb in self.s.sizes_mb:
            b, b64, lst = (by.get((mb, p), {}) for p in DATA_PATHS)
            sizes.append({"mb": mb, "binary_mb_per_s": b.get("mb_per_s"), "base64_mb_per_s": b64.get("mb_per_s"),
                          "list_mb_per_s": lst.get("mb_per_s"),
                          "ratio_vs_base64": ratio(b.get("mb_per_s"), b64.get("mb_per_s")),
                          "ratio_vs_list": ratio(b.get("mb_per_s"), lst.get("mb_per_s")),
                          "met": (ratio(b.get("mb_per_s"), b64.get("mb_per_s")) or 0) >= 10})
        return {"cases": cases, "sizes": sizes, "unit": "MB = 10**6 bytes; MB/s = array size / round-trip time",
                "list_capped_at_mb": self.s.list_max_mb, "target": "binary >= 10 x base64 MB/s",
                "met": all(s["met"] for s in sizes)}

    # issue 7: run_python against a stock Bokeh property round trip

    def issue7(self) -> dict[str, Any]:
        n = self.s.issue7_calls
        out: dict[str, Any] = {"calls": n}

        def series(page: Page, op: str, key: str) -> dict[str, Any]:
            r = page.command(op, n=n, warmup=5)
            self.raw[f"issue7_{key}"] = r["latencies"]
            return {**percentiles(r["latencies"]), "server_cpu_ms_per_call": 1000 * r["cpu_s"] / n}

        live = self.page_live
        out["live_first"] = series(live, "live_latency", "live_first")
        out["stock_in_live_page_first"] = series(live, "stock_latency", "stock_in_live_page_first")
        live.force_reconnect()
        out["live_reconnected"] = series(live, "live_latency", "live_reconnected")
        out["stock_in_live_page_reconnected"] = series(live, "stock_latency", "stock_in_live_page_reconnected")

        stock = self.page("stock", models=0)
        out["stock_page_has_extension"] = stock.extension_loaded()
        out["stock_first"] = series(stock, "stock_latency", "stock_first")
        stock.force_reconnect()
        out["stock_reconnected"] = series(stock, "stock_latency", "stock_reconnected")

        nagle = self.page("nagle")
        out["live_nodelay_off"] = series(nagle, "live_latency", "live_nodelay_off")
        out["stock_in_live_page_nodelay_off"] = series(nagle, "stock_latency", "stock_in_live_page_nodelay_off")
        self.driver.get("about:blank")

        out["ratio"] = {
            "first": {k: ratio(out["live_first"][k], out["stock_first"][k]) for k in ("p50_ms", "p95_ms")},
            "reconnected": {k: ratio(out["live_reconnected"][k], out["stock_reconnected"][k])
                            for k in ("p50_ms", "p95_ms")},
        }
        out["target"] = "live p50 <= 0.15 x stock p50 (page without bokeh_live), first connection and after reconnect"
        out["met"] = out["ratio"]["first"]["p50_ms"] <= 0.15 and out["ratio"]["reconnected"]["p50_ms"] <= 0.15
        return out

    # 5b: server memory per open session

    def memory(self) -> dict[str, Any]:
        from bokeh.client import pull_session

        import bokeh_live  # noqa: F401 - a client must know the model classes it pulls

        out: dict[str, Any] = {"sessions": self.s.sessions}
        # Fresh processes: one that held the data cases' arrays keeps that memory mapped, and
        # new sessions would fit in it without moving RSS.
        for name, server, args in (("live", "memory_live", {"models": "1"}),
                                   ("stock", "memory_stock", {"kind": "stock"})):
            pid = self.server(server).proc.pid
            url = self.server(server).url("/bench_app")
            # One session first, so that imports and first-use caches are not counted.
            warm = pull_session(url=url, arguments=args)
            time.sleep(0.5)
            before = rss_bytes(pid)
            sessions = [pull_session(url=url, arguments=args) for _ in range(self.s.sessions)]
            time.sleep(1.0)
            after = rss_bytes(pid)
            for session in [warm, *sessions]:
                session.close()
            out[name] = {"rss_before_mb": before / 2**20, "rss_after_mb": after / 2**20,
                         "kb_per_session": (after - before) / 1024 / self.s.sessions}
            self.servers.pop(server).stop()
        out["ratio"] = ratio(out["live"]["kb_per_session"], out["stock"]["kb_per_session"])
        return out

    # 4: page load to ready

    def startup(self) -> dict[str, Any]:
        if self.driver is not None:  # a quiet machine: no other tab runs Pyodide meanwhile
            self.driver.quit()
            self.driver = None
        # The live server serves the Pyodide files only once it has served a BokehLive page
        # (Bokeh learns extension folders while bundling a page): make sure it has.
        server = self.server("live")
        server.get("/bench_app?models=1")
        kinds: list[tuple[str, str, int]] = [("bare", server.url("/bench_app/static/bare_pyodide.html"), 0)]
        kinds += [(f"models_{n}", self.url("live", models=n), n) for n in self.s.model_counts]
        # Per browser: a cold load (nothing cached; a live page makes and caches a memory
        # snapshot), a warm one without the snapshot, then (one model) a warm one from it.
        phases = ("cold", "warm", "snapshot")
        samples: dict[str, dict[str, list[float]]] = {
            k: {p: [] for p in (phases if k == "models_1" else phases[:2])} for k, _, _ in kinds}
        for rep in range(self.s.startup_reps):
            for name, url, models in kinds:
                driver = new_browser()
                try:
                    for phase in samples[name]:
                        page_url = url + ("&snapshot=0" if phase == "warm" and name != "bare" else "")
                        samples[name][phase].append(page_load_to_ready(driver, page_url, models))
                        if phase == "cold" and "snapshot" in samples[name]:
                            wait_for(lambda d=driver: snapshot_cached(d), 60, 0.1, what="the snapshot to be cached")
                finally:
                    driver.quit()
                print(f"[bench]   start-up {name} rep {rep + 1}: " + ", ".join(
                    f"{phase} {values[-1]:.0f} ms" for phase, values in samples[name].items()), flush=True)
        out: dict[str, Any] = {"reps": self.s.startup_reps, "mode": "app", "samples_ms": samples}
        for name in samples:
            out[name] = {phase: float(np.median(v)) for phase, v in samples[name].items()}
        last = f"models_{self.s.model_counts[-1]}"
        for phase in ("cold", "warm"):
            out[f"ratio_1_vs_bare_{phase}"] = ratio(out["models_1"][phase], out["bare"][phase])
            out[f"ratio_10_vs_1_{phase}"] = ratio(out[last][phase], out["models_1"][phase])
        out["ratio_1_snapshot_vs_bare_warm"] = ratio(out["models_1"]["snapshot"], out["bare"]["warm"])
        out["target"] = ("1 model <= 1.1 x bare Pyodide cold and warm, <= 0.5 x bare warm from a snapshot; "
                         "10 models <= 1.2 x 1 model")
        out["met"] = all(out[f"ratio_1_vs_bare_{p}"] <= 1.1 and out[f"ratio_10_vs_1_{p}"] <= 1.2
                         for p in ("cold", "warm")) and out["ratio_1_snapshot_vs_bare_warm"] <= 0.5
        return out

    # 12: parallel runs in a pool of workers (issue 13)

    def parallel(self) -> dict[str, Any]:
        cores = os.cpu_count() or 1
        pools = [2, 4] if cores >= 4 else [2]
        page = self.page("live", models=1)
        page.command("parallel", n=100_000)  # warm up
        probe = page.command("parallel", n=2_000_000)["seconds"]
        n = int(2_000_000 * self.s.parallel_seconds / probe)  # one call: about parallel_seconds
        out: dict[str, Any] = {"cores": cores, "steps_per_call": n}
        for calls in pools:
            one = self.page("live", models=calls, workers=1)  # every model in the page's one worker
            alone = one.command("parallel", n=n, calls=1)["seconds"]
            shared = one.command("parallel", n=n)["seconds"]
            pool = self.page("live", models=calls, workers=calls)
            pool.command("parallel", n=100_000)
            spread = pool.command("parallel", n=n)["seconds"]
            out[f"{calls}_calls"] = {"one_call_s": alone, "one_worker_s": shared, f"{calls}_workers_s": spread,
                                     "ratio": ratio(spread, shared)}
        out["target"] = "2 calls in 2 workers <= 0.6 x in 1 worker"
        out["met"] = out["2_calls"]["ratio"] <= 0.6
        return out

    # 13: browser callbacks (issue 20)

    def callbacks(self) -> dict[str, Any]:
        """A watched slider's change to a source's data by a trivial browser callback, against
        a CustomJS doing it (the floor) and a stock server callback doing it, in one page
        (whose document holds a BokehLive, so TCP_NODELAY is on), timed in the page; then a
        burst of changes with a 20 ms callback."""
        if self.driver is None:
            self.driver = new_browser()
        script = self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": JS_WATCH_WORKER})
        try:
            page = self.page("live", models=1, kind="callbacks")
        finally:
            self.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
        self.page_callbacks = page
        paths = ["js", "live", "srv"]
        warm = self.driver.execute_async_script(JS_CALLBACK_PATHS, paths, 10, 10)  # first-use costs out
        if "error" in warm:
            raise CaseError(warm["error"])
        got = self.driver.execute_async_script(JS_CALLBACK_PATHS, paths, self.s.callback_samples, 10)
        if "error" in got:
            raise CaseError(got["error"])
        out: dict[str, Any] = {"samples": self.s.callback_samples, "pause_between_ms": 10,
                               "timer": "performance.now() in the page (100 us steps: the page is not isolated)"}
        names = {"js": "floor_customjs", "live": "browser_callback", "srv": "server_callback"}
        for path, name in names.items():
            self.raw[f"callbacks_{name}"] = [ms / 1000 for ms in got[path]]
            out[name] = percentiles([ms / 1000 for ms in got[path]])
        if got["live_worker"]:
            out["browser_callback"]["page_to_worker_and_back"] = percentiles([ms / 1000 for ms in got["live_worker"]])
        live, srv, js = out["browser_callback"], out["server_callback"], out["floor_customjs"]
        out["ratio_vs_server"] = {k: ratio(live[k], srv[k]) for k in ("p50_ms", "p99_ms")}
        out["above_floor_ms"] = {k: live[k] - js[k] for k in ("p50_ms", "p99_ms")}
        out["burst"] = self.burst()
        out["target"] = ("p50 <= 0.5 x the server callback and <= 2 ms above the CustomJS floor; "
                         "burst of 200 changes with a 20 ms callback: <= 15 calls, the last sees the final value")
        out["met"] = (out["ratio_vs_server"]["p50_ms"] <= 0.5 and out["above_floor_ms"]["p50_ms"] <= 2
                      and out["burst"]["met"])
        return out

    def burst(self) -> dict[str, Any]:
        page, n = self.page_callbacks, self.s.burst_changes
        base = 10**6 * (int(self.driver.execute_script("return window.__bench_value ?? 0")) // 10**6 + 1)
        values = [base + i for i in range(1, n + 1)]
        page.command("live_eval", code="bench_browser.burst_calls.clear()")
        timing = self.driver.execute_async_script(JS_BURST, values)
        if "error" in timing:
            raise CaseError(timing["error"])
        calls = page.command("live_eval", code="list(bench_browser.burst_calls)")["value"]
        busy_ms = 1000 * page.command("live_eval", code="bench_browser.BUSY_S")["value"]
        return {"changes": n, "callback_busy_ms": busy_ms, "calls": len(calls), "values_seen": calls,
                "final_value": values[-1], "last_call_saw": calls[-1] if calls else None,
                "last_saw_final": bool(calls) and calls[-1] == values[-1], "in_order": calls == sorted(calls),
                **timing, "calls_if_one_per_busy_period": timing["drag_ms"] / busy_ms + 1,
                "target": "<= 15 calls; the last sees the final value",
                "met": len(calls) <= 15 and bool(calls) and calls[-1] == values[-1]}

    # 14: calls by reference and shipped modules (issue 21)

    def shipped(self) -> dict[str, Any]:
        out: dict[str, Any] = {"calls": self.by_reference()}
        out["module"] = self.module_first_visit()
        out["target"] = "live.run(fn, x) p50 within 5 % of run_python('fn(x)', x=x)"
        out["met"] = out["calls"]["met"]
        return out

    def by_reference(self) -> dict[str, Any]:
        """``live.run(scale, i)`` against ``run_python("scale(x)", x=i)``, alternating call by
        call in the callbacks page (whose model ships bench_browser.py); then the same in a
        page whose model has ``auto_packages=False`` (no scan of each call's code for imports)."""
        page = getattr(self, "page_callbacks", None) or self.page("live", models=1, kind="callbacks")
        r = page.command("run_by_reference", n=self.s.calls, warmup=20)
        out: dict[str, Any] = {"n": self.s.calls, "wrong_results": r["wrong"], "order": "alternating, call by call"}
        for name in ("run", "run_python"):
            self.raw[f"by_reference_{name}"] = r[name]
            out[name] = percentiles(r[name])
        out["ratio"] = {k: ratio(out["run"][k], out["run_python"][k]) for k in ("p50_ms", "p95_ms", "p99_ms")}
        quiet = self.page("live", models=1, kind="callbacks", auto_packages=0)
        r = quiet.command("run_by_reference", n=self.s.calls, warmup=20)
        out["wrong_results"] += r["wrong"]
        out["no_import_scan"] = {name: percentiles(r[name]) for name in ("run", "run_python")}
        out["no_import_scan"]["ratio"] = {k: ratio(out["no_import_scan"]["run"][k], out["no_import_scan"]["run_python"][k])
                                          for k in ("p50_ms", "p95_ms", "p99_ms")}
        out["target"] = "run p50 within 5 % of run_python p50"
        out["met"] = abs(out["ratio"]["p50_ms"] - 1) <= 0.05
        return out

    def module_first_visit(self) -> dict[str, Any]:
        """Page load to ready with a generated 200 KB module shipped (and imported by the
        model's code), on its first visit and on a second one (same profile, the module from
        the HTTP cache), against the same page without it. Pyodide's files and Python's
        memory snapshot are cached first, so that what differs is the module alone; each
        repetition ships a new version of it (a new content hash: a first visit again)."""
        import tempfile

        if self.driver is not None:  # a quiet machine: no other tab holds a worker meanwhile
            self.driver.quit()
            self.driver = None
        folder = Path(tempfile.mkdtemp(prefix="bench-module-"))
        module = folder / "bench_big.py"
        write_module(module, self.s.module_kb * 1000, 0)
        server = BokehServe(APP, env={"BOKEH_LIVE_NODELAY": "1", "BENCH_MODULE_DIR": str(folder)})
        compile_ms: list[list[float]] = []
        driver = new_browser()
        with_url, without_url = server.url("/bench_app?models=1&big=1"), server.url("/bench_app?models=1")
        try:
            page_load_to_ready(driver, without_url, 1)  # Pyodide's files into the cache; the snapshot made
            wait_for(lambda: snapshot_cached(driver), 60, 0.1, what="the snapshot to be cached")
            page_load_to_ready(driver, with_url, 1)  # first-use costs of the server and the page out
            samples: dict[str, list[float]] = {"without": [], "first_visit": [], "second_visit": []}
            fetched: dict[str, list[list[dict[str, Any]]]] = {"first_visit": [], "second_visit": []}
            for rep in range(self.s.module_reps):
                write_module(module, self.s.module_kb * 1000, rep + 1)  # a new version: not in any cache
                kinds = ["without", "first_visit", "second_visit"]
                for kind in kinds if rep % 2 == 0 else kinds[1:] + kinds[:1]:
                    samples[kind].append(page_load_to_ready(driver, without_url if kind == "without" else with_url, 1))
                    if kind != "without":
                        fetched[kind].append(driver.execute_script(JS_MODULE_ENTRIES))
                    if kind == "second_visit":  # where the time goes: Python's own work on the text
                        compile_ms.append(Page(driver, with_url, 1).command("live_eval", code=PY_MODULE_WORK)["value"])
                print(f"[bench]   shipped module rep {rep + 1}: " + ", ".join(
                    f"{kind} {values[-1]:.0f} ms" for kind, values in samples.items()), flush=True)
        finally:
            driver.quit()
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)
        out: dict[str, Any] = {"reps": self.s.module_reps, "module_bytes": self.s.module_kb * 1000,
                               "samples_ms": samples, "fetched": fetched}
        for kind, values in samples.items():
            out[f"{kind}_ms"] = float(np.median(values))
        for kind in ("first_visit", "second_visit"):
            loads = fetched[kind]
            out[f"{kind}_requests"] = float(np.median([len(load) for load in loads]))
            out[f"{kind}_transfer_bytes"] = float(np.median([sum(e["transfer_bytes"] for e in load) for load in loads]))
            out[f"{kind}_body_bytes"] = float(np.median([sum(e["decoded_bytes"] for e in load) for load in loads]))
            out[f"{kind}_fetch_ms"] = float(np.median([sum(e["duration_ms"] for e in load) for load in loads]))
            out[f"{kind}_cost_ms"] = out[f"{kind}_ms"] - out["without_ms"]
        out["second_visit_from_cache"] = all(e["transfer_bytes"] == 0 for load in fetched["second_visit"] for e in load)
        out["in_the_worker_ms"] = {"find_imports": float(np.median([c[0] for c in compile_ms])),
                                   "compile": float(np.median([c[1] for c in compile_ms]))}
        return out

    # 10: DataFrames (issue 12)

    def frames(self) -> dict[str, Any]:
        """A 10-column DataFrame echoed through the browser as a frame (binary columns)
        against the same rows as JSON records (which must fit one websocket message, so
        they are measured at fewer rows and compared per row)."""
        page = self.page("live", max_message_size=1024 * 1024 * 1024)
        rows_frame = 100_000 if self.s.quick else 1_000_000
        rows_records = 10_000 if self.s.quick else 25_000
        page.command("frame", path="frame", rows=1000)  # first-use costs out
        page.command("frame", path="records", rows=1000)
        frame = min((page.command("frame", path="frame", rows=rows_frame) for _ in range(self.s.data_reps)),
                    key=lambda r: r["seconds"])
        records = min((page.command("frame", path="records", rows=rows_records) for _ in range(self.s.data_reps)),
                      key=lambda r: r["seconds"])
        frame_rate, records_rate = rows_frame / frame["seconds"], rows_records / records["seconds"]
        return {"frame": {**frame, "rows_per_s": frame_rate}, "records": {**records, "rows_per_s": records_rate},
                "ratio": ratio(frame_rate, records_rate)}

    # 8: recovery from runaway code (issue 10)

    def recovery(self) -> dict[str, Any]:
        if self.driver is None:
            self.driver = new_browser()
        out: dict[str, Any] = {"reps": self.s.recovery_reps, "runaway_timeout_s": 1.0}
        for kind, server in (("plain", "live"), ("isolated", "isolated")):
            page = Page(self.driver, self.url(server, models=2), 2).open()
            isolated = self.driver.execute_script("return window.crossOriginIsolated")
            if isolated != (kind == "isolated"):
                raise CaseError(f"the {kind} page has crossOriginIsolated = {isolated}")
            runs = [page.command("runaway", call_timeout=1.0) for _ in range(self.s.recovery_reps)]
            out[kind] = {
                "same_model_ms": 1000 * float(np.median([r["same_s"] for r in runs])),
                "other_model_ms": 1000 * float(np.median([r["other_s"] for r in runs])),
                "namespace_kept": all(r["namespace_kept"] for r in runs),
                "restarts": self.driver.execute_script(JS_VIEW + "return live_view('live0').runtime.restarts"),
            }
        out["target"] = "plain: both models answer <= 2500 ms after the timeout; isolated: <= 200 ms, namespace kept"
        out["met"] = (max(out["plain"]["same_model_ms"], out["plain"]["other_model_ms"]) <= 2500
                      and out["isolated"]["same_model_ms"] <= 200 and out["isolated"]["namespace_kept"])
        out["cycles"] = self.restart_cycles()
        return out

    def restart_cycles(self) -> dict[str, Any]:
        """Runaway calls that each replace the page's worker: do workers or the heap pile up?"""
        script = self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": JS_COUNT_WORKERS})
        try:
            page = Page(self.driver, self.url("live", models=1), 1).open()
            page.command("runaway", call_timeout=0.3)  # first-use costs out of the baseline

            def heap() -> float:
                self.driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
                return float(self.driver.execute_cdp_cmd("Runtime.getHeapUsage", {})["usedSize"])
            before = heap()
            start = time.monotonic()
            for _ in range(self.s.recovery_cycles):
                page.command("runaway", call_timeout=0.3)
            seconds = time.monotonic() - start
            after = heap()
            workers = self.driver.execute_script("return window.__bench_workers")
        finally:
            self.driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": script["identifier"]})
        alive = workers["started"] - workers["terminated"]
        return {"cycles": self.s.recovery_cycles, "seconds": seconds, "workers_started": workers["started"],
                "workers_alive": alive, "heap_before_mb": before / 1e6, "heap_after_mb": after / 1e6,
                "heap_growth": after / before - 1, "target": "1 worker alive; heap growth < 10 %",
                "met": alive == 1 and after / before - 1 < 0.10}

    # 9: hostile clients (issue 11)

    def hostile(self) -> dict[str, Any]:
        """Raw websocket clients (Bokeh's own) attack a real ``bokeh serve`` process while
        another session measures its round trips: what an attack costs everyone else."""
        from benchmarks.raw_client import forge, raw_session

        server = self.server("live")
        url = server.url("/bench_app")
        n = 50 if self.s.quick else 300

        def quiet_latency(attack_seconds: float) -> dict[str, Any]:
            quiet = raw_session(url)
            attacker = None
            if attack_seconds:
                attacker = subprocess.Popen([sys.executable, "-m", "benchmarks.attacker", url, str(attack_seconds)],
                                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
                time.sleep(1.5)  # the flood is under way
            samples = []
            try:
                for _ in range(n):
                    t0 = time.perf_counter()
                    quiet.force_roundtrip()
                    samples.append(time.perf_counter() - t0)
            finally:
                quiet.close()
            out = percentiles(samples)
            if attacker is not None:
                events, _ = attacker.communicate(timeout=attack_seconds + 120)
                out["attack_events"] = int(events.strip() or 0)
            return out

        out: dict[str, Any] = {"round_trips": n}
        out["quiet_alone"] = quiet_latency(0)
        out["during_chunk_flood"] = quiet_latency(3.0 if self.s.quick else 10.0)
        attacker = raw_session(url)
        try:
            empty = [{"blob": f"e{i}", "offset": 0, "size": 0, "data": b""} for i in range(30_000)]
            t0 = time.perf_counter()
            forge(attacker, chunks=empty)
            out["one_event_of_30000_empty_blobs_s"] = time.perf_counter() - t0
        finally:
            attacker.close()
        # 20 connections, each declaring a 64 MiB blob and sending its first 4 MiB chunk.
        rss0 = rss_bytes(server.proc.pid)
        sessions = [raw_session(url) for _ in range(20)]
        try:
            for s in sessions:
                forge(s, chunks=[{"blob": "big", "offset": 0, "size": 64 * 1024 * 1024, "data": b"y" * (4 * 1024 * 1024)}])
            rss1 = rss_bytes(server.proc.pid)
        finally:
            for s in sessions:
                s.close()
        out["memory_20_declaring_64mib"] = {"rss_before_mb": rss0 / 1e6, "rss_after_mb": rss1 / 1e6,
                                            "growth_mb": (rss1 - rss0) / 1e6, "declared_mb": 20 * 64 * 1.048576}
        out["ratio_p99"] = ratio(out["during_chunk_flood"]["p99_ms"], out["quiet_alone"]["p99_ms"])
        out["target"] = "another session's p99 < 50 ms during a flood"
        out["met"] = out["during_chunk_flood"]["p99_ms"] < 50
        return out

    # 6: bundle size

    # 6: what pages load from /static/extensions/, by mode

    def page_weight(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for mode in ("headless", "app", "editor"):
            self.page("live", models=1, mode=mode)
            if mode == "editor":  # CodeMirror comes after the page is ready
                wait_for(lambda: any("bokeh_live_editor" in f for f in loaded_extension_files(self.driver)), 60,
                         what="the editor's bundle")
            files = loaded_extension_files(self.driver)
            out[mode] = {"files": files, "gzip_kb": sum(gzip_kb(f) for f in files if f.endswith(".js")),
                         "worker_gzip_kb": sum(gzip_kb(f) for f in files if f.endswith(".mjs"))}
        out["target"] = "headless <= 30 KB, editor <= 120 KB (gzip -9, the page's scripts)"
        out["met"] = out["headless"]["gzip_kb"] <= 30 and out["editor"]["gzip_kb"] <= 120
        return out

    # 11: through nginx (the docs' recipe: two server processes, sticky) against direct

    def proxy(self) -> dict[str, Any]:
        import tempfile

        port = free_port()
        args = ("--use-xheaders", "--allow-websocket-origin", f"127.0.0.1:{port}")
        backends = [BokehServe(APP, env={"BOKEH_LIVE_NODELAY": "1"}, module="bokeh_live", args=args) for _ in range(2)]
        proxy = None
        root = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
        try:
            proxy = Nginx(port, [b.port for b in backends], root)
            if self.driver is None:
                self.driver = new_browser()
            page = Page(self.driver, proxy.url("bench_app?models=1"), 1).open()
            page.install_bare()
            page.command("live_latency", n=20, warmup=0)
            page.command("live_latency", n=20, warmup=0, marker=True)
            blocks = max(1, min(5, self.s.calls // 100))
            runs: dict[str, list[dict[str, Any]]] = {"live": [], "bare": []}
            for _ in range(blocks):
                runs["live"].append(page.command("live_latency", n=self.s.calls // blocks))
                runs["bare"].append(page.command("live_latency", n=self.s.calls // blocks, marker=True))
            out: dict[str, Any] = {name: percentiles([x for r in rs for x in r["latencies"]]) for name, rs in runs.items()}
            direct = self.raw.get("round_trip_live")
            out["direct"] = percentiles(direct) if direct else None
            out["ratio_vs_direct"] = ratio(out["live"]["p50_ms"], out["direct"]["p50_ms"]) if direct else None
            out["target"] = "no Nagle delay through the proxy: p50 well under 40 ms"
            out["met"] = out["live"]["p50_ms"] < 20
            return out
        finally:
            if proxy is not None:
                proxy.stop()
            for b in backends:
                b.stop()
            shutil.rmtree(root, ignore_errors=True)

    def bundle(self) -> dict[str, Any]:
        import bokeh

        ours = ROOT / "bokeh_live" / "dist" / "bokeh_live.min.js"
        bokeh_js = Path(bokeh.__file__).parent / "server" / "static" / "js"
        out = {"bokeh_live.min.js": sizes_of(ours),
               "bokeh_live_editor.min.js": sizes_of(ROOT / "bokeh_live_editor" / "dist" / "bokeh_live_editor.min.js")}
        base = [sizes_of(bokeh_js / f) for f in ("bokeh.min.js", "bokeh-widgets.min.js")]
        out["baseline"] = {"files": "bokeh.min.js + bokeh-widgets.min.js (what every Bokeh server page loads)",
                           "min_kb": sum(b["min_kb"] for b in base), "gzip_kb": sum(b["gzip_kb"] for b in base)}
        out["ratio_gzip"] = ratio(out["bokeh_live.min.js"]["gzip_kb"], out["baseline"]["gzip_kb"])
        pyodide = ROOT / "bokeh_live" / "dist" / "pyodide"
        out["pyodide_files_mb"] = sum(f.stat().st_size for f in pyodide.iterdir()) / 1e6 if pyodide.exists() else None
        return out

    def sections(self) -> list[tuple[str, Callable[[], dict[str, Any]]]]:
        """Every figure's section, in the order the suite runs them."""
        return [
            ("bundle", self.bundle),
            ("round_trip", self.round_trip),
            ("throughput", self.throughput),  # needs round_trip's page
            ("issue7_vs_stock", self.issue7),  # needs round_trip's page
            ("page_weight", self.page_weight),  # leaves the round-trip page
            ("data", self.data),
            ("server_memory", self.memory),
            ("frames", self.frames),
            ("recovery", self.recovery),
            ("parallel", self.parallel),
            ("callbacks", self.callbacks),
            ("shipped", self.shipped),
            ("hostile", self.hostile),
            ("proxy", self.proxy),
            ("fault_storm", self.fault_storm),
            ("startup", self.startup),
        ]

    def run(self, only: list[str] | None = None) -> dict[str, Any]:
        """Every section, or those named in ``only``."""
        results: dict[str, Any] = {}
        t0 = time.monotonic()
        self.load_at_start = os.getloadavg()
        try:
            for name, fn in self.sections():
                if only is None or name in only:
                    guarded(results, name, fn)
        finally:
            self.close()
        if only is None:
            results["server_cpu"] = server_cpu(results)
        meta = machine(self.s, time.monotonic() - t0, self.load_at_start)
        if only is not None:
            meta["only"] = only
        return {"meta": meta, "figures": results, "raw_ms": {
            k: [round(x * 1000, 3) for x in v] for k, v in self.raw.items()}}


    # 15: a long randomized fault run (issue 22)

    def fault_storm(self) -> dict[str, Any]:
        """Thousands of mixed calls (small values, calls the other way, checksummed arrays
        both ways) from the server app of a page loaded through the tests' fault proxy, while
        the proxy cuts, stalls and slows the link at random (seeded); see benchmarks/storm.py
        and bench_app/storm_page.py. Counts calls, faults, lost calls and corrupted values,
        times each cut to the end of the calls it caught and each reconnection to the first
        answer, and samples the server's RSS against its baseline before the storm. A second
        storm (the next seed) then tells one-time growth from growth that goes on: its memory
        is measured against the memory after the first."""
        import random
        import tempfile

        from benchmarks.storm import FaultLog, LoggingProxy, RssSampler, analyse, inject_faults

        s = self.s
        port = free_port()
        # A token that outlives the storm: Bokeh refuses reconnections with an expired one.
        server = BokehServe(APP, env={"BOKEH_LIVE_NODELAY": "1"}, args=("--allow-websocket-origin", f"127.0.0.1:{port}",
                                                                         "--session-token-expiration", "86400"))
        proxy = LoggingProxy(server.port, port)
        driver = new_browser()
        folder = Path(tempfile.mkdtemp(prefix="bench-storm-"))
        try:
            page = Page(driver, proxy.url("/bench_app?kind=storm"), 1).open()
            # The first visit makes Python's memory snapshot in a background worker: let it finish.
            wait_for(lambda: snapshot_cached(driver), 60, 0.1, what="the snapshot to be cached")
            params = {"seed": s.storm_seed, "sizes_mib": s.storm_sizes_mib, "size_weights": s.storm_size_weights,
                      "grace": s.storm_grace_s}
            warm = page.command("storm_warmup", **params)
            time.sleep(1.0)
            pid = server.proc.pid

            def settled_rss() -> float:
                samples = []
                for _ in range(5):
                    samples.append(rss_bytes(pid))
                    time.sleep(0.2)
                return float(np.median(samples)) / 1e6

            def trimmed_rss() -> float:
                page.command("release_memory")
                time.sleep(0.5)
                return settled_rss()

            rss_before = settled_rss()
            rss_before_trimmed = trimmed_rss()
            driver.execute_script("window.__bench_storm_page = true")  # gone if the page reloads
            log_from = len(server.output())
            tail = 2.0 if s.quick else 5.0  # no fault in the storm's last seconds

            def storm_run(seed: int, seconds: float) -> tuple[dict[str, Any], FaultLog, RssSampler]:
                out_file = folder / f"storm-{seed}.json"
                log = FaultLog()
                t0 = time.monotonic()
                page.post("storm", seconds=seconds, out=str(out_file), **{**params, "seed": seed})
                with RssSampler(pid, rss_bytes) as sampler:
                    inject_faults(proxy, random.Random(seed), t0 + seconds - tail, s.storm_gap_s, log, s.storm_faults)
                    wait_for(out_file.exists, seconds + s.storm_grace_s + 120, 0.2, what="the storm's records")
                storm = json.loads(out_file.read_text())
                if "error" in storm:
                    raise CaseError(f"the storm failed in the app: {storm['error']}\n{storm.get('traceback', '')}")
                time.sleep(2.0)
                return storm, log, sampler

            storm, log, sampler = storm_run(s.storm_seed, s.storm_seconds)
            rss_after = settled_rss()
            rss_after_trimmed = trimmed_rss()
            out = analyse(storm, proxy, log)
            storm2, log2, sampler2 = storm_run(s.storm_seed + 1, s.storm_again_seconds)
            rss_again = settled_rss()
            rss_again_trimmed = trimmed_rss()
            again = analyse(storm2, proxy, log2)
            server_log = server.output()[log_from:].splitlines()
            errors = [line for line in server_log if "ERROR" in line or "Traceback" in line]
            out.update(
                seconds=s.storm_seconds, seed=s.storm_seed, sizes_mib=s.storm_sizes_mib,
                size_weights=s.storm_size_weights, warmup_calls=warm["calls"],
                memory={"rss_before_mb": rss_before, "rss_peak_mb": sampler.peak / 1e6, "rss_after_mb": rss_after,
                        "ratio_after": ratio(rss_after, rss_before), "ratio_peak": ratio(sampler.peak / 1e6, rss_before),
                        "rss_before_trimmed_mb": rss_before_trimmed, "rss_after_trimmed_mb": rss_after_trimmed,
                        "ratio_after_trimmed": ratio(rss_after_trimmed, rss_before_trimmed),
                        "series_mb": [(t, b / 1e6) for t, b in sampler.series],
                        "again": {"seconds": s.storm_again_seconds, "seed": s.storm_seed + 1, "calls": again["calls"],
                                  "lost": again["lost"], "corrupted": again["corrupted"],
                                  "websocket_cuts": again["websocket_cuts"], "rss_peak_mb": sampler2.peak / 1e6,
                                  "rss_after_mb": rss_again, "rss_after_trimmed_mb": rss_again_trimmed,
                                  "ratio_to_first_trimmed": ratio(rss_again_trimmed, rss_after_trimmed),
                                  "ratio_to_before_trimmed": ratio(rss_again_trimmed, rss_before_trimmed)},
                        "measured": "RSS of the bokeh serve process (VmRSS), median of 5 over 1 s; "
                                    "before: after a warm-up of every kind and size, no faults; "
                                    "after: 2 s after the storm's last call; trimmed: then after gc.collect() "
                                    "and glibc's malloc_trim(0) in that process (free memory handed back, "
                                    "but for the tops of threads' arenas, which malloc_trim leaves); "
                                    "again: the same after a second storm (the next seed), which follows the first"},
                page={"statuses": page.statuses(),
                      "reloaded": not driver.execute_script("return window.__bench_storm_page === true"),
                      "answers_at_end": all(v == "ok" for v in out["final"].values())},
                server_log_errors=len(errors), server_log_error_lines=errors[:5],
            )
            out["target"] = ("0 calls lost, 0 values corrupted, the page answers at the end without a reload, "
                             "server RSS after gc and malloc_trim back within 10 % of its baseline")
            out["met"] = (out["lost"] == 0 and out["corrupted"] == 0 and again["lost"] == 0 and again["corrupted"] == 0
                          and out["page"]["answers_at_end"] and not out["page"]["reloaded"]
                          and out["memory"]["ratio_after_trimmed"] <= 1.10)  # (memory in use, as its row says)
            return out
        except Exception as e:  # what the server and the page said, to find out why
            console: list[str] = []
            with contextlib.suppress(Exception):
                console = [entry.get("message", "") for entry in driver.get_log("browser")][-20:]
            raise CaseError(f"{e}\n--- the server's log, last lines:\n{server.output()[-4000:]}"
                            f"\n--- the page's console, last lines:\n" + "\n".join(console)) from e
        finally:
            driver.quit()
            proxy.stop()
            server.stop()
            shutil.rmtree(folder, ignore_errors=True)


def write_module(path: Path, size: int, version: int) -> None:
    """A Python module of about ``size`` bytes (functions with docstrings, as a real one has);
    ``version`` changes its text, so each version has a content hash of its own."""
    parts = [f'"""A generated module of about {size:,} bytes for the benchmarks (version {version})."""\n\n'
             "import math\n"]
    total, i = len(parts[0]), 0
    while total < size:
        parts.append(f"\n\ndef step_{i}(x: float, y: float = {i}.5) -> float:\n"
                     f'    """Step {i} of a made-up pipeline: a little arithmetic on ``x`` and ``y``."""\n'
                     f"    z = math.sin(x) * {i % 97} + y\n"
                     "    return z / (1 + abs(x))\n")
        total += len(parts[-1])
        i += 1
    path.write_text("".join(parts))


def loaded_extension_files(driver: Any) -> list[str]:
    """What the page has fetched from /static/extensions/, Pyodide's files left out, each once
    (a snapshot's maker fetches the worker's file again, from the cache)."""
    return driver.execute_script("""
        return [...new Set(performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname)
          .filter((p) => p.startsWith("/static/extensions/") && !p.includes("/pyodide/"))
          .map((p) => p.slice("/static/extensions/".length)))]""")


def gzip_kb(served: str) -> float:
    """Gzipped (level 9) size of a file served at /static/extensions/<served>."""
    extension, name = served.split("/", 1)
    return len(gzip.compress((ROOT / extension / "dist" / name).read_bytes(), 9)) / 1024


def page_load_to_ready(driver: Any, url: str, models: int) -> float:
    """Milliseconds from navigation start to Pyodide ready (every model's status "ready")."""
    driver.get(url)
    ready = wait_for(lambda: driver.execute_script("return window.__bench_error || window.__bench_ready"),
                     PYODIDE_TIMEOUT, 0.1, what=f"{url} to be ready")
    if isinstance(ready, str):
        raise CaseError(ready)
    if models:
        statuses = Page(driver, url, models).statuses()
        if statuses is None or any(s != "ready" for s in statuses):
            raise CaseError(f"not every model is ready: {statuses}")
    return float(ready)


def snapshot_cached(driver: Any) -> bool:
    """Whether the page's origin has a memory snapshot of Python cached (bokehjs_ext/worker.ts)."""
    return bool(driver.execute_async_script("""
        const done = arguments[arguments.length - 1]
        caches.open("bokeh-live-snapshots").then((c) => c.keys()).then((keys) => done(keys.length > 0), () => done(false))
    """))


def browser_log(driver: Any) -> list[str]:
    """The page's console messages since the last call (BokehJS logs websocket closes there)."""
    try:
        return [entry.get("message", "") for entry in driver.get_log("browser")]
    except Exception:
        return []


def sizes_of(path: Path) -> dict[str, float]:
    data = path.read_bytes()
    return {"min_kb": len(data) / 1024, "gzip_kb": len(gzip.compress(data, 9)) / 1024}


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def server_cpu(results: dict[str, Any]) -> dict[str, Any]:
    """Server process CPU per call, from the series above (time.process_time in the app)."""
    rt, tp, i7 = (results.get(k, {}) for k in ("round_trip", "throughput", "issue7_vs_stock"))
    try:
        out = {
            "run_python_sequential_ms": rt["live"]["server_cpu_ms_per_call"],
            "bare_event_sequential_ms": rt["bare"]["server_cpu_ms_per_call"],
            "run_python_in_flight_ms": tp["live"]["server_cpu_ms_per_call"],
            "bare_event_in_flight_ms": tp["bare"]["server_cpu_ms_per_call"],
            "stock_property_round_trip_ms": i7["stock_first"]["server_cpu_ms_per_call"],
        }
    except (KeyError, TypeError) as e:
        return {"error": f"a series it is drawn from failed ({e!r})"}
    out["ratio_sequential_vs_stock"] = ratio(out["run_python_sequential_ms"], out["stock_property_round_trip_ms"])
    out["ratio_in_flight_vs_stock"] = ratio(out["run_python_in_flight_ms"], out["stock_property_round_trip_ms"])
    return out


def machine(s: Settings, seconds: float, load_at_start: tuple[float, ...]) -> dict[str, Any]:
    def run(*cmd: str) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    import bokeh
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": s.quick, "settings": asdict(s), "seconds": round(seconds, 1),
        "nproc": os.cpu_count(), "cpu": cpu, "memory": run("free", "-h").splitlines()[1:2],
        "load_average_at_start": load_at_start, "load_average_at_end": os.getloadavg(), "chromium": run(shutil.which("chromium") or "chromium", "--version"),
        "python": platform.python_version(), "bokeh": bokeh.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts and 1 MB arrays (about a minute)")
    parser.add_argument("--max-mb", type=float, default=None, help="largest array size for the data figure, in MB")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder for results.json and results.png")
    parser.add_argument("--only", action="append", metavar="SECTION",
                        help="run only this section (repeatable), e.g. --only fault_storm; see Suite.sections")
    args = parser.parse_args(argv)

    from benchmarks.report import plot, table

    settings = Settings.make(args.quick, args.max_mb)
    known = [name for name, _ in Suite(settings).sections()]
    unknown = [name for name in args.only or [] if name not in known]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; the sections are {known}")
    results = Suite(settings).run(args.only)
    args.output.mkdir(parents=True, exist_ok=True)
    results["table"] = table(results)
    (args.output / "results.json").write_text(json.dumps(results, indent=1, default=str))
    print()
    print(render_table(results["table"]))
    print(f"\n[bench] {args.output / 'results.json'}")
    png = plot(results, args.output / "results.png")
    print(f"[bench] {png}" if png else "[bench] no plot (matplotlib is not installed)")
    return 0


def render_table(rows: list[dict[str, Any]]) -> str:
    from benchmarks.report import markdown_table
    return markdown_table(rows)


if __name__ == "__main__":
    sys.exit(main())
