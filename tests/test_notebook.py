"""Notebooks with the real tools: a notebook executed by nbclient in a real IPython kernel,
exported to HTML by nbconvert, and opened in Chromium, where its browser code runs."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from test_standalone import assert_plot_updated, pyodide_cdn, wait_live  # noqa: F401 - a fixture

from harness import JS_VIEW, PYODIDE_TIMEOUT, wait_for

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


APP_CELL = """
from bokeh.models import Div
from bokeh_live import BokehLive

def app(doc):
    live = BokehLive(name="live", mode="compact", code="import sys\\nwhere = sys.platform")
    answer = Div(name="answer", text="waiting")

    def ready(attr, old, new):
        if new == "ready":  # two-way: the kernel's server asks the browser
            live.run_python_then("where", lambda value: setattr(answer, "text", f"the browser runs on {{value}}"))

    live.on_change("status", ready)
    doc.add_root(live)
    doc.add_root(answer)

show(app, notebook_url={origin!r})
"""


def kernel_outputs(client, code: str) -> list[dict]:
    """What a cell displays, as the notebook's page would get it from the kernel."""
    outputs: list[dict] = []

    def keep(message):
        if message["msg_type"] in ("display_data", "execute_result"):
            outputs.append(message["content"]["data"])
        elif message["msg_type"] == "error":
            raise AssertionError("\n".join(message["content"]["traceback"]))
    client.execute_interactive(code, output_hook=keep, timeout=120)
    return outputs


def as_html(outputs: list[dict]) -> str:
    """The outputs laid out as Jupyter renders them: HTML as is, JavaScript run."""
    parts = []
    for data in outputs:
        if "text/html" in data:
            parts.append(data["text/html"])
        if "application/javascript" in data:
            parts.append(f"<script>{data['application/javascript']}</script>")
    return "<!doctype html><html><head><meta charset='utf-8'></head><body>" + "\n".join(parts) + "</body></html>"


def test_a_server_app_shown_from_a_kernel_loads_pyodide_from_the_kernels_server(page, tmp_path):
    from jupyter_client.manager import start_new_kernel
    from test_standalone import StaticServer, model_prop

    site = StaticServer(tmp_path)  # the notebook's page: another origin than the kernel's server
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        origin = site.url().rstrip("/")
        outputs = kernel_outputs(client, "import bokeh_live\nfrom bokeh.io import output_notebook, show\n"
                                         "from bokeh.resources import INLINE\noutput_notebook(INLINE)")
        outputs += kernel_outputs(client, APP_CELL.format(origin=origin))
        (tmp_path / "notebook.html").write_text(as_html(outputs))
        page.get(site.url("notebook.html"))
        wait_for(lambda: "the browser runs on" in (model_prop(page, "answer", "text") or ""), PYODIDE_TIMEOUT,
                 what="the kernel's app to hear from the browser")
        assert model_prop(page, "answer", "text") == "the browser runs on emscripten"
        index_url = page.execute_script(JS_VIEW + "return live_view('live').runtime.index_url")
        kernel_server = page.execute_script("""return new URL(performance.getEntriesByType("resource")
            .map((e) => e.name).find((name) => name.includes("/autoload.js?"))).origin""")
        assert kernel_server != origin
        assert index_url == f"{kernel_server}/static/extensions/bokeh_live/pyodide/"  # not the CDN
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        site.stop()


def test_serve_pyodide_makes_static_notebook_output_work_offline(page, tmp_path):
    from jupyter_client.manager import start_new_kernel
    from test_standalone import StaticServer

    site = StaticServer(tmp_path)
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        outputs = kernel_outputs(client, "import bokeh_live\nfrom bokeh.io import output_notebook, show\n"
                                         "from bokeh.resources import INLINE\noutput_notebook(INLINE)\n"
                                         "url = bokeh_live.serve_pyodide()\nurl")
        url = outputs[-1]["text/plain"].strip("'")
        assert url.startswith("http://127.0.0.1:") and url.endswith("/pyodide/")
        outputs += kernel_outputs(client, "show(bokeh_live.BokehLive(name='live', mode='app', code='print(6 * 7)'))")
        (tmp_path / "notebook.html").write_text(as_html(outputs))
        page.get(site.url("notebook.html"))
        assert wait_live(page)["stdout"] == "42\n"  # no server app: one-way output, Pyodide from the kernel
        assert page.execute_script(JS_VIEW + "return live_view('live').runtime.index_url") == url
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        site.stop()


def test_a_restarted_kernel_serves_pyodide_at_the_same_address():
    """Pages showing a kernel's output keep loading Pyodide (and their snapshot) after the
    kernel restarts, as the address does not change; a second call returns the same."""
    import subprocess
    import sys

    script = ("import asyncio, bokeh_live\nasync def main():\n"
              "    print(bokeh_live.serve_pyodide(), bokeh_live.serve_pyodide())\nasyncio.run(main())")
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
            .stdout.split() for _ in range(2)]
    assert runs[0] == runs[1]
    assert runs[0][0] == runs[0][1]
    assert runs[0][0].startswith("http://127.0.0.1:") and runs[0][0].endswith("/pyodide/")
