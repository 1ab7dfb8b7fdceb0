"""Browser callbacks in real browsers: widgets and plots on the page drive Python in the worker,
with no server round trip (bokeh_live.on_change / on_event / get and the model's watch)."""
from __future__ import annotations

from pathlib import Path

import pytest
from bokeh.embed import components
from bokeh.models import Button, ColumnDataSource, Dropdown, Paragraph, Slider, TextInput
from bokeh.plotting import figure
from bokeh.resources import INLINE
from test_messaging import open_live, run
from test_standalone import StaticServer, model_prop, pyodide_cdn, site, wait_live  # noqa: F401 - fixtures

from bokeh_live.live import PYODIDE_URL_ENV
from bokeh_live.standalone import resources_html
from harness import JS_VIEW, BokehServe, wait_for

pytestmark = pytest.mark.browser

#: Sets a model's property in the page, as a visitor's widget does.
JS_SET = "const m = Bokeh.documents[0].get_model_by_name(arguments[0]); m[arguments[1]] = arguments[2]"

#: Triggers a model's event in the page, as a click or a tap does.
JS_EVENT = """
const m = Bokeh.documents[0].get_model_by_name(arguments[0])
const events = Bokeh.require("core/bokeh_events")
const [name, values] = [arguments[1], arguments[2]]
const event = name == "button_click" ? new events.ButtonClick()
  : name == "menu_item_click" ? new events.MenuItemClick(values.item)
  : name == "value_submit" ? new events.ValueSubmit(values.value)
  : name == "tap" ? new events.Tap(values.sx, values.sy, values.x, values.y, {shift: false, ctrl: false, alt: false})
  : name == "selectiongeometry" ? new events.SelectionGeometry(values.geometry, values.final)
  : null
m.trigger_event(event)
"""

CALLBACKS = """
import bokeh_live
seen = []

def on_freq(attr, old, new):
    seen.append(("freq", attr, old, new))
    bokeh_live.update("label", text=f"freq is {new}")

bokeh_live.on_change("freq", "value", on_freq)
bokeh_live.on_change("source", "selected.indices", lambda attr, old, new: seen.append(("selected", attr, new)))
for name, event in [("go", "button_click"), ("menu", "menu_item_click"), ("query", "value_submit"),
                    ("plot", "tap"), ("plot", "selectiongeometry")]:
    bokeh_live.on_event(name, event, lambda event: seen.append((event.model, event.event_name,
        {k: v for k, v in vars(event).items() if k not in ("model", "event_name")})))
"""

WATCH = {"freq": ["value"], "source": ["selected.indices"], "go": ["button_click"], "menu": ["menu_item_click"],
         "query": ["value_submit"], "plot": ["tap", "selectiongeometry"]}


def widgets(doc, live):
    plot = figure(name="plot", width=300, height=200)
    source = ColumnDataSource(data={"x": [1, 2, 3], "y": [1, 4, 9]}, name="source")
    plot.scatter("x", "y", source=source)
    for model in (Slider(name="freq", start=0, end=10, value=1, step=0.5), Paragraph(name="label", text=""),
                  Button(name="go"), Dropdown(name="menu", menu=[("One", "one"), ("Two", "two")]),
                  TextInput(name="query"), plot):
        doc.add_root(model)


def seen(app_server, live, count):
    return wait_for(lambda: (lambda s: s if len(s) >= count else None)(run(app_server, live, "seen")), 30,
                    what=f"{count} callbacks")


def test_every_event_kind_and_property_change_reaches_its_callback_in_the_browser(app_server, page):
    live = open_live(app_server, page, extra=widgets, code=CALLBACKS, watch=WATCH,
                     allow_update={"label": ["text"]})
    page.execute_script(JS_SET, "freq", "value", 3.5)
    page.execute_script(JS_EVENT, "go", "button_click", {})
    page.execute_script(JS_EVENT, "menu", "menu_item_click", {"item": "two"})
    page.execute_script(JS_EVENT, "query", "value_submit", {"value": "abc"})
    page.execute_script(JS_EVENT, "plot", "tap", {"sx": 10, "sy": 20, "x": 1.5, "y": 2.5})
    page.execute_script(JS_EVENT, "plot", "selectiongeometry",
                        {"geometry": {"type": "rect", "x0": 0, "x1": 1, "y0": 0, "y1": 1}, "final": True})
    page.execute_script("Bokeh.documents[0].get_model_by_name('source').selected.indices = [0, 2]")
    got = seen(app_server, live, 7)
    assert got[0] == ["freq", "value", 1, 3.5]
    assert got[1] == ["go", "button_click", {}]
    assert got[2] == ["menu", "menu_item_click", {"item": "two"}]
    assert got[3] == ["query", "value_submit", {"value": "abc"}]
    assert got[4][:2] == ["plot", "tap"] and {k: got[4][2][k] for k in ("sx", "sy", "x", "y")} == \
        {"sx": 10, "sy": 20, "x": 1.5, "y": 2.5}
    assert got[5][:2] == ["plot", "selectiongeometry"] and got[5][2]["final"] is True \
        and got[5][2]["geometry"]["type"] == "rect"
    assert got[6] == ["selected", "indices", [0, 2]]
    # The change the callback made reaches the server as a visitor's would.
    label = live.document.select_one({"name": "label"})
    wait_for(lambda: label.text == "freq is 3.5", 30, what="the label on the server")
    assert run(app_server, live, "bokeh_live.get('freq', 'value')") == 3.5


#: Steps a slider through values, each in a task of its own, as a drag does; resolves when done.
JS_DRAG = """
const [name, values, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]]
const m = Bokeh.documents[0].get_model_by_name(name)
const channel = new MessageChannel()
let i = 0
channel.port1.onmessage = () => {
  if (i < values.length) { m.value = values[i++]; channel.port2.postMessage(null) } else { done(true) }
}
channel.port2.postMessage(null)
"""

SLOW = """
import time
import bokeh_live
calls = []
clicks = []

def slow(attr, old, new):
    calls.append(new)
    t = time.perf_counter()
    while time.perf_counter() - t < 0.1:  # keeps the worker busy, as real work does
        pass

bokeh_live.on_change("freq", "value", slow)
bokeh_live.on_event("go", "button_click", lambda event: clicks.append(len(calls)))
"""


def test_changes_collapse_to_the_latest_while_callbacks_run_and_events_never_do(app_server, page):
    live = open_live(app_server, page, extra=widgets, code=SLOW, watch={"freq": ["value"], "go": ["button_click"]})
    values = [round(0.05 * i, 2) for i in range(1, 201)]
    page.execute_async_script(JS_DRAG, "freq", values)
    for _ in range(20):
        page.execute_script(JS_EVENT, "go", "button_click", {})
    calls = wait_for(lambda: (lambda c: c if c and c[-1] == values[-1] else None)(run(app_server, live, "calls")), 60,
                     what="the last value")
    assert len(calls) < len(values) and calls == sorted(calls)  # collapsed, never out of order
    assert len(run(app_server, live, "clicks", timeout=60)) == 20  # every click, none collapsed
    assert run(app_server, live, "bokeh_live.get('freq', 'value')") == values[-1]


def test_events_stay_in_order_with_the_changes_around_them(app_server, page):
    code = ("import bokeh_live\nseen = []\n"
            "bokeh_live.on_change('freq', 'value', lambda attr, old, new: seen.append(new))\n"
            "bokeh_live.on_event('go', 'button_click', lambda event: seen.append('click'))")
    live = open_live(app_server, page, extra=widgets, code=code, watch={"freq": ["value"], "go": ["button_click"]})
    page.execute_script(JS_SET + "\n" + """
        const go = Bokeh.documents[0].get_model_by_name("go"), events = Bokeh.require("core/bokeh_events")
        m.value = 2; go.trigger_event(new events.ButtonClick()); m.value = 3; m.value = 4
        go.trigger_event(new events.ButtonClick()); m.value = 5""", "freq", "value", 1.5)
    assert seen(app_server, live, 5) == [2, "click", 4, "click", 5]  # 1.5, 2: one task; 3, 4 collapse


ASYNC_AND_BROKEN = """
import asyncio
import bokeh_live
seen = []

async def slow(attr, old, new):
    await asyncio.sleep(0.05)
    seen.append(("slow", new))

def broken(attr, old, new):
    return {}["missing"]

bokeh_live.on_change("freq", "value", slow, broken, lambda attr, old, new: seen.append(("after", new)))
"""


def test_async_callbacks_are_awaited_and_an_exception_costs_only_its_callback(app_server, page):
    live = open_live(app_server, page, extra=widgets, code=ASYNC_AND_BROKEN, watch={"freq": ["value"]})
    page.execute_script(JS_SET, "freq", "value", 2)
    assert seen(app_server, live, 2) == [["slow", 2], ["after", 2]]
    wait_for(lambda: "KeyError: 'missing'" in live.error, 30, what="the callback's error on the server")
    assert 'File "<code>", line 11, in broken' in live.error and 'return {}["missing"]' in live.error
    assert live.status == "ready"
    assert "KeyError" in page.execute_script(JS_VIEW + "return live_view('live').ui.output.text()")


def test_what_the_app_does_not_list_is_refused_with_a_clear_message(app_server, page):
    code = "import bokeh_live\nbokeh_live.on_change('freq', 'start', print)"
    live = open_live(app_server, page, extra=widgets, code="", watch={"freq": ["value"], "ghost": ["value"],
                                                                       "live": ["code"]})
    for snippet, message in [
        (code, "does not let browser code watch 'freq'.start: list it in this BokehLive's watch"),
        ("bokeh_live.get('label', 'text')", "does not let browser code watch 'label'.text"),
        ("bokeh_live.get('ghost', 'value')", "no model named 'ghost' on the page"),
        ("bokeh_live.get('live', 'code')", "a BokehLive is never watchable"),
    ]:
        with pytest.raises(Exception, match="ValueError") as info:
            run(app_server, live, "import bokeh_live\n" + snippet)
        assert message in str(info.value)


def test_callbacks_work_in_a_sandbox_too(cors_server, page):
    live = open_live(cors_server, page, extra=widgets, code=CALLBACKS, watch=WATCH, sandbox=True,
                     allow_update={"label": ["text"]})
    page.execute_script(JS_SET, "freq", "value", 4)
    page.execute_script(JS_EVENT, "go", "button_click", {})
    assert seen(cors_server, live, 2) == [["freq", "value", 1, 4], ["go", "button_click", {}]]
    label = live.document.select_one({"name": "label"})
    wait_for(lambda: label.text == "freq is 4", 30, what="the label on the server")


def test_a_hostile_client_cannot_widen_what_browser_code_hears(app_server, page):
    """Another client of the same app forges a wider watch list and callbacks' events: the server
    keeps the app's list, so the pages it serves hear only what the app listed."""
    from bokeh.client import pull_session

    live = open_live(app_server, page, extra=widgets, code="import bokeh_live", watch={"freq": ["value"]})
    case = next(case for case, docs in app_server.docs.items() if live.document in docs)
    session = pull_session(url=f"http://127.0.0.1:{app_server.port}/app", arguments={"case": case})
    try:
        forged = session.document.select_one({"name": "live"})
        forged.watch = {"freq": ["value"], "query": ["value"], "go": ["button_click"]}
        session.force_roundtrip()
        served = app_server.docs[case][-1].select_one({"name": "live"})
        assert served is not live and served.watch == {"freq": ["value"]}
    finally:
        session.close()
    with pytest.raises(Exception, match=r"does not let browser code watch 'query'\.value"):
        run(app_server, live, "import bokeh_live\nbokeh_live.get('query', 'value')")


# --- every context: components on a file:// page, and a server app embedded in another site -------------------

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_callbacks_in_a_components_page_from_a_file_url(page, tmp_path, pyodide_cdn, monkeypatch):  # noqa: F811
    monkeypatch.setenv(PYODIDE_URL_ENV, pyodide_cdn)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    import sliders

    layout = sliders.build()
    script, div = components(layout)
    path = tmp_path / "page.html"
    path.write_text(f"<!doctype html><html><head>{resources_html([layout], INLINE)}</head>"
                    f"<body><h1>A page of its own</h1>{div}{script}</body></html>")
    page.get(path.as_uri())
    assert wait_live(page)["status"] == "ready"
    page.execute_script(JS_SET, "amplitude", "value", 3.0)
    wait_for(lambda: max(model_prop(page, "curve", "data")["y"]) == pytest.approx(3.0, abs=0.01), 30,
             what="the curve to follow the slider")


def test_callbacks_in_a_server_app_embedded_in_another_sites_page(page, tmp_path, site, pyodide_cdn):  # noqa: F811
    from bokeh.embed import server_document

    served = BokehServe(EXAMPLES / "dashboard.py", env={PYODIDE_URL_ENV: pyodide_cdn},
                        args=("--allow-websocket-origin", f"127.0.0.1:{site.port}"))
    try:
        (tmp_path / "index.html").write_text("<!doctype html><html><body><h1>Another site</h1>"
                                             f"{server_document(served.url('dashboard'))}</body></html>")
        page.get(site.url("index.html"))
        assert wait_live(page)["status"] == "ready", served.output()
        page.execute_script(JS_SET, "window", "value", 101)
        wait_for(lambda: "window 101" in (model_prop(page, "summary", "text") or ""), 30, what="the browser's summary")
    finally:
        served.stop()
