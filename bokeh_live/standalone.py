"""Standalone output: pages with ``BokehLive`` that need no Bokeh server.

``bokeh.io.save``, ``file_html``, ``components`` and ``json_item`` work with ``BokehLive``
as they do with any Bokeh model: the page runs the model's ``code`` in the browser, with
Pyodide from the public CDN unless ``pyodide_url`` (or ``BOKEH_LIVE_PYODIDE_URL``) says
otherwise. Communication is then one-way: ``live.send`` and ``run_python`` need a server,
and browser code changes the page with ``bokeh_live.update``.

:func:`save_offline` writes a folder that needs no network at all: the page and the
Pyodide files beside it. Browsers refuse to start Pyodide from ``file://`` URLs, so the
folder must be served over HTTP (``python -m http.server`` in it is enough).

:func:`resources_html` gives the ``<script>`` tags a page built with ``components`` or
``json_item`` needs: BokehJS and the bokeh_live extension.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from bokeh.document import Document
from bokeh.embed import file_html
from bokeh.embed.bundle import bundle_for_objs_and_resources
from bokeh.resources import CDN, INLINE, Resources

from .live import BokehLive

if TYPE_CHECKING:
    from bokeh.model import Model

__all__ = ("PYODIDE_DIR", "resources_html", "save_offline")

#: The Pyodide core files installed with this package (also served by ``bokeh serve``).
PYODIDE_DIR = Path(__file__).parent / "dist" / "pyodide"

#: Where :func:`save_offline` puts Pyodide, relative to the page.
OFFLINE_PYODIDE = "pyodide/"

#: Added to offline pages: opened from file:// they cannot start Pyodide, and say why.
FILE_URL_NOTE = """<script>
if (location.protocol == "file:") {
  const note = document.createElement("p")
  note.className = "bokeh-live-file-note"
  note.style.cssText = "font: 14px sans-serif; padding: 8px 12px; background: #fff3cd; border: 1px solid #e0c36c"
  note.textContent = "This page runs Python with Pyodide, which browsers do not load from file:// URLs. " +
    "Serve this folder over HTTP instead, for example: python -m http.server --directory <this folder>, " +
    "then open http://localhost:8000/"
  document.body.prepend(note)
}
</script>
"""


def save_offline(
    obj: Model | Document,
    folder: str | Path,
    *,
    title: str = "Bokeh Live",
    filename: str = "index.html",
) -> Path:
    """Write ``obj`` as a page that runs its browser-side Python with no network access.

    ``folder`` receives ``filename`` (BokehJS and the extension inlined) and a ``pyodide/``
    folder (about 14 MB) that every ``BokehLive`` in ``obj`` loads Pyodide from, whatever its
    ``pyodide_url`` (restored afterwards). Returns the page's path.

    Serve the folder over HTTP to open it, for example
    ``python -m http.server --directory FOLDER`` then http://localhost:8000/: browsers do
    not let a page opened from ``file://`` start Pyodide from ``file://`` files. Packages
    beyond the standard library are not included (see ``packages``).
    """
    if not (PYODIDE_DIR / "pyodide.mjs").exists():
        raise FileNotFoundError(f"Pyodide is missing from {PYODIDE_DIR}: rebuild bokeh_live (pip install .)")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PYODIDE_DIR, folder / OFFLINE_PYODIDE, dirs_exist_ok=True)
    with _pyodide_url(_live_models(obj), OFFLINE_PYODIDE):
        # BokehLive's own event subscription is not a user callback: no warning about it.
        html = file_html(obj, resources=INLINE, title=title, suppress_callback_warning=True)
    page = folder / filename
    head, _, tail = html.rpartition("</body>")  # the last one: inlined scripts may hold the text too
    page.write_text(f"{head}{FILE_URL_NOTE}</body>{tail}", encoding="utf-8")
    return page


def resources_html(objs: Sequence[Model | Document] | None = None, resources: Resources | str = CDN) -> str:
    """The ``<script>``/``<link>`` tags for a page that embeds ``objs`` with ``components``
    or ``json_item``: BokehJS (``resources``: ``CDN``, ``INLINE`` or a ``Resources``) and the
    bokeh_live extension, which is always inlined. ``objs`` of ``None`` means every Bokeh
    extension imported so far."""
    if isinstance(resources, str):
        resources = Resources(mode=resources)  # type: ignore[arg-type]  # Bokeh checks the name
    return "\n".join(bundle_for_objs_and_resources(list(objs) if objs is not None else None, resources))


def _live_models(obj: Model | Document) -> list[BokehLive]:
    roots = obj.roots if isinstance(obj, Document) else [obj]
    return [m for root in roots for m in root.references() if isinstance(m, BokehLive)]


@contextmanager
def _pyodide_url(models: list[BokehLive], url: str) -> Iterator[None]:
    saved = [(m, m.pyodide_url) for m in models]
    try:
        for m in models:
            m.pyodide_url = url  # type: ignore[assignment]  # Bokeh's descriptors are not typed
        yield
    finally:
        for m, old in saved:
            m.pyodide_url = old
