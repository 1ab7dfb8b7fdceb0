"""The Python model without a browser: properties, the build output, and clear errors."""
from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models.layouts import LayoutDOM
from bokeh.plotting import figure
from bokeh.resources import INLINE

import bokeh_live
from bokeh_live import BokehLive, LiveError, shared
from bokeh_live.boundary import BROWSER_WRITABLE, SERVER_OWNED

ROOT = Path(__file__).parents[1]
PROPS = ["code", "mode", "status", "error", "stdout", "stderr", "auto_run", "packages", "pyodide_url",
         "value", "output", "max_message_size", "examples", "theme", "allow_update", "run_timeout", "sandbox",
         "package_url", "auto_packages", "requirements", "index_urls", "editor_assets", "version", "progress", "browser_metrics",
         "persist", "worker", "snapshot", "watch", "modules", "module_files"]


def test_properties_have_help_and_match_typescript():
    ts = (ROOT / "bokehjs_ext" / "live.ts").read_text()
    defined = re.findall(r"^\s{6}(\w+):\s+\[", ts, re.M)
    assert sorted(defined) == sorted(PROPS)
    for name in PROPS:
        assert BokehLive.lookup(name).property.__doc__, f"{name} has no help text"


def test_defaults():
    live = BokehLive()
    defaults = (live.mode, live.status, live.auto_run, live.packages, live.pyodide_url)
    assert defaults == ("editor", "idle", True, [], None)


def test_mode_is_validated():
    with pytest.raises(ValueError):
        BokehLive(mode="fullscreen")


def test_pyodide_url_from_environment(monkeypatch):
    monkeypatch.setenv("BOKEH_LIVE_PYODIDE_URL", "https://example.org/pyodide/")
    assert BokehLive().pyodide_url == "https://example.org/pyodide/"
    assert BokehLive(pyodide_url="/here/").pyodide_url == "/here/"


def test_usable_in_layouts():
    live = BokehLive(code="1")
    layout = column(row(figure(), live))
    doc = Document()
    doc.add_root(layout)
    assert live.document is doc


def test_build_output_is_where_bokeh_finds_it():
    pkg = Path(bokeh_live.__file__).parent
    assert (pkg / "bokeh.ext.json").exists()
    assert (pkg / "dist" / "bokeh_live.min.js").stat().st_size > 10_000
    for name in ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "pyodide-lock.json"):
        assert (pkg / "dist" / "pyodide" / name).exists(), name
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["pyodide"]
    assert f'"{pinned}"' in (pkg / "dist" / "pyodide" / "pyodide.mjs").read_text()
    assert pinned == shared.PYODIDE_VERSION  # the CDN default and the vendor command use it
    assert (pkg / "dist" / "worker.mjs").exists()


def test_standalone_html_inlines_the_extension():
    html = file_html(BokehLive(code="print(1)"), INLINE, "t")
    assert "bokeh_live.live" in html and "BokehLive" in html


def test_send_without_a_server_session_is_a_clear_error():
    live = BokehLive()
    with pytest.raises(RuntimeError, match="need a Bokeh server session"):
        live.send({"x": 1})
    Document().add_root(live)
    with pytest.raises(RuntimeError, match="need a Bokeh server session"):
        live.send({"x": 1})


def test_run_python_without_a_server_session_is_a_clear_error():
    with pytest.raises(RuntimeError, match="need a Bokeh server session"):
        asyncio.run(BokehLive().run_python("1"))


def test_run_python_checks_its_arguments():
    with pytest.raises(TypeError):
        asyncio.run(BokehLive().run_python(b"1"))
    with pytest.raises(ValueError, match="identifiers"):
        asyncio.run(BokehLive().run_python("1", **{"not valid": 1}))


def test_every_property_is_placed_on_one_side_of_the_trust_boundary():
    """What the browser may write is an allow-list; each of the model's own properties is also
    listed as the server's or the browser's, once, so that a new one is placed on purpose."""
    own = BokehLive.properties() - LayoutDOM.properties()
    assert len(own) == len(PROPS)
    assert not BROWSER_WRITABLE & SERVER_OWNED
    assert own == BROWSER_WRITABLE | SERVER_OWNED, (own - BROWSER_WRITABLE - SERVER_OWNED) or \
        ((BROWSER_WRITABLE | SERVER_OWNED) - own)


def test_browser_may_set_only_what_it_is_allowed_to():
    live = BokehLive(value=1, width=300)
    for name in sorted(BokehLive.properties() - BROWSER_WRITABLE):  # inherited ones too: width, stylesheets...
        before = getattr(live, name)
        forged = "forged" if not isinstance(before, (int, float)) or isinstance(before, bool) else 7
        live.set_from_json(name, forged, setter=object())
        assert getattr(live, name) == before, name
    live.set_from_json("status", "ready", setter=object())
    live.set_from_json("code", "print(1)", setter=object())
    assert (live.status, live.code) == ("ready", "print(1)")


def test_browser_progress_is_checked():
    live = BokehLive()
    live.set_from_json("progress", [0.5, "half"], setter=object())
    assert live.progress == (0.5, "half")
    for forged in ([1.5, "over"], [-0.1, ""], [0.5, "x" * 201], ["0.5", ""], [True, ""], [0.5], {"a": 1}):
        live.set_from_json("progress", forged, setter=object())
        assert live.progress == (0.5, "half"), forged
    live.set_from_json("progress", None, setter=object())
    assert live.progress is None


def test_browser_metrics_are_checked_and_metrics_start_empty():
    live = BokehLive()
    assert live.metrics()["calls"] == 0 and live.metrics()["python_start_ms"] is None
    live.set_from_json("browser_metrics", {"python_start_ms": 2100.5, "code_runs": 3}, setter=object())
    assert live.metrics()["python_start_ms"] == 2100.5 and live.metrics()["code_runs"] == 3
    for forged in ({"secret": 1}, {"code_runs": -1}, {"code_runs": "3"}, {"restarts": 1e20}, [1, 2]):
        live.set_from_json("browser_metrics", forged, setter=object())
        assert live.browser_metrics == {"python_start_ms": 2100.5, "code_runs": 3}, forged


def test_live_error_carries_type_and_traceback():
    err = LiveError("ValueError: x", error_type="ValueError", traceback="Traceback...\nValueError: x")
    assert err.error_type == "ValueError" and "Browser traceback" in str(err)


def test_standalone_output_raises_no_python_callback_warning(recwarn, caplog):
    file_html(BokehLive(code="print(1)"), INLINE, "t")
    assert not [w for w in recwarn if "callback" in str(w.message)]
    assert "callback" not in caplog.text


def test_run_python_then_never_raises_into_bokeh():
    """Without a session (or once it ended) the failure reaches on_error, not the caller."""
    errors = []

    async def from_a_callback():
        live = BokehLive()
        Document().add_root(live)
        task = live.run_python_then("1", lambda result: errors.append("called back"), on_error=errors.append)
        await asyncio.wait([task])
        return task
    asyncio.run(from_a_callback())
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError) and "server session" in str(errors[0])


def test_an_app_callback_that_raises_costs_only_itself(caplog):
    live = BokehLive()
    seen = []
    live.on_change("output", lambda attr, old, new: 1 / 0)
    live.on_change("output", lambda attr, old, new: seen.append(new))
    live.output = "x"  # as the browser's data would set it
    assert seen == ["x"] and "ZeroDivisionError" in caplog.text
    live.remove_on_change("output", *list(live._guards))
    live.output = "y"
    assert seen == ["x"]
