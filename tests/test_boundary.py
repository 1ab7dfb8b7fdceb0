"""What code in the worker can do to the page, and what the wire refuses, in real Chromium.

Code run in the browser may be untrusted (a visitor's, a generated snippet). It must not
run script in the page through `update()` or `display()`, and values the wire cannot carry
(text over Bokeh's websocket limit once UTF-8 encoded, integers beyond 2**53) end their
call with a clear error or arrive exactly, never close the connection or hang a call.
"""
from __future__ import annotations

import asyncio

import pytest
from bokeh.embed import json_item
from bokeh.layouts import column
from bokeh.models import ColumnDataSource, CustomJS, Div, HoverTool, LayoutDOM, Paragraph
from bokeh.plotting import figure

from bokeh_live import BokehLive, LiveError
from bokeh_live.shared import MAX_TEXT_CHARS
from harness import JS_VIEW, PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser

PWNED = "return window.__pwned ?? null"
XSS = '<img src=x onerror="window.__pwned = 1">'


def open_page(app_server, page, *others, **props):
    """A page with a BokehLive "live" (and ``others``); the server's model once it is ready."""
    props.setdefault("mode", "app")

    def build(doc):
        models = [make() for make in others]
        doc.add_root(column(*[m for m in models if isinstance(m, LayoutDOM)], BokehLive(name="live", **props)))
        for model in models:
            if not isinstance(model, LayoutDOM):
                doc.add_root(model)
    url = app_server.app(build)
    page.get(url)
    doc = app_server.doc(url)
    live = doc.select_one({"name": "live"})
    wait_for(lambda: live.status in ("ready", "error"), PYODIDE_TIMEOUT, what="the runtime")
    assert live.status == "ready", live.error
    return doc, live


def run(app_server, live, code, timeout=30.0, **kwargs):
    return app_server.call(live.run_python(code, timeout=timeout, **kwargs), timeout=timeout + 30)


def stderr_of_call(app_server, live, code):
    """What a call printed to stderr (update() reports refusals there), via the model's own run."""
    app_server.locked(live.document, lambda: setattr(live, "code", code))
    wait_for(lambda: live.status in ("ready", "error") and "done" in live.stdout, 30, what="the code run")
    return live.stderr


def test_update_changes_only_what_the_app_allows(app_server, page):
    doc, live = open_page(
        app_server, page,
        lambda: Div(name="result", text="before"),
        lambda: Paragraph(name="note", text="before"),
        lambda: ColumnDataSource(name="source", data={"x": [0]}),
        allow_update={"result": ["text"], "note": ["text"], "source": ["data"]})
    stderr = stderr_of_call(app_server, live, f"""
import bokeh_live
bokeh_live.update("result", text='{XSS}')          # a Div's text is HTML: refused without "text!"
bokeh_live.update("note", text='{XSS}')            # a Paragraph's text is text: allowed, shown as text
bokeh_live.update("note", visible=False)           # not in allow_update
bokeh_live.update("source", data={{"x": [1, 2]}})
bokeh_live.update("live", code="print('taken over')")  # never a BokehLive
print("done")
""")
    assert "Div.text carries HTML or code" in stderr
    assert "'note'.visible is not in this BokehLive's allow_update" in stderr
    assert "'live' is a BokehLive" in stderr
    assert page.execute_script(PWNED) is None
    result, note, source = (doc.select_one({"name": n}) for n in ("result", "note", "source"))
    wait_for(lambda: list(source.data["x"]) == [1, 2], 10, what="the allowed update to reach the server")
    assert result.text == "before" and note.text == XSS and note.visible


def test_update_of_markup_needs_an_explicit_bang(app_server, page):
    doc, live = open_page(app_server, page, lambda: Div(name="result", text="before"),
                          allow_update={"result": ["text!"]})
    stderr_of_call(app_server, live, "import bokeh_live\nbokeh_live.update('result', text='<b>bold</b>')\nprint('done')")
    result = doc.select_one({"name": "result"})
    wait_for(lambda: result.text == "<b>bold</b>", 10, what="the explicitly allowed HTML")


def test_display_refuses_bokeh_items_that_carry_html_or_code(app_server, page):
    _, live = open_page(app_server, page)
    plot = figure(width=200, height=150)
    plot.line([1, 2], [3, 4])
    plot.js_on_event("tap", CustomJS(code="window.__pwned = 2"))
    hover = figure(width=200, height=150, tools=[HoverTool(tooltips="<div>@x</div>")])
    hover.line([1, 2], [3, 4])
    items = {"div": json_item(Div(text=XSS)), "customjs": json_item(plot), "hover": json_item(hover)}
    printed = run(app_server, live, """
import bokeh_live
for item in items.values():
    bokeh_live.display(item)
'ok'
""", items=items)
    assert printed == "ok"
    refusals = wait_for(lambda: page.execute_script(JS_VIEW + """
        const out = live_view("live").shadow_el.querySelector(".bl-output");
        return [...out.querySelectorAll(".bl-stderr")].map((el) => el.textContent).join("")""").count("not shown") == 3
        and page.execute_script(JS_VIEW + """return live_view("live").shadow_el.querySelector(".bl-output").textContent"""),
        10, what="three refusals in the output")
    assert "it holds a Div" in refusals and "CustomJS" in refusals and "HTML template for tooltips" in refusals
    assert page.execute_script(JS_VIEW + "return live_view('live').shadow_el.querySelector('.bl-plot')") is None
    assert page.execute_script(PWNED) is None


def test_displayed_html_loses_styles_forms_and_smil(app_server, page):
    _, live = open_page(app_server, page)
    run(app_server, live, """
import bokeh_live
class Page:
    def _repr_html_(self):
        return ('<p class="kept">text</p><style>:host { display: none }</style>'
                '<a href="blob:https://example.com/x">blob</a><form action="https://example.com"><input name=p></form>'
                '<svg><a><animate attributeName="href" values="javascript:window.__pwned=3"/><text>t</text></a></svg>')
bokeh_live.display(Page())
""")
    html = wait_for(lambda: page.execute_script(JS_VIEW + """
        const el = live_view("live").shadow_el.querySelector(".bl-html"); return el && el.innerHTML"""),
        10, what="the displayed HTML")
    assert 'class="kept"' in html
    for gone in ("<style", "blob:", "<form", "<input", "<animate", "javascript:"):
        assert gone not in html, gone
    assert page.execute_script(PWNED) is None


def test_text_over_the_websocket_limit_once_encoded_is_a_clear_error(app_server, page):
    _, live = open_page(app_server, page, code="import asyncio")

    async def both():
        slow = asyncio.ensure_future(live.run_python("await asyncio.sleep(0.5)\n'in flight'", timeout=60))
        with pytest.raises(LiveError, match="bytes of JSON text") as info:
            await live.run_python("'中' * 8_000_000", timeout=60)  # 8 M characters, 24 MB as UTF-8
        return info.value, await slow
    error, other = app_server.call(both(), timeout=120)
    assert error.error_type == "ValueError" and other == "in flight"
    assert run(app_server, live, "'the session survives'") == "the session survives"
    with pytest.raises(ValueError, match="over 16777216 bytes of text"):  # and from the server's side
        app_server.locked(live.document, lambda: live.send("中" * 3_000_000))  # 18 MB once Bokeh escapes it


def test_integers_beyond_javascripts_range_arrive_exactly(app_server, page):
    _, live = open_page(app_server, page, code="")
    for value in [2**53 - 1, 2**53, 2**60, -(2**63), 10**30]:
        async def together(value=value):  # another reply in the same batch must not be lost with it
            return await asyncio.gather(live.run_python("n * 1", n=value), live.run_python("'neighbour'"))
        assert app_server.call(together()) == [value, "neighbour"], value
        assert run(app_server, live, "[n, {'k': n}]", n=value) == [value, {"k": value}], value


def test_printed_text_is_capped_with_a_marker(app_server, page):
    _, live = open_page(app_server, page, mode="debug")
    app_server.locked(live.document, lambda: setattr(live, "code", "print('x' * 3_000_000)\nprint('the end')"))
    wait_for(lambda: live.status == "ready" and live.stdout, 60, what="the run")
    assert live.stdout.startswith("[bokeh_live: ") and "earlier characters dropped]" in live.stdout
    assert live.stdout.endswith("the end\n") and len(live.stdout) < MAX_TEXT_CHARS + 100


def test_sandboxed_code_has_an_opaque_origin(cors_server, page):
    def build(doc):
        doc.add_root(column(BokehLive(name="boxed", mode="app", sandbox=True, code="import js"),
                            BokehLive(name="plain", mode="app", code="import js")))
    url = cors_server.app(build)
    page.get(url)
    doc = cors_server.doc(url)
    boxed, plain = doc.select_one({"name": "boxed"}), doc.select_one({"name": "plain"})
    for live in (boxed, plain):
        wait_for(lambda live=live: live.status in ("ready", "error"), PYODIDE_TIMEOUT, what=f"{live.name} ready")
        assert live.status == "ready", live.error
    origin = f"http://127.0.0.1:{cors_server.port}"
    assert run(cors_server, boxed, "str(js.self.origin)") == "null"
    assert run(cors_server, plain, "str(js.self.origin)") == origin
    read_page = "try:\n    text = await (await js.fetch(url)).text()\nexcept Exception as e:\n    text = type(e).__name__\ntext[:40]"
    assert run(cors_server, boxed, read_page, url=url) == "JsException"  # the app's own page is out of reach
    assert run(cors_server, plain, read_page, url=url).startswith("<!DOCTYPE html>")
    with pytest.raises(LiveError, match="denied"):
        run(cors_server, boxed, "js.indexedDB.open('x')")  # no storage of the page's origin
    assert run(cors_server, boxed, "sum(range(n)), data[::-1]", n=10, data=b"abc") == [45, b"cba"]  # the same API


def test_a_sandbox_without_cors_says_why_it_cannot_start(app_server, page):
    def build(doc):
        doc.add_root(BokehLive(name="boxed", mode="app", sandbox=True, code="1"))
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "boxed"})
    wait_for(lambda: live.status == "error", PYODIDE_TIMEOUT, what="the sandbox to fail")
    assert "CORS" in live.error and "python -m bokeh_live serve" in live.error


#: A strict policy: no 'unsafe-eval' and no blob: workers. Bokeh's pages need inline scripts
#: and styles; Pyodide needs to compile WebAssembly.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval'; worker-src 'self'; "
       "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: http:")


@pytest.fixture(scope="module")
def csp_server():
    """A Bokeh server whose every response carries a Content-Security-Policy without 'unsafe-eval'."""
    from tornado.web import OutputTransform

    from bokeh_live import _bokeh_internals
    from harness import AppServer

    class Policy(OutputTransform):
        def transform_first_chunk(self, status_code, headers, chunk, finishing):
            headers["Content-Security-Policy"] = CSP
            return status_code, headers, chunk
    server = AppServer()
    _bokeh_internals.tornado_app(server.server).transforms.append(Policy)
    yield server
    server.stop()


def test_the_runtime_works_under_a_csp_without_unsafe_eval(csp_server, page):
    page.get_log("browser")  # drop older entries
    _, live = open_page(csp_server, page, code="print('under a strict policy')")
    assert live.stdout == "under a strict policy\n"
    assert run(csp_server, live, "6 * 7") == 42
    violations = [e["message"] for e in page.get_log("browser") if "Content Security Policy" in e["message"]]
    assert violations == [], violations
