"""The capacity benchmark's app: one headless BokehLive per session. Once the page (the load
generator, benchmarks/capacity.py) says its Python is ready, the session calls
``run_python("1")`` once per period (``capacity_sink.period``, which the driver changes while
the pages stay open; 0: no calls, an idle session) on a fixed schedule from a random phase,
and records each round trip as the server sees it."""

import os
import random
import sys
import time

from bokeh.document import without_document_lock
from bokeh.io import curdoc

from bokeh_live import BokehLive, LiveError

sys.path.insert(0, os.path.dirname(__file__))
import capacity_sink  # (beside this file: one per process, it outlives the sessions)

capacity_sink.start()

doc = curdoc()
live = BokehLive(name="live", mode="headless")
doc.add_root(live)
state = {"running": False, "ended": False}


@without_document_lock
async def calls() -> None:
    session = doc.session_context.session
    generation, due = -1, 0.0
    while not state["ended"] and session.connection_count > 0:  # (until the page goes)
        if generation != capacity_sink.generation:  # a new period: a new random phase
            generation = capacity_sink.generation
            if capacity_sink.period <= 0:
                await capacity_sink.nap(3600)
                continue
            due = time.perf_counter() + random.random() * capacity_sink.period
        await capacity_sink.nap(max(0.0, due - time.perf_counter()))
        if generation != capacity_sink.generation:
            continue
        start = time.perf_counter()
        try:
            await live.run_python("1", timeout=10)
            capacity_sink.record(time.time(), time.perf_counter() - start)
        except TimeoutError:
            if session.connection_count == 0:
                return  # the page went while the call waited (it cannot be told apart sooner)
            capacity_sink.record(time.time(), -1.0)
        except LiveError:
            return  # the page went
        due += capacity_sink.period


def on_status(attr: str, old: str, new: str) -> None:
    if new == "ready" and not state["running"]:
        state["running"] = True
        doc.add_next_tick_callback(calls)


def ended(session_context: object) -> None:
    state["ended"] = True


live.on_change("status", on_status)
doc.on_session_destroyed(ended)
