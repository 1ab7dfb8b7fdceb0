"""What a Bokeh server's ``BokehLive`` sessions do, for Prometheus (``pip install bokeh_live[metrics]``).

``python -m bokeh_live serve --metrics app.py`` (or :func:`bokeh_live.serve.add_metrics` with a
``Server`` of your own) turns the metrics on and serves them in Prometheus' text format at
``/metrics`` on the Bokeh server. Until then every function here returns at once: a server
that does not ask for metrics pays one ``None`` test per event, and needs no
``prometheus_client``.

What is counted (labels are fixed lists: no session ids, no names, no text from a browser):

- ``bokeh_live_calls_total{kind, outcome}``: calls that ended. ``kind`` is ``run_python``
  (``live.run_python``), ``run`` (``live.run``, by reference) or ``call`` (browser code
  calling an exposed function); ``outcome`` is ``ok``, ``error`` (the code raised, or the
  call could not be made), ``timeout``, ``cancelled`` (the awaiting task was cancelled) or
  ``disconnected`` (the browser went, the session ended or the server stopped first).
- ``bokeh_live_call_seconds{kind}``: how long answered calls (``ok`` and ``error``) took,
  as the server saw them.
- ``bokeh_live_sessions``: open sessions whose document holds a ``BokehLive``.
- ``bokeh_live_browser_restarts_total``: the pages' Python runtimes started afresh (a
  timed-out busy run on a page that is not cross-origin isolated, ``live.restart()``, a crash).
- ``bokeh_live_browser_start_seconds{snapshot}``: how long the pages' Python took to start,
  as the browsers report it, from a memory snapshot (``yes``) or not (``no``).
- ``bokeh_live_bytes_total{direction}``: bytes of messages ``to_browser`` and
  ``from_browser``, as counted against ``max_message_size``.
- ``bokeh_live_blob_bytes``: bytes of large values arriving from browsers, held while
  incomplete (their budget is 1 GiB per process), sampled each second.
- ``bokeh_live_refused_total{reason}``: browser messages refused (see :data:`REFUSALS`).

With several processes (``--num-procs``), each writes its figures to files in the folder
named by ``PROMETHEUS_MULTIPROC_DIR`` (``python -m bokeh_live serve --metrics`` makes one
when it is not set) and any process answers ``/metrics`` with the sums over all of them:
counters and histograms add up, the gauges are summed over the live processes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

__all__ = ("DIRECTIONS", "KINDS", "OUTCOMES", "REFUSALS", "enable", "enabled", "exposition", "install")

#: Kinds of calls: the server's calls to the page (by code, by reference) and the page's to the server.
KINDS = ("run_python", "run", "call")
Kind = Literal["run_python", "run", "call"]

#: How a call ended.
OUTCOMES = ("ok", "error", "timeout", "cancelled", "disconnected")
Outcome = Literal["ok", "error", "timeout", "cancelled", "disconnected"]

#: Why a browser message was refused: ``fields`` (an event with fields a page never sends),
#: ``batch`` (not a list, or too many items), ``chunk`` (a piece of a large value out of
#: order, over a limit or over the memory budget), ``value`` (a value that is too large, too
#: deep or of a type not accepted), ``message`` (not one of the protocol's messages),
#: ``reply`` (an answer to no pending call), ``property`` (a property the browser may not
#: set, or a bad value for one), ``client_model`` (a BokehLive a browser added to the document).
REFUSALS = ("fields", "batch", "chunk", "value", "message", "reply", "property", "client_model")
Refusal = Literal["fields", "batch", "chunk", "value", "message", "reply", "property", "client_model"]

DIRECTIONS = ("to_browser", "from_browser")

#: prometheus_client's switch to its multiprocess mode: the folder where processes write.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

#: Round trips take milliseconds (a few with TCP_NODELAY): finer buckets there than the default.
CALL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
START_BUCKETS = (0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0)

#: How often each server process samples what it holds (``bokeh_live_blob_bytes``), in ms.
SAMPLE_MS = 1000


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.calls = Counter("bokeh_live_calls", "Calls that ended, by kind and outcome", ["kind", "outcome"])
        self.call_seconds = Histogram("bokeh_live_call_seconds", "How long answered calls took (ok and error)",
                                      ["kind"], buckets=CALL_BUCKETS)
        self.sessions = Gauge("bokeh_live_sessions", "Open Bokeh sessions whose document holds a BokehLive",
                              multiprocess_mode="livesum")
        self.restarts = Counter("bokeh_live_browser_restarts", "Python runtimes of pages started afresh")
        self.starts = Histogram("bokeh_live_browser_start_seconds",
                                "How long the pages' Python took to start, as browsers report it",
                                ["snapshot"], buckets=START_BUCKETS)
        self.bytes = Counter("bokeh_live_bytes", "Bytes of messages each way", ["direction"])
        self.blob_bytes = Gauge("bokeh_live_blob_bytes", "Bytes of large values from browsers held while incomplete",
                                multiprocess_mode="livesum")
        self.refused = Counter("bokeh_live_refused", "Browser messages refused, by reason", ["reason"])
        # Every series exists from the start, at 0: rate() and dashboards need no special case.
        self.call_children = {(k, o): self.calls.labels(k, o) for k in KINDS for o in OUTCOMES}
        self.seconds_children = {k: self.call_seconds.labels(k) for k in KINDS}
        self.start_children = {True: self.starts.labels("yes"), False: self.starts.labels("no")}
        self.to_browser, self.from_browser = (self.bytes.labels(d) for d in DIRECTIONS)
        self.refused_children = {r: self.refused.labels(r) for r in REFUSALS}
        self.sampling_pid = 0

    def start_sampling(self) -> None:
        """Sample what this process holds each second, from its event loop (once per process:
        ``--num-procs`` forks after the metrics were made)."""
        if self.sampling_pid == os.getpid():
            return
        from tornado.ioloop import PeriodicCallback

        self.sampling_pid = os.getpid()
        PeriodicCallback(self.sample, SAMPLE_MS).start()

    def sample(self) -> None:
        from .chunks import PROCESS_BUDGET

        self.blob_bytes.set(PROCESS_BUDGET.used)


_metrics: _Metrics | None = None


def enable() -> None:
    """Start counting (idempotent). Needs ``prometheus_client``; in a server of several
    processes, ``PROMETHEUS_MULTIPROC_DIR`` must be set before this (and before
    prometheus_client is first imported)."""
    global _metrics
    if _metrics is None:
        try:
            import prometheus_client  # noqa: F401
        except ImportError:
            raise ImportError("bokeh_live's metrics need prometheus_client: "
                              "pip install 'bokeh_live[metrics]'") from None
        _metrics = _Metrics()


def enabled() -> bool:
    return _metrics is not None


# --- what the package counts (each returns at once when metrics are off) -----------------------

def call_ended(kind: Kind, outcome: Outcome, seconds: float) -> None:
    m = _metrics
    if m is not None:
        m.call_children[kind, outcome].inc()
        if outcome in ("ok", "error"):
            m.seconds_children[kind].observe(seconds)


def sent(n: int) -> None:
    if _metrics is not None:
        _metrics.to_browser.inc(n)


def received(n: int) -> None:
    if _metrics is not None:
        _metrics.from_browser.inc(n)


def refused(reason: Refusal) -> None:
    if _metrics is not None:
        _metrics.refused_children[reason].inc()


def session_opened() -> None:
    if _metrics is not None:
        _metrics.sessions.inc()
        _metrics.start_sampling()


def session_closed() -> None:
    if _metrics is not None:
        _metrics.sessions.dec()


def browser_restarted() -> None:
    if _metrics is not None:
        _metrics.restarts.inc()


def browser_started(seconds: float, snapshot: bool) -> None:
    if _metrics is not None:
        _metrics.start_children[snapshot].observe(seconds)


# --- serving them -----------------------------------------------------------------------------------

_GAUGE_FILE = re.compile(r"gauge_live\w*?_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus' text format, and its content type: this process's, or
    with ``PROMETHEUS_MULTIPROC_DIR`` set, the sums of every process that wrote there."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if _metrics is not None:
        _metrics.sample()  # (the answering process's own, to the moment)
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    from prometheus_client import multiprocess

    # A process that died (and was replaced: tornado restarts a child that exits) leaves its
    # gauges' files behind: its sessions are gone, so are they. (Its counters stay counted.)
    for path in Path(folder).glob("gauge_live*.db"):
        match = _GAUGE_FILE.search(path.name)
        if match and not _alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), folder)  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, folder)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST


def install(app: Any, path: str = "/metrics") -> None:
    """Serve :func:`exposition` at ``path`` (after the server's ``--prefix``) from a Bokeh
    Tornado application, and start counting."""
    from tornado.web import RequestHandler

    enable()

    class MetricsHandler(RequestHandler):
        def get(self) -> None:
            body, content_type = exposition()
            self.set_header("Content-Type", content_type)
            self.set_header("Cache-Control", "no-store")
            self.write(body)

    prefix = str(getattr(app, "prefix", "") or "")
    app.add_handlers(r".*", [(prefix + path, MetricsHandler)])
