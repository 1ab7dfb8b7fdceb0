"""A streaming dashboard: the server pushes readings, the browser analyses them and answers.

    bokeh serve --show examples/streaming.py

A periodic callback stands in for a sensor and pushes each reading to the browser with
``live.send``. Python in the browser keeps a rolling window, computes its mean and spread,
flags outliers, and sends the analysis back with ``bokeh_live.send``; the server streams
both into the plot. The server does no statistics at all.
"""
from __future__ import annotations

import math
import random

from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Div, Slider
from bokeh.plotting import figure

from bokeh_live import BokehLive

# Runs in the browser (standard library only: statistics instead of numpy).
CODE = """\
import statistics
from collections import deque

import bokeh_live

window = deque(maxlen=bokeh_live.value["window"])

@bokeh_live.on_server_data
def analyse(reading):
    window.append(reading["value"])
    mean = statistics.fmean(window)
    spread = statistics.pstdev(window) if len(window) > 1 else 0.0
    outlier = len(window) > 5 and abs(reading["value"] - mean) > 2.5 * spread
    bokeh_live.send({"t": reading["t"], "mean": mean, "spread": spread, "outlier": outlier,
                     "value": reading["value"]})

print("analysing a window of", window.maxlen, "readings")
"""

MAX_POINTS = 300

live = BokehLive(code=CODE, mode="compact", name="live", value={"window": 20}, sizing_mode="stretch_width")
raw = ColumnDataSource(data={"t": [], "value": []}, name="raw")
stats = ColumnDataSource(data={"t": [], "mean": [], "low": [], "high": []}, name="stats")
outliers = ColumnDataSource(data={"t": [], "value": []}, name="outliers")
speed = Slider(title="Readings per second", start=1, end=20, step=1, value=5)
counter = Div(text="No analysis yet.", name="counter")

plot = figure(height=350, sizing_mode="stretch_width", title="Sensor readings (grey), browser-side analysis (blue)")
plot.varea(x="t", y1="low", y2="high", source=stats, fill_alpha=0.2, legend_label="mean ± 2σ")
plot.line(x="t", y="mean", source=stats, line_width=2, legend_label="rolling mean")
plot.scatter(x="t", y="value", source=raw, color="grey", size=4, legend_label="reading")
plot.scatter(x="t", y="value", source=outliers, color="red", size=10, marker="x", line_width=2,
             legend_label="outlier")
plot.legend.location = "top_left"

state = {"t": 0, "analysed": 0, "outliers": 0, "callback": None}


def push_reading():
    if live.status != "ready":
        return
    t = state["t"] = state["t"] + 1
    value = math.sin(t / 15) * 3 + random.gauss(0, 0.5) + (random.choice([-6, 6]) if random.random() < 0.03 else 0)
    raw.stream({"t": [t], "value": [value]}, rollover=MAX_POINTS)
    live.send({"t": t, "value": value})


def on_analysis(attr, old, result):
    band = 2 * result["spread"]
    stats.stream({"t": [result["t"]], "mean": [result["mean"]], "low": [result["mean"] - band],
                  "high": [result["mean"] + band]}, rollover=MAX_POINTS)
    state["analysed"] += 1
    if result["outlier"]:
        state["outliers"] += 1
        outliers.stream({"t": [result["t"]], "value": [result["value"]]}, rollover=MAX_POINTS)
    counter.text = f"The browser analysed {state['analysed']} readings and flagged {state['outliers']} outliers."


def set_speed():
    doc = live.document or curdoc()
    if state["callback"] is not None:
        doc.remove_periodic_callback(state["callback"])
    state["callback"] = doc.add_periodic_callback(push_reading, int(1000 / speed.value))


live.on_change("output", on_analysis)
speed.on_change("value", lambda attr, old, new: set_speed())
set_speed()

curdoc().add_root(column(
    Div(text="<h2>Streaming: the server measures, the browser analyses</h2>"),
    row(speed, counter), plot, live,
    sizing_mode="stretch_width",
))
curdoc().title = "bokeh_live: streaming"
