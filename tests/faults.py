"""A TCP proxy that injects faults between a browser and a Bokeh server, for tests.

It runs an asyncio server on a thread of its own and forwards each connection to the
upstream port, one task per direction. From the test thread it can, at any moment:

- ``cut()`` every open connection (both sockets reset, as a dropped link does), or arm a
  cut after exactly N more bytes in one direction (``cut_after(n, "down")``: mid-message;
  the receiver gets those bytes, then the end);
- ``blackhole()`` them: the sockets stay open but nothing more is forwarded either way
  (a half-open link, a proxy that stopped answering), until ``restore()``;
- ``drop_browser_side()``: reset the browser's side of every connection and leave the
  server's open and silent (a NAT or proxy that forgot the connection): the browser
  reconnects while the server still holds the old one, until ``restore()`` ends it;
- ``throttle(bytes_per_second, latency)``: a slow link, each chunk delayed by ``latency``
  and paced to the rate.

Nothing here stands in for the browser, the websocket or the server: the bytes are theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass, field

from harness import free_port

#: Bytes read at a time from a socket: small enough that a cut after N bytes lands mid-frame.
READ_BYTES = 64 * 1024


@dataclass
class _Link:
    """One proxied connection."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self, graceful: bool = False) -> None:
        """A reset (what a dropped link looks like: the receiver may lose bytes it had not read
        yet), or ``graceful``: every byte forwarded is delivered, then the end."""
        for writer in (self.client, self.server):
            with contextlib.suppress(Exception):
                if graceful:
                    writer.close()
                else:
                    writer.transport.abort()
        for task in self.tasks:
            task.cancel()


class FaultProxy:
    """Listens on ``port`` (a free one if None) and forwards to ``upstream`` on 127.0.0.1."""

    def __init__(self, upstream: int, port: int | None = None) -> None:
        self.upstream = upstream
        self.port = port or free_port()
        self.links: list[_Link] = []
        self.connections = 0  # connections accepted so far
        self.bytes = {"up": 0, "down": 0}  # forwarded so far: up is browser to server
        self._cut_after: dict[str, int | None] = {"up": None, "down": None}
        self._blackholed = False
        self._stranded: list[asyncio.StreamWriter] = []  # server sides left open by drop_browser_side
        self._rate: float | None = None  # bytes per second
        self._latency = 0.0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fault proxy did not start")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    # --- the faults, from the test's thread -------------------------------------------------

    def cut(self) -> int:
        """Drop every open connection now; returns how many there were."""
        return self._call(self._cut_all)

    def cut_after(self, n: int, direction: str = "down") -> None:
        """Drop every connection once ``n`` more bytes have gone ``direction`` ("down":
        server to browser)."""
        self._call(lambda: self._cut_after.__setitem__(direction, self.bytes[direction] + n))

    def drop_browser_side(self) -> int:
        """Reset the browser's side of every open connection; the server's side stays open,
        forwarding nothing, until ``restore()``. Returns how many there were."""
        def drop() -> int:
            links, self.links = self.links, []
            for link in links:
                link.client.transport.abort()
                for task in link.tasks:
                    task.cancel()
                self._stranded.append(link.server)
            return len(links)
        return self._call(drop)

    def blackhole(self) -> None:
        """Stop forwarding, keeping the sockets open (a half-open link)."""
        self._call(lambda: setattr(self, "_blackholed", True))

    def restore(self) -> None:
        """Forward again, at full speed; a black-holed link's held bytes are lost with it:
        ``restore`` cuts the connections that were black-holed, as a real stall ends."""
        def restore() -> None:
            if self._blackholed:
                self._cut_all()
            self._end_stranded()
            self._blackholed = False
            self._rate, self._latency = None, 0.0
        self._call(restore)

    def throttle(self, bytes_per_second: float | None, latency: float = 0.0) -> None:
        def throttle() -> None:
            self._rate, self._latency = bytes_per_second, latency
        self._call(throttle)

    def stop(self) -> None:
        self._call(self._cut_all)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    # --- the proxy, on its own loop ---------------------------------------------------------

    def _call(self, fn):  # type: ignore[no-untyped-def]
        async def run():  # type: ignore[no-untyped-def]
            return fn()
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(10)

    def _end_stranded(self) -> None:
        stranded, self._stranded = self._stranded, []
        for writer in stranded:
            with contextlib.suppress(Exception):
                writer.transport.abort()

    def _cut_all(self, graceful: bool = False) -> int:
        self._end_stranded()
        links, self.links = self.links, []
        for link in links:
            link.close(graceful)
        self._cut_after = {"up": None, "down": None}
        return len(links)

    def _main(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

        async def start() -> None:
            await asyncio.start_server(self._accept, "127.0.0.1", self.port)
            self._ready.set()

        self.loop.run_until_complete(start())
        self.loop.run_forever()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            writer.transport.abort()
            return
        for w in (writer, up_writer):  # no Nagle in the proxy either: it would add its own delays
            sock = w.get_extra_info("socket")
            if sock is not None:
                import socket
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections += 1
        link = _Link(writer, up_writer)
        self.links.append(link)
        link.tasks = [asyncio.ensure_future(self._pipe(reader, up_writer, "up", link)),
                      asyncio.ensure_future(self._pipe(up_reader, writer, "down", link))]

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, direction: str,
                    link: _Link) -> None:
        """Forward one direction: bytes are read as they come and delivered ``latency`` later
        (pipelined, as on a real link), paced to the rate."""
        queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        deliver = asyncio.ensure_future(self._deliver(queue, writer, direction, link))
        link.tasks.append(deliver)
        try:
            while True:
                data = await reader.read(READ_BYTES)
                if not data:
                    break
                await queue.put((time.monotonic() + self._latency, data))
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            await queue.put(None)

    async def _deliver(self, queue: asyncio.Queue[tuple[float, bytes] | None], writer: asyncio.StreamWriter,
                       direction: str, link: _Link) -> None:
        try:
            while True:
                item = await queue.get()
                if item is None:
                    break
                due, data = item
                while self._blackholed:
                    await asyncio.sleep(0.01)
                if link not in self.links:
                    return
                if due > time.monotonic():
                    await asyncio.sleep(due - time.monotonic())
                limit = self._cut_after[direction]
                if limit is not None and self.bytes[direction] + len(data) >= limit:
                    keep = max(0, limit - self.bytes[direction])
                    if keep:
                        writer.write(data[:keep])
                        self.bytes[direction] += keep
                        with contextlib.suppress(Exception):
                            await writer.drain()
                    # Graceful: the receiver gets exactly the bytes up to the cut, mid-message.
                    self._cut_all(graceful=True)
                    return
                started = time.monotonic()
                writer.write(data)
                await writer.drain()
                self.bytes[direction] += len(data)
                if self._rate:
                    await asyncio.sleep(max(0.0, len(data) / self._rate - (time.monotonic() - started)))
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            if link in self.links:  # one side ended: end the other, as a proxy does
                self.links.remove(link)
                link.close()
