"""The core of it in Firefox ESR too (Debian's package), driven over its own Marionette
protocol by Mozilla's marionette_driver (no geckodriver): the runtime starting, every kind
of round trip, recovery from runaway code, and a standalone page."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from bokeh.io import save
from bokeh.resources import INLINE
from test_messaging import ECHO, open_live, run
from test_standalone import StaticServer, assert_plot_updated, plot_page, pyodide_cdn  # noqa: F401 - a fixture

from bokeh_live import LiveError
from harness import JS_VIEW, free_port, wait_for

pytestmark = pytest.mark.browser

FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")

@pytest.fixture(scope="module")
def firefox(tmp_path_factory):
    if FIREFOX is None:
        pytest.fail("Firefox ESR is missing: bash .ci/run installs it (apt-get install firefox-esr)")
    from marionette_driver.marionette import Marionette

    log = tmp_path_factory.mktemp("firefox") / "gecko.log"  # not the working directory's gecko.log
    client = Marionette(host="127.0.0.1", port=free_port(), bin=FIREFOX, headless=True, startup_timeout=120,
                        gecko_log=str(log))
    client.start_session()
    client.timeout.script = 60
    yield client
    client.delete_session()
    client.cleanup()


class FirefoxPage:
    """What the other test modules' helpers need of a page, over Marionette."""

    def __init__(self, client):
        self.client = client

    def get(self, url):
        self.client.navigate(url)

    def execute_script(self, script, *args):
        # sandbox=None: the page's own globals (Bokeh), as Selenium's execute_script sees them.
        return self.client.execute_script(script, script_args=args, sandbox=None)


def test_round_trips_in_firefox(app_server, firefox):
    live = open_live(app_server, FirefoxPage(firefox), code=ECHO + "print('hi from firefox')")
    assert live.stdout == "hi from firefox\n"
    assert "Firefox" in firefox.execute_script("return navigator.userAgent")

    app_server.locked(live.document, lambda: live.send({"n": 1, "s": "x"}))  # send -> output
    wait_for(lambda: live.output == {"echo": {"n": 1, "s": "x"}}, 30, what="the echo")

    assert run(app_server, live, "sum(xs) * k", xs=[1, 2, 3], k=7) == 42  # run_python
    back = run(app_server, live, "data", data=np.arange(100_000, dtype="float64"))  # binary both ways
    assert isinstance(back, np.ndarray) and back.dtype == np.float64 and back[-1] == 99_999
    with pytest.raises(LiveError, match="ZeroDivisionError"):
        run(app_server, live, "1 / 0")

    live.expose(lambda a, b: a + b, name="add")  # calls the other way
    assert run(app_server, live, "import bokeh_live\nawait bokeh_live.call('add', 40, 2)") == 42


def test_a_runaway_call_is_stopped_and_the_page_goes_on_in_firefox(app_server, firefox):
    live = open_live(app_server, FirefoxPage(firefox), code="x = 41")
    with pytest.raises(TimeoutError):
        run(app_server, live, "while True:\n    pass", timeout=2)
    assert run(app_server, live, "x + 1") == 42  # a fresh worker ran the code again
    assert FirefoxPage(firefox).execute_script(JS_VIEW + "return live_view('live').runtime.restarts") == 1


def test_a_standalone_page_in_firefox(firefox, tmp_path, pyodide_cdn):  # noqa: F811
    save(plot_page(pyodide_url=pyodide_cdn), tmp_path / "page.html", resources=INLINE, title="firefox")
    site = StaticServer(tmp_path)
    try:
        page = FirefoxPage(firefox)
        page.get(site.url("page.html"))
        assert_plot_updated(page)
    finally:
        site.stop()


def test_browser_callbacks_and_a_call_by_reference_in_firefox(app_server, firefox):
    import shapes
    from test_watch import CALLBACKS, JS_EVENT, JS_SET, WATCH, seen, widgets

    live = open_live(app_server, FirefoxPage(firefox), extra=widgets, code=CALLBACKS, watch=WATCH,
                     allow_update={"label": ["text"]}, modules=[shapes])
    page = FirefoxPage(firefox)
    page.execute_script(JS_SET, "freq", "value", 2.5)
    page.execute_script(JS_EVENT, "go", "button_click", {})
    assert seen(app_server, live, 2) == [["freq", "value", 1, 2.5], ["go", "button_click", {}]]
    label = live.document.select_one({"name": "label"})
    wait_for(lambda: label.text == "freq is 2.5", 30, what="the label on the server")
    assert app_server.call(live.run(shapes.wave, 4)) == pytest.approx([0.0, 1.0, 0.0, -1.0])
