"""Run Python in the visitor's browser from a Bokeh app, and exchange data with it.

``BokehLive`` is a Bokeh layout model whose view runs Python with Pyodide in a Web Worker.
See README.md and docs/ for the server API, the browser API and the wire protocol.
"""

from pathlib import Path

from . import _bokeh_internals
from .live import BokehLive, LiveError
from .standalone import save_offline

_bokeh_internals.serve_extension_files("bokeh_live", Path(__file__).parent / "dist")

__all__ = ["BokehLive", "LiveError", "__version__", "save_offline"]
__version__ = "0.1.0"
