"""Capacity: how many pages one Bokeh server process holds, and how many calls a second it
answers with the p99 round trip under 50 ms; then 2 processes, and the nginx recipe in front
of 1 and 2.

    python -m benchmarks.capacity            # the full plan (about 15 minutes here)
    python -m benchmarks.capacity --quick    # 30 pages, two short steps per setup (about 35 s)

No browser takes part: :class:`Page` speaks the page's side of Bokeh's websocket protocol
itself, as BokehJS and bokeh_live's view would for a page whose Python is ready: it opens a
session (the server runs the app, ``benchmarks/capacity_app``), pulls the document, says its
view is there and its status ``ready``, answers every ``run_python`` with the value ``1``
and echoes ``send`` data as ``output``. One process of these holds thousands of pages, and
the driver (``Load``) keeps them open in a process of their own for as long as a setup lasts.

Every held page's session calls ``run_python("1")`` once per period, on a fixed schedule
from a random phase, and records each round trip as the server sees it. The driver changes
the period while the pages stay open (so a rate is calls/s of all pages together), waits,
and reads the round trips that ended in its measuring window. A rate is sustained when the
p99 round trip is under 50 ms and no call failed: :func:`search` doubles the rate from 100
calls/s until one is not, then halves the gap twice; a step that fails while other work on
the machine took a quarter of a core or more is measured once more.
Each step reports calls/s answered, p50/p99/max round trip, failed calls, the CPU (cores) of
the server processes, of nginx and of the load generator, server CPU per call and the
server's RSS, and what held the server's event loop up: full garbage collections (count and
longest) and stalls (a 10 ms timer more than 20 ms late). Idle pages (no calls) held by a
fresh process give RSS per session and the length of a full collection; py-spy, if
installed, samples a saturated process. Last, 1,000 pages calling 100 and 250 times a second
for 30 s each, with the garbage collector as shipped and with ``gc.set_threshold(700, 10,
1000)``: full collections, not the CPU, are what first breaks the p99 of a process holding
many pages, and an 8 s window does not always hold one.

Timings are this machine's (2 cores shared with other work): the load generator and nginx
run on the same cores as the server, which the CPU columns show. ``capacity.json`` in the
output folder holds every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from harness import NGINX_RECIPE, free_port, listening, wait_for  # noqa: E402

APP = Path(__file__).resolve().parent / "capacity_app"
OUTPUT = Path(__file__).resolve().parent / "output"
LIVE = re.compile(r'"name":"bokeh_live\.live\.BokehLive","id":"([^"]+)"')

# --- the load generator: pages without a browser ---------------------------------------------------


class Page:
    """One page's websocket, speaking for a BokehLive view whose Python is ready."""

    def __init__(self, ws_url: str, source_ip: str | None) -> None:
        self.ws_url, self.source_ip = ws_url, source_ip
        self.ids = (f"c{n}" for n in itertools.count())
        self.answered = 0
        self.ws: Any = None

    async def open(self) -> None:
        from bokeh.util.token import generate_jwt_token, generate_session_id
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        token = generate_jwt_token(generate_session_id())
        request = HTTPRequest(self.ws_url, network_interface=self.source_ip, connect_timeout=120,
                              request_timeout=120)
        self.ws = await websocket_connect(request, subprotocols=["bokeh", token], max_message_size=20 * 2**20)
        self.ws.protocol.set_nodelay(True)  # as a browser's: no 40 ms of Nagle's algorithm
        await self.read()  # ACK
        await self.write("PULL-DOC-REQ", {})
        _, content = await self.read()
        match = LIVE.search(content)
        if match is None:
            raise RuntimeError("no BokehLive in the document")
        self.model = match.group(1)
        # What the view does when it starts: an empty batch (the view is there), then its status.
        await self.write("PATCH-DOC", {"events": [self.event([]), *(
            {"kind": "ModelChanged", "model": {"id": self.model}, "attr": "status", "new": status}
            for status in ("loading", "ready"))]})

    def event(self, messages: list[Any]) -> dict[str, Any]:
        values = {"type": "map", "entries": [["model", {"id": self.model}], ["messages", messages], ["chunks", []]]}
        return {"kind": "MessageSent", "msg_type": "bokeh_event",
                "msg_data": {"type": "event", "name": "bokeh_live_client", "values": values}}

    async def write(self, msgtype: str, content: dict[str, Any]) -> None:
        await self.ws.write_message(json.dumps({"msgid": next(self.ids), "msgtype": msgtype}))
        await self.ws.write_message("{}")
        await self.ws.write_message(json.dumps(content, separators=(",", ":")))

    async def read(self) -> tuple[dict[str, Any], str]:
        header_text = await self.ws.read_message()
        if header_text is None:
            raise ConnectionError("closed")
        header = json.loads(header_text)
        await self.ws.read_message()  # metadata
        content = await self.ws.read_message()
        for _ in range(2 * int(header.get("num_buffers", 0))):
            await self.ws.read_message()
        return header, content

    async def serve(self) -> None:
        """Answer the server until the connection closes."""
        while True:
            header, content = await self.read()
            if header["msgtype"] != "PATCH-DOC" or "bokeh_live_server" not in content:
                continue
            replies = []
            for event in json.loads(content)["events"]:
                data = event.get("msg_data") or {}
                if data.get("name") != "bokeh_live_server":
                    continue
                for message in dict(data["values"]["entries"])["messages"]:
                    fields = dict(message["entries"]) if message.get("type") == "map" else message
                    # (A dict travels as Bokeh's map: a JSON object with a "type" is one of its own.)
                    if fields.get("type") == "run_python":
                        replies.append({"type": "map", "entries": [["type", "run_python_result"],
                                                                   ["request_id", fields["request_id"]], ["result", 1]]})
                    elif fields.get("type") == "server_data":
                        replies.append({"type": "map", "entries": [["type", "output"], ["data", fields.get("data")]]})
            if replies:
                self.answered += len(replies)
                await self.write("PATCH-DOC", {"events": [self.event(replies)]})


async def hold(url: str, sessions: int, sources: int, concurrency: int = 4) -> dict[str, Any]:
    """Open ``sessions`` pages (from ``sources`` loopback networks, 127.0.k.1, so that a
    proxy sticky by client address spreads them), print a line when they are open, answer
    the server until standard input closes, then close them and print what happened."""
    ws_url = url.replace("http://", "ws://").rstrip("/") + "/ws"
    pages = [Page(ws_url, f"127.0.{1 + i % sources}.1" if sources > 1 else None) for i in range(sessions)]
    gate = asyncio.Semaphore(concurrency)
    failed: list[str] = []
    lost: list[str] = []
    closing = False

    async def start(page: Page) -> None:
        async with gate:
            try:
                await page.open()
            except Exception as e:
                failed.append(repr(e)[:200])
                return
        try:
            await page.serve()
        except Exception as e:
            if not closing:
                lost.append(repr(e)[:200])

    began = time.monotonic()
    tasks = [asyncio.ensure_future(start(page)) for page in pages]
    while sum(hasattr(p, "model") for p in pages) + len(failed) < sessions:
        await asyncio.sleep(0.1)
    opened = time.monotonic() - began
    print(json.dumps({"opened": sessions - len(failed), "open_seconds": round(opened, 2)}), flush=True)
    await asyncio.to_thread(sys.stdin.read)
    closing = True
    for page in pages:
        if page.ws is not None:
            page.ws.close()
    for task in tasks:
        task.cancel()
    return {"opened": sessions - len(failed), "failed": len(failed), "lost": len(lost),
            "errors": (failed + lost)[:3], "answered": sum(p.answered for p in pages)}


def client_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capacity client")
    parser.add_argument("url")
    parser.add_argument("sessions", type=int)
    parser.add_argument("--sources", type=int, default=1)
    args = parser.parse_args(argv)
    result = asyncio.run(hold(args.url, args.sessions, args.sources))
    print(json.dumps(result), flush=True)
    return 0


# --- the driver ------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine_busy() -> float:
    """CPU seconds all cores of the machine have been busy (``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # (less idle and iowait)


def family(pid: int) -> list[int]:
    """``pid`` and its descendants (the processes --num-procs forks)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        todo.extend(map(int, children))
    return out


class Server:
    """``python -m bokeh_live serve benchmarks/capacity_app --metrics`` on a free port; its
    sessions call at the period written to ``folder`` (shared by the servers of one setup)."""

    def __init__(self, procs: int, folder: Path, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log = open(folder / f"server-{self.port}.log", "w")  # noqa: SIM115
        env = {**os.environ, **(env or {}), "CAPACITY_DIR": str(folder),
               "PROMETHEUS_MULTIPROC_DIR": tempfile.mkdtemp(prefix="capacity-metrics-", dir=folder)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bokeh_live", "serve", str(APP), "--metrics", "--port", str(self.port),
             "--address", "127.0.0.1", "--allow-websocket-origin", "*", "--num-procs", str(procs),
             "--log-level", "warning"], stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        wait_for(lambda: listening(self.proc, self.port, lambda: "the server exited"), 60, what="the server")
        wait_for(lambda: len(self.pids()) >= procs, 30, what="its processes")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/capacity_app"

    def pids(self) -> list[int]:
        every = family(self.proc.pid)
        return every[1:] if len(every) > 1 else every  # the workers, not --num-procs' waiting parent

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


class Proxy:
    """nginx with the deployment recipe (examples/deploy/nginx.conf) in front of ``backends``,
    with room for thousands of connections."""

    def __init__(self, backends: list[int], folder: Path) -> None:
        self.port = free_port()
        recipe = NGINX_RECIPE.read_text().replace("listen 80;", f"listen 127.0.0.1:{self.port};")
        recipe = recipe.replace("/var/cache/nginx/bokeh_live", str(folder / "cache"))
        upstream = "".join(f"    server 127.0.0.1:{port};\n" for port in backends)
        recipe = re.sub(r"(    server 127\.0\.0\.1:500[67];\n)+", upstream, recipe)
        user = "user root;" if os.geteuid() == 0 else ""
        (folder / "nginx.conf").write_text(f"""{user}
daemon off; worker_processes 1; worker_rlimit_nofile 30000; pid {folder}/nginx.pid; error_log {folder}/error.log;
events {{ worker_connections 20000; }}
http {{ include /etc/nginx/mime.types; access_log off; client_body_temp_path {folder}/body;
proxy_temp_path {folder}/proxy; {recipe} }}
""")
        self.proc = subprocess.Popen(["/usr/sbin/nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for(lambda: listening(self.proc, self.port, lambda: (folder / "error.log").read_text()), 30,
                 what="nginx")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/capacity_app"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


class Load:
    """A load generator process holding ``sessions`` pages open through ``url`` until closed."""

    def __init__(self, url: str, sessions: int, sources: int = 1) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.capacity", "client", url, str(sessions),
                                      "--sources", str(sources)], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        if not line:
            raise RuntimeError("the load generator exited before its pages were open")
        self.ready = json.loads(line)

    def close(self) -> dict[str, Any]:
        self.proc.stdin.close()  # type: ignore[union-attr]
        summary = json.loads(self.proc.stdout.readline() or "{}")  # type: ignore[union-attr]
        self.proc.wait(60)
        return summary


class Setup:
    """Servers (and maybe nginx) whose sessions share one call period, the pages held
    against them, and measurements of windows of their calls."""

    def __init__(self, name: str, folder: Path, servers: list[Server], proxy: Proxy | None = None,
                 sources: int = 1) -> None:
        self.name, self.folder, self.servers, self.proxy, self.sources = name, folder, servers, proxy, sources
        self.loads: list[Load] = []
        #: What each load generator said when it closed: pages opened, failed to open, lost.
        self.summaries: list[dict[str, Any]] = []
        self.set_period(0)

    @property
    def url(self) -> str:
        return self.proxy.url if self.proxy else self.servers[0].url

    @property
    def sessions(self) -> int:
        return sum(load.ready["opened"] for load in self.loads)

    def server_pids(self) -> list[int]:
        return [pid for server in self.servers for pid in server.pids()]

    def set_period(self, seconds: float) -> None:
        (self.folder / "period.tmp").write_text(repr(seconds))
        (self.folder / "period.tmp").replace(self.folder / "period")

    def hold(self, sessions: int) -> dict[str, Any]:
        """Open ``sessions`` more pages (idle until a rate is set)."""
        load = Load(self.url, sessions, self.sources)
        self.loads.append(load)
        return load.ready

    def release(self) -> None:
        while self.loads:
            self.summaries.append(self.loads.pop().close())

    def stop(self) -> dict[str, Any]:
        """Close the pages and stop the processes; what became of the pages."""
        with contextlib.suppress(Exception):
            self.release()
        if self.proxy:
            self.proxy.stop()
        for server in self.servers:
            server.stop()
        return {"setup": self.name, **{key: sum(s.get(key, 0) for s in self.summaries)
                                       for key in ("opened", "failed", "lost", "answered")},
                "errors": [e for s in self.summaries for e in s.get("errors", [])][:3]}

    def measure(self, rate: float, seconds: float, warmup: float) -> dict[str, Any]:
        """All held pages together call ``rate`` times a second; after ``warmup``, measure
        ``seconds`` of it."""
        self.set_period(self.sessions / rate)
        time.sleep(warmup)
        server_pids = self.server_pids()
        proxy_pids = family(self.proxy.proc.pid) if self.proxy else []
        client_pids = [load.proc.pid for load in self.loads]
        cpu0 = {pid: cpu_seconds(pid) for pid in [*server_pids, *proxy_pids, *client_pids]}
        busy0, start = machine_busy(), time.time()
        time.sleep(seconds)
        busy, end = machine_busy() - busy0, time.time()
        cpu = {pid: cpu_seconds(pid) - before for pid, before in cpu0.items()}
        server_rss = sum(map(rss, server_pids))
        time.sleep(0.6)  # the servers write their round trips four times a second
        by_process = round_trips(self.folder, start, end)
        trips = [t for pid in server_pids for t in by_process.get(pid, [])]
        ok = sorted(t for t in trips if t >= 0)
        q = statistics.quantiles(ok, n=100, method="inclusive") if len(ok) >= 2 else [math.nan] * 99
        collections = [t for pid in server_pids for t in round_trips(self.folder, start, end, "gc").get(pid, [])]
        stalls = [t for pid in server_pids for t in round_trips(self.folder, start, end, "stall").get(pid, [])]
        server_cores = sum(cpu[p] for p in server_pids) / seconds
        calls_per_s = len(ok) / seconds
        row = {
            "sessions": self.sessions, "rate": round(rate, 1), "calls_per_s": round(calls_per_s, 1),
            "failed_calls": sum(t < 0 for t in trips),
            "p50_ms": round(1000 * q[49], 2), "p99_ms": round(1000 * q[98], 2),
            "max_ms": round(1000 * ok[-1], 2) if ok else math.nan,
            "server_cores": round(server_cores, 2),
            "server_cpu_ms_per_call": round(1000 * server_cores / calls_per_s, 3) if calls_per_s else math.nan,
            "per_process_cores": [round(cpu[p] / seconds, 2) for p in server_pids],
            "per_process_calls": [len(by_process.get(p, [])) for p in server_pids],
            "proxy_cores": round(sum(cpu[p] for p in proxy_pids) / seconds, 2) if proxy_pids else None,
            "client_cores": round(sum(cpu[p] for p in client_pids) / seconds, 2),
            # What held the event loop up: full collections (count, longest) and stalls.
            "full_gc": len(collections), "full_gc_max_ms": round(1000 * max(collections, default=0), 1),
            "stalls": len(stalls), "stall_max_ms": round(1000 * max(stalls, default=0), 1),
            "server_rss_mb": round(server_rss / 1e6, 1), "load_average": round(os.getloadavg()[0], 2),
            # What the rest of the machine used meanwhile (other work shares these cores).
            "other_cores": round(max(0.0, busy - sum(cpu.values())) / seconds, 2),
        }
        # (The calls made are counted, not judged: their phases are random, so a window holds a
        # few percent more or fewer than the rate; a server that falls behind shows in the p99.)
        row["within"] = bool(row["p99_ms"] < P99_MS and row["failed_calls"] == 0)
        print(json.dumps({"setup": self.name, **row}), flush=True)
        return row

    def pause(self, seconds: float) -> None:
        """No calls for a while: what a saturated step left queued drains."""
        self.set_period(0)
        time.sleep(seconds)


#: The latency target: a rate is sustained when the p99 round trip stays under it.
P99_MS = 50.0


def round_trips(folder: Path, start: float, end: float, kind: str = "bin") -> dict[int, list[float]]:
    """Round trips (s; negative: failed) of calls that ended in [start, end), by process; or
    with ``kind`` "gc" and "stall", the oldest generation's collections and the event loop's
    stalls."""
    out: dict[int, list[float]] = {}
    for path in folder.glob(f"*.{kind}"):
        data = path.read_bytes()
        out[int(path.stem)] = [seconds for t, seconds in struct.iter_unpack("dd", data[: len(data) // 16 * 16])
                               if start <= t < end]
    return out


def search(setup: Setup, first: float, cap: float, refine: int, seconds: float, warmup: float,
           tries: int) -> dict[str, Any]:
    """The highest rate (calls/s) the setup sustains with p99 under ``P99_MS``: double from
    ``first`` until a rate fails (or ``cap``), or halve it until one holds (down to a
    sixteenth), then halve the gap between the last that held and the first that failed
    ``refine`` times. A step that fails while other work took more than a quarter of a core
    is measured again, up to ``tries`` times in all: the machine is shared."""
    rows: list[dict[str, Any]] = []

    def holds(rate: float) -> bool:
        for attempt in range(1, tries + 1):
            if rows and not rows[-1]["within"]:
                setup.pause(5)  # what a saturated step left queued drains
            row = setup.measure(rate, seconds, warmup)
            rows.append({**row, "attempt": attempt})
            if row["within"] or row["other_cores"] <= 0.25:
                break
        return bool(rows[-1]["within"])

    good: float | None = None
    bad: float | None = None
    rate = first
    while True:
        if holds(rate):
            good = rate
            if bad is not None or rate >= cap:
                break
            rate = min(2 * rate, cap)
        else:
            bad = rate
            if good is not None or rate <= first / 16:
                break
            rate = rate / 2
    for _ in range(refine if good is not None and bad is not None else 0):
        rate = round((good + bad) / 2)  # type: ignore[operator]
        if holds(rate):
            good = rate
        else:
            bad = rate
    best = max((r for r in rows if r["within"]), key=lambda r: r["calls_per_s"], default=None)
    return {"setup": setup.name, "sessions": setup.sessions, "sustained_calls_per_s": best and best["calls_per_s"],
            "at": best, "rows": rows}


def memory(setup: Setup, counts: list[int]) -> dict[str, Any]:
    """RSS of a fresh single-process server as it holds 1, then ``counts`` idle pages, and
    how long a full garbage collection holds its event loop up then."""
    pid = setup.server_pids()[0]

    def full_collection() -> float:
        began = time.time()
        os.kill(pid, signal.SIGUSR1)  # (the app collects: capacity_sink.py)
        pauses = wait_for(lambda: round_trips(setup.folder, began, time.time() + 60, "gc").get(pid), 60,
                          interval=0.2, what="the full collection")
        return round(1000 * max(pauses), 1)

    setup.hold(1)  # the app's imports and Bokeh's first document are not per session
    time.sleep(1)
    base = rss(pid)
    result: dict[str, Any] = {"rss_one_session_mb": round(base / 1e6, 1), "full_gc_one_session_ms": full_collection(),
                              "rows": []}
    for count in counts:
        ready = setup.hold(count - setup.sessions)
        time.sleep(2)
        held = rss(pid)
        result["rows"].append({"sessions": setup.sessions, "open_seconds": ready["open_seconds"],
                               "rss_mb": round(held / 1e6, 1),
                               "kb_per_session": round((held - base) / 1e3 / (setup.sessions - 1), 1),
                               "full_gc_ms": full_collection()})
        print(json.dumps({"memory": result["rows"][-1]}), flush=True)
    return result


def profile(setup: Setup, rate: float, seconds: float, folder: Path) -> dict[str, Any]:
    """py-spy's samples of a saturated single server process: where its time goes."""
    setup.set_period(setup.sessions / rate)
    time.sleep(3)
    raw = folder / "capacity-profile.txt"  # (py-spy's raw format: one stack and its count a line)
    subprocess.run([PY_SPY, "record", "--pid", str(setup.server_pids()[0]), "--duration", str(int(seconds)),
                    "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking"],
                   capture_output=True, timeout=seconds + 60, check=True)
    return {"rate": rate, "sessions": setup.sessions, **summarize_profile(raw)}


#: py-spy (pip install py-spy), beside this Python or on the PATH.
PY_SPY = next((str(p) for p in (Path(sys.executable).parent / "py-spy",) if p.exists()), None) or shutil.which("py-spy")

#: Where a sample's time is booked: the first frame (from the leaf up) whose file matches.
AREAS = (("bokeh_live", "bokeh_live/"), ("the benchmark's app", "capacity_app/"), ("json (stdlib)", "/json/"), ("tornado websocket", "tornado/websocket.py"),
         ("tornado iostream/ioloop", "tornado/io"), ("asyncio", "/asyncio/"),
         ("bokeh protocol and serialization", "bokeh/protocol/"), ("bokeh serialization", "bokeh/core/serial"),
         ("bokeh document and events", "bokeh/document/"), ("bokeh server", "bokeh/server/"),
         ("bokeh properties and models", "bokeh/core/"), ("prometheus_client", "prometheus_client"))


#: Frames of ``python -m bokeh_live serve`` itself, under every sample: booked to no area.
LAUNCHER = re.compile(r"bokeh_live/(__main__|serve)\.py")


def summarize_profile(raw: Path) -> dict[str, Any]:
    """Shares of the samples: by area (the innermost frame that belongs to one), within each
    area (any frame of it on the stack), and the top functions by inclusive time."""
    areas: dict[str, int] = {}
    within: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        total += count
        frames = [f for f in stack.split(";") if not LAUNCHER.search(f)]
        area = next((name for frame in reversed(frames) for name, mark in AREAS if mark in frame), "other")
        areas[area] = areas.get(area, 0) + count
        for name, mark in AREAS:
            if any(mark in frame for frame in frames):
                within[name] = within.get(name, 0) + count
        for name in {f.split(" (")[0] + " (" + f.split(" (")[-1].split("/")[-1] for f in frames}:
            inclusive[name] = inclusive.get(name, 0) + count
    top = sorted(inclusive.items(), key=lambda kv: -kv[1])[:25]
    return {"samples": total, "by_area": {k: round(v / total, 3) for k, v in sorted(areas.items(), key=lambda kv: -kv[1])},
            "within_area": {k: round(v / total, 3) for k, v in sorted(within.items(), key=lambda kv: -kv[1])},
            "top_inclusive": [(name, round(n / total, 3)) for name, n in top]}


#: The plan's parts: one process (memory, searches with 5,000, 100 and 1,000 pages, each page
#: once a second, the profile), the other setups compared, and the garbage collector's threshold.
PARTS = ("one", "compare", "gc")


def run(plan: dict[str, Any], output: Path, parts: tuple[str, ...] = PARTS) -> dict[str, Any]:
    """Measure what ``plan`` says (see :data:`PLANS`), its ``parts`` only, and write
    ``output/capacity.json``."""
    output.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"meta": {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                        "nproc": os.cpu_count(), "load_average_at_start": os.getloadavg(),
                                        "p99_target_ms": P99_MS, "parts": parts, **plan}, "searches": [], "once_a_second": [], "gc": [], "pages": []}
    timing = {"seconds": plan["seconds"], "warmup": plan["warmup"]}
    searching = {"first": plan["first_rate"], "cap": plan["max_rate"], "refine": plan["refine"],
                 "tries": plan["tries"], **timing}

    def remember(found: dict[str, Any]) -> None:
        results["searches"].append(found)
        print(json.dumps({k: v for k, v in found.items() if k != "rows"}), flush=True)

    with tempfile.TemporaryDirectory(prefix="capacity-") as tmp:
        folders = (Path(tmp) / str(n) for n in itertools.count())

        def setup(name: str, procs: list[int], proxied: bool = False, env: dict[str, str] | None = None) -> Setup:
            folder = next(folders)
            folder.mkdir()
            servers = []
            try:
                servers.extend(Server(n, folder, env) for n in procs)
                proxy = None
                if proxied:
                    conf = next(folders)
                    conf.mkdir()
                    proxy = Proxy([s.port for s in servers], conf)
            except BaseException:
                for server in servers:
                    server.stop()
                raise
            return Setup(name, folder, servers, proxy, sources=16 if proxied else 1)

        if "one" in parts:
            # One process: memory as it holds idle pages, then the sustained rate with the most of
            # them held, and with as many calls as pages each second.
            one = setup("direct, 1 process", [1])
            try:
                results["memory"] = memory(one, plan["idle"])
                remember(search(one, **searching))
                if plan["each_once_a_second"]:
                    one.pause(3)
                    results["once_a_second"].append(one.measure(one.sessions, **timing))
            finally:
                results["pages"].append(one.stop())
            for sessions in plan["sessions"]:  # one process, fewer pages held
                one = setup("direct, 1 process", [1])
                try:
                    one.hold(sessions)
                    remember(search(one, **searching))
                    if plan["each_once_a_second"]:
                        one.pause(3)
                        results["once_a_second"].append(one.measure(sessions, **timing))
                    if plan["profile"] and sessions == max(plan["sessions"]) and PY_SPY:
                        best = results["searches"][-1]["sustained_calls_per_s"] or plan["first_rate"]
                        one.pause(3)
                        results["profile"] = profile(one, 1.5 * best, 15, output)
                finally:
                    results["pages"].append(one.stop())
        if "compare" in parts:
            for name, procs, proxied in (("direct, --num-procs 2", [2], False), ("nginx, 1 process", [1], True),
                                         ("nginx, 2 processes", [1, 1], True)):
                other = setup(name, procs, proxied)
                try:
                    other.hold(plan["compare_sessions"])
                    remember(search(other, **searching))
                finally:
                    results["pages"].append(other.stop())
        if "gc" in parts and plan["gc"]:  # one process, its garbage collector as shipped and with a higher threshold
            sessions, rates, seconds, threshold = plan["gc"]
            for name, env in (("default", {}), (threshold, {"CAPACITY_GC_THRESHOLD": threshold})):
                one = setup("direct, 1 process", [1], env=env)
                try:
                    one.hold(sessions)
                    for rate in rates:
                        results["gc"].append({"gc_threshold": name, **one.measure(rate, seconds, warmup=3)})
                finally:
                    results["pages"].append(one.stop())
    results["once_a_second"].sort(key=lambda row: row["sessions"])
    (output / "capacity.json").write_text(json.dumps(results, indent=1))
    return results


#: What the full plan and the quick one measure.
PLANS: dict[str, dict[str, Any]] = {
    "full": {"idle": [1000, 5000], "sessions": [100, 1000], "compare_sessions": 1000, "first_rate": 100,
             "max_rate": 6400, "refine": 2, "tries": 2, "seconds": 8.0, "warmup": 3.0, "each_once_a_second": True,
             "profile": True, "gc": (1000, (100, 250), 30.0, "700,10,1000")},
    "quick": {"idle": [30], "sessions": [], "compare_sessions": 30, "first_rate": 15, "max_rate": 30, "refine": 0, "tries": 1,
              "seconds": 1.0, "warmup": 0.5, "each_once_a_second": False, "profile": False, "gc": None},
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["client"]:
        return client_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m benchmarks.capacity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 pages, two short steps per setup, no profile")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="folder for capacity.json")
    parser.add_argument("--only", choices=PARTS, nargs="+", default=PARTS,
                        help="measure these parts of the plan only (a part measured while the machine was busy, again)")
    args = parser.parse_args(argv)
    run(PLANS["quick" if args.quick else "full"], args.output, tuple(args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
