"""The server channel's outbox without a browser: large values stream a chunk per tick, calls
pass them, everything else keeps its order (the browser tests in test_faults.py show the
same on a real slow link)."""
from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from bokeh_live.channel import Channel
from bokeh_live.shared import CHUNK_BYTES, EVENT_BYTES
from bokeh_live.wire import BLOB_TAG


class Outbox:
    """A channel whose events are recorded and whose ticks run when the test says."""

    def __init__(self) -> None:
        self.events: list[tuple[list[dict[str, Any]], list[dict[str, Any]]]] = []
        self.ticks: list[Any] = []
        self.channel = Channel(send=lambda messages, chunks: self.events.append((list(messages), list(chunks))),
                               schedule=self.ticks.append, limit=lambda: 256 * 2**20, deliver=lambda message: None)
        self.channel.view_ready = True

    def tick(self) -> list[tuple[list[str], int]]:
        """Run one tick; what it sent: each event's message types and number of chunks."""
        self.events.clear()
        self.ticks.pop(0)()
        return [([m["type"] for m in messages], len(chunks)) for messages, chunks in self.events]

    def run(self) -> list[tuple[list[str], int]]:
        sent = []
        while self.ticks:
            sent += self.tick()
        return sent

    def request(self, loop: asyncio.AbstractEventLoop, **kwargs: Any) -> str:
        request_id, _ = loop.run_until_complete(self._open())
        self.channel.post({"type": "run_python", "code": "x", "kwargs": kwargs, "request_id": request_id},
                          request_id)
        return request_id

    async def _open(self) -> Any:
        return self.channel.pending.open()


def big(mb: int) -> np.ndarray:
    return np.zeros(mb * 2**20, dtype=np.uint8)


def test_a_large_value_streams_a_chunk_per_tick_and_a_later_call_passes_it():
    loop = asyncio.new_event_loop()
    box = Outbox()
    box.request(loop, a=big(12))
    assert box.tick() == [([], 1)]  # 4 MB now, the rest on later ticks
    box.request(loop)  # a small call made meanwhile
    assert box.tick() == [(["run_python"], 0), ([], 1)]  # it goes before the next chunk
    assert box.tick() == [(["run_python"], 1)]  # the last chunk, then the large call's message
    assert not box.ticks and box.channel._outbox_bytes == 0
    loop.close()


def test_data_sent_keeps_its_order_behind_a_large_value():
    box = Outbox()
    box.channel.post({"type": "server_data", "data": big(8)})
    box.channel.post({"type": "server_data", "data": 1})
    assert box.run() == [([], 1), (["server_data", "server_data"], 1)]


def test_a_cancel_never_passes_its_call():
    loop = asyncio.new_event_loop()
    box = Outbox()
    request_id = box.request(loop, a=big(8))
    assert box.tick() == [([], 1)]
    box.channel.pending.settle(request_id, error=TimeoutError())  # it timed out part-way
    box.channel.pending.forget(request_id)
    box.channel.post({"type": "cancel", "request_id": request_id})
    assert box.run() == [(["run_python", "cancel"], 1)]  # the page gets the call whole, then its cancel
    loop.close()


def test_a_call_that_ended_before_it_left_is_never_sent():
    loop = asyncio.new_event_loop()
    box = Outbox()
    request_id = box.request(loop, a=big(8))
    box.channel.pending.forget(request_id)
    assert box.run() == [] and box.channel._outbox_bytes == 0
    loop.close()


def test_a_value_part_way_is_dropped_with_the_connection():
    loop = asyncio.new_event_loop()
    box = Outbox()
    box.request(loop, a=big(8))
    box.tick()
    box.channel.disconnected("the connection was lost")
    assert not box.channel._outbox and box.channel._outbox_bytes == 0
    box.channel.view_ready = True  # a new view: what is posted now arrives whole
    box.channel.post({"type": "server_data", "data": 1})
    assert box.run() == [(["server_data"], 0)]
    loop.close()


def test_events_stay_within_their_size():
    box = Outbox()
    for _ in range(3):
        box.channel.post({"type": "server_data", "data": big(1)})
    box.channel.post({"type": "server_data", "data": big(9)})
    while box.ticks:
        box.tick()
        for _messages, chunks in box.events:
            assert sum(int(c["data"].nbytes) for c in chunks) <= max(EVENT_BYTES, CHUNK_BYTES)
    assert box.channel._outbox_bytes == 0


def test_a_page_kept_in_the_back_forward_cache_goes_on_where_it_left_off():
    """Its connection stays open: a value half-way either way completes once it is shown."""
    got: list[Any] = []
    box = Outbox()
    box.channel.deliver = got.append
    box.channel.post({"type": "server_data", "data": big(8)})
    box.tick()  # the first 4 MB of live.send(...) reached the page
    size = CHUNK_BYTES + 3
    first = {"blob": "b1", "offset": 0, "size": size, "data": bytes(CHUNK_BYTES)}
    rest = {"blob": "b1", "offset": CHUNK_BYTES, "size": size, "data": b"end"}
    box.channel.receive([], [first])  # the page's own large output, half-way
    box.channel.receive([{"type": "view", "state": "hidden"}], [])
    box.events.clear()
    box.channel.receive([{"type": "view", "state": "shown"}], [])
    # shown: the last chunk of live.send(...) and its message go at once
    assert [([m["type"] for m in ms], len(cs)) for ms, cs in box.events] == [(["server_data"], 1)]
    placeholder = {BLOB_TAG: "b1", "size": size, "kind": "bytes"}
    box.channel.receive([{"type": "output", "data": placeholder}], [rest])
    assert [m["data"][-3:] for m in got] == [b"end"]
