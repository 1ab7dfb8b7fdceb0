"""An operator's dashboard: what a bokeh_live server's /metrics says, live.

Serve your app with metrics, then this dashboard beside it (it needs prometheus_client:
``pip install 'bokeh_live[metrics]'``)::

    python -m bokeh_live serve --metrics app.py --port 5006
    BOKEH_LIVE_METRICS_URL=http://localhost:5006/metrics bokeh serve --show examples/operations.py --port 5007

Every two seconds it scrapes the URL and plots: calls per second by outcome, the round
trip's p50 and p99 (from the histogram's buckets), open sessions, bytes per second each way,
and a table of the counters that should stay at zero (timeouts, disconnects, refusals,
restarts) with how the pages' Python started. The same series feed Prometheus and Grafana:
docs/deployment.md lists them and what to alert on.
"""

from __future__ import annotations

import math
import os
import time
import urllib.request
from collections import defaultdict

from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Div
from bokeh.plotting import figure
from prometheus_client.parser import text_string_to_metric_families

URL = os.environ.get("BOKEH_LIVE_METRICS_URL", "http://localhost:5006/metrics")
PERIOD_MS = 2000
OUTCOMES = ("ok", "error", "timeout", "cancelled", "disconnected")
COLORS = {"ok": "#2b8a3e", "error": "#c92a2a", "timeout": "#e67700", "cancelled": "#868e96", "disconnected": "#5f3dc4"}


def scrape() -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(URL, timeout=5) as response:
        text = response.read().decode()
    samples: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name].append((sample.labels, sample.value))
    return samples


def total(samples, name, **labels) -> float:
    return sum(v for found, v in samples.get(name, []) if all(found.get(k) == x for k, x in labels.items()))


def quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """The q-quantile of a histogram's increase (cumulative counts by upper bound), as
    Prometheus' histogram_quantile interpolates it."""
    buckets = sorted(buckets)
    count = buckets[-1][1] if buckets else 0
    if count <= 0:
        return math.nan
    rank, previous_bound, previous_count = q * count, 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(bound):
                return previous_bound
            share = (rank - previous_count) / (cumulative - previous_count) if cumulative > previous_count else 1
            return previous_bound + (bound - previous_bound) * share
        previous_bound, previous_count = bound, cumulative
    return previous_bound


def buckets_of(samples) -> dict[float, float]:
    out: dict[float, float] = defaultdict(float)
    for labels, value in samples.get("bokeh_live_call_seconds_bucket", []):
        out[float(labels["le"])] += value
    return out


rates = ColumnDataSource({"t": [], **{o: [] for o in OUTCOMES}, "sessions": [], "p50": [], "p99": [],
                          "to_browser": [], "from_browser": []}, name="rates")
status = Div(text=f"scraping {URL}")

calls = figure(title="calls per second, by outcome", x_axis_type="datetime", height=250, width=600)
for outcome in OUTCOMES:
    calls.line("t", outcome, source=rates, color=COLORS[outcome], legend_label=outcome, line_width=2)
calls.legend.location = "top_left"
latency = figure(title="round trip (ms), p50 and p99 over the last period", x_axis_type="datetime", height=250,
                 width=600)
latency.line("t", "p50", source=rates, color="#1971c2", legend_label="p50", line_width=2)
latency.line("t", "p99", source=rates, color="#e03131", legend_label="p99", line_width=2)
latency.legend.location = "top_left"
sessions = figure(title="open sessions with a BokehLive", x_axis_type="datetime", height=250, width=600)
sessions.step("t", "sessions", source=rates, line_width=2, mode="after")
traffic = figure(title="bytes per second", x_axis_type="datetime", height=250, width=600)
traffic.line("t", "to_browser", source=rates, color="#0b7285", legend_label="to browsers", line_width=2)
traffic.line("t", "from_browser", source=rates, color="#862e9c", legend_label="from browsers", line_width=2)
traffic.legend.location = "top_left"
# (A Div, not a DataTable: Bokeh's table does not redraw when new data has as many rows.)
counters = Div(name="counters", width=600)

last: dict[str, object] = {}


def update() -> None:
    try:
        now, samples = time.time(), scrape()
    except OSError as e:
        status.text = f"cannot scrape {URL}: {e}"
        return
    status.text = f"scraping {URL}, every {PERIOD_MS / 1000:g} s"
    show_totals(samples)
    before = last.get("samples")
    seconds = now - float(last.get("time", now))  # type: ignore[arg-type]
    last.update(samples=samples, time=now)
    if before is not None and seconds > 0:  # rates need two scrapes
        show_rates(before, samples, seconds, now)


def show_rates(before, samples, seconds: float, now: float) -> None:
    row_: dict[str, list[float]] = {"t": [now * 1000]}
    for outcome in OUTCOMES:
        row_[outcome] = [(total(samples, "bokeh_live_calls_total", outcome=outcome)
                          - total(before, "bokeh_live_calls_total", outcome=outcome)) / seconds]
    old, new = buckets_of(before), buckets_of(samples)
    increase = [(bound, new[bound] - old.get(bound, 0.0)) for bound in new]
    row_["p50"] = [1000 * quantile(increase, 0.5)]
    row_["p99"] = [1000 * quantile(increase, 0.99)]
    row_["sessions"] = [total(samples, "bokeh_live_sessions")]
    for direction in ("to_browser", "from_browser"):
        row_[direction] = [(total(samples, "bokeh_live_bytes_total", direction=direction)
                            - total(before, "bokeh_live_bytes_total", direction=direction)) / seconds]
    rates.stream(row_, rollover=300)


def show_totals(samples) -> None:
    starts = total(samples, "bokeh_live_browser_start_seconds_count")
    start_sum = total(samples, "bokeh_live_browser_start_seconds_sum")
    rows = {
        "calls": f"{total(samples, 'bokeh_live_calls_total'):,.0f}",
        "timeouts": f"{total(samples, 'bokeh_live_calls_total', outcome='timeout'):,.0f}",
        "disconnected calls": f"{total(samples, 'bokeh_live_calls_total', outcome='disconnected'):,.0f}",
        "refused browser messages": f"{total(samples, 'bokeh_live_refused_total'):,.0f}",
        "browser restarts": f"{total(samples, 'bokeh_live_browser_restarts_total'):,.0f}",
        "browser starts (from a snapshot)":
            f"{starts:,.0f} ({total(samples, 'bokeh_live_browser_start_seconds_count', snapshot='yes'):,.0f})",
        "mean browser start": f"{1000 * start_sum / starts:,.0f} ms" if starts else "-",
        "blob bytes held now": f"{total(samples, 'bokeh_live_blob_bytes'):,.0f}",
    }
    counters.text = ("<table><tr><th align='left'>since the server started</th><th></th></tr>"
                     + "".join(f"<tr><td>{what}</td><td align='right'>{value}</td></tr>" for what, value in rows.items())
                     + "</table>")


update()
curdoc().add_root(column(Div(text="<h2>bokeh_live: operations</h2>"), status, row(calls, latency),
                         row(sessions, traffic), counters))
curdoc().title = "bokeh_live operations"
curdoc().add_periodic_callback(update, PERIOD_MS)
