"""A module an app ships to the browser (tests/test_modules.py): plain Python, typed, testable."""
from __future__ import annotations

import math

import bokeh_live


def wave(n: int, freq: float = 1.0, *, amplitude: float = 1.0) -> list[float]:
    """``n`` samples of a sine wave."""
    return [amplitude * math.sin(freq * 2 * math.pi * i / n) for i in range(n)]


async def slow_sum(values: list[float]) -> float:
    import asyncio

    await asyncio.sleep(0)
    return sum(values)


def fails(x: int) -> int:
    y = x - x
    return x // y  # line 23: ZeroDivisionError


def setup() -> None:
    """What a model's code calls: redraw the curve as the slider moves."""
    def redraw(attr: str, old: float, new: float) -> None:
        bokeh_live.update("curve", data={"x": list(range(200)), "y": wave(200, new)})
        bokeh_live.send({"freq": new})

    bokeh_live.on_change("freq", "value", redraw)
