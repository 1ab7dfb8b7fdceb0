"""The TypeScript unit tests (tests/ts/*.test.ts), run by Node's own test runner.

They cover the view's pure modules (values, chunks, pending requests, the update policy,
tracebacks) without a browser, with
BokehJS's real compiled modules (npm's @bokeh/bokehjs, the version the view is built
against) behind the ``@bokehjs`` imports. esbuild, which builds the editor's bundle,
bundles each test file; node comes from nodejs-bin.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
TS = ROOT / "tests" / "ts"
ESBUILD = ROOT / "bokehjs_editor" / "node_modules" / ".bin" / "esbuild"
BOKEHJS_LIB = TS / "node_modules" / "@bokeh" / "bokehjs" / "build" / "js" / "lib"


def node_tool(name: str) -> str:
    """node or npm: nodejs-bin's, beside this Python, else the system's."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} not found: install the test extra (nodejs-bin[cmd])")
    return found


def install_test_packages() -> None:
    """tests/ts's npm packages, as its lockfile has them, unless each is there already."""
    wanted = json.loads((TS / "package.json").read_text())["devDependencies"]
    if not all((TS / "node_modules" / name).exists() for name in wanted):
        subprocess.run([node_tool("npm"), "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=TS,
                       check=True, capture_output=True, timeout=300)


def bundle(files: list[Path], out: Path) -> dict[str, Path]:
    """Each file bundled for Node with everything it imports; BokehJS from npm for @bokehjs."""
    install_test_packages()
    # BokehJS's own decorators (protocol.ts's @server_event) are TypeScript's experimental ones.
    subprocess.run([str(ESBUILD), *map(str, files), "--bundle", "--platform=node", "--format=esm",
                    f"--outdir={out}", "--out-extension:.js=.mjs", f"--alias:@bokehjs={BOKEHJS_LIB}",
                    '--tsconfig-raw={"compilerOptions": {"experimentalDecorators": true}}',
                    "--log-level=warning"], check=True, timeout=120)
    return {path.stem: out / f"{path.stem}.mjs" for path in files}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    return bundle(sorted(TS.glob("*.test.ts")), tmp_path_factory.mktemp("ts"))


@pytest.mark.parametrize("name", sorted(path.stem for path in TS.glob("*.test.ts")))
def test_typescript(bundles, name):
    # Web Crypto is a global in browsers; in Node 18, behind this flag.
    result = subprocess.run([node_tool("node"), "--experimental-global-webcrypto", str(bundles[name])],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout and "# pass 0" not in result.stdout, result.stdout
