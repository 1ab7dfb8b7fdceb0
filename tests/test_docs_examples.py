"""The docs' examples, run as a reader would: every ```python block that follows a
``<!-- tested: standalone -->`` or ``<!-- tested: notebook -->`` mark in README.md or docs/
is run here, unchanged but for the address a notebook's page has, and its page opened in
Chromium."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from test_notebook import as_html, kernel_outputs
from test_standalone import StaticServer, model_prop, pyodide_cdn  # noqa: F401 - a fixture

from bokeh_live.live import PYODIDE_URL_ENV
from harness import PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
MARK = re.compile(r"<!-- tested: (\w+).*?-->\n```python\n(.*?)```", re.S)


def examples(kind: str) -> list[pytest.param]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = path.read_text()
        for match in MARK.finditer(text):
            if match[1] == kind:
                line = text.count("\n", 0, match.start()) + 1
                found.append(pytest.param(match[2], id=f"{path.relative_to(ROOT)}:{line}"))
    return found


#: The page's models as the visitor's browser has them: BokehLive ones by their properties.
JS_MODELS = """
function models() {
  return Bokeh.documents.flatMap((doc) => [...doc.all_models]);
}
function live_models() {
  return models().filter((model) => "allow_update" in model && "stdout" in model);
}
"""


def live_state(page):
    """The status, stdout and error of every BokehLive on the page, once none is starting."""
    def finished():
        states = page.execute_script(JS_MODELS + """
            if (typeof Bokeh == "undefined") return null;
            const lives = live_models();
            if (lives.length == 0 || lives.some((m) => !["ready", "error"].includes(m.status))) return null;
            return lives.map((m) => ({status: m.status, stdout: m.stdout, error: m.error}));""")
        return states
    return wait_for(finished, PYODIDE_TIMEOUT, what="the page's BokehLive to finish")


def test_the_marked_examples_are_found():
    assert len(examples("standalone")) >= 1 and len(examples("notebook")) >= 2


@pytest.mark.parametrize("code", examples("standalone"))
def test_standalone_example(page, tmp_path, pyodide_cdn, code):  # noqa: F811
    # No internet here: BokehJS inline rather than from Bokeh's CDN, Pyodide from a local
    # server as the public CDN serves it (another origin, with CORS).
    env = {**os.environ, "BOKEH_RESOURCES": "inline", PYODIDE_URL_ENV: pyodide_cdn}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True, timeout=120)
    site = StaticServer(tmp_path)
    try:
        page.get(site.url(next(path.name for path in tmp_path.glob("*.html"))))
        [state] = live_state(page)
        assert state["status"] == "ready", state["error"]
        assert state["stdout"] == "plotted 100 points\n"
        data = model_prop(page, "source", "data")
        assert len(data["x"]) == 100 and len(data["y"]) == 100
    finally:
        site.stop()


@pytest.mark.parametrize("code", examples("notebook"))
def test_notebook_example(page, tmp_path, code):
    """The cell runs in a real IPython kernel, which stays up while its output is shown (it
    may serve Pyodide, or a server app), on a page of another origin, as Jupyter's."""
    from jupyter_client.manager import start_new_kernel

    site = StaticServer(tmp_path)
    origin = site.url().rstrip("/")
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        outputs = kernel_outputs(client, code.replace('"http://localhost:8888"', repr(origin)))
        (tmp_path / "notebook.html").write_text(as_html(outputs))
        page.get(site.url("notebook.html"))
        [state] = live_state(page)
        assert state["status"] == "ready", state["error"]
        if "plotted" in code:  # one-way output: the cell's plot, drawn by browser code
            assert state["stdout"] == "plotted 100 points\n"
            data = model_prop(page, "source", "data")
            assert len(data["x"]) == 100 and data["y"][0] == 1.0
        else:  # a server app: the kernel heard the browser's answer
            def answer():
                return page.execute_script(JS_MODELS + """
                    return models().map((m) => m.text).find((t) => String(t).startsWith("the browser")) ?? null""")
            assert wait_for(answer, 60, what="the kernel's app to hear from the browser") \
                == "the browser runs on emscripten"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
        site.stop()
