"""Offload a CPU-heavy computation from the server to the visitor's browser.

    bokeh serve --show examples/offload.py

The server ships mandelbrot.py (beside this file) to the browser, calls its function there
by reference and only draws the result: a thousand visitors cost the server no CPU for it.
The image comes back as a binary buffer (a 2-D memoryview arrives as a numpy array), not as
JSON.
"""
from __future__ import annotations

import time

import mandelbrot  # beside this file: bokeh serve puts the app's folder on sys.path
from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import Button, ColumnDataSource, Div, Select, Slider
from bokeh.plotting import figure

from bokeh_live import BokehLive

VIEWS = {
    "Whole set": (-2.2, 0.8, -1.2, 1.2),
    "Seahorse valley": (-0.80, -0.70, 0.05, 0.13),
    "Elephant valley": (0.25, 0.35, -0.04, 0.04),
}
WIDTH, HEIGHT = 300, 240

live = BokehLive(modules=[mandelbrot], code="print('mandelbrot() is ready in the browser')", mode="compact",
                 name="live", sizing_mode="stretch_width")
view = Select(title="View", value="Whole set", options=list(VIEWS))
depth = Slider(title="Iterations", start=20, end=400, step=20, value=80)
button = Button(label="Compute in the browser", button_type="primary", disabled=True)
info = Div(text="Waiting for Python to start in the browser...", name="info")
metrics = Div(name="metrics", styles={"font-size": "12px", "color": "#555"})

source = ColumnDataSource(data={"image": [], "x": [], "y": [], "dw": [], "dh": []}, name="image")
plot = figure(width=WIDTH * 2, height=HEIGHT * 2, match_aspect=True, toolbar_location=None,
              title="Computed in your browser, drawn by Bokeh")
plot.image(image="image", x="x", y="y", dw="dw", dh="dh", source=source, palette="Inferno256")


def on_status(attr, old, new):
    button.disabled = new != "ready"
    if new == "ready" and not source.data["image"]:
        compute()


def compute():
    x0, x1, y0, y1 = VIEWS[view.value]
    button.disabled = True
    info.text = "Computing in the browser..."
    started = time.monotonic()

    def show(counts):  # a numpy array of shape (HEIGHT, WIDTH)
        source.data = {"image": [counts], "x": [x0], "y": [y0], "dw": [x1 - x0], "dh": [y1 - y0]}
        info.text = (f"{WIDTH}&times;{HEIGHT} pixels, up to {depth.value} iterations each: "
                     f"{time.monotonic() - started:.2f} s round trip, 0 s of server CPU.")
        button.disabled = False
        show_metrics()

    def failed(error):
        info.text = f"The browser failed: {error}"
        button.disabled = False

    # Runs mandelbrot.mandelbrot(...) in the browser; show(result) runs here afterwards.
    live.with_timeout(120).run_then(mandelbrot.mandelbrot, show, x0, x1, y0, y1, WIDTH, HEIGHT, depth.value,
                                    on_error=failed)


def show_metrics():
    """What live.metrics() says about this visitor's browser and its calls."""
    m = live.metrics()

    def ms(value):
        return "-" if value is None else f"{value:,.0f} ms"
    metrics.text = (
        f"<b>live.metrics()</b>: Python started in {ms(m['python_start_ms'])}, restarted {m['restarts'] or 0} times. "
        f"{m['calls']} calls ({m['call_errors']} failed, {m['call_timeouts']} timed out), round trip last "
        f"{ms(m['round_trip_last_ms'])}, median {ms(m['round_trip_median_ms'])}. "
        f"Sent {m['messages_sent']} messages ({m['bytes_sent'] / 1024:,.1f} KB), received "
        f"{m['messages_received']} ({m['bytes_received'] / 1024:,.1f} KB).")


live.on_change("status", on_status)
live.on_change("browser_metrics", lambda attr, old, new: show_metrics())
button.on_click(compute)

curdoc().add_root(column(
    Div(text="<h2>Offloading work to the browser</h2>"),
    row(view, depth, button),
    info, plot, metrics, live,
))
curdoc().title = "bokeh_live: offload"
