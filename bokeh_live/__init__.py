"""Run Python in the visitor's browser from a Bokeh app, and exchange data with it.

``BokehLive`` is a Bokeh layout model whose view runs Python with Pyodide in a Web Worker.
See README.md and docs/ for the server API, the browser API and the wire protocol.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bokeh_live_editor

from . import _bokeh_internals, modules, sessions
from .editor import notebook_bundle
from .live import BokehLive, LiveError
from .serve import serve_pyodide
from .shared import EDITOR_EXTENSION, VERSION
from .standalone import save_offline

_bokeh_internals.serve_extension_files("bokeh_live", Path(__file__).parent / "dist")
_bokeh_internals.serve_extension_files(modules.EXTENSION, modules.FOLDER)
_bokeh_internals.serve_extension_files(EDITOR_EXTENSION, Path(bokeh_live_editor.__file__).parent / "dist")
_bokeh_internals.on_tornado_app(_bokeh_internals.extensions_first)
_bokeh_internals.on_tornado_stop(sessions.server_stopping)

if "ipykernel" in sys.modules:  # a notebook's kernel
    from .serve import in_notebook_kernel

    notebook_bundle()
    in_notebook_kernel()

__all__ = ["BokehLive", "LiveError", "__version__", "save_offline", "serve_pyodide"]
__version__ = VERSION

if TYPE_CHECKING:  # what browser code sees, for type checkers and editors (see __getattr__)
    from .browser import (  # noqa: F401
        Event,
        Frame,
        ServerError,
        call,
        display,
        get,
        on_change,
        on_event,
        on_server_data,
        progress,
        remove_on_change,
        send,
        update,
    )

    value: Any


def __getattr__(name: str) -> object:
    """The browser half's API (``bokeh_live.send``, ``on_change``, ``value``...) under the
    same names as in the browser, so that browser code imports and runs under CPython too:
    outside a BokehLive's worker it needs a stand-in page (``bokeh_live.testing``)."""
    import importlib

    if not name.startswith("_") and name != "browser":  # (a submodule: the import system's business)
        browser = importlib.import_module(f"{__name__}.browser")
        if name in browser.__all__ or name == "value":
            return getattr(browser, name)
    raise AttributeError(f"module 'bokeh_live' has no attribute {name!r}")
