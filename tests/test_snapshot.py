"""Starting Python from a memory snapshot cached in the browser, and falling back from a bad one.

Each test has a browser of its own: the snapshot lives in the profile's Cache Storage.
"""
from __future__ import annotations

import pytest
from test_recovery import call as run

from bokeh_live import BokehLive
from harness import JS_VIEW, PYODIDE_TIMEOUT, chromium, wait_for

pytestmark = pytest.mark.browser

CODE = "import random\nfirst_draw = random.random()"


@pytest.fixture
def own_browser():
    driver = chromium()
    driver.set_script_timeout(120)
    yield driver
    driver.quit()


def open_live(app_server, browser, url):
    browser.get(url)
    live = app_server.doc(url).select_one({"name": "live"})
    wait_for(lambda: live.status in ("ready", "error"), PYODIDE_TIMEOUT, what="Python to start")
    assert live.status == "ready", live.error
    return live


def runtime(browser, field):
    return browser.execute_script(JS_VIEW + "return live_view('live').runtime[arguments[0]]", field)


def cached(browser):
    """The page's snapshot in its origin's cache: [key, its size in bytes] or None."""
    return browser.execute_async_script(JS_VIEW + """
        const done = arguments[arguments.length - 1], key = live_view("live").runtime.snapshot_key
        caches.open("bokeh-live-snapshots").then(async (cache) => {
          const response = key == null ? null : await cache.match(key)
          return response == null ? null : [key, (await response.arrayBuffer()).byteLength]
        }).then(done, (e) => done(String(e)))
    """)


def store(browser):
    """Every snapshot in the origin's cache: {key: size}."""
    return browser.execute_async_script("""
        const done = arguments[arguments.length - 1]
        caches.open("bokeh-live-snapshots").then(async (cache) => Object.fromEntries(await Promise.all(
          (await cache.keys()).map(async (request) =>
            [request.url, (await (await cache.match(request)).arrayBuffer()).byteLength]))))
        .then(done, (e) => done(String(e)))
    """)


def wait_cached(browser):
    wait_for(lambda: cached(browser) is not None, 60, what="the snapshot to be cached")
    return cached(browser)


def put_snapshot(browser, key, size, headers=None):
    """Cache ``size`` random bytes as the snapshot under ``key``, with their SHA-256."""
    browser.execute_async_script("""
        const [key, size, more, done] = arguments
        const bytes = new Uint8Array(size)
        for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
        crypto.subtle.digest("SHA-256", bytes).then(async (digest) => {
          const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("")
          const headers = {"x-bokeh-live-sha256": hex, ...more}
          await (await caches.open("bokeh-live-snapshots")).put(key, new Response(bytes, {headers}))
        }).then(() => done(null), (e) => done(String(e)))
    """, key, size, headers or {})


def damage_snapshot(browser, key):
    """Change a few bytes of Python's memory in the cached snapshot, keeping its digest: text
    of a docstring, which a start from it would not even notice."""
    assert browser.execute_async_script("""
        const [key, done] = arguments
        caches.open("bokeh-live-snapshots").then(async (cache) => {
          const response = await cache.match(key)
          const bytes = new Uint8Array(await response.arrayBuffer())
          const text = new TextEncoder().encode("The browser half of bokeh_live")
          const at = bytes.findIndex((b, i) => b == text[0] && text.every((t, j) => bytes[i + j] == t))
          if (at < 0) return "not found"
          bytes.set(new TextEncoder().encode("THE"), at)
          await cache.put(key, new Response(bytes, {headers: response.headers}))
          return true
        }).then(done, (e) => done(String(e)))
    """, key) is True


def test_a_later_page_starts_from_the_snapshot_the_first_made(app_server, own_browser):
    url = app_server.app(lambda doc: doc.add_root(BokehLive(name="live", mode="headless", code=CODE)))
    first = open_live(app_server, own_browser, url)
    assert runtime(own_browser, "snapshot") == "fresh" and first.metrics()["from_snapshot"] == 0
    origin = f"http://127.0.0.1:{app_server.port}"  # the js module works in Python started either way
    assert run(app_server, first, "import js; str(js.self.origin)") == origin
    key, size = wait_cached(own_browser)  # made by a worker of its own, after the page was ready
    assert key == runtime(own_browser, "snapshot_key") and size > 10_000_000  # Python's whole memory

    draws = []
    for _ in range(2):
        live = open_live(app_server, own_browser, url)
        assert runtime(own_browser, "snapshot") == "loaded"
        wait_for(lambda live=live: live.metrics()["from_snapshot"] == 1, 30, what="the browser's metrics")
        # The restored Python works: the page's code ran, calls answer, the standard library
        # imports (from files, which a snapshot does not hold).
        draws.append(run(app_server, live, "first_draw"))
        assert run(app_server, live, "import fractions; str(fractions.Fraction(2, 6))") == "1/3"
        assert run(app_server, live, "import js; str(js.self.origin)") == origin
    # Every page draws its own random numbers, though all start from the same memory.
    assert draws[0] != draws[1]


def test_a_damaged_or_foreign_snapshot_is_replaced_by_a_fresh_start(app_server, own_browser):
    off = app_server.app(lambda doc: doc.add_root(BokehLive(name="live", mode="headless", snapshot=False)))
    on = app_server.app(lambda doc: doc.add_root(BokehLive(name="live", mode="headless", code=CODE)))
    open_live(app_server, own_browser, off)
    assert runtime(own_browser, "snapshot") == "off" and cached(own_browser) is None
    # Snapshots of Pyodide from four other addresses (a kernel's, restarted on new ports),
    # 30 MB each, saved at times 1 to 4.
    others = [f"http://127.0.0.1:{port}/pyodide/snapshot-0" for port in (1001, 1002, 1003, 1004)]
    for saved, key in enumerate(others, 1):
        put_snapshot(own_browser, key, 30 << 20, {"x-bokeh-live-saved": str(saved), "x-bokeh-live-bytes": str(30 << 20)})
    open_live(app_server, own_browser, on)
    key, good_size = wait_cached(own_browser)
    # The store stays within 100 MB: the oldest others went to make room for the new one.
    assert store(own_browser) == {key: good_size, others[3]: 30 << 20, others[2]: 30 << 20}
    assert good_size + (60 << 20) <= 100 << 20

    def replaced():
        return cached(own_browser) == [key, good_size]

    # Damaged: its bytes no longer match the digest kept with them.
    damage_snapshot(own_browser, key)
    live = open_live(app_server, own_browser, on)
    assert runtime(own_browser, "snapshot") == "fresh"
    assert run(app_server, live, "type(first_draw).__name__") == "float"
    wait_for(replaced, 60, what="a good snapshot in the damaged one's place")

    # Whole, but not a snapshot this Pyodide can load (another build's, say).
    put_snapshot(own_browser, key, 1 << 20)
    live = open_live(app_server, own_browser, on)
    assert runtime(own_browser, "snapshot") == "fresh"
    assert run(app_server, live, "type(first_draw).__name__") == "float"
    wait_for(replaced, 60, what="a good snapshot in the foreign one's place")
    open_live(app_server, own_browser, on)
    assert runtime(own_browser, "snapshot") == "loaded"
