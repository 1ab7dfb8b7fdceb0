"""Shipped modules and calls by reference without a browser: what is shipped, what is refused,
the test double a module's own tests use, and mypy checking a call. tests/test_modules.py
runs them in real browsers."""
from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
import shapes
import shapes_pkg
from conftest import SHIPPED
from shapes_pkg.area import Circle

from bokeh_live import BokehLive
from bokeh_live.browser import _modules, _runner
from bokeh_live.modules import collect, module_names
from bokeh_live.testing import Page


def test_modules_and_packages_ship_their_python_files_by_content():
    files = collect([shapes, SHIPPED / "shapes_pkg"])
    assert [f.path for f in files] == ["shapes.py", "shapes_pkg/__init__.py", "shapes_pkg/area.py"]
    assert all(len(f.sha256) == 64 and f.source for f in files)
    assert module_names(files) == ["shapes", "shapes_pkg"]
    assert [f.path for f in collect(shapes_pkg)] == ["shapes_pkg/__init__.py", "shapes_pkg/area.py"]
    live = BokehLive(modules=[shapes, str(SHIPPED / "shapes_pkg")])
    assert live.modules == ["shapes", "shapes_pkg"]
    assert [(p, source is not None) for p, _, source, _ in live.module_files] == [
        ("shapes.py", True), ("shapes_pkg/__init__.py", True), ("shapes_pkg/area.py", True)]  # inline outside a server


def test_what_cannot_be_shipped_says_why(tmp_path, monkeypatch):
    (tmp_path / "loose").mkdir()
    (tmp_path / "loose" / "a.py").write_text("x = 1\n")
    (tmp_path / "data.txt").write_text("x")
    (tmp_path / "big.py").write_text("#" * (3 * 1024 * 1024))
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\n")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "shapes.py").write_text("different = True\n")
    for items, message in [
        ([tmp_path / "loose"], "has no __init__.py"),
        ([tmp_path / "data.txt"], "is not a .py file"),
        ([tmp_path / "missing.py"], "is not a .py file"),
        ([tmp_path / "big.py"], "over the limit of 2097152 bytes"),
        ([tmp_path / "latin.py"], "not UTF-8"),
        ([shapes, tmp_path / "other" / "shapes.py"], "two different files would both be shapes.py"),
        ([sys], "has no Python source file"),
        ([Circle], "not type"),
    ]:
        with pytest.raises((ValueError, TypeError), match=message):
            collect(items)


def test_a_function_the_browser_cannot_find_is_refused_at_once():
    live = BokehLive(modules=[shapes])

    def nested(x: int) -> int:
        return x

    for fn, message in [(nested, "a nested function or lambda"), (lambda: 1, "a nested function or lambda"),
                        (shapes_pkg.area, "shapes_pkg.area is not shipped to the browser"), (len, "builtins is not shipped"),
                        (3, "takes a function of a shipped module")]:
        with pytest.raises((ValueError, TypeError), match=message):
            asyncio.run(live.run(fn))


def test_modules_install_import_and_reload_when_changed(tmp_path, monkeypatch):
    monkeypatch.setattr(_modules, "MODULES_ROOT", str(tmp_path))
    monkeypatch.setattr(_runner, "MODULES_ROOT", str(tmp_path))
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    monkeypatch.setattr(_modules, "installed", {})
    _modules.install([{"path": "tiny_mod/__init__.py", "sha256": "a", "source": "def f(x):\n    return x + 1\n",
                       "imports": ["json"]}])
    assert _modules.unscanned[-1] == "import json\n"
    assert asyncio.run(_modules.call_function("tiny_mod", "f", [1], {})) == 2
    _modules.install([{"path": "tiny_mod/__init__.py", "sha256": "b", "source": "def f(x):\n    return 1 / 0\n"}])
    with pytest.raises(ZeroDivisionError) as info:
        asyncio.run(_modules.call_function("tiny_mod", "f", [1], {}))
    text = _runner.format_exception(info.value)
    assert 'File "tiny_mod/__init__.py", line 2, in f' in text and "return 1 / 0" in text
    assert "_modules.py" not in text and str(tmp_path) not in text
    with pytest.raises(ValueError, match="bad path"):
        _modules.install([{"path": "../escape.py", "sha256": "c", "source": ""}])
    sys.modules.pop("tiny_mod", None)


def test_the_page_double_runs_a_shipped_modules_callbacks_under_cpython():
    with Page(watch={"freq": {"value": 1.0}}) as page:
        shapes.setup()
        page.change("freq", "value", 2.0)
    assert page.sent == [{"freq": 2.0}]
    [(target, props)] = page.updates
    assert target == "curve" and props["data"]["y"] == pytest.approx(shapes.wave(200, 2.0))


def test_the_page_double_answers_calls_and_records_what_the_code_did():
    import bokeh_live

    async def code() -> list:
        bokeh_live.progress(0.5, "half")
        return [await bokeh_live.call("add", 40, 2), bokeh_live.value]

    with Page(value={"k": 1}, expose={"add": lambda a, b: a + b}) as page:
        assert asyncio.run(code()) == [42, {"k": 1}]
        with pytest.raises(bokeh_live.ServerError, match="exposes no function 'nope'"):
            asyncio.run(bokeh_live.call("nope"))
    assert page.calls[0] == ("add", [40, 2], {}) and page.progress == [(0.5, "half")]
    with pytest.raises(RuntimeError, match=r"only in code run by a BokehLive"):
        bokeh_live.send(1)  # no page outside the double


def test_mypy_checks_a_call_by_reference(tmp_path):
    snippet = tmp_path / "app_snippet.py"
    snippet.write_text(textwrap.dedent("""
        from bokeh_live import BokehLive
        import shapes

        async def main(live: BokehLive) -> None:
            samples: list[float] = await live.run(shapes.wave, 100, 2.0, amplitude=3.0)
            total: float = await live.run(shapes.slow_sum, samples)
            await live.run(shapes.wave, "100")
            await live.run(shapes.wave, 100, amplitud=3.0)
            wrong: str = await live.run(shapes.slow_sum, samples)
    """))
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
                            capture_output=True, text=True, cwd=tmp_path, env={"MYPYPATH": str(SHIPPED),
                                                                               "PATH": "/usr/bin:/bin"})
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert {line.split(":")[1] for line in errors} == {"8", "9", "10"}, result.stdout  # the right calls pass
    assert any('"str"' in line for line in errors if line.split(":")[1] == "8"), result.stdout
    assert any('Unexpected keyword argument "amplitud"' in line for line in errors), result.stdout
