"""The smallest bokeh_live app: Python runs in your browser and its output shows up on the page.
Edit the code and press Run (or Ctrl/Cmd+Enter): it runs again, in your browser.

    bokeh serve --show examples/hello.py
"""
from bokeh.io import curdoc
from bokeh.layouts import column
from bokeh.models import Div

from bokeh_live import BokehLive

CODE = """\
import sys, platform
print(f"Hello from Python {sys.version.split()[0]} on {platform.system()}, in your browser!")
print("6 * 7 =", 6 * 7)
sum(i * i for i in range(10))
"""

live = BokehLive(code=CODE, mode="editor", name="live", height=240, sizing_mode="stretch_width")
seen = Div(text="The server has not heard from the browser yet.", name="seen")


def on_stdout(attr, old, new):
    seen.text = f"<b>The server received this stdout:</b><pre>{new}</pre>"


live.on_change("stdout", on_stdout)
curdoc().add_root(column(Div(text="<h2>bokeh_live: hello</h2>"), live, seen, sizing_mode="stretch_width"))
curdoc().title = "bokeh_live: hello"
