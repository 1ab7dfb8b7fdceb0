"""Lets every Bokeh server process serve bokeh_live's files from its first request.

Installed with bokeh_live and imported when Python starts (``bokeh_live_static.pth``). Bokeh
learns where an extension's files are only when a process first renders a page with one of
its models, so under a plain ``bokeh serve --num-procs N app.py`` the processes that have not
done so yet answer 404 for the page's bundle and for Pyodide, and a page whose requests land
there never starts. When (and only if) Bokeh's ``bokeh.embed.bundle`` is imported, this adds
bokeh_live's folders to Bokeh's ``extension_dirs``, as importing bokeh_live does, but without
importing it: a Bokeh server process serves them from its first request whatever it runs,
before ``--num-procs`` forks. Until then it costs one string comparison per import; nothing
here may fail Python's start or Bokeh's import.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

#: The module whose ``extension_dirs`` Bokeh's server serves ``/static/extensions/`` from.
BUNDLE_MODULE = "bokeh.embed.bundle"


def register(extension_dirs: dict[str, Any]) -> None:
    """Put bokeh_live's folders in Bokeh's ``extension_dirs`` (each only if not there yet)."""
    import importlib.util
    import os
    import tempfile
    from pathlib import Path

    for package in ("bokeh_live", "bokeh_live_editor"):
        spec = importlib.util.find_spec(package)  # finds it, does not import it
        if spec is not None and spec.origin:
            extension_dirs.setdefault(package, Path(spec.origin).parent / "dist")
    # Shipped modules (bokeh_live.modules.FOLDER, which tests/test_static_hook.py holds equal).
    user = os.getuid() if hasattr(os, "getuid") else "user"
    extension_dirs.setdefault("bokeh_live_modules", Path(tempfile.gettempdir()) / f"bokeh_live_modules-{user}")


class _Finder:
    """A finder that finds nothing itself: it only wraps the loading of BUNDLE_MODULE."""

    @classmethod
    def find_spec(cls, name: str, path: Any = None, target: Any = None) -> Any:
        if name != BUNDLE_MODULE:
            return None
        try:
            sys.meta_path.remove(cls)  # once
            for finder in sys.meta_path:
                spec = getattr(finder, "find_spec", lambda *a: None)(name, path, target)
                if spec is not None:
                    break
            else:
                return None
            loader = spec.loader
            exec_module = loader.exec_module

            def exec_and_register(module: Any) -> None:
                exec_module(module)
                with contextlib.suppress(Exception):  # Bokeh moved it: bokeh_live registers itself on import
                    register(module.extension_dirs)

            loader.exec_module = exec_and_register
            return spec
        except Exception:
            return None


def install() -> None:
    if BUNDLE_MODULE in sys.modules:
        with contextlib.suppress(Exception):
            register(sys.modules[BUNDLE_MODULE].extension_dirs)
    elif _Finder not in sys.meta_path:
        sys.meta_path.insert(0, _Finder)


install()
