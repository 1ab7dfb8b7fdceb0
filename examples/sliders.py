"""Bokeh's classic sliders demo in a static page, with its callback in Python in the browser.

    python examples/sliders.py                   # writes sliders.html (BokehJS inline, Pyodide from the CDN)
    python examples/sliders.py --offline DIR     # writes DIR/ with Pyodide inside, no network needed
                                                 # (then: python -m http.server --directory DIR)

Move a slider: a Python callback in the page recomputes the curve and redraws the plot, with
no server at all (Bokeh alone would need a server or a CustomJS callback in JavaScript).
``watch`` says which widgets the browser's Python may hear, ``allow_update`` what it may change.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Slider, TextInput
from bokeh.plotting import figure
from bokeh.resources import INLINE

from bokeh_live import BokehLive, save_offline

# Runs in the browser, and again as each slider moves: the same callback a server app would
# register with slider.on_change("value", update_data).
CODE = """\
import math
import bokeh_live

N = 200
xs = [4 * math.pi * i / (N - 1) for i in range(N)]

def update_data(attr, old, new):
    a, b, w, k = (bokeh_live.get(name, "value") for name in ("amplitude", "offset", "phase", "frequency"))
    bokeh_live.update("curve", data={"x": xs, "y": [a * math.sin(k * x + w) + b for x in xs]})

def update_title(attr, old, new):
    bokeh_live.update("plot_title", text=new)

for name in ("amplitude", "offset", "phase", "frequency"):
    bokeh_live.on_change(name, "value", update_data)
bokeh_live.on_change("title", "value", update_title)
update_data("value", None, None)
"""


def build() -> row:
    source = ColumnDataSource(data={"x": [], "y": []}, name="curve")
    plot = figure(height=400, width=400, title="my sine wave", tools="crosshair,pan,reset,save,wheel_zoom",
                  x_range=[0, 12.6], y_range=[-2.5, 2.5])
    plot.title.name = "plot_title"
    plot.line("x", "y", source=source, line_width=3, line_alpha=0.6)
    text = TextInput(title="title", value="my sine wave", name="title")
    sliders = [Slider(title="offset", value=0.0, start=-5.0, end=5.0, step=0.1, name="offset"),
               Slider(title="amplitude", value=1.0, start=-5.0, end=5.0, step=0.1, name="amplitude"),
               Slider(title="phase", value=0.0, start=0.0, end=6.3, step=0.1, name="phase"),
               Slider(title="frequency", value=1.0, start=0.1, end=5.1, step=0.1, name="frequency")]
    live = BokehLive(code=CODE, mode="compact", name="live", width=300,
                     watch={text: ["value"], **{slider: ["value"] for slider in sliders}},
                     allow_update={"curve": ["data"], "plot_title": ["text"]})
    return row(column(text, *sliders, live), plot)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", metavar="DIR", help="write a folder with Pyodide inside instead of one file")
    parser.add_argument("output", nargs="?", default="sliders.html", help="the HTML file to write")
    args = parser.parse_args()
    layout = build()
    if args.offline:
        page = save_offline(layout, args.offline, title="bokeh_live: sliders")
        print(f"wrote {page}; serve it with: python -m http.server --directory {args.offline}")
    else:
        html = file_html(layout, resources=INLINE, title="bokeh_live: sliders", suppress_callback_warning=True)
        Path(args.output).write_text(html, encoding="utf-8")
        print(f"wrote {args.output}; open it in a browser")


if __name__ == "__main__":
    main()
