"""Browser code in real Python files: the modules and packages a ``BokehLive`` ships.

``BokehLive(modules=[mymodule, "path/to/pkg"])`` reads the listed ``.py`` files when the model
is made, and the browser installs them before the model's ``code`` runs, importable by their
names. Only what is listed leaves the server, and only its ``.py`` files.

Each file is named by the SHA-256 of its text. In a server app the text stays out of the
document: the Bokeh server serves each file at ``/static/extensions/bokeh_live_modules/
<sha256>.py`` with a ten-year cache lifetime (the name changes when the text does), so a
browser fetches a module once and a changed one again. In standalone and notebook output
the text is inlined in the page. ``bokehjs_ext/modules.ts`` is the page's half, and
``bokeh_live/browser/_modules.py`` the browser's Python half.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import os
import stat
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .shared import MAX_MODULE_BYTES, MAX_MODULES_BYTES

__all__ = ("ModuleFile", "code_text", "collect", "module_names", "serve")

#: The extension name under which the Bokeh server serves shipped modules.
EXTENSION = "bokeh_live_modules"


@dataclass(frozen=True)
class ModuleFile:
    """One shipped file: its path below the import root (``pkg/sub.py``), the SHA-256 of its
    UTF-8 text, the text, and where it was read on the server (never sent)."""

    path: str
    sha256: str
    source: str
    origin: str = ""
    #: The top-level names its absolute imports name: the browser loads those of Pyodide's
    #: packages first (``auto_packages``) without parsing the file itself.
    imports: tuple[str, ...] = ()


def collect(items: Any) -> list[ModuleFile]:
    """The files of ``items``: imported modules (a package ships its folder), paths of
    ``.py`` files or of package folders. Raises ``TypeError`` or ``ValueError`` saying what
    is wrong (not a module, not found, no source, too large, two different files of one name)."""
    if isinstance(items, (str, os.PathLike, types.ModuleType)):
        items = [items]
    files: dict[str, ModuleFile] = {}
    for item in items:
        for root, path in _files_of(item):
            relative = path.relative_to(root).as_posix()
            try:
                raw = path.read_bytes()
            except OSError as e:
                raise ValueError(f"modules: cannot read {path}: {e.strerror}") from None
            if len(raw) > MAX_MODULE_BYTES:
                raise ValueError(f"modules: {relative} is {len(raw)} bytes, over the limit of {MAX_MODULE_BYTES} "
                                 "bytes a shipped file may have")
            try:
                source = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise ValueError(f"modules: {relative} is not UTF-8 text") from None
            file = ModuleFile(relative, hashlib.sha256(raw).hexdigest(), source, str(path), _imports(source, relative))
            known = files.get(relative)
            if known is not None and known.sha256 != file.sha256:
                raise ValueError(f"modules: two different files would both be {relative} in the browser")
            files[relative] = file
    total = sum(len(f.source.encode()) for f in files.values())
    if total > MAX_MODULES_BYTES:
        raise ValueError(f"modules: {total} bytes in all, over the limit of {MAX_MODULES_BYTES} bytes a model may ship")
    return sorted(files.values(), key=lambda f: f.path)


def _imports(source: str, path: str) -> tuple[str, ...]:
    try:
        tree = ast.parse(source, path)
    except SyntaxError as e:
        raise ValueError(f"modules: {path} is not valid Python: {e}") from None
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return tuple(sorted(names))


def _files_of(item: Any) -> list[tuple[Path, Path]]:
    """``(import root, file)`` pairs of one listed module or path."""
    if isinstance(item, types.ModuleType):
        file = getattr(item, "__file__", None)
        if not file or not file.endswith(".py"):
            raise ValueError(f"modules: {item.__name__} has no Python source file to ship "
                             "(built-in, compiled or a namespace package)")
        if item.__name__.count(".") and not hasattr(item, "__path__"):
            raise ValueError(f"modules: {item.__name__} is part of a package: ship the package, "
                             f"{item.__name__.split('.')[0]}")
        path = Path(file)
        return _package(path.parent) if hasattr(item, "__path__") else [(path.parent, path)]
    if not isinstance(item, (str, os.PathLike)):
        raise TypeError(f"modules: list imported modules or paths of .py files and package folders, "
                        f"not {type(item).__name__}")
    path = Path(item).resolve()
    if path.is_dir():
        if not (path / "__init__.py").is_file():
            raise ValueError(f"modules: {path.name}/ has no __init__.py: list a package folder or .py files")
        return _package(path)
    if path.suffix != ".py" or not path.is_file():
        raise ValueError(f"modules: {item} is not a .py file or a package folder")
    return [(path.parent, path)]


def _package(folder: Path) -> list[tuple[Path, Path]]:
    return [(folder.parent, path) for path in sorted(folder.rglob("*.py")) if "__pycache__" not in path.parts]


def module_names(files: list[ModuleFile]) -> list[str]:
    """The top-level names the files make importable."""
    return sorted({f.path.split("/")[0].removesuffix(".py") for f in files})


# --- serving them from a Bokeh server ------------------------------------------------------------

#: Where this user's server processes keep the files they serve: one folder per user, so that
#: the processes of ``--num-procs`` serve each other's files. Registered with Bokeh when the
#: package is imported (``__init__.py``), made (private to its owner) when first written.
FOLDER = Path(tempfile.gettempdir()) / f"{EXTENSION}-{os.getuid() if hasattr(os, 'getuid') else 'user'}"

_checked: Path | None = None


def folder() -> Path:
    """:data:`FOLDER`, made if need be; if something not ours is there, a fresh private folder
    (registered with Bokeh instead)."""
    global _checked
    if _checked is None:
        path = FOLDER
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o700)
        info = path.lstat()
        if not stat.S_ISDIR(info.st_mode) or (hasattr(os, "getuid") and info.st_uid != os.getuid()) \
                or stat.S_IMODE(info.st_mode) & 0o077:
            path = Path(tempfile.mkdtemp(prefix=f"{EXTENSION}-"))
            from . import _bokeh_internals
            _bokeh_internals.serve_extension_files(EXTENSION, path, replace=True)
        _checked = path
    return _checked


def serve(files: list[ModuleFile]) -> None:
    """Write ``files`` where the Bokeh server serves them, by content: only listed files are
    ever in that folder."""
    target = folder()
    for file in files:
        path = target / f"{file.sha256}.py"
        if not path.exists():
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(file.source, encoding="utf-8")
            temporary.replace(path)  # atomic: another process never serves half a file
    # Under bokeh serve --dev an edit of a shipped file reloads the app like an edit of its own.
    from tornado import autoreload

    for file in files:
        if file.origin:
            autoreload.watch(file.origin)


def code_text(code: Any) -> Any:
    """``code`` given as a path or a module: its text. A string stays as it is."""
    if isinstance(code, types.ModuleType):
        code = getattr(code, "__file__", None) or code.__name__
    if isinstance(code, os.PathLike):
        return Path(code).read_text(encoding="utf-8")
    return code
