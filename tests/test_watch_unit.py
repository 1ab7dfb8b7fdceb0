"""Browser callbacks (bokeh_live/browser/watch.py) under CPython: what may be heard, in what
order callbacks run, and what they send. tests/test_watch.py runs the same in real browsers."""
from __future__ import annotations

import asyncio

import pytest

from bokeh_live import BokehLive
from bokeh_live.browser import _dispatch, _runner, _state, watch

WATCHED = {"kind": "watched", "model": "m", "watch": {"freq": ["value"], "go": ["button_click"], "gone": ["value"],
                                                      "amp": ["value", "title"]},
           "properties": {"freq": {"value": 1.0}, "amp": {"value": 2.0, "title": "Amplitude"}},
           "events": {"go": ["button_click"]}, "missing": {"gone": "no model named 'gone' on the page"}}


@pytest.fixture(autouse=True)
def posted(monkeypatch):
    out: list[tuple[str, dict]] = []
    monkeypatch.setattr(_state, "post", lambda kind, payload: out.append((kind, payload)))
    _state.models.clear()
    _dispatch.handle("watched", WATCHED)
    return out


def run(code, fresh=True):
    async def as_the_model():
        _state.current_model.set("m")
        return await _runner.run("m", code, fresh=fresh)
    return asyncio.run(as_the_model())


def changes(*items, batch="w1"):
    """What the page sends: property changes as (target, attr, value), events as (target, event, {values})."""
    encoded = [{"target": t, "attr": None, "value": None, "event": a, "values": v} if isinstance(v, dict) else
               {"target": t, "attr": a, "value": v, "event": None, "values": None} for t, a, v in items]
    asyncio.run(watch.dispatch(_state.model_state("m"), {"kind": "changes", "model": "m", "id": batch,
                                                         "items": encoded}))


def test_get_reads_the_mirror_of_what_is_listed(posted):
    assert run("import bokeh_live\n(bokeh_live.get('freq', 'value'), bokeh_live.get('amp', 'title'))") == \
        (1.0, "Amplitude")
    changes(("freq", "value", 3.5))
    assert run("bokeh_live.get('freq', 'value')", fresh=False) == 3.5


@pytest.mark.parametrize(("code", "message"), [
    ("bokeh_live.on_change('secret', 'value', print)", "does not let browser code watch 'secret'.value"),
    ("bokeh_live.on_change('freq', 'title', print)", "list it in this BokehLive's watch (watch={'freq': ['title']})"),
    ("bokeh_live.get('freq', 'start')", "does not let browser code watch 'freq'.start"),
    ("bokeh_live.on_change('gone', 'value', lambda a, o, n: 0)", "no model named 'gone' on the page"),
    ("bokeh_live.on_change('go', 'button_click', lambda a, o, n: 0)", "is an event, not one of the properties"),
    ("bokeh_live.on_event('freq', 'value', print)", "is a property, not one of the events"),
    ("bokeh_live.on_change('freq', 'value', lambda new: 0)", "must take (attr, old, new)"),
    ("bokeh_live.on_event('go', 'button_click', lambda: 0)", "must take (event)"),
])
def test_anything_not_listed_is_refused_with_a_clear_message(code, message):
    with pytest.raises(ValueError) as info:
        run("import bokeh_live\n" + code)
    assert message in str(info.value)


def test_changes_call_their_callbacks_in_order_with_old_and_new(posted):
    run("import bokeh_live\nseen = []\n"
        "bokeh_live.on_change('freq', 'value', lambda attr, old, new: seen.append((attr, old, new)))\n"
        "bokeh_live.on_change('amp', 'value', lambda attr, old, new: seen.append(('amp', old, new)))\n"
        "bokeh_live.on_event('go', 'button_click', lambda event: seen.append(event.event_name))")
    changes(("freq", "value", 2.0), ("amp", "value", 5.0), ("go", "button_click", {}), ("freq", "value", 3.0))
    assert _state.models["m"].namespace["seen"] == [("value", 1.0, 2.0), ("amp", 2.0, 5.0), "button_click",
                                                    ("value", 2.0, 3.0)]
    assert posted[-1] == ("done", {"model": "m", "id": "w1", "result": None})


def test_events_carry_their_fields():
    run("import bokeh_live\nseen = []\nbokeh_live.on_event('go', 'button_click', seen.append)")
    changes(("go", "button_click", {"x": 1.5, "y": 2}))
    event = _state.models["m"].namespace["seen"][0]
    assert (event.event_name, event.model, event.x, event.y) == ("button_click", "go", 1.5, 2)
    assert repr(event) == "Event('button_click' on 'go', x=1.5, y=2)"


def test_an_exception_in_one_callback_is_reported_and_the_others_run(posted):
    run("import bokeh_live\nseen = []\ndef broken(attr, old, new):\n    return 1 / 0\n"
        "bokeh_live.on_change('freq', 'value', broken, lambda attr, old, new: seen.append(new))")
    changes(("freq", "value", 4.0))
    assert _state.models["m"].namespace["seen"] == [4.0]
    errors = [p for kind, p in posted if kind == "callback_error"]
    assert len(errors) == 1 and "ZeroDivisionError" in errors[0]["error"] and 'File "<code>", line 4' in \
        errors[0]["error"]
    assert posted[-1][0] == "done"


def test_async_callbacks_are_awaited_before_the_next_change():
    run("import asyncio, bokeh_live\nseen = []\n"
        "async def slow(attr, old, new):\n    await asyncio.sleep(0.01)\n    seen.append(('slow', new))\n"
        "bokeh_live.on_change('freq', 'value', slow)\n"
        "bokeh_live.on_change('amp', 'value', lambda attr, old, new: seen.append(('amp', new)))")
    changes(("freq", "value", 2.0), ("amp", "value", 3.0))
    assert _state.models["m"].namespace["seen"] == [("slow", 2.0), ("amp", 3.0)]


def test_updates_of_one_batch_reach_the_page_merged_per_model_before_it_ends(posted):
    run("import bokeh_live\ndef draw(attr, old, new):\n"
        "    bokeh_live.update('source', data={'y': [new]})\n    bokeh_live.update('label', text=str(new))\n"
        "    bokeh_live.update('source', name='source')\n"
        "bokeh_live.on_change('freq', 'value', draw)")
    posted.clear()
    changes(("freq", "value", 2.0), ("freq", "value", 3.0))
    assert [(kind, p.get("target"), p.get("props")) for kind, p in posted] == [
        ("update", "source", {"data": {"y": [3.0]}, "name": "source"}), ("update", "label", {"text": "3.0"}),
        ("done", None, None)]


def test_the_models_code_running_again_forgets_its_callbacks(posted):
    run("import bokeh_live\nseen = []\nbokeh_live.on_change('freq', 'value', lambda a, o, n: seen.append(n))")
    run("seen = []")
    changes(("freq", "value", 9.0))
    assert _state.models["m"].namespace["seen"] == []


def test_the_server_names_models_given_as_objects_and_checks_them():
    from bokeh.models import Button, Slider
    slider, button = Slider(start=0, end=1, value=0, name="freq"), Button(name="go")
    live = BokehLive(watch={slider: ["value"], button: "button_click", "source": ["selected.indices"]})
    assert live.watch == {"freq": ["value"], "go": ["button_click"], "source": ["selected.indices"]}
    live.watch = {slider: ["value_throttled"]}
    assert live.watch == {"freq": ["value_throttled"]}
    with pytest.raises(ValueError, match="give the Slider a name"):
        BokehLive(watch={Slider(start=0, end=1, value=0): ["value"]})
    with pytest.raises(ValueError, match="has no property or event 'valeu'"):
        BokehLive(watch={slider: ["valeu"]})
    with pytest.raises(ValueError, match="never watchable"):
        BokehLive(watch={BokehLive(name="other"): ["code"]})
