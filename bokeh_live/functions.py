"""Calling a function of a shipped module by reference: ``await live.run(fn, *args, **kwargs)``.

The function is found in the browser by its module and qualified name, so the call is typed
like a local one (mypy checks ``fn``'s arguments and infers the result), and it travels as a
``run_python`` call does: same timeout, binary values, DataFrames, errors as ``LiveError``
with the module's file and line, and recovery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from .browser._runner import CALL_MARK

if TYPE_CHECKING:
    from .live import BokehLive

__all__ = ("BrowserFunctions",)

P = ParamSpec("P")
R = TypeVar("R")

#: What runs in the browser: one expression that binds no name in the model's namespace.
CALL = (f"await __import__('bokeh_live.browser._modules', fromlist=['_']).call_function("
        f"{CALL_MARK}[0], {CALL_MARK}[1], {CALL_MARK}[2], {CALL_MARK}[3])")


def reference(fn: Any, shipped: list[str]) -> tuple[str, str]:
    """``fn``'s module and qualified name, if the browser can find it there; else
    ``ValueError`` (or ``TypeError``) with the reason."""
    if not callable(fn):
        raise TypeError(f"run() takes a function of a shipped module, not {type(fn).__name__}")
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str):
        raise ValueError(f"run() cannot find {fn!r} by name in the browser: pass a function defined in a module")
    if "<locals>" in qualname or "<lambda>" in qualname:
        raise ValueError(f"run({module}.{qualname}): a nested function or lambda cannot be found by name in the "
                         "browser; define it at the top level of a shipped module")
    if module.split(".")[0] not in shipped:
        listed = ", ".join(shipped) or "nothing"
        raise ValueError(f"run({module}.{qualname}): {module} is not shipped to the browser (this BokehLive's "
                         f"modules list {listed}); add it with BokehLive(modules=[...])")
    return module, qualname


class BrowserFunctions:
    """Calls by reference of one model, with one timeout (``live.with_timeout(seconds)``)."""

    def __init__(self, live: BokehLive, timeout: float) -> None:
        self.live = live
        self.timeout = timeout

    @overload
    async def run(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R: ...

    @overload
    async def run(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R: ...

    async def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in the browser and return its value (an ``async``
        function is awaited there). See :meth:`BokehLive.run`."""
        module, qualname = reference(fn, cast(list[str], self.live.modules))
        return await self.live.run_python(CALL, timeout=self.timeout, **{CALL_MARK: [module, qualname, list(args),
                                                                                      kwargs]})

    def run_then(self, fn: Callable[..., Any], callback: Callable[[Any], None], /, *args: Any,
                 on_error: Callable[[BaseException], None] | None = None, **kwargs: Any) -> asyncio.Future[Any]:
        """:meth:`run` from a synchronous callback: ``callback(result)`` (or ``on_error``)
        runs later, holding the document lock. See :meth:`BokehLive.run_python_then`."""
        module, qualname = reference(fn, cast(list[str], self.live.modules))
        return self.live.run_python_then(CALL, callback, on_error=on_error, timeout=self.timeout,
                                         **{CALL_MARK: [module, qualname, list(args), kwargs]})
