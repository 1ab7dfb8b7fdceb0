"""Python callbacks in the browser: browser code hears the page's widgets and plots.

The same shape as Bokeh's server API, so that a callback moves between server and browser
unchanged::

    import bokeh_live

    def redraw(attr, old, new):
        bokeh_live.update("source", data=compute(new, bokeh_live.get("amp", "value")))

    bokeh_live.on_change("freq", "value", redraw)
    bokeh_live.on_event("go", "button_click", lambda event: print("clicked"))

What browser code may hear is what the app lists in the model's ``watch`` (as ``update``
may change only what ``allow_update`` lists). The page keeps a mirror of every listed
property in the worker (``get`` reads it) and sends each change and event as it happens,
in order; ``bokehjs_ext/watch.ts`` is the page's half. While callbacks run, the page holds
newer changes of the same property and sends only the latest: a slider dragged through
200 values costs a handful of calls, and the last sees the final value. Events are never
dropped that way.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any

from ..wire import Decoder
from . import _state
from ._state import ModelState, current, emit

__all__ = ("Event", "get", "on_change", "on_event", "remove_on_change")


class Event:
    """A Bokeh event from the page, with the fields of Bokeh's event class of the same
    ``event_name``: ``x``, ``y``, ``sx``, ``sy`` of a point event (``tap``...), ``item`` of a
    ``menu_item_click``, ``geometry`` and ``final`` of a ``selectiongeometry``, ``value`` of
    a ``value_submit``... ``model`` is the name of the model it happened on."""

    def __init__(self, event_name: str, model: str, values: dict[str, Any]) -> None:
        self.__dict__.update(values)
        self.event_name = event_name
        self.model = model

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items() if k not in ("event_name", "model"))
        return f"Event({self.event_name!r} on {self.model!r}{', ' if fields else ''}{fields})"


def on_change(name: str, attr: str, *callbacks: Callable[[str, Any, Any], Any]) -> None:
    """Call ``callback(attr, old, new)`` whenever property ``attr`` of the page's model
    called ``name`` changes, as Bokeh's ``model.on_change`` does on the server.

    ``attr`` may be a path into a model the property holds (``"selected.indices"`` of a
    ``ColumnDataSource``); the callback then gets its last part. An ``async`` callback is
    awaited before the next change is handled. An exception in one is shown in the output
    and set as the model's ``error``; the other callbacks still run. Registrations last
    until the model's ``code`` runs again. Raises ``ValueError`` when the app's ``watch``
    does not list ``attr`` of ``name``.
    """
    state = current("on_change")
    _allowed(state, "on_change", name, attr, "properties")
    for callback in callbacks:
        _check_arity(callback, 3, "on_change", "(attr, old, new)")
    state.watchers.setdefault((name, attr), []).extend(callbacks)


def remove_on_change(name: str, attr: str, *callbacks: Callable[[str, Any, Any], Any]) -> None:
    """Stop calling these callbacks (as Bokeh's ``remove_on_change``)."""
    registered = current("remove_on_change").watchers.get((name, attr), [])
    for callback in callbacks:
        if callback in registered:
            registered.remove(callback)


def on_event(name: str, event: str | type, *callbacks: Callable[[Event], Any]) -> None:
    """Call ``callback(event)`` for each ``event`` on the page's model called ``name``, as
    Bokeh's ``model.on_event`` does on the server. ``event`` is Bokeh's event name
    (``"button_click"``, ``"tap"``, ``"menu_item_click"``, ``"value_submit"``,
    ``"selectiongeometry"``...) or one of ``bokeh.events``' classes where bokeh is loaded.
    Raises ``ValueError`` when the app's ``watch`` does not list it."""
    state = current("on_event")
    event_name = event if isinstance(event, str) else getattr(event, "event_name", None)
    if not isinstance(event_name, str) or not event_name:
        raise TypeError(f"bokeh_live.on_event: event must be an event name or a bokeh.events class, not {event!r}")
    _allowed(state, "on_event", name, event_name, "events")
    for callback in callbacks:
        _check_arity(callback, 1, "on_event", "(event)")
    state.event_watchers.setdefault((name, event_name), []).extend(callbacks)


def get(name: str, attr: str) -> Any:
    """The current value of property ``attr`` of the page's model called ``name``: one the
    app lists in the model's ``watch``."""
    state = current("get")
    _allowed(state, "get", name, attr, "properties")
    return state.mirror[(name, attr)]


def _allowed(state: ModelState, what: str, name: str, attr: str, kind: str) -> None:
    if not isinstance(name, str) or not isinstance(attr, str):
        raise TypeError(f"bokeh_live.{what}: the model's name and the {kind[:-1]} must be strings")
    listed = state.watchable.get(name)
    if listed is None or attr not in listed:
        raise ValueError(f"bokeh_live.{what}: the app does not let browser code watch '{name}'.{attr}: list it in "
                         f"this BokehLive's watch (watch={{{name!r}: [{attr!r}]}})")
    missing = state.watch_missing.get(f"{name}.{attr}") or state.watch_missing.get(name)
    if missing is not None:
        raise ValueError(f"bokeh_live.{what}: '{name}'.{attr} cannot be watched: {missing}")
    if attr not in getattr(state, "watched_" + kind).get(name, ()):
        other = "an event" if kind == "properties" else "a property"
        raise ValueError(f"bokeh_live.{what}: '{name}'.{attr} is {other}, not one of the {kind} of {name!r}: use "
                         f"bokeh_live.{'on_event' if kind == 'properties' else 'on_change'}")


def _check_arity(callback: Any, n: int, what: str, signature: str) -> None:
    if not callable(callback):
        raise TypeError(f"bokeh_live.{what}: a callback must be callable, not {type(callback).__name__}")
    try:
        inspect.signature(callback).bind(*range(n))
    except TypeError:
        raise ValueError(f"bokeh_live.{what}: a callback must take {signature}") from None
    except ValueError:  # a builtin without a signature: let it run
        pass


# --- from the page ----------------------------------------------------------------------------

def mirror(state: ModelState, message: dict[str, Any]) -> None:
    """The page's ``watched`` message: what may be watched, and the values of its properties."""
    decode = Decoder().decode
    state.watchable = {name: list(attrs) for name, attrs in decode(message.get("watch") or {}).items()}
    state.watched_properties = {}
    state.mirror = {}
    for name, values in decode(message.get("properties") or {}).items():
        state.watched_properties[name] = list(values)
        for attr, value in values.items():
            state.mirror[(name, attr)] = value
    state.watched_events = {name: list(events) for name, events in decode(message.get("events") or {}).items()}
    state.watch_missing = dict(decode(message.get("missing") or {}))


async def dispatch(state: ModelState, message: dict[str, Any]) -> None:
    """One ``changes`` batch from the page, in order: each change updates the mirror and
    calls its callbacks, each event its callbacks. ``update()`` calls they make reach the page
    together, merged per model, when the batch ends; then the page hears ``done`` and sends
    what came meanwhile."""
    run_id = message["id"]
    _state.current_model.set(state.id)
    _state.current_run.set(run_id)
    state.updates = {}
    try:
        # (Decoded whole: JavaScript's nulls arrive as Pyodide's JsNull, not None.)
        for item in Decoder().decode(message.get("items") or []):
            target = item["target"]
            if item.get("event") is not None:
                event = Event(item["event"], target, item.get("values") or {})
                for callback in list(state.event_watchers.get((target, event.event_name), ())):
                    await _call(state, run_id, callback, event)
            else:
                attr = item["attr"]
                new = item.get("value")
                old = state.mirror.get((target, attr))
                state.mirror[(target, attr)] = new
                for callback in list(state.watchers.get((target, attr), ())):
                    await _call(state, run_id, callback, attr.rsplit(".", 1)[-1], old, new)
    finally:
        updates, state.updates = state.updates, None
        for target, props in (updates or {}).items():
            emit("update", {"model": state.id, "id": run_id, "target": target, "props": props})
        emit("done", {"model": state.id, "id": run_id, "result": None})


async def _call(state: ModelState, run_id: str, callback: Callable[..., Any], *args: Any) -> None:
    from ._runner import format_exception

    try:
        result = callback(*args)
        if inspect.isawaitable(result):
            await result
    except Exception as e:
        text = format_exception(e)
        print(text, end="", file=sys.stderr)
        emit("callback_error", {"model": state.id, "id": run_id, "error": text})
