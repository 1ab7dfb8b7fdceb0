"""Many documents on one page: models of different documents never share a listener, a
namespace or a run, whatever their Bokeh ids (two processes number their models alike)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from test_standalone import StaticServer, pyodide_cdn, wait_live  # noqa: F401 - a fixture

from bokeh_live.standalone import resources_html
from harness import JS_VIEW, PYODIDE_TIMEOUT, wait_for

pytestmark = pytest.mark.browser

#: Run in a process of its own: a json_item of one BokehLive, whose Bokeh ids start where
#: every process's do.
ITEM = """
import json, sys
from bokeh.embed import json_item
from bokeh_live import BokehLive
live = BokehLive(name=sys.argv[1], mode="app", code=sys.argv[2], pyodide_url=sys.argv[3])
print(json.dumps(json_item(live, sys.argv[1])))
"""

FIRST = "x = 'first'\nprint('I am first, x =', x)"
SECOND = "import asyncio\nawait asyncio.sleep(0.3)\nprint('I am second, x =', globals().get('x', 'unset'))"


def item(name: str, code: str, pyodide_url: str) -> dict:
    out = subprocess.run([sys.executable, "-c", ITEM, name, code, pyodide_url], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return json.loads(out)


def test_two_embeds_made_by_two_processes_keep_to_themselves(page, tmp_path, pyodide_cdn):  # noqa: F811
    first, second = item("one", FIRST, pyodide_cdn), item("two", SECOND, pyodide_cdn)
    ids = [model["id"] for doc in (first["doc"], second["doc"]) for model in doc["roots"]]
    assert ids[0] == ids[1]  # the same Bokeh id in both documents
    (tmp_path / "page.html").write_text(f"""<!doctype html><html><head>{resources_html(None, "inline")}</head><body>
<div id="one"></div><div id="two"></div>
<script>
Bokeh.embed.embed_item({json.dumps(first)}, "one")
Bokeh.embed.embed_item({json.dumps(second)}, "two")
</script></body></html>""")
    site = StaticServer(tmp_path)
    try:
        page.get(site.url("page.html"))
        one, two = wait_live(page, "one"), wait_live(page, "two")
        assert (one["status"], one["stdout"]) == ("ready", "I am first, x = first\n")
        assert (two["status"], two["stdout"]) == ("ready", "I am second, x = unset\n")  # a namespace of its own
        keys = page.execute_script(JS_VIEW + "return [live_view('one').key, live_view('two').key]")
        assert keys[0] != keys[1]
    finally:
        site.stop()


APP = """
from bokeh.io import curdoc
from bokeh_live import BokehLive
curdoc().add_root(BokehLive(name={name!r}, mode="app", code={code!r}))
"""


def test_two_server_apps_of_two_processes_on_one_page_keep_to_themselves(page, tmp_path, pyodide_cdn):  # noqa: F811
    """``server_document`` of two apps, each served by a ``bokeh serve`` of its own: both
    documents number their models alike, and each model runs its own code in its own namespace."""
    from bokeh.embed import server_document

    from bokeh_live.live import PYODIDE_URL_ENV
    from harness import BokehServe

    site = StaticServer(tmp_path)
    servers = []
    try:
        for name, code in (("one", FIRST), ("two", SECOND)):
            (tmp_path / f"{name}.py").write_text(APP.format(name=name, code=code))
            servers.append(BokehServe(tmp_path / f"{name}.py", env={PYODIDE_URL_ENV: pyodide_cdn},
                                      args=("--allow-websocket-origin", f"127.0.0.1:{site.port}")))
        (tmp_path / "index.html").write_text("<!doctype html><html><body>" + "".join(
            server_document(server.url(name)) for server, name in zip(servers, ("one", "two"), strict=True))
            + "</body></html>")
        page.get(site.url("index.html"))
        one, two = wait_live(page, "one"), wait_live(page, "two")
        assert (one["status"], one["stdout"]) == ("ready", "I am first, x = first\n")
        assert (two["status"], two["stdout"]) == ("ready", "I am second, x = unset\n")
    finally:
        for server in servers:
            server.stop()
        site.stop()


def test_a_restart_starts_python_from_another_address_when_the_first_is_gone(page, tmp_path):
    """Static notebook output outlives the kernel that served its Pyodide: when the page's
    runtime restarts and that address no longer answers, it starts from the address a newer
    model on the page names."""
    from bokeh_live.standalone import PYODIDE_DIR

    gone = StaticServer(PYODIDE_DIR, cors=True, headers={"Cache-Control": "no-store"})
    kept = StaticServer(PYODIDE_DIR, cors=True)
    site = StaticServer(tmp_path)
    try:
        first, second = item("one", FIRST, gone.url()), item("two", "print('I am second')", kept.url())
        (tmp_path / "page.html").write_text(f"""<!doctype html><html><head>{resources_html(None, "inline")}</head>
<body><div id="one"></div><div id="two"></div><script>
Bokeh.embed.embed_item({json.dumps(first)}, "one")
Bokeh.embed.embed_item({json.dumps(second)}, "two")
</script></body></html>""")
        page.get(site.url("page.html"))
        assert wait_live(page, "one")["stdout"] == "I am first, x = first\n"
        assert wait_live(page, "two")["stdout"] == "I am second\n"
        runtime = JS_VIEW + "const r = live_view('one').runtime; return [r.state, r.restarts, r.index_url];"
        assert page.execute_script(runtime) == ["ready", 0, gone.url()]

        gone.stop()
        page.execute_script(JS_VIEW + "live_view('one').runtime.restart('a test asked')")
        wait_for(lambda: page.execute_script(runtime)[0] != "loading", PYODIDE_TIMEOUT, what="Python to start again")
        assert page.execute_script(runtime) == ["ready", 1, kept.url()]
        assert wait_live(page, "one") == {"status": "ready", "stdout": "I am first, x = first\n", "stderr": "",
                                          "error": ""}  # its code ran again
    finally:
        kept.stop()
        site.stop()
