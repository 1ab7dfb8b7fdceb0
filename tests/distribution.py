"""A Pyodide distribution made for the tests: the core bokeh_live ships, plus pure-Python
wheels added to a copy of its ``pyodide-lock.json`` with their sha256, served over HTTP with
CORS. No registry reachable here has Pyodide's own wheels (numpy...), so these stand in for
them: Pyodide loads and checks them exactly as it would numpy from the public distribution.

- ``demo-alpha`` (``import demo_alpha``; ``VALUE = 21``);
- ``demo-beta``, which depends on ``demo-alpha`` (``DOUBLE = 2 * VALUE``);
- ``micropip``, the real wheel from PyPI (it vendors what it needs), so that micropip comes
  from the distribution as a lockfile package;
- ``demo-gamma``, not in the lockfile: a wheel on a local package index (PEP 503 simple
  pages), for micropip to install as a PyPI requirement; it depends on ``demo-alpha``, which
  micropip takes from the lockfile.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import shutil
import subprocess
import sys
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from bokeh_live.standalone import PYODIDE_DIR

#: The real micropip from PyPI, the release Pyodide 314 ships. It needs Python 3.13+, which
#: Pyodide has whatever Python runs the tests, hence ``--python-version`` when downloading.
PYPI_WHEELS = ["micropip==0.11.1"]


def wheel(name: str, version: str, files: dict[str, str], requires: tuple[str, ...] = ()) -> tuple[str, bytes]:
    """A pure-Python wheel: its file name and bytes."""
    dist = name.replace("-", "_")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
        meta = [f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", *[f"Requires-Dist: {r}\n" for r in requires]]
        z.writestr(f"{dist}-{version}.dist-info/METADATA", "".join(meta))
        z.writestr(f"{dist}-{version}.dist-info/WHEEL",
                   "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{dist}-{version}.dist-info/RECORD", "")
    return f"{dist}-{version}-py3-none-any.whl", buffer.getvalue()


def entry(key: str, file_name: str, data: bytes, imports: list[str], depends: list[str]) -> dict[str, object]:
    return {"name": key, "version": file_name.split("-")[1], "file_name": file_name, "install_dir": "site",
            "package_type": "package", "imports": imports, "depends": depends, "unvendored_tests": False,
            "sha256": hashlib.sha256(data).hexdigest(), "tool": {}}


def pypi_wheels(cache: Path) -> list[Path]:
    """The real micropip wheel, downloaded once into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = [cache / f"{spec.replace('==', '-')}-py3-none-any.whl" for spec in PYPI_WHEELS]
    if not all(path.exists() for path in wanted):
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--python-version", "3.13", "-d", str(cache), *PYPI_WHEELS], check=True, capture_output=True)
    return wanted


def make(root: Path, cache: Path) -> Path:
    """Write the distribution into ``root`` (the core, the wheels, the lockfile); the package
    index into ``root / "index"``."""
    shutil.copytree(PYODIDE_DIR, root, dirs_exist_ok=True)
    lock = json.loads((PYODIDE_DIR / "pyodide-lock.json").read_text())
    alpha = wheel("demo-alpha", "1.0", {"demo_alpha/__init__.py": "VALUE = 21\n"})
    beta = wheel("demo-beta", "1.0", {"demo_beta/__init__.py": "from demo_alpha import VALUE\nDOUBLE = 2 * VALUE\n"},
                 requires=("demo-alpha",))
    for name, data in (alpha, beta):
        (root / name).write_bytes(data)
    lock["packages"]["demo-alpha"] = entry("demo-alpha", alpha[0], alpha[1], ["demo_alpha"], [])
    lock["packages"]["demo-beta"] = entry("demo-beta", beta[0], beta[1], ["demo_beta"], ["demo-alpha"])
    for path in pypi_wheels(cache):
        data = path.read_bytes()
        key = path.name.split("-")[0].lower()
        shutil.copyfile(path, root / path.name)
        lock["packages"][key] = entry(key, path.name, data, [key], [])
    (root / "pyodide-lock.json").write_text(json.dumps(lock))
    gamma_name, gamma = wheel("demo-gamma", "2.0", {"demo_gamma/__init__.py": (
        "from demo_alpha import VALUE\nGREETING = f'hello from an index, {VALUE}'\n")}, requires=("demo-alpha",))
    page = root / "index" / "simple" / "demo-gamma"
    page.mkdir(parents=True)
    (page / gamma_name).write_bytes(gamma)
    digest = hashlib.sha256(gamma).hexdigest()
    (page / "index.html").write_text(f'<!DOCTYPE html><html><body><a href="{gamma_name}#sha256={digest}">'
                                     f"{gamma_name}</a></body></html>")
    return root


class StaticServer:
    """``http.server`` on 127.0.0.1 in a thread, serving ``root`` with CORS (as public CDNs do)."""

    def __init__(self, root: Path) -> None:
        class Handler(SimpleHTTPRequestHandler):
            extensions_map: ClassVar[dict[str, str]] = {
                **SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript", ".wasm": "application/wasm"}

            def end_headers(self) -> None:
                self.send_header("Access-Control-Allow-Origin", "*")
                super().end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
