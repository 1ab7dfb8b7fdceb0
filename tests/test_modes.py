"""The six modes in a real browser: what each shows, the editor, the output area, themes and sizes.

Screenshots of each mode land in tests/output/ (not checked in) for a person to look at.
"""
from __future__ import annotations

import time

import pytest
from bokeh.embed import json_item
from bokeh.layouts import column
from bokeh.models import Div
from bokeh.plotting import figure
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from bokeh_live import BokehLive
from harness import JS_VIEW, OUTPUT, PYODIDE_TIMEOUT, view_size, wait_for

pytestmark = pytest.mark.browser

SAMPLE = '''\
import sys

def greet(name):
    """Say hello."""
    return f"Hello, {name}!"

for i in range(3):
    print(greet(f"world {i}"))
print("a warning", file=sys.stderr)
{"answer": 42, "items": [1, 2, 3]}
'''

EXAMPLES = {
    "Hello": "print('hello from an example')",
    "Squares": "squares = [i * i for i in range(5)]\nprint(squares)\nsum(squares)",
}

#: JS: the named view's shadow root, then `part(selector)`, the first match inside it.
JS_PART = JS_VIEW + """
const view = live_view(arguments[0]);
const root = view ? view.shadow_el : document.createDocumentFragment();
const part = (selector) => root.querySelector(selector);
const shown = (el) => el != null && el.getClientRects().length > 0 && el.getBoundingClientRect().width > 0;
"""


def serve(app_server, page, name="live", **props):
    """Serve one BokehLive beside a Div; return the server-side model once the page loaded."""
    def build(doc):
        doc.add_root(column(Div(text="<b>bokeh_live</b>"), BokehLive(name=name, **props)))
    url = app_server.app(build)
    page.get(url)
    return app_server.doc(url).select_one({"name": name})


def settled(live, timeout=PYODIDE_TIMEOUT):
    wait_for(lambda: live.status in ("ready", "error"), timeout, what="the code to finish")


def part(page, selector, name="live"):
    """The element matching ``selector`` in the named view's shadow root (or None)."""
    return page.execute_script(JS_PART + "return part(arguments[1]);", name, selector)


def shown(page, selector, name="live"):
    return page.execute_script(JS_PART + "return shown(part(arguments[1]));", name, selector)


def text(page, selector, name="live"):
    return page.execute_script(JS_PART + "const el = part(arguments[1]); return el ? el.textContent : '';",
                               name, selector)


def editor_text(page, name="live"):
    return page.execute_script(
        JS_PART + "return [...part('.cm-content').querySelectorAll('.cm-line')].map((l) => l.textContent).join('\\n');",
        name)


def screenshot(page, name):
    OUTPUT.mkdir(exist_ok=True)
    page.save_screenshot(str(OUTPUT / f"{name}.png"))


def type_into_editor(page, keys, name="live", replace=True):
    content = part(page, ".cm-content", name)
    content.click()
    actions = ActionChains(page)
    if replace:
        actions.key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL)
    actions.send_keys(keys).perform()


def ctrl(page, key):
    ActionChains(page).key_down(Keys.CONTROL).send_keys(key).key_up(Keys.CONTROL).perform()


# --- what each mode shows -----------------------------------------------------------------

SHOWS = {
    "editor": {".cm-editor", ".cm-lineNumbers", ".bl-run", ".bl-output", ".bl-status"},
    "playground": {".cm-editor", ".cm-lineNumbers", ".bl-run", ".bl-select", ".bl-output", ".bl-status"},
    "app": {".bl-output"},
    "compact": {".bl-status"},
    "debug": {".bl-output", ".bl-status"},
}
PARTS = {".cm-editor", ".cm-lineNumbers", ".bl-run", ".bl-select", ".bl-output", ".bl-status"}


@pytest.mark.parametrize("mode", sorted(SHOWS))
def test_each_mode_shows_its_parts_only(app_server, page, mode):
    live = serve(app_server, page, code=SAMPLE, mode=mode, examples=EXAMPLES)
    settled(live)
    assert live.status == "ready"
    for selector in sorted(PARTS):
        assert shown(page, selector) == (selector in SHOWS[mode]), f"{mode}: {selector}"
    if mode in ("editor", "playground", "app"):
        assert "Hello, world 2!" in text(page, ".bl-output")
        assert "{'answer': 42, 'items': [1, 2, 3]}" in text(page, ".bl-result")
    if mode == "debug":
        assert "a warning" in text(page, ".bl-output .bl-stderr")
        assert not shown(page, ".bl-result")  # the log is stdout and stderr only
    if mode == "compact":
        assert text(page, ".bl-status").startswith("Ready")
        assert view_size(page, "live")[1] < 40  # one line
    screenshot(page, f"mode-{mode}")


def test_headless_shows_nothing_and_still_runs(app_server, page):
    live = serve(app_server, page, code="print('unseen')", mode="headless")
    wait_for(lambda: live.stdout == "unseen\n", PYODIDE_TIMEOUT, what="the headless run")
    assert view_size(page, "live") == [0, 0]
    screenshot(page, "mode-headless")


def test_dark_theme_and_error_screenshot(app_server, page):
    live = serve(app_server, page, code=SAMPLE + "\n1 / 0\n", mode="playground", theme="dark", examples=EXAMPLES)
    settled(live)
    assert live.status == "error"
    assert "ZeroDivisionError" in text(page, ".bl-error-head")
    assert text(page, ".bl-line") == "line 12"  # the traceback names the user's line...
    assert shown(page, ".cm-bl-error-line")  # ...and the editor marks it
    assert "1 / 0" in text(page, ".cm-bl-error-line")
    screenshot(page, "mode-playground-dark-error")


# --- the editor --------------------------------------------------------------------------

def test_typing_and_ctrl_enter_updates_code_and_runs(app_server, page):
    live = serve(app_server, page, code="print('before')", mode="editor")
    wait_for(lambda: live.stdout == "before\n", PYODIDE_TIMEOUT, what="the first run")
    type_into_editor(page, "print('typed')")  # the editor closes brackets and quotes as they are typed
    assert editor_text(page) == "print('typed')"
    assert live.code == "print('before')"  # edits reach the server when they run
    ctrl(page, Keys.ENTER)
    wait_for(lambda: live.code == "print('typed')", 10, what="code on the server")
    wait_for(lambda: live.stdout == "typed\n", 10, what="the edited code to run")
    assert "typed" in text(page, ".bl-output") and "before" not in text(page, ".bl-output")


def test_run_button_runs_unchanged_code_again(app_server, page):
    live = serve(app_server, page, code="import random\nprint(random.random())", mode="editor")
    wait_for(lambda: live.stdout, PYODIDE_TIMEOUT, what="the first run")
    first = live.stdout
    part(page, ".bl-run").click()
    wait_for(lambda: live.stdout and live.stdout != first, 10, what="a second run")


def test_server_changes_to_code_show_in_the_editor(app_server, page):
    live = serve(app_server, page, code="a = 1", mode="editor")
    settled(live)
    app_server.locked(live.document, lambda: setattr(live, "code", "b = 2\nprint(b)"))
    wait_for(lambda: editor_text(page) == "b = 2\nprint(b)", 10, what="the editor to show the new code")
    wait_for(lambda: live.stdout == "2\n", 10, what="the new code to run")


def test_switching_mode_keeps_editor_history_output_and_namespace(app_server, page):
    live = serve(app_server, page, code="x = 41\nprint('ran once')", mode="editor")
    wait_for(lambda: live.stdout == "ran once\n", PYODIDE_TIMEOUT, what="the first run")
    type_into_editor(page, Keys.END + Keys.ENTER + "# edited", replace=False)
    assert editor_text(page).endswith("# edited")
    for mode in ("app", "debug", "compact", "headless", "playground", "editor"):
        app_server.locked(live.document, lambda mode=mode: setattr(live, "mode", mode))
        wait_for(lambda mode=mode: page.execute_script(JS_PART + "return part('.bl-root')?.dataset.mode", "live") == mode,
                 10, what=f"mode {mode}")
        if mode in ("app", "debug"):
            assert "ran once" in text(page, ".bl-output")
    assert editor_text(page).endswith("# edited")  # the same editor, not a new one
    part(page, ".cm-content").click()
    for _ in range(10):
        if editor_text(page) == "x = 41\nprint('ran once')":
            break
        ctrl(page, "z")
    assert editor_text(page) == "x = 41\nprint('ran once')"  # undo history survived the re-renders
    assert app_server.call(live.run_python("x + 1")) == 42  # same namespace: Pyodide was not restarted
    assert live.status == "ready"


# --- the output area -------------------------------------------------------------------------

def test_stdout_streams_while_the_code_runs(app_server, page):
    code = "import asyncio\nprint('first', flush=True)\nawait asyncio.sleep(2)\nprint('second')"
    live = serve(app_server, page, code=code, mode="app")
    seen = wait_for(lambda: page.execute_script(
        JS_PART + "return part('.bl-output')?.textContent.includes('first')"
        " ? [view.model.status, part('.bl-output').textContent] : null;", "live"),
        PYODIDE_TIMEOUT, interval=0.02, what="the first line")
    assert seen[0] == "running" and "second" not in seen[1]
    assert live.status == "running"
    wait_for(lambda: live.status == "ready", 10, what="the end of the run")
    assert text(page, ".bl-output") == "first\nsecond\n"


PROGRESS_CODE = """\
import asyncio, bokeh_live
for i in range(1, 11):
    bokeh_live.progress(i / 10, f"step {i} of 10")
    print("step", i)
    await asyncio.sleep(0.05)
    while i == 4 and bokeh_live.value != "go":  # holds at step 4 until the test has looked
        await asyncio.sleep(0.05)
for i in range(200_000):  # a tight loop may report on every step
    bokeh_live.progress(i / 199_999, "crunching")
"""


def test_progress_shows_as_a_bar_and_reaches_the_server(app_server, page):
    live = serve(app_server, page, code=PROGRESS_CODE, mode="editor", width=760, height=300)
    wait_for(lambda: shown(page, ".bl-progress") and "step 4 of 10" in text(page, ".bl-progress"),
             PYODIDE_TIMEOUT, what="the bar mid-run")
    screenshot(page, "progress")
    assert text(page, ".bl-progress-text") == "step 4 of 10 · 40%"
    wait_for(lambda: live.progress == (0.4, "step 4 of 10"), 10, what="the server to see it mid-run")
    assert live.status == "running"
    app_server.locked(live.document, lambda: setattr(live, "value", "go"))
    wait_for(lambda: live.status == "ready", 60, what="the end of the run")
    wait_for(lambda: live.progress == (1.0, "crunching"), 5, what="the last report on the server")
    assert text(page, ".bl-progress-text") == "crunching · 100%"
    assert part(page, ".bl-progress").get_attribute("aria-valuenow") == "100"
    app_server.locked(live.document, lambda: setattr(live, "code", "print('no progress here')"))
    wait_for(lambda: live.stdout == "no progress here\n", 30, what="the next run")
    assert not shown(page, ".bl-progress") and live.progress is None


def test_output_area_shows_results_html_text_and_errors(app_server, page):
    code = (
        "import sys, bokeh_live\n"
        "class Table:\n"
        "    def _repr_html_(self):\n"
        "        return '<table><tr><th>n</th></tr><tr><td class=\"cell\">7</td></tr></table>'\n"
        "print('out')\n"
        "print('err', file=sys.stderr)\n"
        "bokeh_live.display(Table())\n"
        "bokeh_live.display([1, 2])\n"
        "6 * 7\n"
    )
    live = serve(app_server, page, code=code, mode="editor")
    settled(live)
    assert text(page, ".bl-html td.cell") == "7"
    assert text(page, ".bl-display") == "[1, 2]"
    assert text(page, ".bl-result") == "42"
    colors = page.execute_script(JS_PART + """
        return ['.bl-stdout', '.bl-stderr'].map((s) => getComputedStyle(part(s)).color);""", "live")
    assert colors[0] != colors[1]  # stderr looks different
    app_server.locked(live.document, lambda: setattr(live, "code", "def f():\n    raise ValueError('bad value')\n\nf()"))
    wait_for(lambda: live.status == "error", 10, what="the error")
    wait_for(lambda: shown(page, ".bl-error"), 10, what="the traceback")
    assert text(page, ".bl-error-head") == "ValueError: bad value"
    assert "line 4" in text(page, ".bl-traceback") and "line 2, in f" in text(page, ".bl-traceback")
    assert not shown(page, ".bl-result")  # the new run cleared the old output


#: A 1x1 PNG image.
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="


def test_rich_representations_show_and_the_output_clears_and_copies(app_server, page):
    code = (
        "import base64, bokeh_live\n"
        "class Chart:\n"
        "    def _repr_svg_(self):\n"
        "        return '<svg width=\"40\" height=\"20\"><rect class=\"bar\" width=\"30\" height=\"10\"/></svg>'\n"
        "class Photo:\n"
        "    def _repr_png_(self):\n"
        f"        return base64.b64decode('{PNG}')\n"
        "bokeh_live.display(Chart())\n"
        "print('hello output')\n"
        "Photo()\n"  # the last expression shows by its richest form too
    )
    live = serve(app_server, page, code=code, mode="editor")
    settled(live)
    assert live.status == "ready", live.error
    assert part(page, ".bl-html svg rect.bar") is not None
    wait_for(lambda: page.execute_script(JS_PART + "const img = part('.bl-html img'); return img && img.naturalWidth == 1",
                                         "live"), 10, what="the PNG image decoded")
    page.execute_cdp_cmd("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"],
                                                      "origin": f"http://127.0.0.1:{app_server.port}"})
    page.execute_script(JS_PART + "part('.bl-output-tools .bl-button:last-child').click()", "live")
    copied = page.execute_async_script("navigator.clipboard.readText().then(arguments[0], (e) => arguments[0](String(e)))")
    assert copied.strip() == "hello output"
    page.execute_script(JS_PART + "part('.bl-output-tools .bl-button:first-child').click()", "live")
    assert text(page, ".bl-output") == "" and not shown(page, ".bl-output-tools")


def test_the_editor_completes_from_the_live_namespace(app_server, page):
    live = serve(app_server, page, code="import math\nsamples = [3, 1, 2]\nsample_rate = 44_100", mode="editor")
    settled(live)
    wait_for(lambda: part(page, ".cm-content"), 30, what="CodeMirror")

    def offered():
        return page.execute_script(JS_PART + """
            const list = part('.cm-tooltip-autocomplete');
            return list ? [...list.querySelectorAll('li')].map((li) => li.textContent) : null;""", "live")

    type_into_editor(page, "samp")  # names the code defined
    assert wait_for(offered, 10, what="completions") == ["sample_rate", "samples"]
    screenshot(page, "completion")
    ActionChains(page).send_keys(Keys.ENTER).perform()
    assert editor_text(page) == "sample_rate"
    type_into_editor(page, "\nmath.sq", replace=False)  # attributes of a module in the namespace
    assert wait_for(offered, 10, what="math's completions") == ["sqrt"]
    time.sleep(0.5)  # as a person reads the list before accepting: no query still in flight
    ActionChains(page).send_keys(Keys.ENTER).perform()
    assert editor_text(page) == "sample_rate\nmath.sqrt"


def test_persist_keeps_the_editors_text_across_a_reload(app_server, page):
    def build(doc):
        doc.add_root(BokehLive(name="live", mode="editor", code="print('from the app')", persist=True))
    url = app_server.app(build)
    page.get(url)
    settled(app_server.doc(url).select_one({"name": "live"}))
    wait_for(lambda: part(page, ".cm-content"), 30, what="CodeMirror")
    type_into_editor(page, "print('mine')")
    ctrl(page, Keys.ENTER)  # runs, and is kept
    type_into_editor(page, "\nprint('not run yet')", replace=False)  # kept when the page is left
    page.refresh()
    live = wait_for(lambda: len(app_server.docs[url.rsplit("=", 1)[1]]) == 2
                    and app_server.doc(url).select_one({"name": "live"}), 30, what="the new session")
    settled(live)
    assert live.code == "print('mine')\nprint('not run yet')"  # the server sees the restored text
    assert live.stdout == "mine\nnot run yet\n"  # and it ran
    time.sleep(0.5)  # a second run, had one started, would have ended by now
    assert live.metrics()["code_runs"] == 1
    assert editor_text(page) == live.code


def test_displayed_html_cannot_run_script_in_the_page(app_server, page):
    code = (
        "import bokeh_live\n"
        "class Evil:\n"
        "    def _repr_html_(self):\n"
        "        return ('<b class=\"kept\">bold</b><img src=x onerror=\"window.__pwned = 1\">'\n"
        "                '<a href=\"javascript:window.__pwned = 2\">link</a><script>window.__pwned = 3</script>'\n"
        "                '<svg><a href=\"javascript:window.__pwned = 4\"><text>t</text></a></svg>')\n"
        "bokeh_live.display(Evil())\n"
    )
    live = serve(app_server, page, code=code, mode="app")
    settled(live)
    assert text(page, ".bl-html b.kept") == "bold"
    page.execute_script(JS_PART + "for (const a of part('.bl-html').querySelectorAll('a')) a.dispatchEvent(new MouseEvent('click', {bubbles: true}));", "live")
    time.sleep(0.5)  # let an image error handler fire, had it survived
    assert page.execute_script("return window.__pwned ?? null") is None
    html = page.execute_script(JS_PART + "return part('.bl-html').innerHTML", "live")
    assert "onerror" not in html and "javascript:" not in html and "<script" not in html


def test_display_of_a_json_item_renders_a_live_plot(app_server, page):
    plot = figure(width=360, height=240, title="from the server")
    plot.line([1, 2, 3], [4, 6, 5], line_width=2)
    live = serve(app_server, page, code="import bokeh_live\nbokeh_live.display(bokeh_live.value)",
                 mode="app", value=json_item(plot))
    settled(live)
    assert live.status == "ready", live.error
    size = wait_for(lambda: page.execute_script(JS_PART + """
        const find = (root) => {
          const canvas = root.querySelector('canvas');
          if (canvas) return canvas;
          for (const el of root.querySelectorAll('*')) {
            if (el.shadowRoot) { const hit = find(el.shadowRoot); if (hit) return hit; }
          }
          return null;
        };
        const host = part('.bl-output .bl-plot');
        const canvas = host && find(host);
        return canvas && canvas.width > 0 ? [host.getBoundingClientRect().width, host.getBoundingClientRect().height] : null;
        """, "live"), 20, what="a plot canvas in the output area")
    assert size[0] >= 300 and size[1] >= 200
    assert page.execute_script("return [...Bokeh.index].some((v) => v.model.type == 'Figure' || v.model.constructor.name == 'Figure')")
    screenshot(page, "display-json-item")


# --- playground --------------------------------------------------------------------------

def test_playground_examples_reset_and_copy(app_server, page):
    live = serve(app_server, page, code="", mode="playground", examples=EXAMPLES)
    settled(live)
    select = Select(part(page, ".bl-select"))
    assert [o.text for o in select.options][1:] == ["Hello", "Squares"]
    select.select_by_visible_text("Squares")
    wait_for(lambda: live.code == EXAMPLES["Squares"], 10, what="the example's code on the server")
    wait_for(lambda: live.stdout == "[0, 1, 4, 9, 16]\n", 10, what="the example to run")
    assert editor_text(page) == EXAMPLES["Squares"]
    wait_for(lambda: text(page, ".bl-result") == "30", 10, what="the example's result")
    screenshot(page, "mode-playground")

    type_into_editor(page, "print('mine')")
    assert editor_text(page) == "print('mine')"
    page.execute_script(JS_PART + "[...root.querySelectorAll('.bl-button')].find((b) => b.textContent == 'Reset').click()",
                        "live")
    assert editor_text(page) == EXAMPLES["Squares"]

    page.execute_script(JS_PART + "[...root.querySelectorAll('.bl-button')].find((b) => b.textContent == 'Copy').click()",
                        "live")
    wait_for(lambda: page.execute_script(
        JS_PART + "return [...root.querySelectorAll('.bl-button')].some((b) => b.textContent == 'Copied')", "live"),
        5, what="the copy confirmation")


def test_examples_menu_follows_the_server(app_server, page):
    live = serve(app_server, page, code=EXAMPLES["Hello"], mode="playground", examples=EXAMPLES)
    settled(live)
    assert page.execute_script(JS_PART + "return part('.bl-select').value", "live") == "Hello"
    app_server.locked(live.document, lambda: setattr(live, "examples", {"Only": "print(1)"}))
    wait_for(lambda: page.execute_script(
        JS_PART + "return [...part('.bl-select').options].map((o) => o.value).join(',')", "live") == ",Only",
        10, what="the new examples")


# --- loading, themes, sizes, isolation ---------------------------------------------------------

def test_loading_shows_progress_with_the_phase(app_server, page):
    live = serve(app_server, page, code="print('loaded')", mode="app")
    seen = wait_for(lambda: page.execute_script(
        JS_PART + "return view?.model.status == 'loading' && shown(part('.bl-loading'))"
        " ? part('.bl-loading').textContent : null;", "live"), 30, interval=0.02, what="the loading indicator")
    assert any(phase in seen.lower() for phase in ("starting", "downloading pyodide", "starting python"))
    screenshot(page, "loading")
    wait_for(lambda: live.stdout == "loaded\n", PYODIDE_TIMEOUT, what="the run after loading")
    assert not shown(page, ".bl-loading")


def background(page, name="live"):
    return page.execute_script(JS_PART + "return getComputedStyle(part('.bl-root')).backgroundColor;", name)


def test_themes(app_server, page):
    live = serve(app_server, page, code="print('themed')", mode="editor", theme="light")
    settled(live)
    assert background(page) == "rgb(255, 255, 255)"
    app_server.locked(live.document, lambda: setattr(live, "theme", "dark"))
    wait_for(lambda: background(page) == "rgb(13, 17, 23)", 10, what="the dark theme")
    screenshot(page, "mode-editor-dark")
    app_server.locked(live.document, lambda: setattr(live, "theme", "auto"))
    try:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        wait_for(lambda: background(page) == "rgb(13, 17, 23)", 10, what="auto following a dark page")
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
        wait_for(lambda: background(page) == "rgb(255, 255, 255)", 10, what="auto following a light page")
    finally:
        page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def test_sizes_follow_bokeh(app_server, page):
    def build(doc):
        doc.add_root(column(
            BokehLive(name="fixed", code="print(1)", mode="editor", width=500, height=300),
            BokehLive(name="default", code="print(2)", mode="editor"),
            BokehLive(name="stretch", code="print(3)", mode="app", sizing_mode="stretch_width", height=120),
            width=900,
        ))
    url = app_server.app(build)
    page.get(url)
    doc = app_server.doc(url)
    wait_for(lambda: all(m.status == "ready" for m in doc.select({"type": BokehLive})), PYODIDE_TIMEOUT, what="ready")
    assert view_size(page, "fixed") == [500, 300]
    inner = page.execute_script(JS_PART + "const r = part('.bl-root').getBoundingClientRect(); return [r.width, r.height];",
                                "fixed")
    assert inner == [500, 300]  # the UI fills what Bokeh gives the view
    assert view_size(page, "default")[0] == 720
    assert view_size(page, "stretch") == [900, 120]

    # The default width gives way to a narrower container (a notebook's split panel); a
    # width the app gave does not.
    url = app_server.app(lambda doc: doc.add_root(BokehLive(name="default", code="print(2)", mode="editor")))
    page.get(url)
    wait_for(lambda: app_server.doc(url).select_one({"name": "default"}).status == "ready", PYODIDE_TIMEOUT, what="ready")
    page.execute_script("document.body.style.width = '400px'")
    wait_for(lambda: view_size(page, "default")[0] == 400, 10, what="the editor to fit the page")


def test_no_css_leaks_into_the_page(app_server, page):
    live = serve(app_server, page, code="print('x')", mode="playground", examples=EXAMPLES)
    settled(live)
    leaked = page.execute_script("""
        const texts = [...document.querySelectorAll('style')].map((s) => s.textContent).join('\\n');
        return {adopted: document.adoptedStyleSheets.length, ours: /\\.bl-|\\.cm-/.test(texts)};""")
    assert leaked == {"adopted": 0, "ours": False}


def test_a_failure_outside_the_code_shows_in_the_output(app_server, page):
    live = serve(app_server, page, code="print('never')", mode="app", packages=["no_such_package_anywhere"])
    settled(live)
    assert live.status == "error"
    wait_for(lambda: shown(page, ".bl-error"), 10, what="the failure in the output area")
    assert "no_such_package_anywhere" in text(page, ".bl-error")
