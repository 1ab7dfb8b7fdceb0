"""Requests waiting for the other side: one table, used by every request in Python.

Each request has an id, a future for its answer, and exactly one ending: its result or
error (:meth:`Pending.settle`), its timeout (:meth:`Pending.wait`), its cancellation, or
all of them at once when the other side goes (:meth:`Pending.end_all`). An answer that
arrives after the ending finds no request and is dropped. The server's calls to the page,
the server's runs of the page's calls, and the browser half's calls to the server and its
runs all keep their requests here; ``bokehjs_ext/pending.ts`` is the page's twin.

It imports nothing outside the standard library: it runs in Pyodide too.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ("PausableClock", "Pending")


@dataclass
class _Request:
    future: asyncio.Future[Any]
    sent: bool = False


class PausableClock:
    """Counts the seconds something has been paused (the page saying "loading" while Python
    starts), so that a wait can leave them out of its timeout."""

    def __init__(self) -> None:
        self._total = 0.0
        self._since: float | None = None

    def pause(self, paused: bool) -> None:
        now = time.perf_counter()
        if self._since is not None:
            self._total += now - self._since
        self._since = now if paused else None

    def paused_seconds(self) -> float:
        since = self._since
        return self._total + (time.perf_counter() - since if since is not None else 0.0)


class Pending:
    """Requests of one owner (a model, a session) that wait for an answer.

    ``limit``: at most this many at once; :meth:`open` raises ``RuntimeError`` beyond it.
    ``prefix``: ids are ``prefix`` + random hex + a counter, unique across workers and pages.
    """

    def __init__(self, limit: int | None = None, prefix: str = "") -> None:
        self.limit = limit
        self._prefix = prefix
        self._numbers = itertools.count()
        self._requests: dict[str, _Request] = {}

    def new_id(self) -> str:
        return f"{self._prefix}{os.urandom(8).hex()}-{next(self._numbers)}"

    def open(self, request_id: str | None = None) -> tuple[str, asyncio.Future[Any]]:
        """A new request and the future its answer settles."""
        future: asyncio.Future[Any] = _loop().create_future()
        return self.add(future, request_id), future

    def add(self, future: asyncio.Future[Any], request_id: str | None = None) -> str:
        """Keep ``future`` (a task, say) as a request; returns its id."""
        if self.limit is not None and len(self._requests) >= self.limit:
            raise RuntimeError(f"{len(self._requests)} requests already wait (at most {self.limit} at once)")
        request_id = request_id if request_id is not None else self.new_id()
        if request_id in self._requests:
            raise RuntimeError(f"a request {request_id[:64]!r} already waits")
        self._requests[request_id] = _Request(future)
        # A future ended by anyone (a task that finished, a cancelled wait) leaves the table.
        future.add_done_callback(lambda _: self._drop(request_id, future))
        return request_id

    def _drop(self, request_id: str, future: asyncio.Future[Any]) -> None:
        request = self._requests.get(request_id)
        if request is not None and request.future is future:
            del self._requests[request_id]

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._requests

    def __len__(self) -> int:
        return len(self._requests)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._requests))

    def mark_sent(self, request_id: str) -> None:
        """The request has left for the other side (which must then be told of a cancel)."""
        request = self._requests.get(request_id)
        if request is not None:
            request.sent = True

    def settle(self, request_id: str, result: Any = None, error: BaseException | None = None) -> bool:
        """End a request with its answer; False when it is unknown or already ended (a late or
        forged answer)."""
        request = self._requests.pop(request_id, None)
        if request is None or request.future.done():
            return False
        if error is not None:
            request.future.set_exception(error)
        else:
            request.future.set_result(result)
        return True

    def forget(self, request_id: str) -> bool:
        """The waiter gave up (a timeout, a cancellation): returns whether the other side has
        the request, and so must be told to stop."""
        request = self._requests.pop(request_id, None)
        return request is not None and request.sent

    def cancel(self, request_id: str, reason: str) -> bool:
        """Cancel one request (a running task is cancelled with ``reason``)."""
        request = self._requests.pop(request_id, None)
        if request is None or request.future.done():
            return False
        request.future.cancel(reason)
        return True

    def end_all(self, error: Callable[[], BaseException]) -> None:
        """The other side is gone: every request ends now, a waiting one with ``error()``, a
        running task by cancellation."""
        requests, self._requests = self._requests, {}
        for request in requests.values():
            future = request.future
            if future.done():
                continue
            if isinstance(future, asyncio.Task):
                future.cancel()
            else:
                future.set_exception(error())

    async def wait(self, request_id: str, timeout: float, *, paused: Callable[[], float] | None = None,
                   max_pause: float = 0.0, abandoned: Callable[[str], None] | None = None) -> Any:
        """The answer to ``request_id``, or ``TimeoutError`` after ``timeout`` seconds. The
        request ends here either way; when it ends unanswered (timeout, cancellation) after
        it was sent, ``abandoned(request_id)`` tells the other side to stop. ``paused()``
        (seconds, growing) stops the clock, for at most ``max_pause`` seconds: every wait
        still ends."""
        request = self._requests.get(request_id)
        if request is None:
            raise KeyError(request_id)
        future = request.future
        start = time.perf_counter()
        paused_before = paused() if paused is not None else 0.0
        try:
            while True:
                pause = min(paused() - paused_before, max_pause) if paused is not None else 0.0
                remaining = start + timeout + pause - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"no answer within {timeout} s")
                done, _ = await asyncio.wait({future}, timeout=remaining)
                if done:
                    return future.result()
        finally:
            if self.forget(request_id) and abandoned is not None:
                abandoned(request_id)


def _loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # Pyodide's worker calls in from JavaScript, outside any running loop
        return asyncio.get_event_loop()
