"""Browser code of the benchmark's callbacks page (``kind=callbacks``), shipped to the
browser with ``BokehLive(modules=[bench_browser])`` and set up by the model's ``code``.

- ``on_live``: the trivial browser callback of figure 13: the watched slider's new value
  becomes the source's data.
- ``on_burst``: the burst's callback, which keeps the worker busy ``BUSY_S`` seconds (as
  real work would) and then shows the value it saw.
- ``scale``: the function figure 14 calls by reference (``live.run(scale, x)``) and by
  ``run_python("scale(x)", x=x)``.
"""

from __future__ import annotations

import time

import bokeh_live

BUSY_S = 0.020

#: The values the burst's callback saw, in order (read by the driver, cleared before a burst).
burst_calls: list[float] = []


def scale(x: int) -> int:
    return 2 * x + 1


def on_live(attr: str, old: float, new: float) -> None:
    bokeh_live.update("source_live", data={"x": [0], "y": [new]})


def on_burst(attr: str, old: float, new: float) -> None:
    burst_calls.append(new)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < BUSY_S:
        pass
    bokeh_live.update("source_burst", data={"x": [0], "y": [new]})


def setup() -> None:
    bokeh_live.on_change("slider_live", "value", on_live)
    bokeh_live.on_change("slider_burst", "value", on_burst)
