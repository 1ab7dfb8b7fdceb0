"""The table and the plot drawn from a results dict of :mod:`benchmarks.run`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def _num(value: Any, unit: str = "", digits: int | None = None) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}{unit}"


def _ratio(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _met(value: Any) -> str:
    return "" if value is None else "yes" if value else "NO"


def _failed(fig: dict[str, Any] | None) -> str | None:
    if not fig:
        return "not run"
    return fig.get("error")


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


def table(results: dict[str, Any]) -> list[Row]:
    f = results["figures"]
    rows: list[Row] = []

    def row(figure: str, measure: str, value: str, baseline: str = "", base_value: str = "",
            ratio: Any = None, target: str = "", met: Any = None) -> None:
        rows.append({"figure": figure, "measure": measure, "value": value, "baseline": baseline,
                     "baseline_value": base_value, "ratio": _ratio(ratio), "target": target, "met": _met(met)})

    only = results.get("meta", {}).get("only")

    def failed(figure: str, fig: dict[str, Any] | None) -> bool:
        if fig is None and only:  # a run of some sections only (--only): the rest is left out
            return True
        error = _failed(fig)
        if error:
            row(figure, "FAILED", error[:120])
        return bool(error)

    fig = f.get("round_trip")
    if not failed("1 round trip", fig):
        for k, name in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
            row("1 round trip", f"run_python('1') {name}, {fig['live']['n']} in a row", _num(fig["live"][k], " ms"),
                "bare Bokeh event round trip, same page", _num(fig["bare"][k], " ms"), fig["ratio"][k],
                "<= 1.25x" if k == "p50_ms" else "", fig["ratio"][k] <= 1.25 if k == "p50_ms" else None)
        inner = fig["live"].get("page_to_worker_and_back")
        if inner:
            row("1 round trip", "of which view to worker and back (worker, Pyodide, postMessage hops), p50",
                _num(inner["p50_ms"], " ms"), "run_python('1') p50", _num(fig["live"]["p50_ms"], " ms"),
                inner["p50_ms"] / fig["live"]["p50_ms"])

    fig = f.get("throughput")
    if not failed("2 throughput", fig):
        live, bare = fig["live"], fig["bare"]
        row("2 throughput", f"{fig['calls_in_flight']} calls in flight", _num(live["calls_per_s"], " calls/s"),
            "bare event round trips", _num(bare["calls_per_s"], " calls/s"), fig["ratio"], ">= 2,000 calls/s",
            live["calls_per_s"] >= 2000)
        row("2 throughput", "lost / mismatched calls", f"{live['lost']} / {live['mismatched']}",
            "bare event round trips", f"{bare['lost']} / {bare['mismatched']}", None, "0 / 0",
            live["lost"] == live["mismatched"] == 0)

    fig = f.get("data")
    if not failed("3 data", fig):
        cases = {(c["mb"], c["path"]): c for c in fig["cases"]}

        def cell(mb: int, path: str) -> str:
            c = cases.get((mb, path), {})
            if c.get("ok"):
                return _num(c["mb_per_s"], " MB/s")
            if c.get("skipped"):
                return "not run (capped)"
            error = c.get("error", "?").removeprefix("CaseError: ")[:80]
            code = re.search(r"connection, (\d+) \(([^)]*)\)", c.get("browser_log", ""))
            closed = f" (websocket closed: {code[1]} {code[2]})".replace(" )", ")") if code else ""
            return f"FAILED: {error}{closed}"
        for s in fig["sizes"]:
            mb = s["mb"]
            row("3 data", f"float64 {mb} MB, numpy kwarg echoed", cell(mb, "binary"), "base64 text in JSON",
                cell(mb, "base64"), s["ratio_vs_base64"], ">= 10x base64",
                s["met"] if s["ratio_vs_base64"] is not None else None)
            row("3 data", f"float64 {mb} MB, numpy kwarg echoed", cell(mb, "binary"), "JSON list (tolist())",
                cell(mb, "list"), s["ratio_vs_list"])
            c = cases.get((mb, "binary"), {})
            if c.get("ok") and c.get("view_to_worker_and_back_s"):
                row("3 data", f"float64 {mb} MB, numpy kwarg: of which view to worker and back",
                    _num(c["view_to_worker_and_back_s"] * 1000, " ms"), "whole round trip",
                    _num(c["seconds"] * 1000, " ms"), c["view_to_worker_and_back_s"] / c["seconds"])

    fig = f.get("startup")
    if not failed("4 start-up", fig):
        for phase in ("cold", "warm"):
            row("4 start-up", f"page load to ready, 1 model, {phase}", _num(fig["models_1"][phase], " ms"),
                "bare Pyodide page, same server", _num(fig["bare"][phase], " ms"), fig[f"ratio_1_vs_bare_{phase}"],
                "<= 1.1x", fig[f"ratio_1_vs_bare_{phase}"] <= 1.1)
            counts = [int(k.split("_")[1]) for k in fig if k.startswith("models_")]
            for n in counts[1:]:
                r = fig[f"models_{n}"][phase] / fig["models_1"][phase]
                last = n == counts[-1]
                row("4 start-up", f"page load to ready, {n} models, {phase}", _num(fig[f"models_{n}"][phase], " ms"),
                    "1 model", _num(fig["models_1"][phase], " ms"), r, "<= 1.2x" if last else "",
                    r <= 1.2 if last else None)
        if "snapshot" in fig["models_1"]:
            r = fig["ratio_1_snapshot_vs_bare_warm"]
            row("4 start-up", "page load to ready, 1 model, from the memory snapshot",
                _num(fig["models_1"]["snapshot"], " ms"), "bare Pyodide page, warm", _num(fig["bare"]["warm"], " ms"),
                r, "<= 0.5x", r <= 0.5)

    fig = f.get("server_cpu")
    if not failed("5 server cost", fig):
        row("5 server cost", "server CPU per run_python, in a row", _num(fig["run_python_sequential_ms"], " ms"),
            "stock property round trip", _num(fig["stock_property_round_trip_ms"], " ms"),
            fig["ratio_sequential_vs_stock"])
        row("5 server cost", "server CPU per run_python, in flight", _num(fig["run_python_in_flight_ms"], " ms"),
            "stock property round trip", _num(fig["stock_property_round_trip_ms"], " ms"),
            fig["ratio_in_flight_vs_stock"])
        row("5 server cost", "server CPU per bare event round trip, in a row",
            _num(fig["bare_event_sequential_ms"], " ms"), "stock property round trip",
            _num(fig["stock_property_round_trip_ms"], " ms"),
            (fig["bare_event_sequential_ms"] / fig["stock_property_round_trip_ms"])
            if fig["stock_property_round_trip_ms"] else None)
    fig = f.get("server_memory")
    if not failed("5 server cost", fig):
        row("5 server cost", f"server RSS per open session with a BokehLive ({fig['sessions']} sessions)",
            _num(fig["live"]["kb_per_session"], " KB"), "stock page session", _num(fig["stock"]["kb_per_session"], " KB"),
            fig["ratio"])

    fig = f.get("bundle")
    if not failed("6 bundle", fig):
        ours, base = fig["bokeh_live.min.js"], fig["baseline"]
        row("6 bundle", "bokeh_live.min.js, minified", _num(ours["min_kb"], " KB"), "bokeh.min.js + bokeh-widgets.min.js",
            _num(base["min_kb"], " KB"), ours["min_kb"] / base["min_kb"])
        row("6 bundle", "bokeh_live.min.js, gzipped", _num(ours["gzip_kb"], " KB"), "bokeh.min.js + bokeh-widgets.min.js",
            _num(base["gzip_kb"], " KB"), fig["ratio_gzip"])
        editor = fig["bokeh_live_editor.min.js"]
        row("6 bundle", "bokeh_live_editor.min.js (CodeMirror), gzipped", _num(editor["gzip_kb"], " KB"),
            "bokeh.min.js + bokeh-widgets.min.js", _num(base["gzip_kb"], " KB"), editor["gzip_kb"] / base["gzip_kb"])

    fig = f.get("page_weight")
    if not failed("6 bundle", fig):
        base = f.get("bundle", {}).get("baseline", {}).get("gzip_kb")
        for mode, limit in (("headless", 30), ("app", None), ("editor", 120)):
            kb = fig[mode]["gzip_kb"]
            row("6 bundle", f"scripts a page with one {mode} model loads from /static/extensions/, gzipped",
                _num(kb, " KB"), "bokeh.min.js + bokeh-widgets.min.js", _num(base, " KB") if base else "",
                ratio(kb, base), f"<= {limit} KB" if limit else "", kb <= limit if limit else None)
        row("6 bundle", "the worker's module (worker.mjs, fetched by the worker), gzipped",
            _num(fig["headless"]["worker_gzip_kb"], " KB"))

    fig = f.get("issue7_vs_stock")
    if not failed("7 vs stock Bokeh", fig):
        stock_name = "stock property round trip, page without bokeh_live"
        for when in ("first", "reconnected"):
            label = "first connection" if when == "first" else "after a forced reconnect"
            for k, name in (("p50_ms", "p50"), ("p95_ms", "p95")):
                r = fig["ratio"][when][k]
                row("7 vs stock Bokeh", f"run_python('1') {name}, {label}", _num(fig[f"live_{when}"][k], " ms"),
                    stock_name, _num(fig[f"stock_{when}"][k], " ms"), r,
                    "<= 0.15x" if k == "p50_ms" else "", r <= 0.15 if k == "p50_ms" else None)
        for key, label in (("stock_in_live_page_first", "stock property round trip in a page with a BokehLive (TCP_NODELAY on)"),
                           ("stock_in_live_page_reconnected", "the same, after a forced reconnect"),
                           ("live_nodelay_off", "run_python('1'), BOKEH_LIVE_NODELAY=0 (Nagle on)"),
                           ("stock_in_live_page_nodelay_off", "stock property round trip in a page with a BokehLive, BOKEH_LIVE_NODELAY=0")):
            row("7 vs stock Bokeh", f"{label}, p50", _num(fig[key]["p50_ms"], " ms"), stock_name,
                _num(fig["stock_first"]["p50_ms"], " ms"), fig[key]["p50_ms"] / fig["stock_first"]["p50_ms"])

    fig = f.get("frames")
    if not failed("10 frames", fig):
        row("10 frames", f"DataFrame echo, 10 columns, {fig['frame']['rows']:,} rows", _num(fig["frame"]["rows_per_s"], " rows/s"),
            f"JSON records, {fig['records']['rows']:,} rows", _num(fig["records"]["rows_per_s"], " rows/s"), fig["ratio"])
        row("10 frames", f"DataFrame echo, {fig['frame']['rows']:,} rows, time", _num(fig["frame"]["seconds"] * 1000, " ms"))

    fig = f.get("recovery")
    if not failed("8 recovery", fig):
        for kind, label in (("plain", "page not isolated: a fresh worker"), ("isolated", "isolated page: KeyboardInterrupt")):
            k = fig[kind]
            limit = 2500 if kind == "plain" else 200
            row("8 recovery", f"runaway call timed out, {label}: same model answers after", _num(k["same_model_ms"], " ms"),
                "", "", None, f"<= {limit} ms", k["same_model_ms"] <= limit)
            row("8 recovery", f"runaway call timed out, {label}: other model answers after",
                _num(k["other_model_ms"], " ms"), "", "", None, "<= 2500 ms" if kind == "plain" else "",
                k["other_model_ms"] <= 2500 if kind == "plain" else None)
        row("8 recovery", "isolated page: namespace kept after the interrupt", str(fig["isolated"]["namespace_kept"]),
            "", "", None, "kept", fig["isolated"]["namespace_kept"])
        c = fig["cycles"]
        row("8 recovery", f"{c['cycles']} runaway/restart cycles: workers alive", str(c["workers_alive"]),
            f"workers started: {c['workers_started']}", "", None, "1", c["workers_alive"] == 1)
        row("8 recovery", f"{c['cycles']} runaway/restart cycles: page heap after GC", _num(c["heap_after_mb"], " MB"),
            "before the cycles", _num(c["heap_before_mb"], " MB"), c["heap_after_mb"] / c["heap_before_mb"],
            "< 1.10x", c["heap_growth"] < 0.10)

    fig = f.get("hostile")
    if not failed("9 hostile", fig):
        for k, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
            row("9 hostile", f"another session's round trip {name}, during a chunk flood",
                _num(fig["during_chunk_flood"][k], " ms"), "the same, no attack", _num(fig["quiet_alone"][k], " ms"),
                fig["during_chunk_flood"][k] / fig["quiet_alone"][k], "< 50 ms" if k == "p99_ms" else "",
                fig["during_chunk_flood"][k] < 50 if k == "p99_ms" else None)
        row("9 hostile", "one event of 30,000 empty blobs, sent and handled", _num(fig["one_event_of_30000_empty_blobs_s"] * 1000, " ms"))
        m = fig["memory_20_declaring_64mib"]
        row("9 hostile", "server RSS growth, 20 sessions each declaring 64 MiB (4 MiB sent each)",
            _num(m["growth_mb"], " MB"), "declared", _num(m["declared_mb"], " MB"), m["growth_mb"] / m["declared_mb"])

    fig = f.get("proxy")
    if not failed("11 nginx", fig):
        for k, name in (("p50_ms", "p50"), ("p95_ms", "p95"), ("p99_ms", "p99")):
            if fig["direct"]:
                row("11 nginx", f"run_python('1') {name} through nginx (2 servers, sticky)", _num(fig["live"][k], " ms"),
                    "the same, direct to the server (figure 1)", _num(fig["direct"][k], " ms"),
                    fig["live"][k] / fig["direct"][k], "< 20 ms (no Nagle delay)" if k == "p50_ms" else "",
                    fig["live"][k] < 20 if k == "p50_ms" else None)
            row("11 nginx", f"run_python('1') {name} through nginx", _num(fig["live"][k], " ms"),
                "bare Bokeh event round trip through nginx", _num(fig["bare"][k], " ms"), fig["live"][k] / fig["bare"][k])

    fig = f.get("parallel")
    if not failed("12 parallel", fig):
        for key, value in fig.items():
            if key.endswith("_calls"):
                calls = int(key.split("_")[0])
                row("12 parallel", f"{calls} CPU-bound calls of {_num(value['one_call_s'], ' s')} each, "
                    f"{calls} models in {calls} workers", _num(value[f"{calls}_workers_s"], " s"),
                    f"the same models in one worker ({fig['cores']} cores)", _num(value["one_worker_s"], " s"),
                    value["ratio"], "<= 0.6" if calls == 2 else "", value["ratio"] <= 0.6 if calls == 2 else None)
    fig = f.get("callbacks")
    if not failed("13 browser callbacks", fig):
        live, srv, js = fig["browser_callback"], fig["server_callback"], fig["floor_customjs"]
        for k, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
            r = fig["ratio_vs_server"][k]
            row("13 browser callbacks", f"slider change to source.data by a browser callback, {name}, {live['n']} changes",
                _num(live[k], " ms"), "stock server callback (on_change), same page, TCP_NODELAY on", _num(srv[k], " ms"),
                r, "<= 0.5x" if k == "p50_ms" else "", r <= 0.5 if k == "p50_ms" else None)
        for k, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
            above = fig["above_floor_ms"][k]
            row("13 browser callbacks", f"the same, {name}: {_num(above, ' ms')} above the floor", _num(live[k], " ms"),
                "CustomJS on the slider (the floor), same page", _num(js[k], " ms"), ratio(live[k], js[k]),
                "<= floor + 2 ms" if k == "p50_ms" else "", above <= 2 if k == "p50_ms" else None)
        inner = live.get("page_to_worker_and_back")
        if inner:
            row("13 browser callbacks", "of which page to worker and back (worker, Python, postMessage hops), p50",
                _num(inner["p50_ms"], " ms"), "browser callback p50", _num(live["p50_ms"], " ms"),
                ratio(inner["p50_ms"], live["p50_ms"]))
        b = fig["burst"]
        row("13 browser callbacks", f"burst: {b['changes']} changes in {_num(b['drag_ms'], ' ms')}, "
            f"{_num(b['callback_busy_ms'], ' ms', 0)} callback: calls that ran", str(b["calls"]), "changes made",
            str(b["changes"]), ratio(b["calls"], b["changes"]), "<= 15", b["calls"] <= 15)
        row("13 browser callbacks", "burst: calls that ran, against one call per callback's time of the drag",
            str(b["calls"]), f"drag / {_num(b['callback_busy_ms'], ' ms', 0)} + 1",
            _num(b["calls_if_one_per_busy_period"], "", 1), ratio(b["calls"], b["calls_if_one_per_busy_period"]))
        row("13 browser callbacks", "burst: the last call saw the final value", "yes" if b["last_saw_final"] else "no",
            "", "", None, "yes", b["last_saw_final"])
        row("13 browser callbacks", "burst: last change to the final value on the page", _num(b["last_change_to_shown_ms"], " ms"))

    fig = f.get("shipped")
    if not failed("14 live.run, modules", fig):
        calls = fig["calls"]
        for k, name in (("p50_ms", "p50"), ("p99_ms", "p99")):
            r = calls["ratio"][k]
            row("14 live.run", f"live.run(scale, x) {name}, {calls['n']} calls, alternating", _num(calls["run"][k], " ms"),
                "run_python('scale(x)', x=x), same page", _num(calls["run_python"][k], " ms"), r,
                "within 5 %" if k == "p50_ms" else "", abs(r - 1) <= 0.05 if k == "p50_ms" else None)
        quiet = calls.get("no_import_scan")
        if quiet:
            row("14 live.run", "live.run(scale, x) p50, auto_packages=False (no import scan per call)",
                _num(quiet["run"]["p50_ms"], " ms"), "run_python('scale(x)', x=x), same page",
                _num(quiet["run_python"]["p50_ms"], " ms"), quiet["ratio"]["p50_ms"])
        m = fig["module"]
        kb = _num(m["module_bytes"] / 1000, " KB", 0)
        for kind, label in (("first_visit", "first visit"), ("second_visit", "second visit (same profile)")):
            row("14 shipped module", f"page load to ready shipping a {kb} module, {label}", _num(m[f"{kind}_ms"], " ms"),
                "the same page without it", _num(m["without_ms"], " ms"), ratio(m[f"{kind}_ms"], m["without_ms"]))
        row("14 shipped module", "bytes fetched from /static/extensions/bokeh_live_modules/, first visit",
            _num(m["first_visit_transfer_bytes"], " B", 0), "module size", _num(m["module_bytes"], " B", 0),
            ratio(m["first_visit_transfer_bytes"], m["module_bytes"]))
        row("14 shipped module", "bytes fetched from /static/extensions/bokeh_live_modules/, second visit",
            _num(m["second_visit_transfer_bytes"], " B", 0), "first visit", _num(m["first_visit_transfer_bytes"], " B", 0),
            ratio(m["second_visit_transfer_bytes"], m["first_visit_transfer_bytes"]), "0 (HTTP cache)",
            m["second_visit_from_cache"])
        work = m["in_the_worker_ms"]
        for key, label in (("find_imports", "Python scans it for imports (auto_packages)"),
                           ("compile", "Python compiles it (its import)")):
            row("14 shipped module", f"of which {label}", _num(work[key], " ms"), "first-visit cost (with - without)",
                _num(m["first_visit_cost_ms"], " ms"), ratio(work[key], m["first_visit_cost_ms"]))

    fig = f.get("fault_storm")
    if not failed("15 fault storm", fig):
        name = "15 fault storm"
        sizes = "/".join(str(mib) for mib in fig["sizes_mib"])
        ok = fig["outcomes"].get("ok", 0)
        row(name, f"calls made in {_num(fig['seconds'], ' s', 0)} of faults (small values, calls the other way, "
            f"arrays of {sizes} MiB both ways), seed {fig['seed']}", f"{fig['calls']:,}",
            "of which answered (the rest ended with an error)", f"{ok:,}", ratio(ok, fig["calls"]))
        kinds = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(fig["faults"].items()))
        row(name, f"faults injected ({kinds or 'none'})", str(fig["faults_total"]),
            "of which dropped the page's websocket", str(fig["websocket_cuts"]))
        row(name, "calls lost (not ended 90 s after the storm, long past their timeouts)", str(fig["lost"]),
            "calls made", f"{fig['calls']:,}", None, "0", fig["lost"] == 0)
        row(name, "values corrupted (checked: numbers, texts, SHA-256 of arrays)", str(fig["corrupted"]),
            "calls answered", f"{ok:,}", None, "0", fig["corrupted"] == 0)
        c = fig["cut_to_call_end"]
        row(name, f"longest from a cut to the end of a call it caught ({c['n']} calls)", _num(c["max_ms"], " ms"),
            "the same, p50", _num(c["p50_ms"], " ms"), ratio(c["max_ms"], c["p50_ms"]))
        row(name, "calls caught by a cut that ended by their timeout instead", str(fig["caught_by_a_cut_ended_by_timeout"]),
            "calls caught by a cut", str(c["n"]), None, "0", fig["caught_by_a_cut_ended_by_timeout"] == 0)
        row(name, "cuts after which the server never saw 0 connections (the new websocket came first)",
            str(fig["cuts_without_zero_connections"]), "cuts of the page's websocket", str(fig["websocket_cuts"]))
        r, small = fig["reconnection_to_first_answer"], fig["small_call_ok"]
        row(name, f"longest from a reconnection to the first answer ({r['n']} reconnections)", _num(r["max_ms"], " ms"),
            "a small call's round trip in the storm, p50", _num(small["p50_ms"], " ms"),
            ratio(r["max_ms"], small["p50_ms"]))
        row(name, "from a reconnection to the first answer, p50", _num(r["p50_ms"], " ms"),
            "a small call's round trip in the storm, p50", _num(small["p50_ms"], " ms"),
            ratio(r["p50_ms"], small["p50_ms"]))
        m = fig["memory"]
        row(name, "server RSS 2 s after the storm", _num(m["rss_after_mb"], " MB"),
            "before the storm (after a warm-up)", _num(m["rss_before_mb"], " MB"), m["ratio_after"])
        row(name, "the same after gc and malloc_trim (free memory handed back)", _num(m["rss_after_trimmed_mb"], " MB"),
            "before the storm, after gc and malloc_trim", _num(m["rss_before_trimmed_mb"], " MB"),
            m["ratio_after_trimmed"], "<= 1.10x", m["ratio_after_trimmed"] <= 1.10)
        again = m.get("again")
        if again:
            row(name, f"the same after a second storm ({_num(again['seconds'], ' s', 0)}, seed {again['seed']}: "
                f"{again['calls']:,} calls, {again['lost']} lost, {again['corrupted']} corrupted)",
                _num(again["rss_after_trimmed_mb"], " MB"), "after the first storm, after gc and malloc_trim",
                _num(m["rss_after_trimmed_mb"], " MB"), again["ratio_to_first_trimmed"])
        row(name, "server RSS peak during the storm", _num(m["rss_peak_mb"], " MB"),
            "before the storm (after a warm-up)", _num(m["rss_before_mb"], " MB"), m["ratio_peak"])
        after = fig["after"]
        row(name, "after the storm: calls pending / blob bytes held / process blob budget used",
            f"{after['pending']} / {after['blobs_held']} / {after['budget_used']}", "", "", None, "0 / 0 / 0",
            after["pending"] == after["blobs_held"] == after["budget_used"] == 0)
        page = fig["page"]
        works = page["answers_at_end"] and not page["reloaded"]
        row(name, "the page answers at the end (a checksummed array, a small call), never reloaded",
            "yes" if works else "no", "", "", None, "yes", works)
    return rows


COLUMNS = (("figure", "Figure"), ("measure", "Measure"), ("value", "Value"), ("baseline", "Baseline"),
           ("baseline_value", "Baseline value"), ("ratio", "Ratio"), ("target", "Target"), ("met", "Met"))


def markdown_table(rows: list[Row]) -> str:
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(str(r[k]).replace("|", "/") for k, _ in COLUMNS) + " |")
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> Path | None:
    """Latency distributions, data rates by size and start-up times; None without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        return None
    f, raw = results["figures"], results.get("raw_ms", {})
    fig, axes = plt.subplots(1, 4, figsize=(22, 5))

    ax = axes[0]
    for key, label in (("round_trip_live", "run_python('1')"), ("round_trip_bare", "bare Bokeh event round trip"),
                       ("issue7_live_reconnected", "run_python('1') after reconnect"),
                       ("issue7_stock_first", "stock property round trip (no bokeh_live)"),
                       ("issue7_live_nodelay_off", "run_python('1'), Nagle on")):
        values = np.sort(raw.get(key, []))
        if len(values):
            ax.plot(values, np.arange(1, len(values) + 1) / len(values), label=label)
    ax.set_xscale("log")
    ax.set_xlabel("round trip (ms, log)")
    ax.set_ylabel("fraction of calls")
    ax.set_title("Round-trip latency (CDF)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)

    ax = axes[1]
    cases = f.get("data", {}).get("cases", [])
    for path_name, label in (("binary", "numpy kwarg (binary)"), ("base64", "base64 text in JSON"),
                             ("list", "JSON list")):
        points = [(c["mb"], c["mb_per_s"]) for c in cases if c["path"] == path_name and c.get("ok")]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=label)
        failed = [c["mb"] for c in cases if c["path"] == path_name and not c.get("ok") and not c.get("skipped")]
        if failed:
            ax.scatter(failed, [1] * len(failed), marker="x", color="red")
    if any(not c.get("ok") and not c.get("skipped") for c in cases):
        ax.scatter([], [], marker="x", color="red", label="failed (drawn at 1 MB/s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("array size (MB, log)")
    ax.set_ylabel("MB/s (log)")
    ax.set_title("Array echoed through run_python")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)

    ax = axes[2]
    st = f.get("startup", {})
    names = [k for k in ("bare", "models_1", "models_5", "models_10") if k in st]
    if names:
        x = np.arange(len(names))
        for i, phase in enumerate(("cold", "warm", "snapshot")):
            ax.bar(x + (i - 1) * 0.27, [st[n].get(phase, 0) for n in names], 0.27, label=phase)
        ax.set_xticks(x, ["bare Pyodide" if n == "bare" else n.replace("models_", "") + " model(s)" for n in names])
    ax.set_ylabel("page load to ready (ms)")
    ax.set_title("Start-up (median)")
    ax.legend(fontsize=8)

    ax = axes[3]
    for key, label in (("callbacks_floor_customjs", "CustomJS (the floor)"),
                       ("callbacks_browser_callback", "browser callback (bokeh_live)"),
                       ("callbacks_server_callback", "server callback (on_change)")):
        values = np.sort(raw.get(key, []))
        if len(values):
            ax.plot(np.maximum(values, 0.05), np.arange(1, len(values) + 1) / len(values), label=label)
    ax.set_xscale("log")
    ax.set_xlabel("slider change to source.data, in the page (ms, log)")
    ax.set_ylabel("fraction of changes")
    ax.set_title("Browser callbacks (CDF)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)

    date = results.get("meta", {}).get("date", "")
    fig.suptitle(f"bokeh_live benchmarks {date}{' (quick)' if results.get('meta', {}).get('quick') else ''}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
