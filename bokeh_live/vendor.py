"""Pyodide packages for servers with no internet: copy them, with everything they depend on.

    python -m bokeh_live vendor numpy pandas --to myapp/static/pyodide-packages

copies the named packages (lockfile names, or what they are imported as) and all their
dependencies from a Pyodide distribution, checking each wheel against the lockfile's
sha256, into a folder, with a ``pyodide-lock.json`` that lists exactly those. Serve the
folder (a ``bokeh serve`` directory app serves its ``static/`` folder at
``/<app>/static/``) and point ``BokehLive(package_url=...)`` or ``BOKEH_LIVE_PACKAGE_URL``
at it. ``--from`` takes the distribution's URL or a local folder; the default is the public
Pyodide distribution of the version bokeh_live ships.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

from .shared import PYODIDE_VERSION

__all__ = ("PYODIDE_CDN", "main", "vendor")

#: The public Pyodide distribution of the version bokeh_live ships.
PYODIDE_CDN = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"


def _read(source: str, name: str) -> bytes:
    if source.startswith(("http://", "https://")):
        url = source.rstrip("/") + "/" + name
        with urllib.request.urlopen(url, timeout=120) as response:
            return bytes(response.read())
    folder = Path(source.removeprefix("file://"))
    return (folder / name).read_bytes()


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def resolve(names: list[str], packages: dict[str, Any]) -> list[str]:
    """The lockfile keys of ``names`` (package or import names) and of all they depend on."""
    by_import = {imported: key for key, entry in packages.items() for imported in entry.get("imports", [])}
    by_name = {_normal(key): key for key in packages}
    wanted: list[str] = []
    stack = []
    for name in names:
        key = by_name.get(_normal(name)) or by_import.get(name)
        if key is None:
            raise KeyError(f"{name!r} is not a package of this distribution's pyodide-lock.json")
        stack.append(key)
    while stack:
        key = stack.pop()
        if key not in wanted:
            wanted.append(key)
            stack.extend(by_name.get(_normal(dep), dep) for dep in packages[key].get("depends", []))
    missing = [key for key in wanted if key not in packages]
    if missing:
        raise KeyError(f"the lockfile lists dependencies it has no entry for: {missing}")
    return sorted(wanted)


def vendor(names: list[str], target: str | Path, source: str = PYODIDE_CDN) -> list[str]:
    """Copy ``names`` and their dependencies from ``source`` into ``target``; returns the
    package names copied. Raises ``KeyError`` for an unknown name, ``ValueError`` for a wheel
    whose sha256 differs from the lockfile's."""
    lock = json.loads(_read(source, "pyodide-lock.json"))
    packages = lock["packages"]
    keys = resolve(names, packages)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    for key in keys:
        entry = packages[key]
        data = _read(source, entry["file_name"])
        digest = hashlib.sha256(data).hexdigest()
        if digest != entry["sha256"]:
            raise ValueError(f"{entry['file_name']} does not match the lockfile's sha256 ({digest})")
        (target / entry["file_name"]).write_bytes(data)
    subset = {**lock, "packages": {key: packages[key] for key in keys}}
    (target / "pyodide-lock.json").write_text(json.dumps(subset, indent=1, sort_keys=True))
    return keys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bokeh_live vendor", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="+", help="packages (lockfile names, or what they are imported as)")
    parser.add_argument("--to", required=True, help="the folder to copy them into")
    parser.add_argument("--from", dest="source", default=PYODIDE_CDN,
                        help="a Pyodide distribution: its URL or a local folder (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        keys = vendor(args.names, args.to, args.source)
    except (KeyError, ValueError, OSError) as e:
        print(f"vendor: {e}", file=sys.stderr)
        return 1
    print(f"copied {len(keys)} packages into {args.to}: {', '.join(keys)}")
    print("serve that folder and set BokehLive(package_url=<its URL>) or BOKEH_LIVE_PACKAGE_URL")
    return 0
