"""Packages in the browser, from a Pyodide distribution made for the tests (tests/distribution.py):
by name, by import, from a vendored folder with the distribution gone, and what failing says.

The Pyodide core always comes from the Bokeh server; only the packages come from elsewhere.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
from distribution import StaticServer, make

from bokeh_live import BokehLive
from bokeh_live.vendor import vendor
from harness import OUTPUT, PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dist_root(tmp_path_factory):
    return make(tmp_path_factory.mktemp("dist"), OUTPUT / "wheels")


@pytest.fixture
def dist(dist_root):
    server = StaticServer(dist_root)
    yield server
    server.stop()


def open_live(app_server, page, **props):
    def build(doc):
        doc.add_root(BokehLive(name="live", mode="app", **props))
    url = app_server.app(build)
    page.get(url)
    live = app_server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status in ("ready", "error"), PYODIDE_TIMEOUT, what="the code to run")
    return live


def test_a_lockfile_package_by_name_with_its_dependencies(app_server, page, dist):
    live = open_live(app_server, page, package_url=dist.url(), packages=["demo-beta"],
                     code="import sys\nimport demo_beta\nprint(demo_beta.DOUBLE, 'demo_alpha' in sys.modules)")
    assert live.status == "ready", live.error
    assert live.stdout == "42 True\n"  # demo-alpha came as its dependency


def test_imports_load_their_packages_unless_turned_off(app_server, page, dist):
    live = open_live(app_server, page, package_url=dist.url(), code="import demo_beta\nprint(demo_beta.DOUBLE)")
    assert live.status == "ready" and live.stdout == "42\n", live.error
    live = open_live(app_server, page, package_url=dist.url(), auto_packages=False, code="import demo_beta")
    assert live.status == "error" and "No module named 'demo_beta'" in live.error


def test_a_vendored_folder_works_with_the_distribution_stopped(app_server, page, dist, tmp_path):
    folder = tmp_path / "vendored"
    # The command line, as the docs give it.
    done = subprocess.run([sys.executable, "-m", "bokeh_live", "vendor", "demo_beta", "--from", dist.url(),
                           "--to", str(folder)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        "demo_alpha-1.0-py3-none-any.whl", "demo_beta-1.0-py3-none-any.whl", "pyodide-lock.json"]
    dist.stop()  # the distribution is gone: only the vendored folder is left
    vendored = StaticServer(folder)
    try:
        live = open_live(app_server, page, package_url=vendored.url(), code="import demo_beta\nprint(demo_beta.DOUBLE)")
        assert live.status == "ready" and live.stdout == "42\n", live.error
    finally:
        vendored.stop()


def test_vendor_refuses_unknown_names_and_wheels_that_do_not_match(tmp_path, dist, dist_root):
    with pytest.raises(KeyError, match="no-such-package"):
        vendor(["no-such-package"], tmp_path / "a", dist.url())
    root = dist_root
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for name in ("pyodide-lock.json", "demo_alpha-1.0-py3-none-any.whl"):
        (tampered / name).write_bytes((root / name).read_bytes())
    (tampered / "demo_alpha-1.0-py3-none-any.whl").write_bytes(b"not the wheel the lockfile names")
    with pytest.raises(ValueError, match="does not match the lockfile's sha256"):
        vendor(["demo-alpha"], tmp_path / "b", str(tampered))


def test_failures_are_named_in_error(app_server, page, dist):
    live = open_live(app_server, page, package_url=dist.url(), packages=["no-such-package"], code="1")
    assert live.status == "error" and "no-such-package" in live.error
    live = open_live(app_server, page, package_url=dist.url("nowhere/"), packages=["demo-alpha"], code="1")
    assert live.status == "error" and dist.url("nowhere/pyodide-lock.json") in live.error, live.error


def test_a_requirement_that_cannot_be_installed_is_named(app_server, page, dist):
    """micropip comes from the distribution like any lockfile package; a requirement it
    cannot install puts the model in error, naming the requirement."""
    live = open_live(app_server, page, package_url=dist.url(), requirements=["no-such-project-anywhere"],
                     index_urls=[dist.url("index/simple/{package_name}/")], code="print('never')")
    assert live.status == "error" and "no-such-project-anywhere" in live.error and live.stdout == ""


def test_a_requirement_installs_from_an_index_with_micropip(app_server, page, dist):
    """A PyPI-style requirement: micropip (itself a lockfile package from ``package_url``)
    installs it from the index before ``code`` runs, and takes its dependency from the lockfile."""
    live = open_live(app_server, page, package_url=dist.url(), requirements=["demo-gamma>=2"],
                     index_urls=[dist.url("index/simple/{package_name}/")],
                     code="import demo_gamma, micropip\nprint(demo_gamma.GREETING, micropip.__version__)")
    assert live.status == "ready", live.error
    assert live.stdout == "hello from an index, 21 0.11.1\n"
