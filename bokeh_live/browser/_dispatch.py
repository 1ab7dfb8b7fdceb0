"""The worker's way in: ``_install`` once, then ``handle`` for each message from the page.

The messages are the ``ToPython`` union of ``messages.py``, already converted to Python
objects by the worker. The page is trusted here (it checked what came from the server);
what matters is that each message ends what it should, once.
"""

from __future__ import annotations

import inspect
import sys
import traceback
from collections.abc import Callable
from typing import Any

from ..shared import MAX_MESSAGE_BYTES
from ..wire import Decoder
from . import ServerError, _modules, _state, watch
from ._complete import complete
from ._runner import run_and_reply
from ._state import Stream, emit, in_model, model_state, start


def _install(post: Callable[[str, Any], None]) -> None:
    """Called once by the worker with its JS ``post(kind, payload)``: route output there."""
    from js import Object
    from pyodide.ffi import to_js

    def post_to_page(kind: str, payload: dict[str, Any]) -> None:
        post(kind, to_js(payload, dict_converter=Object.fromEntries, create_pyproxies=False))

    _state.post = post_to_page
    sys.stdout = Stream("stdout", sys.stdout)
    sys.stderr = Stream("stderr", sys.stderr)
    # A start from a memory snapshot resumes the state it was made in, random generator
    # included: every page would draw the same numbers. Seed it from the OS (the browser's
    # crypto) as a fresh start does.
    if "random" in sys.modules:
        sys.modules["random"].seed()


def handle(kind: str, message: dict[str, Any]) -> None:
    """One message from the page."""
    if kind == "cancel":
        for run_id in message["ids"]:
            for state in list(_state.models.values()):
                state.runs.cancel(run_id, "the run was stopped")
        return
    model = message["model"]
    if kind == "forget":
        _state.forget(model)
        return
    state = model_state(model)
    if kind == "run" or kind == "changes":
        task = start(run_and_reply(state, message) if kind == "run" else watch.dispatch(state, message))
        if task is not None:
            state.runs.add(task, message["id"])
    elif kind == "watched":
        watch.mirror(state, message)
    elif kind == "modules":
        _modules.install(message["files"])
    elif kind == "server_data":
        data = Decoder().decode(message["data"])
        for callback in list(state.handlers):
            in_model(model, _call_handler, callback, data)
    elif kind == "reply":
        decoder = Decoder()
        error = decoder.decode(message.get("error"))
        if error is not None:
            error_type = decoder.decode(message.get("error_type")) or "Exception"
            state.calls.settle(message["id"], error=ServerError(str(error), str(error_type)))
        else:
            state.calls.settle(message["id"], decoder.decode(message.get("result")))
    elif kind == "config":
        state.value = Decoder().decode(message.get("value"))
        state.limit = int(message.get("limit") or MAX_MESSAGE_BYTES)
        state.auto_packages = bool(message.get("auto_packages", True))
    elif kind == "complete":
        prefix, options = complete(model, message["before"])
        emit("completions", {"model": model, "id": message["id"], "prefix": prefix, "options": options})


def _call_handler(callback: Callable[[Any], Any], data: Any) -> None:
    try:
        result = callback(data)
        if inspect.isawaitable(result):
            start(_report_errors(result))
    except Exception:
        traceback.print_exc()


async def _report_errors(awaitable: Any) -> None:
    try:
        await awaitable
    except Exception:
        traceback.print_exc()
