"""Pages load only what they show: CodeMirror is a bundle of its own (bokeh_live_editor),
which server pages fetch only when a view shows an editor, standalone pages carry only when
a model shows one, and notebooks always carry. Where it cannot be had, a text area stands in.
"""
from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest
from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.resources import INLINE
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from bokeh_live import BokehLive
from bokeh_live.editor import EditorAssets
from harness import JS_VIEW, PYODIDE_TIMEOUT, wait_for

ROOT = Path(__file__).parents[1]
EXTENSION_FILES = """
return performance.getEntriesByType("resource").map((e) => new URL(e.name).pathname)
  .filter((p) => p.startsWith("/static/extensions/") && !p.includes("/pyodide/"))
  .map((p) => p.slice("/static/extensions/".length))"""

SHADOW = JS_VIEW + """
const view = live_view(arguments[0]);
const el = view && view.shadow_el.querySelector(arguments[1]);"""


def open_page(app_server, page, **props):
    def build(doc):
        doc.add_root(BokehLive(name="live", code="print('hi')", **props))
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="the code to run")
    return live


def gzip_kb(served):
    extension, name = served.split("/", 1)
    return len(gzip.compress((ROOT / extension / "dist" / name).read_bytes(), 9)) / 1024


def shown(page, selector):
    return page.execute_script(SHADOW + "return el != null", "live", selector)


# --- which pages carry the editor (no browser) ---------------------------------------------

def test_only_models_that_show_the_editor_hold_its_marker():
    assert BokehLive(mode="headless").editor_assets is None
    assert BokehLive(mode="app").editor_assets is None
    assert isinstance(BokehLive().editor_assets, EditorAssets)  # "editor" is the default mode
    live = BokehLive(mode="app")
    live.mode = "playground"
    assert isinstance(live.editor_assets, EditorAssets)


@pytest.mark.parametrize(("mode", "carried"), [("headless", False), ("app", False), ("editor", True)])
def test_standalone_pages_carry_the_editor_only_when_shown(mode, carried):
    doc = Document()
    doc.add_root(BokehLive(mode=mode))
    html = file_html(doc, INLINE)
    assert "/* BEGIN bokeh_live.min.js */" in html
    assert ("/* BEGIN bokeh_live_editor.min.js */" in html) == carried


EXTENSION_SCRIPTS = """
from bokeh.embed.bundle import bundle_for_objs_and_resources
from bokeh.resources import INLINE
from bokeh_live import BokehLive
BokehLive(mode="editor")  # an editor anywhere in the process changes nothing
bundle = bundle_for_objs_and_resources(None, INLINE)  # what server pages and output_notebook() use
print(sorted(raw.splitlines()[0] for raw in bundle.js_raw if raw.startswith("/* BEGIN bokeh_live")))
"""


@pytest.mark.parametrize(("kernel", "scripts"), [
    (False, ["/* BEGIN bokeh_live.min.js */"]),
    (True, ["/* BEGIN bokeh_live.min.js */", "/* BEGIN bokeh_live_editor.min.js */"]),
])
def test_server_pages_never_carry_it_and_notebooks_always_do(kernel, scripts):
    # A fresh process each: which model classes exist decides, and a class cannot be unmade.
    pretend = "import sys, types; sys.modules['ipykernel'] = types.ModuleType('ipykernel')\n" if kernel else ""
    done = subprocess.run([sys.executable, "-c", pretend + EXTENSION_SCRIPTS], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == repr(scripts)


# --- real pages ----------------------------------------------------------------------------

@pytest.mark.browser
def test_a_headless_page_loads_no_editor_and_gets_one_when_its_mode_changes(app_server, page):
    live = open_page(app_server, page, mode="headless")
    files = page.execute_script(EXTENSION_FILES)  # the worker's file twice when it also makes a snapshot
    assert sorted(set(files)) == ["bokeh_live/bokeh_live.min.js", "bokeh_live/worker.mjs"]
    # A guard, not the target (benchmark figure 6 reports it): with CodeMirror it was 202 KB.
    assert gzip_kb(files[0]) < 64
    app_server.locked(live.document, lambda: setattr(live, "mode", "editor"))
    wait_for(lambda: shown(page, ".cm-editor"), 30, what="CodeMirror, fetched when the mode shows it")
    assert page.execute_script(EXTENSION_FILES).count("bokeh_live_editor/bokeh_live_editor.min.js") == 1
    assert page.execute_script(SHADOW + "return el.textContent", "live", ".cm-content") == "print('hi')"


@pytest.mark.browser
def test_an_editor_page_loads_codemirror_once_for_all_its_editors(app_server, page):
    def build(doc):
        for name in ("a", "b"):
            doc.add_root(BokehLive(name=name, code=f"print('{name}')", mode="editor"))
    url = app_server.app(build)
    page.get(url)
    for name in ("a", "b"):
        wait_for(lambda name=name: page.execute_script(SHADOW + "return el != null", name, ".cm-editor"),
                 PYODIDE_TIMEOUT, what=f"{name}'s editor")
    files = page.execute_script(EXTENSION_FILES)
    assert files.count("bokeh_live_editor/bokeh_live_editor.min.js") == 1 and not page.execute_script(
        SHADOW + "return el != null", "a", ".bl-plain-editor")


@pytest.mark.browser
def test_a_text_area_stands_in_when_codemirror_cannot_be_loaded(app_server, page):
    page.execute_cdp_cmd("Network.enable", {})
    page.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["*bokeh_live_editor*"]})
    try:
        live = open_page(app_server, page, mode="editor")
        wait_for(lambda: shown(page, ".bl-plain-editor"), 30, what="the text area")
        assert not shown(page, ".cm-editor")
        area = page.execute_script(SHADOW + "return el", "live", ".bl-plain-editor")
        assert area.get_property("value") == "print('hi')"
        area.click()
        ActionChains(page).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys("print(6 * 7)").perform()
        ActionChains(page).key_down(Keys.CONTROL).send_keys(Keys.ENTER).key_up(Keys.CONTROL).perform()
        wait_for(lambda: live.stdout == "42\n", 30,
                 what=f"the code typed in the text area to run ({area.get_property('value')!r}, {live.stdout!r})")
        assert live.code == "print(6 * 7)"
    finally:
        page.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
