"""Calls the other way: browser code calls functions the server exposes on its model.

``live.expose(fn)`` on the server; ``await bokeh_live.call("fn", *args, **kwargs)`` in the
browser. Each call has an id and ends exactly once on each side: with the function's result,
with its exception's message and class name (never its traceback), or with a timeout (the
browser's, and the server's own per function). Only exposed names can be called, at most
``MAX_CALLS_IN_FLIGHT`` at a time per model, and arguments arrive as untrusted values that
the protocol has already checked for shape and size: the function must judge their meaning.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import metrics
from .pending import Pending
from .protocol import Call, CallError, CallResult, ServerMessage
from .shared import MAX_CALLS_IN_FLIGHT, MAX_NAME_LENGTH

__all__ = ("ExposedFunctions",)

#: An exception's message sent to the browser keeps at most this many characters.
MAX_ERROR_CHARS = 1000


@dataclass
class _Function:
    fn: Callable[..., Any]
    timeout: float


@dataclass
class ExposedFunctions:
    """The functions one ``BokehLive`` exposes to its browser code, and the calls of them
    that run on the server (coroutines, as tasks)."""

    reply: Callable[[ServerMessage], None]
    on_exception: Callable[[Exception, str], None]  # the error, and what raised it
    functions: dict[str, _Function] = field(default_factory=dict)
    running: Pending = field(default_factory=lambda: Pending(limit=MAX_CALLS_IN_FLIGHT))

    def expose(self, name: str, fn: Callable[..., Any], timeout: float) -> None:
        if not callable(fn):
            raise TypeError(f"expose() takes a function, not {type(fn).__name__}")
        if not isinstance(name, str) or not name.isidentifier() or len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"an exposed name must be an identifier of at most {MAX_NAME_LENGTH} characters, "
                             f"not {name!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, not {timeout!r}")
        if getattr(fn, "nolock", False) and callable(getattr(fn, "__wrapped__", None)):
            # Bokeh's without_document_lock drops the function's value: call what it wraps
            # (a coroutine function runs without the lock here anyway).
            fn = fn.__wrapped__  # type: ignore[attr-defined]
        self.functions[name] = _Function(fn, float(timeout))

    def handle(self, message: Call) -> None:
        """Run one call from the browser: a plain function now (holding the document lock, as
        Bokeh callbacks do), a coroutine function as a task (without it)."""
        call_id, name = message["call_id"], message["name"]
        began = time.perf_counter()
        function = self.functions.get(name)
        if function is None:
            names = ", ".join(sorted(self.functions)) or "none"
            self._fail(call_id, "NameError", f"the server exposes no function {name!r} (exposed: {names})")
            metrics.call_ended("call", "error", time.perf_counter() - began)
            return
        if call_id in self.running or len(self.running) >= MAX_CALLS_IN_FLIGHT:
            self._fail(call_id, "RuntimeError", f"{len(self.running)} calls of this model already run on the "
                                                f"server (at most {MAX_CALLS_IN_FLIGHT} at once)")
            metrics.call_ended("call", "error", time.perf_counter() - began)
            return
        try:
            result = function.fn(*message["args"], **message["kwargs"])
        except Exception as e:
            self._raised(call_id, name, e)
            metrics.call_ended("call", "error", time.perf_counter() - began)
            return
        if not inspect.isawaitable(result):
            metrics.call_ended("call", self._return(call_id, name, result), time.perf_counter() - began)
            return
        self.running.add(asyncio.ensure_future(self._await(call_id, name, result, function.timeout, began)), call_id)

    async def _await(self, call_id: str, name: str, awaitable: Any, timeout: float, began: float) -> None:
        outcome: metrics.Outcome = "error"
        try:
            result = await asyncio.wait_for(awaitable, timeout)
        except asyncio.TimeoutError:
            self._fail(call_id, "TimeoutError", f"{name} took longer than its {timeout} s on the server")
            outcome = "timeout"
        except asyncio.CancelledError:  # (cancel_all: the session or its browser is gone)
            outcome = "disconnected"
            raise
        except Exception as e:
            self._raised(call_id, name, e)
        else:
            outcome = self._return(call_id, name, result)
        finally:
            metrics.call_ended("call", outcome, time.perf_counter() - began)

    def cancel_all(self) -> None:
        """The session ended: nothing will take the replies."""
        self.running.end_all(lambda: RuntimeError("the session ended"))

    def _return(self, call_id: str, name: str, result: Any) -> metrics.Outcome:
        """Send the result; how the call ended."""
        try:
            self.reply(CallResult(type="call_result", call_id=call_id, result=result))
        except (TypeError, ValueError) as e:  # too large, or not a value that can travel
            self._fail(call_id, type(e).__name__, f"the result of {name} cannot be sent: {e}")
            return "error"
        except Exception:  # the session is gone: nobody waits for the answer
            return "disconnected"
        return "ok"

    def _raised(self, call_id: str, name: str, error: Exception) -> None:
        self.on_exception(error, f"the exposed function {name}")  # the log gets its traceback
        self._fail(call_id, type(error).__name__, str(error))

    def _fail(self, call_id: str, error_type: str, error: str) -> None:
        if len(error) > MAX_ERROR_CHARS:
            error = error[:MAX_ERROR_CHARS] + "..."
        with contextlib.suppress(Exception):  # the session is gone: nobody waits for the answer
            self.reply(CallError(type="call_error", call_id=call_id, error=error, error_type=error_type))
