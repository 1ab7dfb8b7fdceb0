"""Plain ``bokeh serve --num-procs N app.py``, with no launcher and no app hook: every process
serves bokeh_live's files from its first request (``_bokeh_live_static.py``, which the
package's ``bokeh_live_static.pth`` imports when Python starts)."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from test_deployment import APP, FILES, status

from harness import PYODIDE_TIMEOUT, BokehServe, wait_for


def test_the_hook_is_installed_and_registers_what_bokeh_live_itself_does():
    site = Path(sysconfig.get_paths()["purelib"])
    assert (site / "bokeh_live_static.pth").read_text().strip() == "import _bokeh_live_static"
    # A fresh Python that imports Bokeh's server, and not bokeh_live, knows bokeh_live's folders.
    code = ("import sys, bokeh.server.server, bokeh.embed.bundle as b;"
            "assert 'bokeh_live' not in sys.modules; print(repr({k: str(v) for k, v in b.extension_dirs.items()}))")
    found = eval(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    from bokeh.embed.bundle import extension_dirs

    import bokeh_live  # noqa: F401  (registers them itself)
    from bokeh_live import modules
    assert found == {k: str(v) for k, v in extension_dirs.items() if k in found}
    assert set(found) == {"bokeh_live", "bokeh_live_editor", modules.EXTENSION}
    assert found[modules.EXTENSION] == str(modules.FOLDER)


@pytest.mark.browser
def test_plain_bokeh_serve_with_two_processes_serves_every_file_from_the_first_request(page, tmp_path):
    (tmp_path / "app.py").write_text(APP)
    server = BokehServe(tmp_path / "app.py", args=("--num-procs", "2"))  # `bokeh serve`, nothing else
    try:
        # Before any page: each request may reach either process, neither has run the app.
        codes = [status(server, f"static/extensions/bokeh_live/{name}")[0] for _ in range(6) for name in FILES]
        assert codes == [200] * len(codes)
        for _ in range(4):  # pages whose requests land on either process all start
            page.get(server.url("app"))
            wait_for(lambda: page.execute_script(
                "const d = window.Bokeh && Bokeh.documents[0]; const m = d && d.get_model_by_name('live');"
                "return m && m.status == 'ready' && m.stdout"), PYODIDE_TIMEOUT, what="the page to be ready")
    finally:
        server.stop()
