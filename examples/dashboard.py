"""A server dashboard whose sliders are computed in the visitor's browser.

    bokeh serve --show examples/dashboard.py

Dragging the sliders smooths a noisy signal and flags its outliers in Python in the browser:
no server callback runs while you drag, so a thousand visitors dragging cost the server no
CPU. Press "Keep" and the browser sends the chosen settings and their result to the server,
which records them in the table (``bokeh_live.send`` -> ``live.output``).
"""
from __future__ import annotations

import numpy as np
from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, DataTable, Paragraph, Slider, TableColumn
from bokeh.plotting import figure

from bokeh_live import BokehLive

# Runs in the browser. The callbacks are the ones a server app would register with
# window.on_change("value", ...) and keep.on_event("button_click", ...).
CODE = """\
import math
import bokeh_live

signal = list(bokeh_live.value["signal"])  # a float64 array from the server
xs = list(range(len(signal)))
last = {}

def recompute(attr, old, new):
    w, k = int(bokeh_live.get("window", "value")), bokeh_live.get("threshold", "value")
    sums = [0.0]
    for v in signal:
        sums.append(sums[-1] + v)
    half = w // 2
    smooth = [(sums[min(len(signal), i + half + 1)] - sums[max(0, i - half)]) / (min(len(signal), i + half + 1)
              - max(0, i - half)) for i in range(len(signal))]
    residuals = [v - s for v, s in zip(signal, smooth)]
    sigma = math.sqrt(sum(r * r for r in residuals) / len(residuals))
    flagged = [i for i, r in enumerate(residuals) if abs(r) > k * sigma]
    bokeh_live.update("smooth", data={"x": xs, "y": smooth})
    bokeh_live.update("outliers", data={"x": flagged, "y": [signal[i] for i in flagged]})
    bokeh_live.update("summary", text=f"window {w}, threshold {k:.1f} sigma: {len(flagged)} outliers")
    last.update(window=w, threshold=k, outliers=len(flagged))

def keep(event):
    bokeh_live.send(dict(last))  # only this reaches the server

bokeh_live.on_change("window", "value", recompute)
bokeh_live.on_change("threshold", "value", recompute)
bokeh_live.on_event("keep", "button_click", keep)
recompute("value", None, None)
"""

rng = np.random.default_rng(7)
n = 3000
t = np.arange(n)
signal = np.sin(t / 150) * 3 + np.cumsum(rng.normal(0, 0.05, n)) + rng.normal(0, 0.6, n)
signal[rng.choice(n, 25, replace=False)] += rng.choice([-1, 1], 25) * rng.uniform(3, 5, 25)

window = Slider(title="Smoothing window", start=3, end=301, step=2, value=51, name="window")
threshold = Slider(title="Outlier threshold (sigma)", start=1.0, end=5.0, step=0.1, value=3.0, name="threshold")
keep = Button(label="Keep these settings", button_type="primary", name="keep")
summary = Paragraph(text="Waiting for Python to start in the browser...", name="summary")

plot = figure(height=380, sizing_mode="stretch_width", title="Smoothed in your browser, drawn by Bokeh",
              toolbar_location="above")
plot.line(t, signal, color="#bbbbbb", legend_label="signal")
plot.line("x", "y", source=ColumnDataSource(data={"x": [], "y": []}, name="smooth"), line_width=2,
          legend_label="rolling mean")
plot.scatter("x", "y", source=ColumnDataSource(data={"x": [], "y": []}, name="outliers"), size=8, color="crimson",
             legend_label="outliers")

kept = ColumnDataSource(data={"window": [], "threshold": [], "outliers": []})
table = DataTable(source=kept, height=160, width=360, index_position=None, columns=[
    TableColumn(field="window", title="Window"), TableColumn(field="threshold", title="Threshold"),
    TableColumn(field="outliers", title="Outliers")])

live = BokehLive(code=CODE, mode="compact", name="live", sizing_mode="stretch_width", value={"signal": signal},
                 watch={window: ["value"], threshold: ["value"], keep: ["button_click"]},
                 allow_update={"smooth": ["data"], "outliers": ["data"], "summary": ["text"]})


def kept_settings(attr: str, old: object, new: object) -> None:
    """What the visitor chose to keep: the one message the browser sends the server."""
    if isinstance(new, dict) and {"window", "threshold", "outliers"} <= new.keys():
        kept.stream({"window": [int(new["window"])], "threshold": [round(float(new["threshold"]), 1)],
                     "outliers": [int(new["outliers"])]})


live.on_change("output", kept_settings)

curdoc().add_root(column(row(column(window, threshold, keep, summary, live, width=380), plot, sizing_mode="stretch_width"),
                         table, sizing_mode="stretch_width"))
curdoc().title = "bokeh_live: a dashboard computed in the browser"
