"""Notebooks with the real tools: a notebook executed by nbclient in a real IPython kernel,
exported to HTML by nbconvert, and opened in Chromium, where its browser code runs."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from test_standalone import assert_plot_updated, pyodide_cdn, wait_live  # noqa: F401 - a fixture

from harness import JS_VIEW, wait_for

pytestmark = pytest.mark.browser

TESTS = Path(__file__).parent


def run_notebook(tmp_path: Path, *cells: str) -> Path:
    """Execute ``cells`` in a fresh kernel and export the notebook, outputs and all, as HTML."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [output for cell in notebook.cells for output in cell.outputs if output.output_type == "error"]
    assert not errors, errors
    path = tmp_path / "notebook.html"
    path.write_text(HTMLExporter().from_notebook_node(notebook)[0])
    return path


def test_an_executed_and_exported_notebook_runs_its_browser_code(page, tmp_path, pyodide_cdn):  # noqa: F811
    path = run_notebook(
        tmp_path,
        "import bokeh_live\n"  # before output_notebook(): its bundles go into the notebook
        "from bokeh.io import output_notebook, show\n"
        "from bokeh.resources import INLINE\n"
        "output_notebook(INLINE)",  # no internet: BokehJS inline too, not from Bokeh's CDN
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
        "from test_standalone import plot_page\n"
        f"show(plot_page(pyodide_url={pyodide_cdn!r}))",
        f"show(bokeh_live.BokehLive(name='editor', mode='editor', code='print(6 * 7)', pyodide_url={pyodide_cdn!r}))",
    )
    page.get(path.as_uri())
    assert_plot_updated(page)  # browser code ran and updated the cell's plot
    assert wait_live(page, "editor")["stdout"] == "42\n"  # a second cell's model, with its editor
    wait_for(lambda: page.execute_script(JS_VIEW + "return live_view('editor').ui.editor?.rich"), 30,
             what="CodeMirror, which the notebook carries")
