"""Run untrusted or generated code in the visitor's browser instead of on the server.

    bokeh serve --show examples/sandbox.py

Code typed by the visitor, or produced by a program (a code generator, a language model),
runs with ``run_python`` in the browser tab of the person who asked for it, and only its
result comes back. The server never executes it, so it cannot read the server's files,
memory or secrets. See docs/security.md for what the browser side can still reach.
"""
from __future__ import annotations

import html

from bokeh.io import curdoc
from bokeh.layouts import column, row
from bokeh.models import Button, Div, Select, TextAreaInput

from bokeh_live import BokehLive

SNIPPETS = {
    "Primes": "[n for n in range(2, 60) if all(n % d for d in range(2, int(n ** 0.5) + 1))]",
    "Statistics": ("import random, statistics\n"
                   "sample = [random.gauss(10, 2) for _ in range(10_000)]\n"
                   "{'mean': round(statistics.fmean(sample), 2), 'stdev': round(statistics.stdev(sample), 2)}"),
    "Where am I?": "import sys, os\n{'platform': sys.platform, 'cwd': os.getcwd(), 'files': sorted(os.listdir('/'))}",
    "An error": "def parse(text):\n    return int(text)\n\nparse('forty-two')",
    "Runs too long": "while True:\n    pass",
}

live = BokehLive(mode="compact", name="live", sizing_mode="stretch_width")
snippet = Select(title="Generated snippet", value="Primes", options=list(SNIPPETS))
source = TextAreaInput(title="Code to run in the browser (the last expression is the result)",
                       value=SNIPPETS["Primes"], rows=8, sizing_mode="stretch_width", name="source")
button = Button(label="Run in the browser", button_type="primary", name="run")
result = Div(text="", name="result", sizing_mode="stretch_width")

TIMEOUT = 5.0


def pick(attr, old, new):
    source.value = SNIPPETS[new]


def run():
    button.disabled = True
    result.text = "<i>Running in the browser...</i>"

    def show(value):
        button.disabled = False  # first: the result says the page is ready for the next one
        result.text = f"<b>Result</b><pre>{html.escape(repr(value))}</pre>"  # browser output is untrusted

    def failed(error):
        text = str(error)
        if isinstance(error, TimeoutError):
            text += "\nIt was stopped in your browser; the next snippet runs once Python is ready there again."
        button.disabled = False
        result.text = f"<b>Error</b><pre>{html.escape(text)}</pre>"

    live.run_python_then(source.value, show, on_error=failed, timeout=TIMEOUT)


snippet.on_change("value", pick)
button.on_click(run)

curdoc().add_root(column(
    Div(text="<h2>A sandbox for untrusted code</h2>"
             "<p>The code below never runs on the server: it runs in this tab, and the server only "
             "receives its result.</p>"),
    row(snippet, button), source, result, live,
    sizing_mode="stretch_width",
))
curdoc().title = "bokeh_live: sandbox"
