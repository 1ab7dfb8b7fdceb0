"""Running code for a model: its own ``code`` and the server's ``run_python`` calls."""

from __future__ import annotations

import ast
import collections
import importlib.util
import inspect
import itertools
import linecache
import os
import sys
import traceback
from types import CodeType
from typing import Any

from ..shared import CODE_FILENAME, MODULES_ROOT, keep_tail
from ..wire import Decoder
from . import _modules, _state
from ._display import show
from ._state import ModelState, emit, encode_for_server

#: Top-level import names already looked up in Pyodide's lockfile.
_imports_tried: set[str] = set()

#: Code texts already looked through (the newest kept): calls repeat the same code often.
_scanned: dict[str, None] = {}

#: Why loading the packages of these import names failed last time (a download cut
#: short, a host gone): the import error then says so, and the next import tries again.
_load_failures: dict[str, str] = {}


async def load_imports(code: str) -> None:
    """Load the packages of Pyodide's lockfile that ``code`` imports and that are not loaded,
    as ``import numpy`` needs. Each name is looked up once; a package that fails to load is
    said on stderr, and the import then fails as it would."""
    if "import" not in code or code in _scanned:
        return
    if len(code) <= COMPILED_MAX_CHARS:
        _scanned[code] = None
        if len(_scanned) > COMPILED_ENTRIES:
            del _scanned[next(iter(_scanned))]
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
    for name in names:
        if errors and importlib.util.find_spec(name) is None:  # (one that did load is not tried again)
            _load_failures[name] = "; ".join(errors)
            _imports_tried.discard(name)
            _scanned.pop(code, None)
        else:
            _load_failures.pop(name, None)


def explain_import_error(error: BaseException) -> None:
    """An import that failed because its package did not load says why."""
    name = getattr(error, "name", None)
    failure = _load_failures.get(name.partition(".")[0]) if isinstance(error, ImportError) and name else None
    if failure is not None:
        error.add_note(f"Loading the package of {name!r} failed (it is tried again on the next import): {failure}")


async def run(model: str, code: str, kwargs: dict[str, Any] | None = None, *, fresh: bool = False) -> Any:
    """Run ``code`` in ``model``'s namespace; return the value of its last expression.

    ``fresh`` starts a new namespace (and forgets ``on_server_data`` callbacks): that is
    how the model's own ``code`` runs. ``kwargs`` are globals for this call only: the
    code runs in a copy of the namespace holding them, and the names it binds (other
    than the kwargs themselves) are copied back, so concurrent calls never see each
    other's arguments.
    """
    state = _state.model_state(model)
    namespace = state.fresh_namespace() if fresh else state.namespace
    scope = {**namespace, **kwargs} if kwargs else namespace
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

#: Each code text is compiled under a name of its own (``<code-7>``), whose lines linecache
#: keeps, so that a traceback shows the right line of the right code even when the function
#: that raised was defined by a run long over (a callback) and other runs came since; tracebacks
#: call them all ``<code>``. Names of texts too long to keep compiled: the newest few.
_names = itertools.count(1)
_long_names: collections.deque[str] = collections.deque()
LONG_NAMES_KEPT = 16


def _is_code(filename: str) -> bool:
    return filename == CODE_FILENAME or (filename.startswith(CODE_FILENAME[:-1] + "-") and filename.endswith(">"))


def _compile(code: str) -> tuple[CodeType, CodeType | None]:
    """``code`` compiled, in two parts: all but a last expression statement, and that
    expression (whose value is the run's result), both allowing top-level ``await``."""
    compiled = _compiled.pop(code, None)
    if compiled is None:
        tree = ast.parse(code, CODE_FILENAME)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        assert last is None or isinstance(last, ast.Expr)
        name = f"{CODE_FILENAME[:-1]}-{next(_names)}>"
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
        body = compile(tree, name, "exec", flags=flags)
        expression = compile(ast.Expression(last.value), name, "eval", flags=flags) if last else None
        compiled = (body, expression)
        if len(code) > COMPILED_MAX_CHARS:
            _long_names.append(name)
            if len(_long_names) > LONG_NAMES_KEPT:
                linecache.cache.pop(_long_names.popleft(), None)
    if len(code) <= COMPILED_MAX_CHARS:
        _compiled[code] = compiled
        if len(_compiled) > COMPILED_ENTRIES:
            linecache.cache.pop(_compiled.pop(next(iter(_compiled)))[0].co_filename, None)
    return compiled


async def _evaluate(code: Any, scope: dict[str, Any]) -> Any:
    result = eval(code, scope)
    if code.co_flags & inspect.CO_COROUTINE:
        result = await result
    return result


#: The bokeh_live package here: its frames are never the user's.
_OWN = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: A global of the one-line code that ``live.run(fn)`` sends: its frame is not the user's either.
CALL_MARK = "__bokeh_live_function__"


def format_exception(error: BaseException) -> str:
    """The traceback of the user's code only (``code``, calls and shipped modules), without
    bokeh_live's own frames; shipped files are named by their path below the import root
    (``pkg/sub.py``)."""
    if isinstance(error, SyntaxError) and error.filename == CODE_FILENAME:
        return "".join(traceback.format_exception_only(type(error), error))
    found = traceback.TracebackException(type(error), error, error.__traceback__)
    for each in _chain(found):
        stack = list(each.stack)
        # What called the user's code first (the worker, the event loop) is not theirs.
        first = next((i for i, f in enumerate(stack) if _is_code(f.filename) or
                      f.filename.startswith(MODULES_ROOT + "/")), len(stack))
        each.stack = traceback.StackSummary.from_list([_named(f) for f in stack[first:] if _users(f)])
    return "".join(found.format())


def _chain(found: traceback.TracebackException) -> list[traceback.TracebackException]:
    out, todo, seen = [], [found], set()
    while todo:
        each = todo.pop()
        if id(each) in seen:
            continue
        seen.add(id(each))
        out.append(each)
        todo.extend(e for e in (each.__cause__, each.__context__) if e is not None)
    return out


def _users(frame: traceback.FrameSummary) -> bool:
    filename = frame.filename
    if filename.startswith(_OWN) or filename.startswith("<frozen ") or "/lib/python3" in filename:
        return False  # ours, the import system's, the standard library's
    return not (_is_code(filename) and frame.line is not None and CALL_MARK in frame.line)


def _named(frame: traceback.FrameSummary) -> traceback.FrameSummary:
    """The frame as the user knows its file: ``<code>``, or a shipped file's path."""
    root = MODULES_ROOT + "/"
    if _is_code(frame.filename):
        name = CODE_FILENAME
    elif frame.filename.startswith(root):
        name = frame.filename[len(root):]
    else:
        return frame
    line = frame.line  # read now, under the name linecache knows
    return traceback.FrameSummary(name, frame.lineno, frame.name, line=line)


async def run_and_reply(state: ModelState, message: dict[str, Any]) -> None:
    """One ``run`` message: the model's ``code`` (``fresh``) or a call; ends with ``done``
    or ``failed``, whatever happens."""
    model, run_id = state.id, message["id"]
    _state.current_model.set(model)
    _state.current_run.set(run_id)
    fresh = bool(message.get("fresh"))
    try:
        kwargs = Decoder().decode(message.get("kwargs") or {})
        if state.auto_packages:
            while _modules.unscanned:  # what shipped modules import loads first too
                await load_imports(_modules.unscanned.pop())
            await load_imports(message["code"])
        result = await run(model, message["code"], kwargs, fresh=fresh)
        # The model's own code shows its last expression; only a call sends it as data.
        payload = None if fresh else encode_for_server(result, state, "the result")
    except BaseException as e:  # KeyboardInterrupt and CancelledError too: they end this run
        explain_import_error(e)
        state.progress_done(run_id)
        emit("failed", {"model": model, "id": run_id, "error_type": type(e).__name__,
                        "error": keep_tail(format_exception(e))})
        return
    state.progress_done(run_id)
    if fresh and result is not None:
        show(result)
    emit("done", {"model": model, "id": run_id, "result": payload})
