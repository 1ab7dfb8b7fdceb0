"""A real JupyterLab (4, from PyPI, no jupyter_bokeh) in the suite's Chromium, driven as a
user drives it: notebooks opened side by side from a workspace, "Run > Run All Cells",
"Kernel > Restart Kernel and Run All Cells..." with its confirmation, the output's own
editor, Run and Stop buttons.

No notebook needs ``jupyter trust``: JupyterLab trusts the outputs of the cells it runs
itself (``CodeCell.execute`` marks the cell trusted), and its javascript-extension runs
trusted ``application/javascript`` outputs, which is what ``output_notebook()`` and
``show()`` display. Only outputs read back from a file are untrusted (a notebook saved
elsewhere and opened here shows a "Run" button instead of running its JavaScript).

The timings this prints (-s) are for the record, never asserted on.
"""
from __future__ import annotations

import contextlib
import http.cookiejar
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import pytest

from harness import OUTPUT, PYODIDE_TIMEOUT, free_port, listening, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.xfail(strict=False, reason=(
    "in two of three fresh-clone CI runs JupyterLab's splash screen stayed over the page (the "
    "notebooks' kernels were connected); passes in a used checkout; cause not found yet"))]

#: Runs in each notebook first, as docs/embedding.md says for machines without internet.
SETUP = """import bokeh_live  # before output_notebook(): its bundles go into the notebook
from bokeh.io import output_notebook, show
from bokeh.resources import INLINE
output_notebook(INLINE)  # BokehJS inline, not from Bokeh's CDN
bokeh_live.serve_pyodide()  # Pyodide from the kernel, not from the CDN"""

FIRST = "x = 'first'\nprint('I am first, x =', x)"
SECOND = "print('I am second, x =', globals().get('x', 'unset'))"
EDITOR = "print('editor ready')"
SPIN = "while True: print('spinning'); __import__('time').sleep(0.2)"
#: Prints its kernel's process id from the page's Python: each restart's output says which.
BY_KERNEL = """import os
show(bokeh_live.BokehLive(name='live', mode='app', code=f"print('the page runs for kernel', {os.getpid()})"))"""

#: Rounds of reload, Restart Kernel and Run All in the snapshot test: 4 keep it near 35 s here,
#: 10 (for the record) took 65 s.
LAB_ROUNDS = int(os.environ.get("BOKEH_LIVE_TEST_LAB_ROUNDS", "3"))

#: A Bokeh server app shown from the kernel (show(app, notebook_url=...)); the next cell
#: asks the page's Python through it and shows the answer in the app and in the cell.
APP = """from bokeh.models import Div
from bokeh_live import BokehLive

def app(doc):
    global served, answer_div
    served = BokehLive(name="served", mode="app", code="import sys\\nwhere = sys.platform\\nprint('the app runs')")
    answer_div = Div(name="answer", text="waiting for the kernel")
    doc.add_root(served)
    doc.add_root(answer_div)

show(app, notebook_url={origin!r})"""

ASK = """import asyncio, time
deadline = time.monotonic() + {timeout}
while "served" not in globals():  # the app's session starts when the page loads it
    assert time.monotonic() < deadline, "the page never loaded the app"
    await asyncio.sleep(0.05)
answer = await served.run_python("f'{{where}} {{6 * 7}}'", timeout={timeout})
served.document.add_next_tick_callback(lambda: setattr(answer_div, "text", f"the kernel heard: {{answer}}"))
print("the browser answered:", answer)"""

#: The notebook panels and the BokehLive views shown in them, from the page's DOM.
JS_LAB = """
function panel(name) {
  const tab = [...document.querySelectorAll('.lm-DockPanel-tabBar .lm-TabBar-tab')]
    .find((tab) => tab.querySelector('.lm-TabBar-tabLabel')?.textContent == name);
  return tab ? document.getElementById(tab.dataset.id) : null;
}
function all_views(name) {
  const found = [];
  if (typeof Bokeh == 'undefined') return found;
  const stack = [...Bokeh.index];
  while (stack.length) {
    const view = stack.pop();
    if (view.model && view.model.name == name) found.push(view);
    stack.push(...(view.child_views ?? []));
  }
  return found;
}
/* The view of the model called `name` shown in notebook `notebook` now (a cleared output's
   view stays in Bokeh.index, detached: JupyterLab does not tell Bokeh). */
function shown(name, notebook) {
  const where = panel(notebook);
  return all_views(name).find((view) => view.el.isConnected && where?.contains(view.el)) ?? null;
}
"""


#: Every entry of the origin's Cache Storage (where worker.ts keeps Python's memory snapshots),
#: with its body's size and the size bokeh_live wrote beside it; a text if it cannot be read.
JS_CACHE_STORAGE = """
const done = arguments[arguments.length - 1];
(async () => {
  const entries = [];
  for (const name of await caches.keys()) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      entries.push({cache: name, url: request.url, bytes: (await response.blob()).size,
                    header: response.headers.get('x-bokeh-live-bytes')});
    }
  }
  return entries;
})().then(done, (error) => done(String(error)));
"""


class JupyterLab:
    """``jupyter lab`` in a subprocess: headless, no token, on a free port, its root, settings,
    workspaces, runtime files and kernels' IPython profile in ``home``."""

    def __init__(self, home: Path) -> None:
        self.root = home / "notebooks"
        self.state = home / "state"
        self.root.mkdir()
        settings = self.state / "settings"
        for plugin, values in (
            # no "Would you like to get notified about official Jupyter news?" toast
            ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False}),
            # the notebooks on disk stay as the test wrote them
            ("docmanager-extension/plugin", {"autosave": False}),
        ):
            path = settings / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {key: value for key, value in os.environ.items() if not key.startswith("BOKEH_LIVE_")}
        env.update(JUPYTER_CONFIG_DIR=str(self.state / "config"), JUPYTER_DATA_DIR=str(self.state / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.state / "runtime"), IPYTHONDIR=str(self.state / "ipython"),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(self.state / "workspaces"))
        self.log_path = self.state / "jupyterlab.log"
        self.log = self.log_path.open("w")
        # The kernels are the native "python3" of the server's own Python: this venv's.
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
               f"--port={self.port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", f"--ServerApp.root_dir={self.root}",
               f"--LabApp.workspaces_dir={self.state / 'workspaces'}", f"--LabApp.user_settings_dir={settings}",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=self.root,
                                     start_new_session=True)
        try:
            wait_for(lambda: listening(self.proc, self.port, lambda: f"jupyter lab exited:\n{self.output()}"), 120,
                     what="JupyterLab to listen")
            # A token-less server still checks the XSRF cookie on the REST API's writes.
            self.cookies = http.cookiejar.CookieJar()
            self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
            wait_for(lambda: self._get_page("/lab"), 60, what="JupyterLab to serve its page")
            self.xsrf = next(cookie.value for cookie in self.cookies if cookie.name == "_xsrf")
        except BaseException:
            self.stop()
            raise

    def _get_page(self, path: str) -> bool:
        try:
            with self.opener.open(self.base + path, timeout=30) as response:
                response.read()
                return response.status == 200
        except OSError:
            return False

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def api(self, method: str, path: str, body: Any = None) -> Any:
        request = urllib.request.Request(self.url(path), method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json", "X-XSRFToken": self.xsrf})
        with self.opener.open(request, timeout=60) as response:
            data = response.read()
        return json.loads(data) if data else None

    def notebook(self, name: str, *cells: str) -> None:
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)",
                                           "language": "python"}
        nbformat.write(notebook, self.root / name)

    def workspace(self, name: str, *notebooks: str) -> str:
        """A workspace showing ``notebooks`` side by side, and nothing else; its page's URL."""
        areas = [{"type": "tab-area", "currentIndex": 0, "widgets": [f"notebook:{path}"]} for path in notebooks]
        dock = areas[0] if len(areas) == 1 else {
            "type": "split-area", "orientation": "horizontal", "sizes": [1 / len(areas)] * len(areas),
            "children": areas}
        self.api("PUT", f"lab/api/workspaces/{name}", {"metadata": {"id": name}, "data": {
            "layout-restorer:data": {"main": {"dock": dock, "current": f"notebook:{notebooks[0]}"},
                                     "left": {"collapsed": True, "widgets": []},
                                     "right": {"collapsed": True, "widgets": []}},
            **{f"notebook:{path}": {"data": {"path": path, "factory": "Notebook"}} for path in notebooks}}})
        return self.url(f"lab/workspaces/{name}")

    def sessions(self, *paths: str) -> list[dict]:
        return [s for s in self.api("GET", "api/sessions") if not paths or s["path"] in paths]

    def kernels_connected(self, *paths: str) -> bool:
        """Each notebook has a kernel, idle, with the page connected to it (so Run All runs)."""
        found = {s["path"]: s["kernel"] for s in self.sessions(*paths)}
        return all(path in found and found[path]["execution_state"] == "idle" and found[path]["connections"] >= 1
                   for path in paths)

    def shut_down(self, *paths: str) -> None:
        """End the sessions (and kernels) of ``paths``, all when none is named."""
        for session in self.sessions(*paths):
            with contextlib.suppress(OSError):
                self.api("DELETE", f"api/sessions/{session['id']}")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_text()

    def _kernel_pids(self) -> list[int]:
        """Kernels this server started: their command line names its runtime directory."""
        marker = str(self.state / "runtime")
        pids = []
        for proc in Path("/proc").iterdir():
            if proc.name.isdigit():
                with contextlib.suppress(OSError):
                    if marker in (proc / "cmdline").read_bytes().decode(errors="replace"):
                        pids.append(int(proc.name))
        return pids

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self.shut_down()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # the server shuts its kernels down too
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for pid in self._kernel_pids():  # kernels run in sessions of their own
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture(scope="module")
def lab():
    home = Path(tempfile.mkdtemp(prefix="bokeh-live-jupyterlab-"))
    server = JupyterLab(home)
    try:
        yield server
    finally:
        server.stop()
        print(f"--- JupyterLab's log (last 4000 characters)\n{server.output()[-4000:]}")
        shutil.rmtree(home, ignore_errors=True)


# --- driving the page ------------------------------------------------------------------------


def splash_gone(page: Any) -> None:
    """JupyterLab covers the page with its splash (the Jupyter logo) until it has started,
    which can be after the notebooks' kernels are connected: clicks would land on it."""
    wait_for(lambda: page.execute_script("return document.getElementById('jupyterlab-splash') == null"), 45,
             what="JupyterLab's splash screen to go")


def click_when_free(page: Any, xpath: str, what: str) -> None:
    """Click ``xpath``'s element once nothing covers it (a splash, a closing dialog)."""
    from selenium.common.exceptions import ElementClickInterceptedException
    from selenium.webdriver.common.by import By

    def click() -> bool:
        try:
            page.find_element(By.XPATH, xpath).click()
            return True
        except ElementClickInterceptedException:
            return False
    wait_for(click, 60, what=what)


def click_menu(page: Any, *labels: str) -> None:
    """Open the main menu ``labels[0]`` and click its items down the path, as a user does."""
    from selenium.webdriver.common.by import By

    splash_gone(page)
    click_when_free(page, f"//div[@id='jp-MainMenu']//div[contains(@class, 'lm-MenuBar-itemLabel')]"
                          f"[text()='{labels[0]}']", f"the menu {labels[0]!r} to take a click")
    for label in labels[1:]:
        def item(label: str = label) -> Any:
            for element in page.find_elements(By.CSS_SELECTOR, ".lm-Menu .lm-Menu-item:not(.lm-mod-disabled)"):
                text = element.find_element(By.CSS_SELECTOR, ".lm-Menu-itemLabel").text
                if text.rstrip("…").rstrip(".") == label and element.is_displayed():
                    return element
            return None
        wait_for(item, 10, what=f"the menu item {label!r}").click()


def activate(page: Any, notebook: str) -> None:
    """Click the notebook's tab: menus then act on it."""

    splash_gone(page)
    click_when_free(page, "//li[contains(@class, 'lm-TabBar-tab')][.//div[contains(@class, 'lm-TabBar-tabLabel')]"
                          f"[text()='{notebook}']]", f"{notebook}'s tab to take a click")
    wait_for(lambda: page.execute_script(
        "return document.querySelector('.lm-TabBar-tab.jp-mod-current .lm-TabBar-tabLabel')?.textContent")
        == notebook, 10, what=f"{notebook} to be the current widget")


def run_all(page: Any, notebook: str) -> float:
    activate(page, notebook)
    click_menu(page, "Run", "Run All Cells")
    return time.monotonic()


def restart_and_run_all(page: Any, notebook: str) -> float:
    from selenium.webdriver.common.by import By

    activate(page, notebook)
    click_menu(page, "Kernel", "Restart Kernel and Run All Cells")
    button = wait_for(lambda: page.find_elements(By.CSS_SELECTOR, ".jp-Dialog .jp-Dialog-button.jp-mod-accept"), 10,
                      what="the restart's confirmation")[0]
    assert button.text == "Restart"
    button.click()
    return time.monotonic()


def outputs_text(page: Any, notebook: str) -> str:
    """The notebook's outputs as a user reads them (WebDriver's visible text, shadow roots included)."""
    from selenium.webdriver.common.by import By

    where = page.execute_script(JS_LAB + "return panel(arguments[0])", notebook)
    return "\n".join(output.text for output in where.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output"))


def view_state(page: Any, name: str, notebook: str) -> dict | None:
    return page.execute_script(JS_LAB + """
        const view = shown(arguments[0], arguments[1]);
        if (view == null) return null;
        const {status, stdout, error, code} = view.model;
        const runtime = view.runtime;
        return {key: view.key, id: view.model.id, status, stdout, error, code,
                runtime: {state: runtime.state, restarts: runtime.restarts, snapshot: runtime.snapshot,
                          start_ms: runtime.start_ms, index_url: runtime.index_url}};""", name, notebook)


def wait_shown(page: Any, name: str, notebook: str, text: str, *, not_keys: tuple[str, ...] = (),
               timeout: float = PYODIDE_TIMEOUT) -> dict:
    """Wait until the model ``name``, in a view none of ``not_keys``, has printed ``text`` and
    the notebook shows it; return its state."""
    def done() -> dict | None:
        state = view_state(page, name, notebook)
        if state and state["key"] not in not_keys and text in state["stdout"] and text in outputs_text(page, notebook):
            return state
        return None
    return wait_for(done, timeout, what=f"{name!r} in {notebook} to show {text!r}")


def editor_element(page: Any, name: str, notebook: str, selector: str) -> Any:
    return page.execute_script(JS_LAB + "return shown(arguments[0], arguments[1]).shadow_el.querySelector(arguments[2])",
                               name, notebook, selector)


def replace_code(page: Any, name: str, notebook: str, code: str) -> None:
    """Select all in the output's code editor and type ``code`` (one line: no autoindent)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    wait_for(lambda: page.execute_script(JS_LAB + "return shown(arguments[0], arguments[1])?.ui.editor?.rich",
                                         name, notebook), 30, what="CodeMirror in the output")
    editor_element(page, name, notebook, ".cm-content").click()
    # Keys go to the focused element: WebDriver's element send_keys would move the caret to
    # the end, as the editor sits in a shadow root it does not see as focused.
    ActionChains(page).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(code).perform()
    typed = page.execute_script(JS_LAB + "return shown(arguments[0], arguments[1]).ui.editor.code", name, notebook)
    assert typed == code


def click_button(page: Any, name: str, notebook: str, selector: str) -> None:
    button = wait_for(lambda: (b := editor_element(page, name, notebook, selector)) and b.is_displayed() and b, 30,
                      what=f"the output's {selector} button")
    button.click()


def screenshot(page: Any, name: str) -> None:
    OUTPUT.mkdir(exist_ok=True)
    page.save_screenshot(str(OUTPUT / f"jupyterlab-{name}.png"))


def leave(page: Any) -> None:
    """Leave JupyterLab's page, past its "unsaved changes" prompt if Chromium shows one."""
    from selenium.common.exceptions import NoAlertPresentException, UnexpectedAlertPresentException

    try:
        page.get("about:blank")
    except UnexpectedAlertPresentException:
        with contextlib.suppress(NoAlertPresentException):
            page.switch_to.alert.accept()
        page.get("about:blank")


def cache_storage(page: Any) -> list[dict]:
    entries = page.execute_async_script(JS_CACHE_STORAGE)
    assert isinstance(entries, list), f"the page's Cache Storage could not be read: {entries}"
    return entries


def clear_cache_storage(page: Any) -> None:
    page.execute_async_script("""const done = arguments[arguments.length - 1];
        caches.keys().then((names) => Promise.all(names.map((name) => caches.delete(name)))).then(done, done);""")
    assert cache_storage(page) == []


def reload(page: Any) -> None:
    """Reload the page, past its "unsaved changes" prompt if Chromium shows one (as ``leave``)."""
    from selenium.common.exceptions import NoAlertPresentException, UnexpectedAlertPresentException

    try:
        page.refresh()
    except UnexpectedAlertPresentException:
        with contextlib.suppress(NoAlertPresentException):
            page.switch_to.alert.accept()
        page.refresh()


def report(name: str, timings: dict[str, Any]) -> None:
    print(f"--- JupyterLab timings ({name}):", json.dumps(timings, indent=2))
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"jupyterlab-timings-{name}.json").write_text(json.dumps(timings, indent=2))


# --- the tests -----------------------------------------------------------------------------


def test_two_notebooks_in_one_tab_a_kernel_restart_and_a_stop(page, lab):
    """Two notebooks side by side, each showing a BokehLive of the same Bokeh id (each kernel
    numbers its models alike): each runs its own code in its own namespace. Then a kernel
    restart with Run All, and the output's Stop after it: the next runs work."""
    lab.notebook("a.ipynb", SETUP, f"show(bokeh_live.BokehLive(name='one', mode='app', code={FIRST!r}))",
                 f"show(bokeh_live.BokehLive(name='ed', mode='editor', code={EDITOR!r}, height=200))")
    lab.notebook("b.ipynb", SETUP, f"show(bokeh_live.BokehLive(name='two', mode='app', code={SECOND!r}))")
    timings: dict[str, Any] = {}
    try:
        started = time.monotonic()
        page.get(lab.workspace("pair", "a.ipynb", "b.ipynb"))
        wait_for(lambda: lab.kernels_connected("a.ipynb", "b.ipynb"), 120, what="both notebooks' kernels")
        timings["page and kernels ready (s)"] = round(time.monotonic() - started, 2)

        # 1. Both notebooks run, side by side in the one page.
        clicked = run_all(page, "a.ipynb")
        one = wait_shown(page, "one", "a.ipynb", "I am first, x = first")
        timings["first Run All to output ready (s)"] = round(time.monotonic() - clicked, 2)
        timings["first Pyodide start"] = {k: one["runtime"][k] for k in ("snapshot", "start_ms")}
        wait_shown(page, "ed", "a.ipynb", "editor ready")
        clicked = run_all(page, "b.ipynb")
        two = wait_shown(page, "two", "b.ipynb", "I am second, x = unset")  # not the first's namespace
        timings["second notebook's Run All to output ready (s)"] = round(time.monotonic() - clicked, 2)
        assert one["id"] == two["id"], "the two kernels were expected to number their models alike"
        assert one["key"] != two["key"]
        assert (one["status"], one["stdout"]) == ("ready", "I am first, x = first\n")
        assert (two["status"], two["stdout"]) == ("ready", "I am second, x = unset\n")
        assert "I am second" not in outputs_text(page, "a.ipynb")
        assert "I am first" not in outputs_text(page, "b.ipynb")
        screenshot(page, "two-notebooks")

        # 2. A's kernel restarts and runs all again: a new output, which works. The page's
        # Python outlives the kernel: it is not started again.
        old_keys = (one["key"], view_state(page, "ed", "a.ipynb")["key"])
        clicked = restart_and_run_all(page, "a.ipynb")
        again = wait_shown(page, "one", "a.ipynb", "I am first, x = first", not_keys=old_keys)
        timings["Restart Kernel and Run All to output ready (s)"] = round(time.monotonic() - clicked, 2)
        timings["Pyodide restarts after the kernel restart"] = again["runtime"]["restarts"]
        assert again["stdout"] == "I am first, x = first\n"
        assert "I am second, x = unset" in outputs_text(page, "b.ipynb")  # untouched

        # 3. The restarted kernel's editor runs code that never ends; its Stop (the page is not
        # cross-origin isolated: no interrupt) restarts the page's Python, and runs work again.
        wait_shown(page, "ed", "a.ipynb", "editor ready", not_keys=old_keys)
        replace_code(page, "ed", "a.ipynb", SPIN)
        click_button(page, "ed", "a.ipynb", ".bl-run")
        wait_for(lambda: (s := view_state(page, "ed", "a.ipynb")) and s["status"] == "running"
                 and "spinning" in s["stdout"] and "spinning" in outputs_text(page, "a.ipynb"), 60,
                 what="the endless code to print")
        restarts = view_state(page, "ed", "a.ipynb")["runtime"]["restarts"]
        click_button(page, "ed", "a.ipynb", ".bl-stop")
        clicked = time.monotonic()
        stopped = wait_for(lambda: (s := view_state(page, "ed", "a.ipynb"))
                           and s["runtime"]["restarts"] == restarts + 1 and s["runtime"]["state"] == "ready" and s,
                           PYODIDE_TIMEOUT, what="the page's Python to start again after Stop")
        timings["Stop to Python ready again (s)"] = round(time.monotonic() - clicked, 2)
        timings["Pyodide start after Stop"] = {k: stopped["runtime"][k] for k in ("snapshot", "start_ms")}
        wait_for(lambda: "stopped from the page" in outputs_text(page, "a.ipynb"), 30, what="the Stop to be shown")
        replace_code(page, "ed", "a.ipynb", "print('after stop')")
        click_button(page, "ed", "a.ipynb", ".bl-run")
        after = wait_shown(page, "ed", "a.ipynb", "after stop", timeout=60)
        assert (after["status"], after["stdout"]) == ("ready", "after stop\n")
        # After the restart the other outputs are ready and show what they printed, each from
        # its own namespace still.
        for name, notebook, text in (("one", "a.ipynb", "I am first, x = first\n"),
                                     ("two", "b.ipynb", "I am second, x = unset\n")):
            state = wait_for(lambda name=name, notebook=notebook: (s := view_state(page, name, notebook))
                             and s["status"] == "ready" and s, 60, what=f"{name} after the restart")
            assert state["stdout"] == text
            assert text.strip() in outputs_text(page, notebook)
        # Cleared outputs' views are not removed (JupyterLab does not tell Bokeh): for the record.
        timings["views in Bokeh.index / shown / listening to the runtime"] = page.execute_script(JS_LAB + """
            const views = ['one', 'ed', 'two'].flatMap((name) => all_views(name));
            return [views.length, views.filter((view) => view.el.isConnected).length,
                    shown('one', 'a.ipynb').runtime.listeners?.size ?? null];""")
        screenshot(page, "after-stop")
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(page, "failure-two-notebooks")
        raise
    finally:
        report("two-notebooks", timings)
        leave(page)
        lab.shut_down("a.ipynb", "b.ipynb")


def test_a_server_app_shown_with_notebook_url_answers_its_kernel(page, lab):
    """``show(app, notebook_url=<JupyterLab>)``: the kernel's Bokeh server app runs in the
    JupyterLab page, and a later cell awaits ``run_python`` there and shows the answer."""
    lab.notebook("c.ipynb", SETUP.rsplit("\n", 1)[0],  # no serve_pyodide(): a server app brings its Pyodide
                 APP.format(origin=lab.base), ASK.format(timeout=PYODIDE_TIMEOUT))
    timings: dict[str, Any] = {}
    try:
        page.get(lab.workspace("app", "c.ipynb"))
        wait_for(lambda: lab.kernels_connected("c.ipynb"), 120, what="the notebook's kernel")
        clicked = run_all(page, "c.ipynb")
        wait_for(lambda: "the browser answered: emscripten 42" in outputs_text(page, "c.ipynb"), PYODIDE_TIMEOUT,
                 what="the kernel to print the browser's answer")
        timings["server app: Run All to the kernel's answer (s)"] = round(time.monotonic() - clicked, 2)
        wait_for(lambda: "the kernel heard: emscripten 42" in outputs_text(page, "c.ipynb"), 30,
                 what="the app's Div to show the answer")
        served = view_state(page, "served", "c.ipynb")
        assert (served["status"], served["stdout"]) == ("ready", "the app runs\n")
        timings["server app's Pyodide start"] = {k: served["runtime"][k] for k in ("snapshot", "start_ms")}
        # Pyodide from the kernel's Bokeh server, not from JupyterLab's origin or a CDN.
        index_url = served["runtime"]["index_url"]
        assert index_url.startswith("http://127.0.0.1:") and index_url.endswith("/static/extensions/bokeh_live/pyodide/")
        assert not index_url.startswith(lab.base)
        screenshot(page, "server-app")
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(page, "failure-server-app")
        raise
    finally:
        report("server-app", timings)
        leave(page)
        lab.shut_down("c.ipynb")


def test_restarts_and_reloads_reuse_one_snapshot(page, lab):
    """A day's work on one notebook: reload the page, Restart Kernel and Run All, again and
    again. Each kernel serves Pyodide at the same address (``serve_pyodide``'s stable port),
    so each reloaded page's Python starts from the one memory snapshot the first start left in
    the origin's Cache Storage: not a new ~30 MB snapshot per restart.

    The output is run again after each reload: a Bokeh output saved in a notebook does not
    render when JupyterLab reopens it without jupyter_bokeh (its script runs before its div is
    in the page: "could not find #... HTML tag"), so the notebook is never saved here."""
    from bokeh_live.serve import stable_port

    lab.notebook("day.ipynb", SETUP, BY_KERNEL)
    prefix = "the page runs for kernel"
    address = f"http://127.0.0.1:{stable_port()}/pyodide/"
    timings: dict[str, Any] = {"rounds": []}
    try:
        # Earlier tests in this origin may have left a snapshot of the same address: start as
        # on a first visit.
        page.get(lab.url("api"))
        timings["Cache Storage entries before the test"] = len(cache_storage(page))
        clear_cache_storage(page)
        texts, index_urls = [], []
        for number in range(1, LAB_ROUNDS + 1):
            loaded = time.monotonic()
            if number == 1:
                page.get(lab.workspace("day", "day.ipynb"))
            else:
                reload(page)
            wait_for(lambda: lab.kernels_connected("day.ipynb"), 120, what="the notebook's kernel")
            clicked = restart_and_run_all(page, "day.ipynb")
            shown = wait_shown(page, "live", "day.ipynb", prefix)
            ready = time.monotonic()
            runtime = shown["runtime"]
            text = shown["stdout"].strip()
            assert text.startswith(prefix) and text not in texts, f"not a new kernel's output: {text!r}"
            texts.append(text)
            assert (shown["status"], shown["stdout"]) == ("ready", f"{text}\n")
            assert runtime["state"] == "ready" and runtime["restarts"] == 0, runtime
            index_urls.append(runtime["index_url"])
            if number == 1:
                # Python starts afresh (nothing cached), then a worker of its own makes the
                # snapshot in the background: a user spends these seconds reading the output.
                wait_for(lambda: cache_storage(page), PYODIDE_TIMEOUT, interval=0.5, what="the snapshot to be cached")
                timings["snapshot cached, after the first output was ready (s)"] = round(time.monotonic() - ready, 2)
            timings["rounds"].append({
                "round": number,
                "reload, Restart and Run All to output ready (s)": round(ready - loaded, 2),
                "Restart and Run All to output ready (s)": round(ready - clicked, 2),
                "snapshot": runtime["snapshot"], "start_ms": round(runtime["start_ms"]),
                "store entries": len(cache_storage(page))})

        store = cache_storage(page)
        timings["index_url"] = index_urls[0]
        timings["store at the end"] = {"entries": len(store), "MB": round(sum(e["bytes"] for e in store) / 2**20, 1)}
        # The same address in every round, the one serve_pyodide() names by the versions (if
        # not, another process held that port and the kernel served on a free one).
        assert index_urls == [address] * LAB_ROUNDS, index_urls
        # The first start made the snapshot; every page after it started from it (a bundle
        # rebuilt while the test runs is another key, and starts afresh once) ...
        starts = [r["snapshot"] for r in timings["rounds"]]
        assert starts == ["fresh"] + ["loaded"] * (LAB_ROUNDS - 1), timings["rounds"]
        # ... and the store holds that one snapshot, of this address, not one per restart.
        assert [(e["cache"], e["url"].startswith(f"{address}bokeh-live-snapshot/")) for e in store] == [
            ("bokeh-live-snapshots", True)], store
        assert store[0]["header"] == str(store[0]["bytes"])
        screenshot(page, "restarts-and-reloads")
    except BaseException:
        with contextlib.suppress(Exception):
            screenshot(page, "failure-restarts-and-reloads")
        raise
    finally:
        report("restarts-and-reloads", timings)
        leave(page)
        lab.shut_down("day.ipynb")
