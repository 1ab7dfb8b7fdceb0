"""The benchmark suite runs end to end (quick mode) and writes every figure.

Timings are never asserted here: this machine's numbers are the suite's output, not a
test. What is asserted is that the suite completes, that its JSON is well formed with
every figure present, and that no call was lost or answered with another call's result.
"""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ("bundle", "round_trip", "throughput", "issue7_vs_stock", "data", "server_memory", "startup", "server_cpu",
           "recovery", "hostile", "frames", "proxy", "page_weight", "parallel", "callbacks", "shipped", "fault_storm")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    run = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--output", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out, json.loads((out / "results.json").read_text())


def test_every_figure_is_present_and_none_failed(results):
    _, r = results
    figures = r["figures"]
    for name in FIGURES:
        assert name in figures, name
        assert "error" not in figures[name], (name, figures[name].get("error"), figures[name].get("traceback"))
    assert r["meta"]["quick"] is True and r["meta"]["nproc"] >= 1


def test_no_call_lost_or_mismatched(results):
    _, r = results
    f = r["figures"]
    for series in ("live", "bare"):
        assert f["throughput"][series]["lost"] == 0, f["throughput"][series]["errors"]
        assert f["throughput"][series]["mismatched"] == 0
        assert f["round_trip"][series]["wrong_results"] == 0


def test_figures_hold_numbers_with_baselines_and_ratios(results):
    _, r = results
    f = r["figures"]

    def number(x):
        return isinstance(x, (int, float)) and math.isfinite(x) and x >= 0

    for series in ("live", "bare"):
        assert all(number(f["round_trip"][series][k]) for k in ("p50_ms", "p95_ms", "p99_ms"))
        assert number(f["throughput"][series]["calls_per_s"])
    assert number(f["round_trip"]["ratio"]["p50_ms"]) and number(f["throughput"]["ratio"])
    cases = {(c["mb"], c["path"]): c for c in f["data"]["cases"]}
    for path in ("binary", "base64", "list"):
        assert cases[(1, path)]["ok"], cases[(1, path)]
        assert number(cases[(1, path)]["mb_per_s"])
    for kind in ("bare", "models_1", "models_10"):
        assert number(f["startup"][kind]["cold"]) and number(f["startup"][kind]["warm"])
    assert number(f["startup"]["models_1"]["snapshot"]) and number(f["startup"]["ratio_1_snapshot_vs_bare_warm"])
    for when in ("first", "reconnected"):
        assert number(f["issue7_vs_stock"]["ratio"][when]["p50_ms"])
    assert f["issue7_vs_stock"]["stock_page_has_extension"] is False
    assert number(f["server_cpu"]["run_python_sequential_ms"])
    # An RSS delta over a few sessions can come out negative (the allocator returns memory).
    assert math.isfinite(f["server_memory"]["live"]["kb_per_session"])
    assert f["bundle"]["bokeh_live.min.js"]["gzip_kb"] > 0
    for kind in ("plain", "isolated"):
        assert number(f["recovery"][kind]["same_model_ms"]) and number(f["recovery"][kind]["other_model_ms"])
    assert f["recovery"]["isolated"]["namespace_kept"] is True and f["recovery"]["cycles"]["workers_alive"] == 1


def test_browser_callbacks_and_shipped_modules_hold_their_figures(results):
    _, r = results
    f = r["figures"]

    def number(x):
        return isinstance(x, (int, float)) and math.isfinite(x) and x >= 0

    callbacks = f["callbacks"]
    for path in ("floor_customjs", "browser_callback", "server_callback"):
        assert callbacks[path]["n"] == callbacks["samples"]
        assert all(number(callbacks[path][k]) for k in ("p50_ms", "p99_ms"))
    assert number(callbacks["ratio_vs_server"]["p50_ms"]) and math.isfinite(callbacks["above_floor_ms"]["p50_ms"])
    burst = callbacks["burst"]
    # Collapsing: fewer calls than changes, in order, and the last one saw the final value.
    assert isinstance(burst["calls"], int) and 1 <= burst["calls"] <= burst["changes"] == 200
    assert burst["last_saw_final"] is True and burst["last_call_saw"] == burst["final_value"]
    assert burst["in_order"] is True and number(burst["drag_ms"]) and number(burst["last_change_to_shown_ms"])

    calls = f["shipped"]["calls"]
    assert calls["wrong_results"] == 0
    for series in (calls, calls["no_import_scan"]):
        assert all(number(series[name]["p50_ms"]) for name in ("run", "run_python"))
        assert number(series["ratio"]["p50_ms"])
    module = f["shipped"]["module"]
    assert all(number(module[k]) for k in ("without_ms", "first_visit_ms", "second_visit_ms"))
    # The module was fetched on its first visit, whole, and came from the HTTP cache on the second.
    assert module["first_visit_requests"] == module["second_visit_requests"] == 1
    assert module["first_visit_body_bytes"] >= module["module_bytes"]
    assert module["second_visit_transfer_bytes"] == 0 and module["second_visit_from_cache"] is True
    assert all(number(v) for v in module["in_the_worker_ms"].values())


def test_the_fault_storm_loses_and_corrupts_nothing_and_holds_its_figures(results):
    _, r = results
    storm = r["figures"]["fault_storm"]

    def number(x):
        return isinstance(x, (int, float)) and math.isfinite(x) and x >= 0

    # Every call ended (none lost) and every value that arrived was the one sent.
    assert storm["lost"] == 0, storm["lost_examples"]
    assert storm["corrupted"] == 0, storm["wrong_examples"]
    assert isinstance(storm["calls"], int) and storm["calls"] > 0
    assert sum(storm["outcomes"].values()) == storm["calls"] == len(storm["raw"]["calls"])
    assert set(storm["calls_by_kind"]) <= {"small", "call", "up", "echo"}
    assert isinstance(storm["faults_total"], int) and storm["faults_total"] == sum(storm["faults"].values()) >= 1
    assert storm["page"]["answers_at_end"] is True and storm["page"]["reloaded"] is False
    for key in ("cut_to_call_end", "reconnection_to_first_answer", "cut_to_reconnection", "small_call_ok"):
        assert isinstance(storm[key]["n"], int)
        assert all(number(storm[key][k]) for k in ("p50_ms", "p99_ms", "max_ms")) or storm[key]["n"] == 0
    memory = storm["memory"]
    assert all(number(memory[k]) for k in ("rss_before_mb", "rss_peak_mb", "rss_after_mb", "rss_before_trimmed_mb",
                                           "rss_after_trimmed_mb", "ratio_after", "ratio_after_trimmed"))
    # A second storm follows the first, its memory measured against the memory after the first.
    again = memory["again"]
    assert again["lost"] == 0 and again["corrupted"] == 0 and again["calls"] > 0
    assert all(number(again[k]) for k in ("rss_peak_mb", "rss_after_mb", "rss_after_trimmed_mb",
                                          "ratio_to_first_trimmed", "ratio_to_before_trimmed"))
    assert all(isinstance(storm["after"][k], int) for k in ("pending", "blobs_held", "budget_used"))


def test_table_covers_every_figure_and_plot_is_written(results):
    out, r = results
    figures = {row["figure"].split()[0] for row in r["table"]}
    assert figures == {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15"}
    assert not [row for row in r["table"] if row["measure"] == "FAILED"]
    if importlib.util.find_spec("matplotlib") is not None:
        assert (out / "results.png").stat().st_size > 0
