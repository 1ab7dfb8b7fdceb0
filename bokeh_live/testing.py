"""A stand-in page, so that browser code can be unit-tested under CPython with pytest.

Code that a ``BokehLive`` ships to the browser (``modules=[...]``) does ``import bokeh_live``
and calls ``bokeh_live.send``, ``update``, ``on_change``... Under CPython those are the same
functions, but they need a page: :class:`Page` is one that records what the code sends and
answers what it asks. It runs the real browser half of the package, not a copy::

    from bokeh_live.testing import Page
    import shapes                      # a module the app ships

    def test_redraw_fills_the_plot():
        with Page(watch={"freq": {"value": 2.0}}) as page:
            shapes.setup()             # registers bokeh_live.on_change("freq", "value", ...)
            page.change("freq", "value", 3.0)
        target, props = page.updates[-1]
        assert target == "curve" and len(props["data"]["y"]) == 200

Values arrive as they would in the browser: ``bytes``, numpy arrays (or memoryviews without
numpy), DataFrames as pandas DataFrames when pandas is imported.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import Callable
from typing import Any

from .browser import _dispatch, _state
from .shared import MAX_MESSAGE_BYTES
from .wire import Encoder, decode

__all__ = ("Page",)

_numbers = itertools.count()


class Page:
    """A page for browser code run under CPython, as the one model whose code runs.

    ``value``: the model's ``value``. ``watch``: the page's models the code may hear, by
    name, each a dict of property to its current value (``{"freq": {"value": 2.0}}``);
    ``events``: the events it may hear, by model name. ``expose``: what the server exposes
    to ``bokeh_live.call``, by name. What the code does is recorded in :attr:`sent`,
    :attr:`updates`, :attr:`progress`, :attr:`displayed`, :attr:`calls` and :attr:`errors`.
    """

    def __init__(self, *, value: Any = None, watch: dict[str, dict[str, Any]] | None = None,
                 events: dict[str, list[str]] | None = None, expose: dict[str, Callable[..., Any]] | None = None,
                 limit: int = MAX_MESSAGE_BYTES) -> None:
        self.model = f"test-page-{next(_numbers)}"
        self.value, self.watch, self.events = value, dict(watch or {}), dict(events or {})
        self.expose = dict(expose or {})
        self.limit = limit
        #: What ``bokeh_live.send`` sent, in order.
        self.sent: list[Any] = []
        #: ``(name, props)`` of each ``bokeh_live.update`` the page applied.
        self.updates: list[tuple[str, dict[str, Any]]] = []
        #: ``(fraction, text)`` of each ``bokeh_live.progress`` report that left.
        self.progress: list[tuple[float, str]] = []
        #: ``(kind, data)`` of each ``bokeh_live.display``: ``html``, ``bokeh``, ``text``.
        self.displayed: list[tuple[str, Any]] = []
        #: ``(name, args, kwargs)`` of each ``bokeh_live.call``.
        self.calls: list[tuple[str, list[Any], dict[str, Any]]] = []
        #: Tracebacks of callbacks that raised (the page shows them and sets ``error``).
        self.errors: list[str] = []
        self._saved: Any = None
        self._token: Any = None
        self._batches = itertools.count()

    def __enter__(self) -> Page:
        self._saved = _state.post
        _state.post = self._receive
        self._token = _state.current_model.set(self.model)
        _dispatch.handle("config", {"model": self.model, "value": Encoder().encode(self.value), "limit": self.limit,
                                    "auto_packages": False})
        properties = {name: dict(values) for name, values in self.watch.items()}
        listed = {name: [*values, *self.events.get(name, [])] for name, values in properties.items()}
        listed.update({name: list(events) for name, events in self.events.items() if name not in listed})
        _dispatch.handle("watched", {"model": self.model, "watch": listed, "properties": Encoder().encode(properties),
                                     "events": self.events, "missing": {}})
        return self

    def __exit__(self, *exc: object) -> None:
        _state.forget(self.model)
        _state.current_model.reset(self._token)
        _state.post = self._saved

    # --- what the page does ------------------------------------------------------------------

    def change(self, name: str, attr: str, value: Any) -> None:
        """The page's model ``name`` changed ``attr`` to ``value``: the code's ``on_change``
        callbacks run (async ones to their end). Outside a running event loop only; inside
        one, ``await page.changed(...)``."""
        asyncio.run(self.changed(name, attr, value))

    async def changed(self, name: str, attr: str, value: Any) -> None:
        await self._dispatch({"target": name, "attr": attr, "value": Encoder().encode(value), "event": None,
                              "values": None})

    def event(self, name: str, event: str, **values: Any) -> None:
        """An ``event`` (``"button_click"``, ``"tap"``...) happened on the page's model ``name``,
        with these fields: the code's ``on_event`` callbacks run."""
        asyncio.run(self.happened(name, event, **values))

    async def happened(self, name: str, event: str, **values: Any) -> None:
        await self._dispatch({"target": name, "attr": None, "value": None, "event": event,
                              "values": Encoder().encode(values)})

    def send(self, data: Any) -> None:
        """The server's ``live.send(data)``: the code's ``on_server_data`` callbacks run."""
        _dispatch.handle("server_data", {"model": self.model, "data": Encoder().encode(data)})

    async def _dispatch(self, item: dict[str, Any]) -> None:
        from .browser import watch

        await watch.dispatch(_state.model_state(self.model), {"kind": "changes", "model": self.model,
                                                              "id": f"changes-{next(self._batches)}", "items": [item]})

    def _receive(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "send":
            self.sent.append(decode(payload["data"]))
        elif kind == "update":
            self.updates.append((payload["target"], decode(payload["props"])))
        elif kind == "progress":
            self.progress.append((payload["fraction"], payload["text"]))
        elif kind == "display":
            self.displayed.append((payload["display"], payload["data"]))
        elif kind == "callback_error":
            self.errors.append(payload["error"])
        elif kind == "call":
            args, kwargs = decode(payload["args"]), decode(payload["kwargs"])
            self.calls.append((payload["name"], args, kwargs))
            asyncio.get_event_loop().create_task(self._answer(payload["id"], payload["name"], args, kwargs))

    async def _answer(self, call_id: str, name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
        answer: dict[str, Any] = {"model": self.model, "id": call_id, "result": None, "error": None,
                                  "error_type": None}
        function = self.expose.get(name)
        try:
            if function is None:
                exposed = ", ".join(self.expose) or "none"
                raise NameError(f"the server exposes no function {name!r} (exposed: {exposed})")
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
            answer["result"] = Encoder().encode(result)
        except Exception as e:
            answer.update(error=str(e), error_type=type(e).__name__)
        _dispatch.handle("reply", answer)
