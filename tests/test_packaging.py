"""What the build ships besides code: one version number everywhere, a view that says when
it does not match the Python package, and the licences of the bundled third-party code."""
from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pytest

import bokeh_live
from bokeh_live import BokehLive
from bokeh_live.shared import VERSION
from harness import PYODIDE_TIMEOUT, wait_for

ROOT = Path(__file__).parents[1]


def test_one_version_number():
    shared_ts = (ROOT / "bokehjs_ext" / "shared.ts").read_text()
    assert f'export const VERSION = "{VERSION}" as const' in shared_ts
    assert bokeh_live.__version__ == VERSION == importlib.metadata.version("bokeh_live")
    assert BokehLive().version == VERSION
    assert not re.search(r'^version\s*=', (ROOT / "pyproject.toml").read_text(), re.M)


@pytest.mark.parametrize(("dist", "projects"), [
    (ROOT / "bokeh_live" / "dist", [ROOT / "bokehjs_ext", ROOT]),
    (ROOT / "bokeh_live_editor" / "dist", [ROOT / "bokehjs_editor"]),
])
def test_the_licences_of_bundled_packages_ship_beside_the_bundles(dist, projects):
    text = (dist / "THIRD_PARTY_LICENSES.txt").read_text()
    for project in projects:
        lock = json.loads((project / "package-lock.json").read_text())
        for path, meta in lock["packages"].items():
            if path and not meta.get("dev"):
                name = path.split("node_modules/")[-1]
                assert f"{name} {meta['version']}: {meta['license']}" in text
    if dist.parent.name == "bokeh_live":
        assert "Apache License" in text and "pyodide 314.0.7: MPL-2.0" in text  # DOMPurify; Pyodide
    else:
        assert "Copyright (C) 2018-2021 by Marijn Haverbeke" in text  # CodeMirror's own notice
        assert "esbuild" not in text  # a build tool, not shipped


@pytest.mark.browser
def test_a_view_that_does_not_match_the_python_package_says_so(app_server, page):
    def build(doc):
        doc.add_root(BokehLive(name="live", mode="headless", code="print('still runs')", version="0.0.1"))
    url = app_server.app(build)
    page.get_log("browser")  # what earlier pages logged
    page.get(url)
    live = app_server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status == "ready", PYODIDE_TIMEOUT, what="the code to run")
    warnings = [e["message"] for e in page.get_log("browser") if "bokeh_live: the Python package" in e["message"]]
    assert len(warnings) == 1 and f"0.0.1 but this page's view is {VERSION}" in warnings[0]
    assert live.stdout == "still runs\n"
