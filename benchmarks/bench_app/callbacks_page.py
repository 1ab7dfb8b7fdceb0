"""The widgets of the benchmark's callbacks page (``kind=callbacks``, figure 13).

Three ways from a slider's change to a source's data, side by side in one document (so
that the server's websocket for it has TCP_NODELAY on, as bokeh_live sets it for every
document holding a BokehLive):

- ``slider_js`` -> ``source_js`` by a ``CustomJS`` on the slider: the floor, no Python;
- ``slider_live`` -> ``source_live`` by a browser callback (``bench_browser.on_live``);
- ``slider_srv`` -> ``source_srv`` by a stock Bokeh server callback (``on_change``).

``slider_burst`` -> ``source_burst`` is the burst's (``bench_browser.on_burst``, 20 ms).
Each source's ``data`` has a ``CustomJS`` that calls ``window.__bench_stamp(name, y)``
when the driver installed one, at the moment the page's model changes.
"""

from __future__ import annotations

from typing import Any

from bokeh.models import ColumnDataSource, CustomJS, Slider
from bokeh.plotting import figure

#: The model's code: the callbacks come from the shipped module.
CALLBACKS_CODE = "import bench_browser\nfrom bench_browser import scale\nbench_browser.setup()"

PATHS = ("js", "live", "srv", "burst")

STAMP = """
const data = cb_obj.data
const y = data instanceof Map ? data.get("y") : data.y
if (window.__bench_stamp != null) {
  window.__bench_stamp(name, y[0])
}
"""


def callbacks_widgets() -> list[Any]:
    sliders = {p: Slider(name=f"slider_{p}", start=0, end=10**9, value=0, step=1, title=p, width=200) for p in PATHS}
    sources = {p: ColumnDataSource(name=f"source_{p}", data={"x": [0], "y": [0]}) for p in PATHS}
    plot = figure(name="plot", width=300, height=150, toolbar_location=None)
    for p in PATHS:
        sources[p].js_on_change("data", CustomJS(args=dict(name=f"source_{p}"), code=STAMP))
        plot.scatter("x", "y", source=sources[p])
    sliders["js"].js_on_change("value", CustomJS(args=dict(source=sources["js"]),
                                                 code="source.data = {x: [0], y: [cb_obj.value]}"))

    def on_srv(attr: str, old: float, new: float) -> None:
        sources["srv"].data = {"x": [0], "y": [new]}

    sliders["srv"].on_change("value", on_srv)
    return [*sliders.values(), plot]
