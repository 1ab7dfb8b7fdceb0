from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from bokeh_live import channel
from harness import AppServer, chromium

#: Modules the tests ship to the browser, importable here as an app's own modules are.
SHIPPED = Path(__file__).parent / "shipped"
sys.path.insert(0, str(SHIPPED))


def pytest_collection_modifyitems(config, items):
    # On CI a missing browser is a failure, never a skip: the browser tests are the point.
    if os.environ.get("CI") or (shutil.which("chromium") and shutil.which("chromedriver")):
        return
    skip = pytest.mark.skip(reason="needs chromium and chromedriver (bash .ci/run installs them)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def fresh_log_budget(monkeypatch):
    """Each test starts with the process's budget of refusal log lines whole."""
    monkeypatch.setattr(channel, "_LOG_BUDGET", channel._ProcessLogBudget())


@pytest.fixture(scope="session")
def app_server():
    server = AppServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def isolated_server():
    """A Bokeh server whose pages are cross-origin isolated (COOP and COEP headers)."""
    server = AppServer(isolate=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def cors_server():
    """A Bokeh server that sends bokeh_live's CORS headers (python -m bokeh_live serve)."""
    server = AppServer(headers=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the session (its HTTP cache keeps Pyodide warm between tests)."""
    driver = chromium()
    driver.set_script_timeout(120)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser):
    """The shared browser, left on a blank page afterwards so no session lingers."""
    yield browser
    browser.get("about:blank")
