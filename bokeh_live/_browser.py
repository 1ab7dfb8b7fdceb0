"""The browser half of bokeh_live: imported as ``bokeh_live`` by Python running in Pyodide.

This file is not imported on the server. The build embeds its source in the BokehJS
bundle and the Web Worker installs it as the module ``bokeh_live``, so code a
``BokehLive`` runs in the browser can write::

    import bokeh_live
    bokeh_live.send({"answer": 42})          # sets the server model's ``output``
    bokeh_live.on_server_data(print)         # called with each ``live.send(data)``
    bokeh_live.value                         # the model's current ``value``
    rows = await bokeh_live.call("query", 10)  # a function the server exposes (live.expose)

One worker serves every ``BokehLive`` on a page. Each model has its own namespace, and
a context variable says which model the running code belongs to, so ``send`` and
``print`` reach the right model even when several runs interleave at ``await`` points.

It depends on nothing outside the standard library except where it talks to the worker
(the ``post`` function handed to :func:`_install`), so its logic is tested with CPython.
"""

from __future__ import annotations

import ast
import asyncio
import base64
import builtins
import contextvars
import inspect
import io
import itertools
import keyword
import linecache
import math
import os
import re
import sys
import time
import traceback
import types
from collections.abc import Callable, Coroutine
from json.encoder import encode_basestring, encode_basestring_ascii
from types import CodeType
from typing import Any

from . import tabular
from .shared import (
    ARRAY_TAG,
    BINARY_TAG,
    CALL_TIMEOUT,
    CATEGORY_TAG,
    CODE_FILENAME,
    DTYPE_FORMATS,
    FRAME_TAG,
    INT_TAG,
    MAX_CALLS_IN_FLIGHT,
    MAX_COMPLETIONS,
    MAX_DEPTH,
    MAX_INLINE_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_PROGRESS_TEXT,
    MAX_SAFE_INT,
    PROGRESS_INTERVAL_MS,
    STRINGS_TAG,
    keep_tail,
)
from .tabular import Frame

__all__ = ["Frame", "ServerError", "call", "display", "on_server_data", "progress", "send", "update", "value"]  # noqa: F822 - value is a module __getattr__

#: The JS side of the worker: ``_post(kind, payload)`` posts a message to the page.
_post: Callable[[str, dict[str, Any]], None] | None = None

_model: contextvars.ContextVar[str] = contextvars.ContextVar("bokeh_live_model")
_run: contextvars.ContextVar[str] = contextvars.ContextVar("bokeh_live_run", default="")

_namespaces: dict[str, dict[str, Any]] = {}
_handlers: dict[str, list[Callable[[Any], Any]]] = {}
_values: dict[str, Any] = {}
_limits: dict[str, int] = {}
_tasks: set[asyncio.Task[None]] = set()  # strong references: the event loop keeps only weak ones
_runs: dict[str, asyncio.Task[None]] = {}  # runs waiting at an await, by id: what "cancel" stops
_auto_packages: dict[str, bool] = {}
_imports_tried: set[str] = set()  # top-level import names already looked up in the lockfile
_progress_sent: dict[str, float] = {}  # by run: when its last progress report left
_progress_held: dict[str, dict[str, Any]] = {}  # by run: a report too soon after the last, until the next leaves
_calls: dict[str, tuple[str, asyncio.Future[Any]]] = {}  # calls waiting for the server, by id: (model, answer)
_call_numbers = itertools.count()

# memoryview format characters -> BokehJS ndarray dtypes (BokehJS has no 64-bit integers).
_DTYPES = {fmt: dtype for dtype, fmt in DTYPE_FORMATS.items()}


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
    returns becomes a live Bokeh plot. Other objects show as notebooks show them, by their
    richest representation: ``_repr_mimebundle_``, ``_repr_html_`` (a pandas DataFrame),
    ``_repr_svg_``, ``_repr_png_``, ``_repr_jpeg_``; a matplotlib figure as a PNG image.
    Anything else shows as its ``str``. HTML and SVG are sanitized on the page.
    """
    model = _current_model("display")
    obj = _as_json_item(obj)
    if isinstance(obj, dict) and isinstance(obj.get("doc"), dict) and isinstance(obj.get("root_id"), str):
        item = {"display": "bokeh", "data": _encode(obj, _Size())}
    elif (markup := _rich_html(obj)) is not None:
        item = {"display": "html", "data": markup}
    else:
        item = {"display": "text", "data": str(obj)}
    _emit("display", {"model": model, "id": _run.get(), **item})


def _show(value: Any) -> None:
    """The value of a code run's last expression, in the output: rich where the object
    has a rich form, else its repr. Any object will do; one whose repr fails says so."""
    try:
        if _rich_html(value) is not None or _as_json_item(value) is not value:
            display(value)
        else:
            _emit("display", {"model": _current_model("display"), "id": _run.get(), "display": "result",
                              "data": keep_tail(repr(value))})
    except Exception as e:
        print(f"the last expression's value cannot be shown: {type(e).__name__}: {e}", file=sys.stderr)


#: The mime types shown, richest first, and the ``_repr_*_`` method of each.
_MIME_REPRS = (("text/html", "_repr_html_"), ("image/svg+xml", "_repr_svg_"), ("image/png", "_repr_png_"),
               ("image/jpeg", "_repr_jpeg_"))


def _rich_html(obj: Any) -> str | None:
    """``obj``'s richest representation as HTML (images as ``data:`` URLs), or None."""
    if isinstance(obj, type):
        return None  # a class's _repr_html_ is an unbound method
    bundle: dict[str, Any] = {}
    mimebundle = getattr(obj, "_repr_mimebundle_", None)
    if callable(mimebundle):
        got = mimebundle()
        got = got[0] if isinstance(got, tuple) else got  # (data, metadata)
        bundle = dict(got) if isinstance(got, dict) else {}
    for mime, method in _MIME_REPRS:
        if mime not in bundle and callable(fn := getattr(obj, method, None)):
            value = fn()
            if value is not None:
                bundle[mime] = value[0] if isinstance(value, tuple) else value  # (data, metadata)
                break
    if not bundle and _is_matplotlib_figure(obj):
        buffer = io.BytesIO()
        obj.savefig(buffer, format="png", bbox_inches="tight")
        bundle["image/png"] = buffer.getvalue()
    for mime, _ in _MIME_REPRS:
        data = bundle.get(mime)
        if data is None:
            continue
        if mime.startswith("text/") or mime == "image/svg+xml":
            return data.decode() if isinstance(data, bytes) else str(data)
        encoded = base64.b64encode(data).decode() if isinstance(data, bytes) else str(data).strip()
        return f'<img src="data:{mime};base64,{encoded}" alt="">'
    return None


def _is_matplotlib_figure(obj: Any) -> bool:
    return type(obj).__module__.startswith("matplotlib.") and callable(getattr(obj, "savefig", None))


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
    payload = _encode(props, _Size())
    _emit("update", {"model": model, "id": _run.get(), "target": name, "props": payload})


def progress(fraction: float, text: str = "") -> None:
    """Say how far the current work is: ``fraction`` from 0 to 1 and an optional short
    ``text`` ("step 3 of 10"). The model's UI shows a progress bar (every mode but headless)
    and the server reads it as ``live.progress``, a ``(fraction, text)`` pair.

    Cheap enough for every step of a tight loop: at most one report per 50 ms leaves the
    worker, and the run's last report always does, when the run ends.
    """
    model = _current_model("progress")
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"bokeh_live.progress: fraction must be a number from 0 to 1, not {fraction!r}")
    run_id = _run.get()
    report = {"model": model, "id": run_id, "fraction": float(fraction), "text": str(text)[:MAX_PROGRESS_TEXT]}
    now = time.monotonic()
    if now - _progress_sent.get(run_id, -math.inf) >= PROGRESS_INTERVAL_MS / 1000:
        _progress_sent[run_id] = now
        _progress_held.pop(run_id, None)
        _emit("progress", report)
    else:
        _progress_held[run_id] = report


def _progress_done(run_id: str) -> None:
    """A run ended: its held report leaves, and its clock is forgotten."""
    _progress_sent.pop(run_id, None)
    held = _progress_held.pop(run_id, None)
    if held is not None:
        _emit("progress", held)


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
    model = _current_model("call")
    if not isinstance(name, str) or not name:
        raise TypeError("bokeh_live.call: name must be the non-empty name of an exposed function")
    if sum(1 for owner, _ in _calls.values() if owner == model) >= MAX_CALLS_IN_FLIGHT:
        raise RuntimeError(f"bokeh_live.call: {MAX_CALLS_IN_FLIGHT} calls of this model already wait for the server")
    payload = _encode_for_server({"args": list(args), "kwargs": kwargs}, model, f"the arguments of {name}")
    # Unique across workers: a reply to a call of a worker since replaced must not end a new one.
    call_id = f"call-{os.urandom(6).hex()}-{next(_call_numbers)}"
    future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
    _calls[call_id] = (model, future)
    try:
        _emit("call", {"model": model, "id": call_id, "name": name, **payload})
        return await asyncio.wait_for(future, timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"bokeh_live.call({name!r}): no answer from the server within {timeout} s") from None
    finally:
        _calls.pop(call_id, None)


def _reply(model: str, message: dict[str, Any]) -> None:
    """The server (or the page, for a page without one) answered a call."""
    entry = _calls.get(message["id"])
    if entry is None or entry[0] != model or entry[1].done():
        return  # timed out or cancelled meanwhile: the answer is late, and dropped
    error = _decode(message.get("error"))
    if error is not None:
        entry[1].set_exception(ServerError(str(error), str(_decode(message.get("error_type")) or "Exception")))
    else:
        entry[1].set_result(_decode(message.get("result")))


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
    # A start from a memory snapshot resumes the state it was made in, random generator
    # included: every page would draw the same numbers. Seed it from the OS (the browser's
    # crypto) as a fresh start does.
    if "random" in sys.modules:
        sys.modules["random"].seed()


def handle(kind: str, message: dict[str, Any]) -> None:
    """Entry point for the worker's messages (already converted to Python objects)."""
    if kind == "cancel":
        for run_id in message["ids"]:
            task = _runs.get(run_id)
            if task is not None:
                task.cancel("the run was stopped")
        return
    model = message["model"]
    if kind == "reply":
        _reply(model, message)
    elif kind == "complete":
        prefix, options = complete(model, message["before"])
        _emit("completions", {"model": model, "id": message["id"], "prefix": prefix, "options": options})
    elif kind == "run":
        task = _start(_run_and_reply(model, message))
        if task is not None:
            _runs[message["id"]] = task
            task.add_done_callback(lambda _: _runs.pop(message["id"], None))
    elif kind == "config":
        _values[model] = _decode(message.get("value"))
        _limits[model] = int(message.get("limit") or MAX_MESSAGE_BYTES)
        _auto_packages[model] = bool(message.get("auto_packages", True))
    elif kind == "server_data":
        data = _decode(message["data"])
        for callback in list(_handlers.get(model, ())):
            _in_model(model, _call_handler, callback, data)
    elif kind == "forget":
        for table in (_namespaces, _handlers, _values, _limits, _auto_packages):
            table.pop(model, None)


def _start(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
    """Run ``coro`` as a task that starts at once: code that never awaits then finishes
    before control returns to the worker, and its reply leaves in the same batch. Returns
    the task if it has not finished yet."""
    loop = asyncio.get_event_loop()  # Pyodide's WebLoop: there is no *running* loop in a worker
    try:
        task = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg]  # Python >= 3.12
    except TypeError:
        task = loop.create_task(coro)
    if task.done():
        return None
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


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
        if _auto_packages.get(model, True):
            await _load_imports(message["code"])
        result = await run(model, message["code"], kwargs, fresh=fresh)
        # The model's own code shows its last expression; only a call sends it as data.
        payload = None if fresh else _encode_for_server(result, model, "the result")
    except BaseException as e:  # KeyboardInterrupt and CancelledError too: they end this run
        _progress_done(message["id"])
        _emit("failed", {"model": model, "id": message["id"], "error_type": type(e).__name__,
                         "error": keep_tail(format_exception(e))})
        return
    _progress_done(message["id"])
    if fresh and result is not None:
        _show(result)
    _emit("done", {"model": model, "id": message["id"], "result": payload})


# --- completion ------------------------------------------------------------------------

_TAIL = re.compile(r"[\w.]*$")
_DOTTED = re.compile(r"((?:[^\W\d]\w*\.)*)([^\W\d]\w*)?")


def complete(model: str, before: str) -> tuple[str, list[dict[str, str]]]:
    """What could follow ``before`` (code up to the cursor) in ``model``'s namespace: the
    identifier it ends with (the prefix to replace) and the names that start with it, from
    the namespace, builtins and keywords, or an object's attributes after ``name.``.

    Nothing is called: attributes are looked up statically, so completing never runs a
    property or ``__getattr__`` of the user's objects (modules excepted)."""
    tail = _TAIL.search(before[-1000:]).group()  # type: ignore[union-attr]  # always matches
    match = _DOTTED.fullmatch(tail)
    if match is None:  # after a literal or call ("'text'.up", "f().x"): nothing known
        return re.search(r"\w*$", tail).group(), []  # type: ignore[union-attr]
    path, prefix = match.group(1).split(".")[:-1], match.group(2) or ""
    namespace = _namespaces.get(model, {})
    if path:
        found, obj = _lookup(namespace, path)
        if not found:
            return prefix, []
        names = {name: _static(obj, name) for name in _dir(obj)}
    else:
        names = {**{name: getattr(builtins, name) for name in dir(builtins)}, **namespace}
        names.update((word, keyword) for word in [*keyword.kwlist, *keyword.softkwlist])
    private = prefix.startswith("_")
    chosen = sorted(name for name in names if name.startswith(prefix) and (private or not name.startswith("_")))
    return prefix, [{"label": name, "type": _kind(names[name])} for name in chosen[:MAX_COMPLETIONS]]


def _lookup(namespace: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    if path[0] in namespace:
        obj = namespace[path[0]]
    elif hasattr(builtins, path[0]):
        obj = getattr(builtins, path[0])
    else:
        return False, None
    for name in path[1:]:
        obj = _static(obj, name)
        if obj is _MISSING:
            return False, None
    return True, obj


_MISSING = object()


def _static(obj: Any, name: str) -> Any:
    if isinstance(obj, types.ModuleType):
        return getattr(obj, name, _MISSING)  # modules run no user properties; lazy submodules load
    try:
        return inspect.getattr_static(obj, name)
    except AttributeError:
        return _MISSING


def _dir(obj: Any) -> list[str]:
    try:
        return dir(obj)
    except Exception:
        return []


def _kind(value: Any) -> str:
    if value is keyword:
        return "keyword"
    if isinstance(value, types.ModuleType):
        return "namespace"
    if isinstance(value, type):
        return "class"
    if isinstance(value, property):
        return "property"
    if callable(value) or isinstance(value, (staticmethod, classmethod)):
        return "function"
    return "variable"


# --- running code -----------------------------------------------------------------------

async def _load_imports(code: str) -> None:
    """Load the packages of Pyodide's lockfile that ``code`` imports and that are not loaded,
    as ``import numpy`` needs. Each name is looked up once; a package that fails to load is
    said on stderr, and the import then fails as it would."""
    if "import" not in code:
        return
    try:
        from pyodide.code import find_imports
    except ImportError:  # not in Pyodide (CPython runs this module's tests)
        return
    try:
        names = {name for name in find_imports(code) if name not in sys.modules and name not in _imports_tried}
    except SyntaxError:
        return  # the run reports it
    if not names:
        return
    _imports_tried.update(names)
    import pyodide_js
    from js import Object
    from pyodide.ffi import create_proxy, to_js

    errors: list[str] = []
    on_error, on_message = create_proxy(errors.append), create_proxy(lambda message: None)
    try:
        options = to_js({"errorCallback": on_error, "messageCallback": on_message}, dict_converter=Object.fromEntries)
        await pyodide_js.loadPackagesFromImports(code, options)
    finally:
        on_error.destroy()
        on_message.destroy()
    for error in errors:
        print(f"bokeh_live: loading the packages this code imports failed: {error}", file=sys.stderr)


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

    body, last = _compile(code)
    await _evaluate(body, scope)
    result = await _evaluate(last, scope) if last is not None else None

    if kwargs:
        for name, bound in scope.items():
            if name not in kwargs or bound is not kwargs[name]:
                namespace[name] = bound
    return result


#: Compiled code by its text, the newest first out: calls repeat the same code often.
_compiled: dict[str, tuple[CodeType, CodeType | None]] = {}
COMPILED_ENTRIES, COMPILED_MAX_CHARS = 256, 10_000


def _compile(code: str) -> tuple[CodeType, CodeType | None]:
    """``code`` compiled, in two parts: all but a last expression statement, and that
    expression (whose value is the run's result), both allowing top-level ``await``."""
    compiled = _compiled.pop(code, None)
    if compiled is None:
        tree = ast.parse(code, CODE_FILENAME)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        assert last is None or isinstance(last, ast.Expr)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        body = compile(tree, CODE_FILENAME, "exec", flags=flags)
        expression = compile(ast.Expression(last.value), CODE_FILENAME, "eval", flags=flags) if last else None
        compiled = (body, expression)
    if len(code) <= COMPILED_MAX_CHARS:
        _compiled[code] = compiled
        if len(_compiled) > COMPILED_ENTRIES:
            del _compiled[next(iter(_compiled))]
    return compiled


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
    :data:`MAX_INLINE_BYTES` of JSON text (bytes and arrays are sent in chunks; the rest
    must fit one websocket message)."""
    size = _Size()
    payload = _encode(value, size)
    limit = _limits.get(model, MAX_MESSAGE_BYTES)
    if size.json + size.binary > limit:
        raise ValueError(f"{what} is {size.json + size.binary} bytes, over the server's limit of {limit} bytes "
                         "(BokehLive.max_message_size)")
    if size.json > MAX_INLINE_BYTES:
        raise ValueError(f"{what} holds {size.json} bytes of JSON text, numbers or lists, over {MAX_INLINE_BYTES}: "
                         "send large data as bytes, memoryviews or arrays, which travel in chunks")
    return payload


class _Size:
    """What an encoded value takes on the wire as BokehJS sends it: the UTF-8 bytes of its
    JSON text (exact for strings, an upper bound for numbers) and its binary buffers."""

    __slots__ = ("binary", "json")

    def __init__(self) -> None:
        self.json = 0
        self.binary = 0


def _json_len(text: str) -> int:
    if text.isascii():
        return len(encode_basestring_ascii(text))
    return len(encode_basestring(text).encode("utf-8", "surrogatepass"))


def _encode(value: Any, size: _Size, depth: int = 0) -> Any:
    """A structure the worker can post to the page; its size is added to ``size``."""
    if depth > MAX_DEPTH:
        raise ValueError(f"value nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, float)):
        size.json += 24
        return value
    if isinstance(value, int):
        size.json += 24
        # Pyodide turns ints beyond 2**53 into BigInts, which BokehJS cannot send: tag them.
        return value if -MAX_SAFE_INT <= value <= MAX_SAFE_INT else {INT_TAG: str(value)}
    if isinstance(value, str):
        size.json += _json_len(value)
        return value
    if isinstance(value, (bytes, bytearray)):
        size.binary += len(value)
        return {BINARY_TAG: "bytes", "data": bytes(value)}
    if isinstance(value, memoryview):
        size.binary += value.nbytes
        return _encode_buffer(value)
    if type(value).__module__ == "numpy" and type(value).__name__ == "ndarray":
        return _encode_numpy(value, size)
    if hasattr(value, "item") and type(value).__module__ == "numpy":  # numpy scalar
        return _encode(value.item(), size, depth)
    if tabular.is_frame(value):  # a pandas DataFrame, or the Frame that stands in for one
        return _encode(tabular.encode_frame(value), size, depth)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"dict keys must be str to leave the browser, not {type(k).__name__}")
            size.json += _json_len(k) + 2
            out[k] = _encode(v, size, depth + 1)
        size.json += 2
        return out
    if isinstance(value, (list, tuple)):
        size.json += 2 + len(value)
        return [_encode(v, size, depth + 1) for v in value]
    raise TypeError(f"a {type(value).__name__} cannot be sent to the server: use JSON-like values, "
                    "bytes, memoryviews or numpy arrays")


def _encode_buffer(view: memoryview) -> Any:
    fmt = view.format.lstrip("@=<")
    dtype = _DTYPES.get(fmt)
    if fmt in ("B", "c") and view.ndim <= 1:  # plain bytes
        return {BINARY_TAG: "bytes", "data": view.tobytes()}
    if dtype is None:  # a format BokehJS has no typed array for (int64, float16...): raw, tagged
        if fmt not in "bhilqBHILQefd?":
            return {BINARY_TAG: "bytes", "data": view.tobytes()}
        return {ARRAY_TAG: tabular.numpy_dtype_str(view), "shape": list(view.shape or ()),
                "data": {BINARY_TAG: "bytes", "data": view.tobytes()}}
    return {BINARY_TAG: "ndarray", "dtype": dtype, "shape": list(view.shape or ()), "data": view.tobytes()}


def _encode_numpy(array: Any, size: _Size) -> Any:
    kind = str(array.dtype)
    if kind not in DTYPE_FORMATS:
        if array.dtype.kind in tabular.ARRAY_KINDS:  # int64, datetime64...: exact, as raw bytes
            return _encode(tabular.encode_array(array), size)
        return _encode(array.tolist(), size)  # objects: as the values they hold
    size.binary += int(array.nbytes)
    if array.dtype.byteorder == ">":
        array = array.astype(kind)
    # A view, not a copy: the worker copies it out of WebAssembly memory once, as it posts it.
    data = memoryview(numpy_contiguous(array)).cast("B")
    return {BINARY_TAG: "ndarray", "dtype": kind, "shape": list(array.shape), "data": data}


def numpy_contiguous(array: Any) -> Any:
    return array if array.flags.c_contiguous else tabular.numpy().ascontiguousarray(array)


def _decode(value: Any) -> Any:
    """The inverse of the page's encoding: binary markers become bytes or arrays, and
    Pyodide's stand-in for JavaScript's null becomes None."""
    if type(value).__name__ == "JsNull":
        return None
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if INT_TAG in value and isinstance(value[INT_TAG], str):
        return int(value[INT_TAG])
    marker = value.get(BINARY_TAG)
    if marker == "bytes":
        return bytes(value["data"])
    if marker == "ndarray":  # the data is already a fresh memoryview: no copy for numpy
        return _array(value["data"], value["dtype"], value["shape"])
    decoded = {k: _decode(v) for k, v in value.items()}
    # DataFrames, strings and arrays of dtypes BokehJS lacks (tabular.py), once their parts are.
    return tabular.decode(decoded) if decoded.keys() & _TABULAR_TAGS else decoded


_TABULAR_TAGS = frozenset({ARRAY_TAG, STRINGS_TAG, CATEGORY_TAG, FRAME_TAG})


def _array(data: Any, dtype: str, shape: list[int]) -> Any:
    numpy = tabular.numpy()
    if numpy is not None:
        return numpy.frombuffer(data, dtype=dtype).reshape(shape)
    view = memoryview(data).cast(DTYPE_FORMATS.get(dtype, "B"))  # type: ignore[call-overload]
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
