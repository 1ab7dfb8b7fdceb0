"""The app the benchmarks drive, served by ``bokeh serve benchmarks/bench_app``.

Query arguments pick the page:

- ``kind=live`` (default): ``models`` BokehLive models called ``live0``, ``live1``...
  (``max_message_size`` raises their limit for the data cases; ``snapshot=0`` starts
  Python without a memory snapshot; ``auto_packages=0`` turns off the scan of code for
  imports);
- ``kind=stock``: no BokehLive, and ``bokeh_live`` is never imported, so a server that
  serves only these pages is a stock Bokeh server (no extension bundle, no TCP_NODELAY);
- ``kind=callbacks``: one BokehLive (``live0``) that ships ``bench_browser.py`` and watches
  sliders, and three ways from a slider's change to a source's data (figure 13): a
  ``CustomJS`` (``slider_js`` -> ``source_js``), a browser callback (``slider_live`` ->
  ``source_live``) and a server ``on_change`` (``slider_srv`` -> ``source_srv``); and
  ``slider_burst`` -> ``source_burst`` for the burst, whose browser callback takes 20 ms.
  A ``CustomJS`` on each source's ``data`` calls ``window.__bench_stamp(name, y)`` when the
  page has one, so that the driver times each path in the page;
- ``kind=live&big=1``: the live page whose model also ships ``bench_big.py`` from the folder
  named by ``BENCH_MODULE_DIR`` (written by the driver) and imports it (figure 14);
- ``kind=storm``: one BokehLive (``live0``) for the fault storm (figure 15, see
  ``storm_page.py``): its code defines ``digest``, it exposes ``double`` to the browser, and
  its ``max_message_size`` takes 64 MiB arrays.

Every page also holds two Divs for a stock property round trip (the server sets ``src``,
a ``CustomJS`` copies it to ``dst``, the server sees ``dst`` change) and two hidden Divs
that carry commands from the benchmark driver (``bench_cmd``, JSON set from the page)
and their results (``bench_out``). Timings are taken here, on the server, around the
awaited calls; the driver only starts them and collects the numbers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from bokeh.document import without_document_lock
from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import CustomJS, Div

#: run_python code that the page's benchmark hook answers without the worker (the bare
#: Bokeh event round trip). Never valid Python on purpose.
MARKER = "<bokeh-live-bench-bare>"

doc = curdoc()
request_args = doc.session_context.request.arguments if doc.session_context else {}


def arg(name: str, default: str) -> str:
    values = request_args.get(name)
    return values[0].decode() if values else default


kind = arg("kind", "live")
lives: list[Any] = []
widgets: list[Any] = []
if kind in ("live", "callbacks", "storm"):
    from bokeh_live import BokehLive, LiveError  # only here: stock pages must not load the extension

    extra: dict[str, Any] = {"snapshot": arg("snapshot", "1") == "1", "auto_packages": arg("auto_packages", "1") == "1"}
    if arg("max_message_size", ""):
        extra["max_message_size"] = int(arg("max_message_size", "0"))
    workers = int(arg("workers", "1"))  # models spread over this many workers of the page
    count = int(arg("models", "1"))
    codes = [""] * count
    extra_first: dict[str, Any] = {}  # for the first model only
    if kind == "callbacks":
        # Both beside this file (bokeh serve puts its folder on sys.path while the script runs).
        import bench_browser
        from callbacks_page import CALLBACKS_CODE, callbacks_widgets

        codes[0] = CALLBACKS_CODE
        extra_first = {"modules": [bench_browser], "watch": {"slider_live": ["value"], "slider_burst": ["value"]},
                       "allow_update": {"source_live": ["data"], "source_burst": ["data"]}}
        widgets = callbacks_widgets()
    elif kind == "storm":
        import storm_page  # beside this file, as bench_browser

        codes[0] = storm_page.STORM_CODE
        extra["max_message_size"] = storm_page.MAX_MESSAGE_SIZE
    elif arg("big", "0") == "1":
        codes[0] = "import bench_big"
        extra_first = {"modules": [Path(os.environ["BENCH_MODULE_DIR"]) / "bench_big.py"]}
    lives = [BokehLive(name=f"live{i}", mode=arg("mode", "app"), code=codes[i], height=60, worker=f"w{i % workers}",
                       **extra, **(extra_first if i == 0 else {}))
             for i in range(count)]
    # The page notes when every model is ready (page-load start-up time, read by the driver).
    ready_hook = CustomJS(args=dict(models=lives), code="""
        if (window.__bench_ready == null && models.every((m) => m.status == "ready")) {
          window.__bench_ready = performance.now()
        }""")
    for live in lives:
        live.js_on_change("status", ready_hook)
    if kind == "storm":
        storm_page.setup(lives[0], doc)

src = Div(name="src", text="")
dst = Div(name="dst", text="")
src.js_on_change("text", CustomJS(args=dict(dst=dst), code="dst.text = cb_obj.text"))
cmd = Div(name="bench_cmd", text="", visible=False)
out = Div(name="bench_out", text="", visible=False)
doc.add_root(column(*lives, *widgets, src, dst, cmd, out))
doc.title = f"bokeh_live benchmark ({kind})"

loop_futures: dict[str, asyncio.Future[None]] = {}


def on_dst(attr: str, old: str, new: str) -> None:
    future = loop_futures.pop(new, None)
    if future is not None and not future.done():
        future.set_result(None)


dst.on_change("text", on_dst)

#: Arrays for the data cases, made once per size and dropped when the size is done.
arrays: dict[int, np.ndarray] = {}


def cpu() -> float:
    return time.process_time()


# --- the measurements --------------------------------------------------------------------

async def op_live_latency(p: dict[str, Any]) -> dict[str, Any]:
    live = lives[p.get("model", 0)]
    marker = p.get("marker", False)
    code = MARKER if marker else "1"
    expected = None if marker else 1
    wrong = 0
    for _ in range(p.get("warmup", 0)):
        await live.run_python(code)
    latencies = []
    cpu0, wall0 = cpu(), time.perf_counter()
    for _ in range(p["n"]):
        t0 = time.perf_counter()
        result = await live.run_python(code, timeout=30)
        latencies.append(time.perf_counter() - t0)
        wrong += result != expected
    return {"latencies": latencies, "cpu_s": cpu() - cpu0, "wall_s": time.perf_counter() - wall0, "wrong": wrong}


async def op_live_throughput(p: dict[str, Any]) -> dict[str, Any]:
    live = lives[p.get("model", 0)]
    code = MARKER if p.get("marker", False) else "i"
    errors: list[str] = []

    async def one(i: int) -> bool | None:
        try:
            return await live.run_python(code, timeout=p.get("timeout", 120), i=i) == i
        except Exception as e:
            errors.append(repr(e))
            return None

    cpu0, wall0 = cpu(), time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(p["n"])))
    wall = time.perf_counter() - wall0
    return {"n": p["n"], "wall_s": wall, "cpu_s": cpu() - cpu0, "lost": results.count(None),
            "mismatched": results.count(False), "errors": errors[:5]}


async def op_stock_latency(p: dict[str, Any]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    latencies = []
    base = f"{time.time_ns()}-"

    async def one(i: int) -> float:
        value = f"{base}{i}"
        future = loop_futures[value] = loop.create_future()
        t0 = time.perf_counter()
        # Setting a property needs the document lock: the same next-tick hop run_python takes.
        doc.add_next_tick_callback(lambda: setattr(src, "text", value))
        await asyncio.wait_for(future, 30)
        return time.perf_counter() - t0

    for i in range(p.get("warmup", 0)):
        await one(-1 - i)
    cpu0, wall0 = cpu(), time.perf_counter()
    for i in range(p["n"]):
        latencies.append(await one(i))
    return {"latencies": latencies, "cpu_s": cpu() - cpu0, "wall_s": time.perf_counter() - wall0, "wrong": 0}


ECHO_BASE64 = "import base64\nbase64.b64encode(base64.b64decode(s)).decode()"


async def op_data(p: dict[str, Any]) -> dict[str, Any]:
    """Send a float64 array of ``mb`` megabytes (10**6 bytes) and get it back, one way of three."""
    live = lives[p.get("model", 0)]
    nbytes = int(p["mb"] * 1_000_000)
    if nbytes not in arrays:
        arrays.clear()
        arrays[nbytes] = np.random.default_rng(nbytes).random(nbytes // 8)
    array = arrays[nbytes]
    path, timeout = p["path"], p.get("timeout_s", 180)
    t0 = time.perf_counter()
    if path == "binary":
        back = await live.run_python("a", a=array, timeout=timeout)
    elif path == "base64":
        text = base64.b64encode(array.tobytes()).decode()
        echoed = await live.run_python(ECHO_BASE64, s=text, timeout=timeout)
        back = np.frombuffer(base64.b64decode(echoed), dtype=np.float64)
    elif path == "list":
        back = np.array(await live.run_python("a", a=array.tolist(), timeout=timeout), dtype=np.float64)
    else:
        raise ValueError(f"unknown data path {path!r}")
    seconds = time.perf_counter() - t0
    same = isinstance(back, np.ndarray) and back.dtype == np.float64 and np.array_equal(back, array)
    if not same:
        raise AssertionError(f"the {path} echo came back different ({type(back).__name__})")
    return {"seconds": seconds, "bytes": int(array.nbytes)}


def sample_frame(rows: int) -> Any:
    """Ten columns of the kinds apps send: floats, ints, flags, times, strings, categories."""
    import pandas as pd

    rng = np.random.default_rng(rows)
    return pd.DataFrame({
        "f8": rng.standard_normal(rows), "f4": rng.standard_normal(rows).astype("float32"),
        "i8": rng.integers(-(2**40), 2**40, rows), "i4": rng.integers(-1000, 1000, rows, dtype=np.int32),
        "u1": rng.integers(0, 255, rows, dtype=np.uint8), "flag": rng.random(rows) > 0.5,
        "when": pd.date_range("2026-01-01", periods=rows, freq="s"),
        "took": pd.to_timedelta(rng.integers(0, 10**9, rows), unit="ns"),
        "name": [f"row-{i}" for i in range(rows)],
        "kind": pd.Categorical(rng.choice(["low", "mid", "high"], rows)),
    })


async def op_frame(p: dict[str, Any]) -> dict[str, Any]:
    """A DataFrame of ``rows`` rows echoed through the browser, as a DataFrame (binary
    columns) or as the JSON records an app would send without bokeh_live's frames."""
    import pandas as pd

    live = lives[p.get("model", 0)]
    df = sample_frame(p["rows"])
    t0 = time.perf_counter()
    if p["path"] == "frame":
        back = await live.run_python("df", df=df, timeout=p.get("timeout_s", 300))
        same = back.equals(df)
    else:
        records = json.loads(df.to_json(orient="records", date_format="iso", date_unit="ns"))
        echoed = await live.run_python("records", records=records, timeout=p.get("timeout_s", 300))
        back = pd.DataFrame.from_records(echoed)
        same = len(back) == len(df) and list(back.columns) == list(df.columns)
    seconds = time.perf_counter() - t0
    if not same:
        raise AssertionError(f"the {p['path']} echo of {p['rows']} rows came back different")
    return {"seconds": seconds, "rows": p["rows"]}


async def op_runaway(p: dict[str, Any]) -> dict[str, Any]:
    """A runaway call of the first model times out; then the time until that model and the
    last one answer again, counted from the TimeoutError, and whether the namespace survived."""
    first, other = lives[0], lives[-1]
    token = secrets.token_hex(8)  # a value no code run again after a restart would set
    await first.run_python(f"x = {token!r}", timeout=60)
    try:
        await first.run_python("while True:\n    pass", timeout=p.get("call_timeout", 1.0))
        raise AssertionError("the runaway call returned")
    except TimeoutError:
        pass
    t0 = time.perf_counter()

    async def answer(live: Any, code: str) -> tuple[float, Any]:
        # A call that reaches the old worker fails at once with "restarted": as an app would, retry.
        while True:
            try:
                result = await live.run_python(code, timeout=60)
                return time.perf_counter() - t0, result
            except LiveError as e:
                if "restarted" not in str(e):
                    raise

    (same_s, x), (other_s, _) = await asyncio.gather(answer(first, "globals().get('x')"), answer(other, "1"))
    return {"same_s": same_s, "other_s": other_s, "namespace_kept": x == token}


async def op_parallel(p: dict[str, Any]) -> dict[str, Any]:
    """The same CPU-bound call (``n`` steps of a loop, no awaits) on the first ``calls``
    models at once: the wall time until all ended."""
    busy = "total = 0\nfor i in range(n):\n    total += i * i\ntotal"
    chosen = lives[:p.get("calls", len(lives))]
    t0 = time.perf_counter()
    await asyncio.gather(*(live.run_python(busy, n=p["n"], timeout=300) for live in chosen))
    return {"seconds": time.perf_counter() - t0, "calls": len(chosen)}


async def op_live_eval(p: dict[str, Any]) -> dict[str, Any]:
    """The value of ``code`` run in the first model (what the browser's callbacks saw)."""
    return {"value": await lives[0].run_python(p["code"], timeout=p.get("timeout", 30))}


async def op_run_by_reference(p: dict[str, Any]) -> dict[str, Any]:
    """``live.run(scale, i)`` against ``run_python("scale(x)", x=i)``, the same function of the
    shipped ``bench_browser`` module, alternating call by call (which goes first alternates too)."""
    import bench_browser

    live = lives[0]

    async def by_reference(i: int) -> Any:
        return await live.run(bench_browser.scale, i)

    async def by_code(i: int) -> Any:
        return await live.run_python("scale(x)", x=i, timeout=30)

    series: dict[str, list[float]] = {"run": [], "run_python": []}
    wrong = 0
    for i in range(p.get("warmup", 10) + p["n"]):
        pair = (("run", by_reference), ("run_python", by_code))
        for name, call in pair if i % 2 == 0 else pair[::-1]:
            t0 = time.perf_counter()
            result = await call(i)
            seconds = time.perf_counter() - t0
            wrong += result != bench_browser.scale(i)
            if i >= p.get("warmup", 10):
                series[name].append(seconds)
    return {**series, "wrong": wrong}


async def op_storm(p: dict[str, Any]) -> dict[str, Any]:
    """Figure 15: the fault storm's calls (storm_page.py); the records go to ``p["out"]``."""
    return await storm_page.op_storm(lives[0], p)


async def op_storm_warmup(p: dict[str, Any]) -> dict[str, Any]:
    return await storm_page.warmup(lives[0], p)


async def op_release_memory(p: dict[str, Any]) -> dict[str, Any]:
    return storm_page.release_memory()


async def op_drop_arrays(p: dict[str, Any]) -> dict[str, Any]:
    arrays.clear()
    return {}


OPS = {
    "live_latency": op_live_latency,
    "live_throughput": op_live_throughput,
    "stock_latency": op_stock_latency,
    "data": op_data,
    "drop_arrays": op_drop_arrays,
    "runaway": op_runaway,
    "frame": op_frame,
    "parallel": op_parallel,
    "live_eval": op_live_eval,
    "run_by_reference": op_run_by_reference,
    "storm": op_storm,
    "storm_warmup": op_storm_warmup,
    "release_memory": op_release_memory,
}


# --- the command channel -----------------------------------------------------------------

def publish(result: dict[str, Any]) -> None:
    text = json.dumps(result)
    doc.add_next_tick_callback(lambda: setattr(out, "text", text))


def on_cmd(attr: str, old: str, new: str) -> None:
    try:
        command = json.loads(new)
    except ValueError:
        return

    @without_document_lock
    async def run() -> None:
        # Unlocked: run_python must be awaited outside the document lock.
        try:
            result = await OPS[command["op"]](command)
            publish({"id": command["id"], "ok": True, "result": result})
        except BaseException as e:
            publish({"id": command["id"], "ok": False, "error": f"{type(e).__name__}: {e}",
                     "traceback": traceback.format_exc(limit=5)})

    doc.add_next_tick_callback(run)


cmd.on_change("text", on_cmd)
