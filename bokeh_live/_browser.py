"""The browser half of bokeh_live: imported as ``bokeh_live`` by Python running in Pyodide.

This file is not imported on the server. The build embeds its source in the BokehJS
bundle and the Web Worker installs it as the module ``bokeh_live``, so code a
``BokehLive`` runs in the browser can write::

    import bokeh_live
    bokeh_live.send({"answer": 42})          # sets the server model's ``output``
    bokeh_live.on_server_data(print)         # called with each ``live.send(data)``
    bokeh_live.value                         # the model's current ``value``

One worker serves every ``BokehLive`` on a page. Each model has its own namespace, and
a context variable says which model the running code belongs to, so ``send`` and
``print`` reach the right model even when several runs interleave at ``await`` points.

It depends on nothing outside the standard library except where it talks to the worker
(the ``post`` function handed to :func:`_install`), so its logic is tested with CPython.
"""

from __future__ import annotations

import ast
import asyncio
import builtins
import contextvars
import inspect
import io
import linecache
import sys
import traceback
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["display", "on_server_data", "send", "update", "value"]  # noqa: F822 - value is a module __getattr__

#: The JS side of the worker: ``_post(kind, payload)`` posts a message to the page.
_post: Callable[[str, dict[str, Any]], None] | None = None

_model: contextvars.ContextVar[str] = contextvars.ContextVar("bokeh_live_model")
_run: contextvars.ContextVar[str] = contextvars.ContextVar("bokeh_live_run", default="")

_namespaces: dict[str, dict[str, Any]] = {}
_handlers: dict[str, list[Callable[[Any], Any]]] = {}
_values: dict[str, Any] = {}
_limits: dict[str, int] = {}
_tasks: set[asyncio.Task[None]] = set()  # strong references: the event loop keeps only weak ones

#: Marks binary values in messages between worker and page (see bokehjs_ext/values.ts).
BINARY = "__bokeh_live_binary__"
DEFAULT_LIMIT = 64 * 1024 * 1024
#: Bokeh closes its websocket on messages over 20 MiB; only binary values can be chunked.
INLINE_LIMIT = 16 * 1024 * 1024
CODE_FILENAME = "<code>"

# memoryview format characters <-> BokehJS ndarray dtypes (BokehJS has no 64-bit integers).
_DTYPES = {"B": "uint8", "b": "int8", "H": "uint16", "h": "int16", "I": "uint32", "i": "int32",
           "f": "float32", "d": "float64", "?": "bool"}
_FORMATS = {v: k for k, v in _DTYPES.items()}


# --- public API -------------------------------------------------------------------------

def send(data: Any) -> None:
    """Send ``data`` to the server, where it becomes the model's ``output``.

    JSON-like values, ``bytes``, memoryviews and numpy arrays (as binary buffers).
    """
    model = _current_model("send")
    _emit("send", {"model": model, "data": _encode_for_server(data, model, "bokeh_live.send: the data")})


def on_server_data(callback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Call ``callback(data)`` for each ``live.send(data)`` from the server.

    Usable as a decorator. An ``async`` callback runs as a task. Registrations last until
    the model's ``code`` runs again.
    """
    _handlers.setdefault(_current_model("on_server_data"), []).append(callback)
    return callback


def display(obj: Any) -> None:
    """Show ``obj`` in the model's output area, after what the code printed so far.

    A Bokeh model (when bokeh is loaded in the browser) or the dict ``bokeh.embed.json_item``
    returns becomes a live Bokeh plot; an object with ``_repr_html_`` (a pandas DataFrame,
    for one) shows as HTML; anything else as its ``str``.
    """
    model = _current_model("display")
    obj = _as_json_item(obj)
    html = getattr(obj, "_repr_html_", None) if not isinstance(obj, type) else None
    if isinstance(obj, dict) and isinstance(obj.get("doc"), dict) and isinstance(obj.get("root_id"), str):
        item = {"display": "bokeh", "data": _encode(obj)[0]}
    elif callable(html) and (markup := html()) is not None:
        item = {"display": "html", "data": str(markup)}
    else:
        item = {"display": "text", "data": str(obj)}
    _emit("display", {"model": model, "id": _run.get(), **item})


def _as_json_item(obj: Any) -> Any:
    """A Bokeh model as its ``json_item``; anything else unchanged. Never imports bokeh:
    an object can only be a Bokeh model if the code already loaded it."""
    bokeh_model = sys.modules.get("bokeh.model")
    if bokeh_model is not None and isinstance(obj, bokeh_model.Model):
        from bokeh.embed import json_item

        return json_item(obj)
    return obj


def update(name: str, **props: Any) -> None:
    """Set properties of the page's Bokeh model called ``name``, as ``CustomJS`` could.

    ``bokeh_live.update("source", data={"x": xs, "y": ys})`` redraws a plot of that
    ``ColumnDataSource``. Works without a server (standalone HTML, notebooks); in a
    server app the change reaches the server like any change made in the browser.
    The page applies it: an unknown model or property, or a bad value, is reported on
    this model's stderr rather than raised here.
    """
    model = _current_model("update")
    if not isinstance(name, str) or not name:
        raise TypeError("bokeh_live.update: name must be a model's non-empty name (its `name` property)")
    if not props:
        raise TypeError("bokeh_live.update: give at least one property, e.g. update(name, data={...})")
    payload, _ = _encode(props)
    _emit("update", {"model": model, "id": _run.get(), "target": name, "props": payload})


def __getattr__(name: str) -> Any:
    if name == "value":
        return _values.get(_current_model("value"))
    raise AttributeError(f"module 'bokeh_live' has no attribute {name!r}")


# --- messages from the page --------------------------------------------------------------

def _install(post: Callable[[str, Any], None]) -> None:
    """Called once by the worker with its JS ``post(kind, payload)``: route output there."""
    from js import Object
    from pyodide.ffi import to_js

    global _post

    def post_to_page(kind: str, payload: dict[str, Any]) -> None:
        post(kind, to_js(payload, dict_converter=Object.fromEntries, create_pyproxies=False))

    _post = post_to_page
    sys.stdout = _Stream("stdout", sys.stdout)
    sys.stderr = _Stream("stderr", sys.stderr)


def handle(kind: str, message: dict[str, Any]) -> None:
    """Entry point for the worker's messages (already converted to Python objects)."""
    model = message["model"]
    if kind == "run":
        _start(_run_and_reply(model, message))
    elif kind == "config":
        _values[model] = _decode(message.get("value"))
        _limits[model] = int(message.get("limit") or DEFAULT_LIMIT)
    elif kind == "server_data":
        data = _decode(message["data"])
        for callback in list(_handlers.get(model, ())):
            _in_model(model, _call_handler, callback, data)
    elif kind == "forget":
        for table in (_namespaces, _handlers, _values, _limits):
            table.pop(model, None)


def _start(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` as a task that starts at once: code that never awaits then finishes
    before control returns to the worker, and its reply leaves in the same batch."""
    loop = asyncio.get_event_loop()  # Pyodide's WebLoop: there is no *running* loop in a worker
    try:
        task = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]  # Python >= 3.12
    except TypeError:
        task = loop.create_task(coro)
    if not task.done():
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)


def _in_model(model: str, fn: Callable[..., Any], *args: Any) -> Any:
    ctx = contextvars.copy_context()
    ctx.run(_model.set, model)
    return ctx.run(fn, *args)


def _call_handler(callback: Callable[[Any], Any], data: Any) -> None:
    try:
        result = callback(data)
        if inspect.isawaitable(result):
            _start(_report_errors(result))
    except Exception:
        traceback.print_exc()


async def _report_errors(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:
        traceback.print_exc()


async def _run_and_reply(model: str, message: dict[str, Any]) -> None:
    _model.set(model)
    _run.set(message["id"])
    fresh = bool(message.get("fresh"))
    try:
        kwargs = _decode(message.get("kwargs") or {})
        result = await run(model, message["code"], kwargs, fresh=fresh)
        payload = _encode_for_server(result, model, "the result")
    except BaseException as e:
        _emit("failed", {"model": model, "id": message["id"], "error_type": type(e).__name__,
                         "error": format_exception(e)})
        if not isinstance(e, Exception):
            raise
        return
    reply = {"model": model, "id": message["id"], "result": payload}
    if fresh and result is not None:
        reply["repr"] = repr(result)
    _emit("done", reply)


# --- running code -----------------------------------------------------------------------

async def run(model: str, code: str, kwargs: dict[str, Any] | None = None, *, fresh: bool = False) -> Any:
    """Run ``code`` in ``model``'s namespace; return the value of its last expression.

    ``fresh`` starts a new namespace (and forgets ``on_server_data`` callbacks): that is
    how the model's own ``code`` runs. ``kwargs`` are globals for this call only: the
    code runs in a copy of the namespace holding them, and the names it binds (other
    than the kwargs themselves) are copied back, so concurrent calls never see each
    other's arguments.
    """
    if fresh or model not in _namespaces:
        _namespaces[model] = {"__name__": "__main__", "__builtins__": builtins}
        _handlers.pop(model, None)
    namespace = _namespaces[model]
    scope = {**namespace, **kwargs} if kwargs else namespace
    linecache.cache[CODE_FILENAME] = (len(code), None, code.splitlines(True), CODE_FILENAME)

    tree = ast.parse(code, CODE_FILENAME)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    assert last is None or isinstance(last, ast.Expr)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    await _evaluate(compile(tree, CODE_FILENAME, "exec", flags=flags), scope)
    result = None
    if last is not None:
        expression = ast.Expression(last.value)
        result = await _evaluate(compile(expression, CODE_FILENAME, "eval", flags=flags), scope)

    if kwargs:
        for name, bound in scope.items():
            if name not in kwargs or bound is not kwargs[name]:
                namespace[name] = bound
    return result


async def _evaluate(code: Any, scope: dict[str, Any]) -> Any:
    result = eval(code, scope)
    if code.co_flags & inspect.CO_COROUTINE:
        result = await result
    return result


def format_exception(error: BaseException) -> str:
    """The traceback from the first frame of the user's code on: none of ours."""
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != CODE_FILENAME:
        tb = tb.tb_next
    if isinstance(error, SyntaxError) or tb is None:
        return "".join(traceback.format_exception_only(type(error), error))
    return "".join(traceback.format_exception(type(error), error, tb))


# --- values between Python and the page ---------------------------------------------------

def _encode_for_server(value: Any, model: str, what: str) -> Any:
    """``_encode`` within the server's limits: ``max_message_size`` in all, and
    :data:`INLINE_LIMIT` for the part that is not bytes or arrays (those are sent in
    chunks; the rest must fit one websocket message)."""
    payload, size = _encode(value)
    limit = _limits.get(model, DEFAULT_LIMIT)
    if size > limit:
        raise ValueError(f"{what} is {size} bytes, over the server's limit of {limit} bytes "
                         "(BokehLive.max_message_size)")
    if size > INLINE_LIMIT and _inline_size(payload) > INLINE_LIMIT:
        raise ValueError(f"{what} holds over {INLINE_LIMIT} bytes of text, numbers or lists: send large "
                         "data as bytes, memoryviews or arrays, which travel in chunks")
    return payload


def _inline_size(payload: Any) -> int:
    if isinstance(payload, dict):
        return 0 if BINARY in payload else sum(len(k) + _inline_size(v) for k, v in payload.items())
    if isinstance(payload, list):
        return len(payload) + sum(_inline_size(v) for v in payload)
    return len(payload) if isinstance(payload, str) else 8


def _encode(value: Any, depth: int = 0) -> tuple[Any, int]:
    """A structure the worker can post to the page, and its size in bytes (roughly)."""
    if depth > 64:
        raise ValueError("value nested deeper than 64 levels")
    if value is None or isinstance(value, (bool, int, float)):
        return value, 8
    if isinstance(value, str):
        return value, len(value)
    if isinstance(value, (bytes, bytearray)):
        return {BINARY: "bytes", "data": bytes(value)}, len(value)
    if isinstance(value, memoryview):
        return _encode_buffer(value)
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
        return _encode_numpy(value)
    if hasattr(value, "item") and type(value).__module__ == "numpy":  # numpy scalar
        return _encode(value.item(), depth)
    if isinstance(value, dict):
        out, size = {}, 0
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"dict keys must be str to leave the browser, not {type(k).__name__}")
            out[k], n = _encode(v, depth + 1)
            size += n + len(k)
        return out, size
    if isinstance(value, (list, tuple)):
        items = [_encode(v, depth + 1) for v in value]
        return [v for v, _ in items], sum(n for _, n in items) + len(items)
    raise TypeError(f"a {type(value).__name__} cannot be sent to the server: use JSON-like values, "
                    "bytes, memoryviews or numpy arrays")


def _encode_buffer(view: memoryview) -> tuple[Any, int]:
    fmt = view.format.lstrip("@=<")
    dtype = _DTYPES.get(fmt)
    if dtype is None or (fmt in ("B", "c") and view.ndim <= 1):  # plain bytes
        return {BINARY: "bytes", "data": view.tobytes()}, view.nbytes
    return {BINARY: "ndarray", "dtype": dtype, "shape": list(view.shape or ()), "data": view.tobytes()}, view.nbytes


def _encode_numpy(array: Any) -> tuple[Any, int]:
    kind = str(array.dtype)
    if kind not in _FORMATS:
        if array.dtype.kind in "iu":  # 64-bit integers have no BokehJS dtype: exact as a list
            return array.tolist(), int(array.nbytes)
        array, kind = array.astype("float64"), "float64"
    data = array.tobytes() if array.dtype.byteorder != ">" else array.astype(kind).tobytes()
    return {BINARY: "ndarray", "dtype": kind, "shape": list(array.shape), "data": data}, int(array.nbytes)


def _decode(value: Any) -> Any:
    """The inverse of the page's encoding: binary markers become bytes or arrays, and
    Pyodide's stand-in for JavaScript's null becomes None."""
    if type(value).__name__ == "JsNull":
        return None
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    marker = value.get(BINARY)
    if marker == "bytes":
        return bytes(value["data"])
    if marker == "ndarray":
        return _array(bytes(value["data"]), value["dtype"], value["shape"])
    return {k: _decode(v) for k, v in value.items()}


def _array(data: bytes, dtype: str, shape: list[int]) -> Any:
    numpy = sys.modules.get("numpy")
    if numpy is None:
        try:
            import numpy
        except ImportError:
            numpy = None
    if numpy is not None:
        return numpy.frombuffer(data, dtype=dtype).reshape(shape)
    view = memoryview(data).cast(_FORMATS.get(dtype, "B"))  # type: ignore[call-overload]
    return view.cast("B").cast(view.format, shape) if len(shape) > 1 else view


# --- output streams ----------------------------------------------------------------------

class _Stream(io.TextIOBase):
    """sys.stdout/stderr that forwards text to the page, labelled with the model and run
    that wrote it, and falls back to the original stream outside any model."""

    def __init__(self, name: str, fallback: Any) -> None:
        self.name = name
        self._fallback = fallback

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        model = _model.get(None)
        if model is None or _post is None:
            return int(self._fallback.write(text))
        _emit("stream", {"model": model, "id": _run.get(), "name": self.name, "text": text})
        return len(text)


def _emit(kind: str, payload: dict[str, Any]) -> None:
    if _post is None:
        raise RuntimeError("bokeh_live only works inside a BokehLive worker")
    _post(kind, payload)


def _current_model(what: str) -> str:
    model = _model.get(None)
    if model is None:
        raise RuntimeError(f"bokeh_live.{what} works only in code run by a BokehLive model")
    return model
