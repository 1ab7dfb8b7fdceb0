"""The capacity benchmark runs end to end (quick mode) against real servers and the nginx
recipe, with its load generator speaking the page's side of the protocol over real
websockets. Timings are never asserted: they are the benchmark's output. What is: every
setup ran and searched, every page opened and stayed open, no call failed, both processes
of --num-procs 2 answered calls, and the figures are there."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETUPS = ["direct, 1 process", "direct, --num-procs 2", "nginx, 1 process", "nginx, 2 processes"]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("capacity")
    run = subprocess.run([sys.executable, "-m", "benchmarks.capacity", "--quick", "--output", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return json.loads((out / "capacity.json").read_text())


def test_every_setup_searched_and_every_call_was_answered(results):
    plan = results["meta"]
    assert [found["setup"] for found in results["searches"]] == SETUPS
    for found in results["searches"]:
        assert found["sessions"] == plan["compare_sessions"], found["setup"]
        rows = found["rows"]
        # The search doubled from the first rate: at least that one step, each at the rate it set.
        assert rows[0]["rate"] == plan["first_rate"] and all(row["rate"] <= plan["max_rate"] for row in rows)
        for row in rows:
            assert row["sessions"] == plan["compare_sessions"] and row["failed_calls"] == 0, (found["setup"], row)
            assert row["calls_per_s"] > 0 and row["server_cores"] > 0, (found["setup"], row)
            assert all(math.isfinite(row[k]) and row[k] > 0 for k in ("p50_ms", "p99_ms", "max_ms")), row
            assert row["p50_ms"] <= row["p99_ms"] <= row["max_ms"]
            assert isinstance(row["within"], bool)
        # The sustained rate is one the search measured within the target, if any was.
        within = [row for row in rows if row["within"]]
        assert found["sustained_calls_per_s"] == (max(r["calls_per_s"] for r in within) if within else None)
    by_setup = {found["setup"]: found["rows"] for found in results["searches"]}
    calls = [row["per_process_calls"] for row in by_setup["direct, --num-procs 2"]]
    assert all(len(c) == 2 for c in calls) and all(map(sum, zip(*calls, strict=True))), calls  # both answered calls
    assert all(row["proxy_cores"] is None for row in by_setup["direct, 1 process"])
    assert all(row["proxy_cores"] is not None for row in by_setup["nginx, 2 processes"])


def test_idle_pages_give_memory_per_session(results):
    memory = results["memory"]
    (row,) = memory["rows"]
    assert row["sessions"] == results["meta"]["idle"][0] == 30
    assert row["rss_mb"] > memory["rss_one_session_mb"] > 0 and row["kb_per_session"] > 0


def test_every_page_opened_and_stayed_open(results):
    assert [pages["setup"] for pages in results["pages"]] == SETUPS
    for pages in results["pages"]:
        assert pages["opened"] == results["meta"]["compare_sessions"], pages
        assert pages["failed"] == pages["lost"] == 0 and not pages["errors"], pages
        assert pages["answered"] > 0, pages
