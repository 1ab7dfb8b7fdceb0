"""The modules a model ships (``bokeh_live/modules.py``), installed in the browser's Python.

Files are written below ``MODULES_ROOT``, which is first on ``sys.path``, so that they import
by their names and tracebacks name their files and lines. A file whose text changed (a new
version after ``bokeh serve --dev`` reloaded, say) replaces the old one, and its package is
dropped from ``sys.modules`` so that the next import reads it again. Models of one worker
share these files: the last one shipped of a path wins.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from ..shared import MODULES_ROOT

#: What is installed: path below MODULES_ROOT -> SHA-256 of its text.
installed: dict[str, str] = {}

#: What files installed since runs last looked for packages import, as import statements
#: (auto_packages): the server parsed each file, so a page never parses a large one for it.
unscanned: list[str] = []


def module_name(path: str) -> str:
    """``pkg/sub.py`` -> ``pkg.sub``; ``pkg/__init__.py`` -> ``pkg``."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def install(files: list[dict[str, Any]]) -> None:
    if MODULES_ROOT not in sys.path:
        sys.path.insert(0, MODULES_ROOT)
    changed: set[str] = set()
    for file in files:
        path, sha256, source = str(file["path"]), str(file["sha256"]), str(file["source"])
        if installed.get(path) == sha256:
            continue
        parts = path.split("/")
        if not path.endswith(".py") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"bokeh_live: a shipped module has a bad path: {path!r}")
        target = os.path.join(MODULES_ROOT, *parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(source)
        installed[path] = sha256
        unscanned.append("".join(f"import {name}\n" for name in file.get("imports") or [] if str(name).isidentifier()))
        changed.add(parts[0].removesuffix(".py"))
    if changed:
        importlib.invalidate_caches()
        for name in [n for n in sys.modules if n.split(".")[0] in changed]:
            del sys.modules[name]


async def call_function(module: str, qualname: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``live.run(fn, *args, **kwargs)``: import ``module``, find ``qualname`` in it, call it,
    and await what it returns if need be."""
    fn: Any = importlib.import_module(module)
    for name in qualname.split("."):
        fn = getattr(fn, name)
    result = fn(*args, **kwargs)
    if hasattr(result, "__await__"):
        result = await result
    return result
