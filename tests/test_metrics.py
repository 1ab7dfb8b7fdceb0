"""Prometheus metrics and the session log, scraped from real servers after real calls made
by real Chromium pages running real Pyodide (``bokeh_live/metrics.py``, ``bokeh_live/logs.py``)."""
from __future__ import annotations

import asyncio
import json
import logging
import urllib.request

import pytest
import shapes
from prometheus_client.parser import text_string_to_metric_families
from test_messaging import open_live, run

from bokeh_live import LiveError, metrics
from bokeh_live.logs import JsonLines
from bokeh_live.serve import add_metrics
from harness import PYODIDE_TIMEOUT, BokehServe, wait_for

pytestmark = pytest.mark.browser


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a /metrics page, by name and labels."""
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def metrics_url(app_server):
    app_server.loop.call_soon_threadsafe(add_metrics, app_server.server)
    url = f"http://127.0.0.1:{app_server.port}/metrics"
    wait_for(lambda: _answers(url), 10, what="/metrics")
    return url


def _answers(url):
    try:
        scrape(url)
        return True
    except OSError:
        return False


def test_every_series_is_there_from_the_start_with_bounded_labels(metrics_url):
    samples = scrape(metrics_url)
    for kind in metrics.KINDS:
        for outcome in metrics.OUTCOMES:
            assert ("bokeh_live_calls_total", (("kind", kind), ("outcome", outcome))) in samples
    for reason in metrics.REFUSALS:
        assert ("bokeh_live_refused_total", (("reason", reason),)) in samples
    for name in ("bokeh_live_sessions", "bokeh_live_blob_bytes", "bokeh_live_browser_restarts_total"):
        assert (name, ()) in samples
    labels = {key for (name, labels) in samples if name.startswith("bokeh_live_") for key, _ in labels}
    assert labels <= {"kind", "outcome", "reason", "direction", "snapshot", "le"}


@pytest.mark.xfail(strict=False, reason="once in CI the sessions gauge read 0 during the session: scraped too early?")
def test_a_scrape_after_real_calls_shows_the_exact_counts(app_server, page, metrics_url, caplog):
    caplog.set_level(logging.INFO, logger="bokeh_live")
    before = scrape(metrics_url)

    def extra(doc, live):
        live.expose(lambda x: 2 * x, name="double")

    live = open_live(app_server, page, extra, code="import asyncio, bokeh_live", modules=[shapes])
    wait_for(lambda: value(scrape(metrics_url), "bokeh_live_browser_start_seconds_count", snapshot="no")
             + value(scrape(metrics_url), "bokeh_live_browser_start_seconds_count", snapshot="yes")
             > value(before, "bokeh_live_browser_start_seconds_count", snapshot="no")
             + value(before, "bokeh_live_browser_start_seconds_count", snapshot="yes"), 30,
             what="the page's start in the metrics")
    for i in range(5):
        assert run(app_server, live, "n * 2", n=i) == 2 * i
    with pytest.raises(LiveError):
        run(app_server, live, "1 / 0")
    with pytest.raises(TimeoutError):
        run(app_server, live, "await asyncio.sleep(3)", timeout=0.5)
    assert app_server.call(live.run(shapes.wave, 2)) == shapes.wave(2)
    assert run(app_server, live, "await bokeh_live.call('double', 21)") == 42  # a run_python and a call
    cancelled = asyncio.run_coroutine_threadsafe(live.run_python("await asyncio.sleep(5)"), app_server.loop)
    wait_for(lambda: len(live._channel.pending) == 1, 10, what="the call to be pending")
    cancelled.cancel()
    wait_for(lambda: len(live._channel.pending) == 0, 10, what="the cancelled call to end")
    page.execute_script("Bokeh.documents[0].get_model_by_name('live').max_message_size = 5")  # refused
    wait_for(lambda: value(scrape(metrics_url), "bokeh_live_refused_total", reason="property")
             > value(before, "bokeh_live_refused_total", reason="property"), 10, what="the refusal")
    during = scrape(metrics_url)
    pending = asyncio.run_coroutine_threadsafe(live.run_python("await asyncio.sleep(30)"), app_server.loop)
    wait_for(lambda: len(live._channel.pending) == 1, 10, what="the call to be pending")
    page.get("about:blank")  # the browser goes with the call
    with pytest.raises(LiveError, match="page was left"):
        pending.result(30)
    after = scrape(metrics_url)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    expected = {("run_python", "ok"): 6, ("run_python", "error"): 1, ("run_python", "timeout"): 1,
                ("run_python", "cancelled"): 1, ("run_python", "disconnected"): 1, ("run", "ok"): 1,
                ("call", "ok"): 1}
    for kind in metrics.KINDS:
        for outcome in metrics.OUTCOMES:
            assert delta("bokeh_live_calls_total", kind=kind, outcome=outcome) == expected.get((kind, outcome), 0), \
                (kind, outcome)
    assert delta("bokeh_live_call_seconds_count", kind="run_python") == 7  # answered: ok and error
    assert delta("bokeh_live_call_seconds_count", kind="run") == 1
    assert delta("bokeh_live_refused_total", reason="property") == 1
    assert sum(delta("bokeh_live_refused_total", reason=r) for r in metrics.REFUSALS) == 1
    assert delta("bokeh_live_browser_start_seconds_count", snapshot="yes") + \
        delta("bokeh_live_browser_start_seconds_count", snapshot="no") == 1
    assert delta("bokeh_live_browser_restarts_total") == 0
    assert delta("bokeh_live_bytes_total", direction="to_browser") > 0
    assert delta("bokeh_live_bytes_total", direction="from_browser") > 0
    assert value(during, "bokeh_live_sessions") - value(before, "bokeh_live_sessions") == 1

    # The log tells the same story, each line with the session and the model.
    session = live.document.session_context.id[:12]
    ours = [r for r in caplog.records if getattr(r, "bokeh_live", {}).get("session") == session]
    events = [r.bokeh_live["event"] for r in ours]
    assert events[0] == "session_opened" and "started" in events
    assert events.count("timeout") == 1 and events.count("refused") == 1 and events.count("disconnected") == 1
    timeout = next(r for r in ours if r.bokeh_live["event"] == "timeout")
    assert timeout.levelno == logging.WARNING
    assert f"session {session}: a run_python call of BokehLive live got no answer" in timeout.getMessage()
    line = json.loads(JsonLines().format(timeout))
    assert line["event"] == "timeout" and line["session"] == session and line["model"] == "BokehLive live"
    assert line["level"] == "WARNING" and line["logger"] == "bokeh_live.live" and "\n" not in JsonLines().format(timeout)


APP = """
import os
from bokeh.document import without_document_lock
from bokeh.io import curdoc
from bokeh.models import Div
from bokeh_live import BokehLive, LiveError

doc = curdoc()
live = BokehLive(name="live", mode="app", code="x = 1")
report = Div(name="report")
doc.add_root(live)
doc.add_root(report)

@without_document_lock
async def calls():
    for _ in range(2):
        await live.run_python("x + 1")
    try:
        await live.run_python("1 / 0")
    except LiveError:
        pass
    doc.add_next_tick_callback(lambda: setattr(report, "text", str(os.getpid())))

def on_status(attr, old, new):
    if new == "ready" and not report.text:
        doc.add_next_tick_callback(calls)

live.on_change("status", on_status)
"""


@pytest.mark.xfail(strict=False, reason="the kernel may give every connection to one process (seen once in CI)")
def test_the_counts_of_all_processes_add_up(tmp_path, page):
    """`python -m bokeh_live serve --metrics --num-procs 2`: pages land on either process,
    and every scrape, whichever process answers it, counts the calls of both."""
    (tmp_path / "app.py").write_text(APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--metrics", "--num-procs", "2"))
    try:
        pids = []
        while len(set(pids)) < 2 and len(pids) < 12:
            page.get(server.url("app"))
            pids.append(wait_for(lambda: page.execute_script(
                "const d = window.Bokeh && Bokeh.documents[0]; const r = d && d.get_model_by_name('report');"
                "return r && r.text"), PYODIDE_TIMEOUT, what="the page's calls"))
        page.get("about:blank")
        assert len(set(pids)) == 2, f"every page landed on one process: {pids}"
        for _ in range(8):  # each scrape may reach either process
            samples = scrape(server.url("metrics"))
            assert value(samples, "bokeh_live_calls_total", kind="run_python", outcome="ok") == 2 * len(pids)
            assert value(samples, "bokeh_live_calls_total", kind="run_python", outcome="error") == len(pids)
            assert value(samples, "bokeh_live_call_seconds_count", kind="run_python") == 3 * len(pids)
    finally:
        server.stop()


def test_the_nginx_recipe_keeps_metrics_from_visitors(tmp_path):
    """Prometheus scrapes each server directly; through the recipe's proxy /metrics is refused."""
    import tempfile
    import urllib.error
    from pathlib import Path

    from harness import Nginx, free_port

    (tmp_path / "app.py").write_text(APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--metrics",))
    proxy = None
    try:
        proxy = Nginx(free_port(), [server.port, server.port], Path(tempfile.mkdtemp(dir=tmp_path)))
        assert "bokeh_live_calls_total" in urllib.request.urlopen(server.url("metrics"), timeout=30).read().decode()
        with pytest.raises(urllib.error.HTTPError) as refused:
            proxy.fetch("metrics")
        assert refused.value.code == 403
        assert proxy.fetch("app")[0] == 200  # (the app itself goes through)
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()


LOG_APP = """
from bokeh.io import curdoc
from bokeh_live import BokehLive

curdoc().add_root(BokehLive(name="live", mode="headless"))
"""


def _a_session_that_writes_a_refused_property(server):
    """A session opened by Bokeh's own client, which then writes a property no browser may
    write: bokeh_live logs the session's opening (INFO) and the refusal (WARNING)."""
    from bokeh.client import pull_session

    session = pull_session(url=server.url("app"))
    try:
        session.document.get_model_by_name("live").max_message_size = 5
        session.force_roundtrip()
        wait_for(lambda: "max_message_size" in server.output(), 30, what="the refusal in the log")
        return session.id[:12]
    finally:
        session.close()


def test_python_m_bokeh_live_serve_logs_the_sessions_story_at_info_and_as_json_lines(tmp_path):
    (tmp_path / "app.py").write_text(LOG_APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--log-json",))
    try:
        tag = _a_session_that_writes_a_refused_property(server)
        lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
        ours = [line for line in lines if line.get("session") == tag]
        assert [line["event"] for line in ours] == ["session_opened", "refused"], lines
        assert ours[0]["level"] == "INFO" and ours[0]["model"] == ours[1]["model"] == "BokehLive live"
        assert ours[1]["level"] == "WARNING" and "max_message_size" in ours[1]["message"]
    finally:
        server.stop()


def test_the_log_level_of_bokeh_serve_applies_to_bokeh_lives_lines(tmp_path):
    (tmp_path / "app.py").write_text(LOG_APP)
    server = BokehServe(tmp_path / "app.py", module="bokeh_live", args=("--log-level=warning",))
    try:
        tag = _a_session_that_writes_a_refused_property(server)
        output = server.output()
        assert f"session {tag}: BokehLive live dropped a browser message" in output
        assert f"session {tag}: opened" not in output  # INFO, below the level
    finally:
        server.stop()
