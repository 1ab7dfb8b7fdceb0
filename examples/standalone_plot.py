"""A standalone HTML page whose plot is computed by Python in the browser: no server at all.

    python examples/standalone_plot.py                   # writes standalone_plot.html (BokehJS inline, Pyodide from the CDN)
    python examples/standalone_plot.py --offline DIR     # writes DIR/ with Pyodide inside, no network needed
                                                         # (then: python -m http.server --directory DIR)

Open the page, edit the Python in the editor and press Run: the code
integrates the Lorenz system and hands the points to the plot's data source with
``bokeh_live.update``. Set BOKEH_LIVE_PYODIDE_URL to load Pyodide from elsewhere.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bokeh.embed import file_html
from bokeh.layouts import column, row
from bokeh.models import ColumnDataSource, Div, Paragraph
from bokeh.plotting import figure
from bokeh.resources import INLINE

from bokeh_live import BokehLive, save_offline

# Runs in the browser: plain Python (math only). numpy would make the loop one call.
CODE = """\
import bokeh_live

sigma, rho, beta = 10.0, 28.0, 8 / 3
dt, steps = 0.01, 5000

def lorenz(x, y, z):
    return sigma * (y - x), x * (rho - z) - y, x * y - beta * z

x, y, z = 1.0, 1.0, 1.0
xs, zs = [], []
for _ in range(steps):  # fourth-order Runge-Kutta
    k1 = lorenz(x, y, z)
    k2 = lorenz(*(v + dt / 2 * k for v, k in zip((x, y, z), k1)))
    k3 = lorenz(*(v + dt / 2 * k for v, k in zip((x, y, z), k2)))
    k4 = lorenz(*(v + dt * k for v, k in zip((x, y, z), k3)))
    x, y, z = (v + dt / 6 * (a + 2 * b + 2 * c + d) for v, a, b, c, d in zip((x, y, z), k1, k2, k3, k4))
    xs.append(x)
    zs.append(z)

# The models and properties the app lists in allow_update can be changed from here.
bokeh_live.update("trajectory", data={"x": xs, "z": zs})
bokeh_live.update("title", text=f"Lorenz attractor: {steps} steps, rho = {rho}")
print(f"computed {len(xs)} points in the browser")
"""


def build() -> column:
    source = ColumnDataSource(data={"x": [], "z": []}, name="trajectory")
    plot = figure(width=520, height=480, title="Drawn by Bokeh from data computed in the browser",
                  x_axis_label="x", y_axis_label="z")
    plot.line("x", "z", source=source, line_width=1, line_alpha=0.8)
    # Browser code may change these and nothing else: plain text and data, never HTML.
    live = BokehLive(code=CODE, mode="editor", name="live", width=560, height=480,
                     allow_update={"trajectory": ["data"], "title": ["text"]})
    return column(
        Div(text="<h2>Python in a static page</h2><p>No server: edit the code and press <b>Run</b>.</p>"),
        Paragraph(text="Lorenz attractor: waiting for the browser", name="title"),
        row(live, plot),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offline", metavar="DIR", help="write a folder with Pyodide inside instead of one file")
    parser.add_argument("output", nargs="?", default="standalone_plot.html", help="the HTML file to write")
    args = parser.parse_args()
    layout = build()
    if args.offline:
        page = save_offline(layout, args.offline, title="bokeh_live: standalone plot")
        print(f"wrote {page}; serve it with: python -m http.server --directory {args.offline}")
    else:
        # file_html rather than bokeh.io.save: same page, without Bokeh's warning about the
        # model's (server-only) Python event handler.
        html = file_html(layout, resources=INLINE, title="bokeh_live: standalone plot", suppress_callback_warning=True)
        Path(args.output).write_text(html, encoding="utf-8")
        print(f"wrote {args.output}; open it in a browser")


if __name__ == "__main__":
    main()
