"""Shipped modules and calls by reference in real browsers: modules and packages installed in
the page's Python, ``live.run`` across the wire, tracebacks naming files and lines, the
browser's cache, standalone and notebook pages, and what a hostile client can ask for."""
from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapes
import shapes_pkg
from bokeh.client import pull_session
from bokeh.embed import file_html
from bokeh.embed.notebook import notebook_content
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, Slider
from bokeh.plotting import figure
from bokeh.resources import INLINE
from shapes_pkg.area import Circle
from test_messaging import open_live, run
from test_standalone import StaticServer, model_prop, pyodide_cdn, wait_live  # noqa: F401 - fixture

from bokeh_live import BokehLive, LiveError
from bokeh_live.modules import EXTENSION
from bokeh_live.standalone import resources_html
from harness import PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser

EXTRA = '''
def stats(values, *, scale=1.0):
    """A numpy array arrives as one where numpy is loaded, else as a memoryview."""
    return {"n": len(values), "sum": float(sum(values)) * scale, "type": type(values).__name__}


def columns(frame):
    return list(frame), len(frame["x"])
'''


def test_a_module_and_a_package_run_by_reference_with_everything_run_python_gives(app_server, page):
    live = open_live(app_server, page, modules=[shapes, shapes_pkg],
                     code="import shapes, shapes_pkg\nprint(shapes_pkg.area(1.0))")
    assert live.stdout == "3.141592653589793\n" and live.modules == ["shapes", "shapes_pkg"]
    assert run(app_server, live, "shapes.wave(4)") == pytest.approx([0.0, 1.0, 0.0, -1.0])  # importable by name
    call = app_server.call
    assert call(live.run(shapes.wave, 4, 1.0, amplitude=2.0)) == pytest.approx([0.0, 2.0, 0.0, -2.0])
    assert call(live.run(shapes.slow_sum, [1.5, 2.5])) == 4.0  # async: awaited in the browser
    assert call(live.run(Circle.unit_area)) == pytest.approx(3.14159265)  # a static method, by qualified name
    assert call(live.with_timeout(60).run(shapes_pkg.area, 2)) == pytest.approx(12.566370614)
    with pytest.raises(LiveError) as info:
        call(live.run(shapes.fails, 3))
    assert info.value.error_type == "ZeroDivisionError"
    assert 'File "shapes.py", line 23, in fails' in info.value.traceback  # the real file and line
    assert "return x // y" in info.value.traceback and "_modules" not in info.value.traceback
    assert "__bokeh_live_function__" not in info.value.traceback
    with pytest.raises(ValueError, match="not shipped to the browser"):
        call(live.run(pd.concat))


def test_binary_values_and_dataframes_travel_by_reference_both_ways(app_server, page, tmp_path):
    (tmp_path / "extra_mod.py").write_text(EXTRA)
    sys.path.insert(0, str(tmp_path))
    try:
        import extra_mod
        live = open_live(app_server, page, modules=[extra_mod], code="")
        result = app_server.call(live.run(extra_mod.stats, np.arange(1000, dtype="float64"), scale=2.0), timeout=120)
        assert result == {"n": 1000, "sum": 999000.0, "type": "memoryview"}  # binary: no numpy in this Pyodide
        frame = pd.DataFrame({"x": [1, 2, 3], "s": ["a", "b", "c"]})
        assert app_server.call(live.run(extra_mod.columns, frame), timeout=120) == [["x", "s"], 3]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("extra_mod", None)


def module_requests(page):
    """The page's fetches of shipped files: (file, bytes over the network; 0 from the HTTP cache)."""
    return page.execute_script("""
        return performance.getEntriesByType("resource").filter((e) => e.name.includes("/bokeh_live_modules/"))
          .map((e) => [new URL(e.name).pathname.split("/").pop(), e.transferSize])""")


def test_files_are_fetched_once_and_again_only_when_changed(app_server, page, tmp_path):
    module = tmp_path / "versioned.py"
    module.write_text("VERSION = 1\n")

    def build(doc):
        doc.add_root(BokehLive(name="live", mode="app", modules=[str(module)], code="import versioned"))

    url = app_server.app(build)

    def visit():
        page.get(url)
        live = app_server.doc(url).select_one({"name": "live"})
        wait_for(lambda: live.status in ("ready", "error"), PYODIDE_TIMEOUT, what="runtime ready")
        assert live.status == "ready", live.error
        return run(app_server, live, "versioned.VERSION"), module_requests(page)

    version, first = visit()
    assert version == 1 and len(first) == 1 and first[0][1] > 0  # fetched
    version, again = visit()
    assert version == 1 and again == [[first[0][0], 0]]  # the same file, from the browser's cache
    module.write_text("VERSION = 2\n")
    version, changed = visit()
    assert version == 2 and len(changed) == 1 and changed[0][0] != first[0][0] and changed[0][1] > 0


def test_only_shipped_files_are_served_and_a_client_cannot_change_the_list(app_server, page):
    live = open_live(app_server, page, modules=[shapes], code="import shapes")
    path, sha, source, imports = live.module_files[0]
    assert (path, source, imports) == ("shapes.py", None, ["__future__", "asyncio", "bokeh_live", "math"])
    base = f"http://127.0.0.1:{app_server.port}/static/extensions/{EXTENSION}/"
    with urllib.request.urlopen(f"{base}{sha}.py?v={sha[:16]}") as response:
        assert response.read() == Path(shapes.__file__).read_bytes()
        assert "max-age=315360000" in response.headers["Cache-Control"]
    for probe in ("0" * 64 + ".py", "..%2F..%2F..%2Fetc%2Fpasswd", "%2E%2E/bokeh_live/../../../../etc/passwd",
                  "test_modules.py"):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(base + probe)
        assert info.value.code in (403, 404), probe
    case = next(case for case, docs in app_server.docs.items() if live.document in docs)
    session = pull_session(url=f"http://127.0.0.1:{app_server.port}/app", arguments={"case": case})
    try:
        forged = session.document.select_one({"name": "live"})
        forged.module_files = [("evil.py", "0" * 64, "import os", [])]
        forged.modules = ["os"]
        session.force_roundtrip()
        served = app_server.docs[case][-1].select_one({"name": "live"})  # that session's model, on the server
        assert served is not live and served.module_files[0][0] == "shapes.py" and served.modules == ["shapes"]
    finally:
        session.close()


SLIDER_CODE = "import shapes\nshapes.setup()"


def standalone_layout(pyodide_url):
    source = ColumnDataSource(data={"x": [], "y": []}, name="curve")
    slider = Slider(start=0, end=5, value=1, step=0.5, name="freq")
    live = BokehLive(name="live", mode="app", modules=[shapes], code=SLIDER_CODE, pyodide_url=pyodide_url,
                     watch={slider: ["value"]}, allow_update={"curve": ["data"]})
    return column(slider, live), source


def check_standalone(page):
    result = wait_live(page)
    assert result["status"] == "ready", result
    page.execute_script("Bokeh.documents[0].get_model_by_name('freq').value = 2")
    wait_for(lambda: len((model_prop(page, "curve", "data") or {}).get("y", [])) == 200, 30,
             what="the shipped module's callback to fill the curve")
    assert model_prop(page, "curve", "data")["y"][25] == pytest.approx(shapes.wave(200, 2.0)[25])


def test_a_standalone_page_carries_its_modules(page, tmp_path, pyodide_cdn):  # noqa: F811 - the fixture
    layout, source = standalone_layout(pyodide_cdn)
    (tmp_path / "page.html").write_text(file_html(column(layout, _plot(source)), INLINE, "modules",
                                                  suppress_callback_warning=True))
    server = StaticServer(tmp_path)
    try:
        page.get(server.url("page.html"))
        check_standalone(page)
    finally:
        server.stop()


def test_notebook_output_carries_its_modules(page, tmp_path, pyodide_cdn):  # noqa: F811 - the fixture
    """What ``output_notebook()`` + ``show()`` put in a notebook cell, outside Jupyter."""
    layout, source = standalone_layout(pyodide_cdn)
    script, div, _ = notebook_content(column(layout, _plot(source)))
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><head>{resources_html(None, INLINE)}</head>"
                    f"<body>{div}<script>{script}</script></body></html>")
    page.get(path.as_uri())
    check_standalone(page)


def _plot(source):
    plot = figure(width=300, height=200)
    plot.line("x", "y", source=source)
    return plot


def test_bokeh_serve_dev_reloads_when_a_shipped_module_changes(page, tmp_path):
    from harness import BokehServe

    (tmp_path / "lib").mkdir()
    (tmp_path / "app").mkdir()
    module = tmp_path / "lib" / "edited.py"
    module.write_text("VERSION = 1\n")
    app = tmp_path / "app" / "app.py"
    app.write_text(f"""
from bokeh.io import curdoc
from bokeh_live import BokehLive
curdoc().add_root(BokehLive(name="live", mode="app", modules=[{str(module)!r}],
                            code="import edited\\nprint('version', edited.VERSION)"))
""")
    server = BokehServe(app, args=("--dev", str(app)))
    try:
        page.get(server.url("app"))
        assert wait_live(page)["stdout"] == "version 1\n"
        module.write_text("VERSION = 2\n")  # outside the app's folder: watched because it is shipped
        wait_for(lambda: "version 2" in (_reload_and_read(page, server) or ""), 60, interval=1,
                 what="the server to reload the edited module")
    finally:
        server.stop()


def _reload_and_read(page, server):
    try:
        page.get(server.url("app"))
        return wait_live(page, timeout=20)["stdout"]
    except Exception:  # the server is restarting
        return None
