"""The browser half of bokeh_live: what ``import bokeh_live`` gives Python that a ``BokehLive``
runs in the visitor's browser (Pyodide, in a Web Worker)::

    import bokeh_live
    bokeh_live.send({"answer": 42})          # sets the server model's ``output``
    bokeh_live.on_server_data(print)         # called with each ``live.send(data)``
    bokeh_live.value                         # the model's current ``value``
    rows = await bokeh_live.call("query", 10)  # a function the server exposes (live.expose)
    bokeh_live.on_change("freq", "value", redraw)  # redraw(attr, old, new) as the slider moves

The build ships this package, with the codec it uses (``wire.py``, ``tabular.py``,
``pending.py``, ``shared.py``), inside the BokehJS bundle; the worker installs it as the
package ``bokeh_live``. It needs nothing outside the standard library but the page it
posts to, so its logic runs under CPython too (``tests/test_browser_module.py``).

The modules: this one is the public API; ``_state`` holds each model's state and the way
to the page; ``_dispatch`` takes the page's messages; ``_runner`` runs code; ``watch`` runs
callbacks when the page changes; ``_display`` and ``_complete`` serve the output area and
the editor; ``messages`` names the messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..shared import CALL_TIMEOUT, MAX_CALLS_IN_FLIGHT, MAX_PROGRESS_TEXT
from ..tabular import Frame
from ..wire import Encoder
from ._display import display
from ._state import current, current_run, emit, encode_for_server
from .watch import Event, get, on_change, on_event, remove_on_change

# And ``value``, a module attribute of its own (see __getattr__): not here, so that a star import
# does not read it outside any model.
__all__ = ["Event", "Frame", "ServerError", "call", "display", "get", "on_change", "on_event", "on_server_data",
           "progress", "remove_on_change", "send", "update"]


def send(data: Any) -> None:
    """Send ``data`` to the server, where it becomes the model's ``output``.

    JSON-like values, ``bytes``, memoryviews, numpy arrays (as binary buffers) and DataFrames.
    """
    state = current("send")
    emit("send", {"model": state.id, "data": encode_for_server(data, state, "bokeh_live.send: the data")})


def on_server_data(callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Call ``callback(data)`` for each ``live.send(data)`` from the server.

    Usable as a decorator. An ``async`` callback runs as a task. Registrations last until
    the model's ``code`` runs again.
    """
    current("on_server_data").handlers.append(callback)
    return callback


def update(name: str, /, **props: Any) -> None:
    """Set properties of the page's Bokeh model called ``name``, as ``CustomJS`` could.

    ``bokeh_live.update("source", data={"x": xs, "y": ys})`` redraws a plot of that
    ``ColumnDataSource``. Works without a server (standalone HTML, notebooks); in a
    server app the change reaches the server like any change made in the browser.
    The page applies it: an unknown model or property, or a bad value, is reported on
    this model's stderr rather than raised here.
    """
    state = current("update")
    if not isinstance(name, str) or not name:
        raise TypeError("bokeh_live.update: name must be a model's non-empty name (its `name` property)")
    if not props:
        raise TypeError("bokeh_live.update: give at least one property, e.g. update(name, data={...})")
    encoded = Encoder().encode(props)
    if state.updates is not None:  # in callbacks: one change per model when they end
        state.updates.setdefault(name, {}).update(encoded)
    else:
        emit("update", {"model": state.id, "id": current_run.get(), "target": name, "props": encoded})


def progress(fraction: float, text: str = "") -> None:
    """Say how far the current work is: ``fraction`` from 0 to 1 and an optional short
    ``text`` ("step 3 of 10"). The model's UI shows a progress bar (every mode but headless)
    and the server reads it as ``live.progress``, a ``(fraction, text)`` pair.

    Cheap enough for every step of a tight loop: at most one report per 50 ms leaves the
    worker, and the run's last report always does, when the run ends.
    """
    state = current("progress")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"bokeh_live.progress: fraction must be a number from 0 to 1, not {fraction!r}")
    state.progress({"model": state.id, "id": current_run.get(), "fraction": float(fraction),
                    "text": str(text)[:MAX_PROGRESS_TEXT]})


class ServerError(Exception):
    """A function the server exposes raised there: the message is the server's, and
    ``error_type`` the class name of its exception (the traceback stays on the server)."""

    def __init__(self, message: str, error_type: str = "Exception") -> None:
        super().__init__(message)
        self.error_type = error_type


async def call(name: str, *args: Any, timeout: float = CALL_TIMEOUT, **kwargs: Any) -> Any:
    """Call the function the server exposes as ``name`` (``live.expose``) and return its
    result: ``rows = await bokeh_live.call("query", "SELECT ...", limit=100)``.

    Arguments and result travel as ``send`` data does. Raises :class:`ServerError` with the
    server's message when the function raises there or ``name`` is not exposed,
    ``TimeoutError`` after ``timeout`` seconds, and ``RuntimeError`` on a page without a
    Bokeh server (standalone HTML) or with 16 calls of this model already waiting.
    """
    state = current("call")
    if not isinstance(name, str) or not name:
        raise TypeError("bokeh_live.call: name must be the non-empty name of an exposed function")
    if len(state.calls) >= MAX_CALLS_IN_FLIGHT:
        raise RuntimeError(f"bokeh_live.call: {MAX_CALLS_IN_FLIGHT} calls of this model already wait for the server")
    payload = encode_for_server({"args": list(args), "kwargs": kwargs}, state, f"the arguments of {name}")
    call_id, _ = state.calls.open()
    try:
        emit("call", {"model": state.id, "id": call_id, "name": name, **payload})
    except BaseException:
        state.calls.forget(call_id)
        raise
    try:
        return await state.calls.wait(call_id, timeout)
    except TimeoutError:
        raise TimeoutError(f"bokeh_live.call({name!r}): no answer from the server within {timeout} s") from None


def __getattr__(name: str) -> Any:
    if name == "value":
        return current("value").value
    raise AttributeError(f"module 'bokeh_live' has no attribute {name!r}")
