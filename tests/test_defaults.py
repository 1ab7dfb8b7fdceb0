"""The model's defaults and enumerations are the same in both languages.

As Bokeh's own defaults test does, each side's values come from that side's runtime, not
from parsing source text: tests/ts/defaults.ts builds a ``BokehLive`` with the real
BokehJS under Node and reads each property's value (its ``define`` table's default); here
the same come from each property's class default. Class defaults, not those of an
instance: Python's constructor gives the editor modes their ``EditorAssets`` and takes
``pyodide_url`` and ``package_url`` from the environment. Every property ``BokehLive``
defines in either language is compared, or the test fails: none can be skipped.
"""
from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from bokeh.models import LayoutDOM
from test_typescript import TS, bundle, node_tool

from bokeh_live import BokehLive


@pytest.fixture(scope="module")
def typescript(tmp_path_factory) -> dict[str, Any]:
    script = bundle([TS / "defaults.ts"], tmp_path_factory.mktemp("defaults"))["defaults"]
    result = subprocess.run([node_tool("node"), str(script)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def python_json(value: Any, where: str) -> Any:
    """A Python default as JSON has it; anything else fails the test."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [python_json(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: python_json(item, f"{where}.{key}") for key, item in value.items()}
    pytest.fail(f"{where}: cannot compare {value!r}")


def own_properties() -> list[str]:
    return sorted(set(BokehLive.properties()) - set(LayoutDOM.properties()))


def test_defaults_match_typescript(typescript):
    assert typescript["uncomparable"] == {}
    python = {name: python_json(BokehLive.lookup(name).class_default(BokehLive), name) for name in own_properties()}
    assert sorted(typescript["defaults"]) == sorted(python)
    for name, value in python.items():
        assert typescript["defaults"][name] == value, name
    assert len(python) == len(typescript["defaults"]) >= 28


def test_enum_members_match_typescript(typescript):
    python = {name: list(BokehLive.lookup(name).property.allowed_values) for name in own_properties()
              if hasattr(BokehLive.lookup(name).property, "allowed_values")}
    assert typescript["enums"] == python
    assert sorted(python) == ["mode", "status", "theme"]
