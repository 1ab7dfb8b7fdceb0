"""Which pages carry the code editor's bundle (CodeMirror, in the ``bokeh_live_editor``
package); its BokehJS twin is bokehjs_ext/editor.ts.

Bokeh adds extension bundles to a page by the ``__view_module__`` of models: of every model
class for server pages and notebooks (``output_notebook()``), of the document's models for
standalone pages. So:

- server pages never carry it: a view that shows an editor loads it from
  ``/static/extensions/bokeh_live_editor/`` (a text area stands in meanwhile);
- standalone pages carry it inline when a model shows an editor: such a model holds an
  ``EditorAssets`` whose own ``__view_module__`` names the editor's package;
- notebooks carry it (``notebook_bundle()``, called on import in a kernel), as they cannot
  load it from anywhere.
"""

from __future__ import annotations

from bokeh.model import Model

from .shared import EDITOR_EXTENSION

#: The modes that show the code editor.
EDITOR_MODES = ("editor", "playground")


class EditorAssets(Model):
    """Put in a document by a ``BokehLive`` that shows an editor. It draws nothing."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # This instance, not the class: only the documents that hold one ask for the bundle.
        self.__view_module__ = EDITOR_EXTENSION  # type: ignore[misc]


def notebook_bundle() -> None:
    """Make ``output_notebook()`` load the editor's bundle with bokeh_live's: a model class
    naming its package does it. The class is never instantiated."""
    if getattr(notebook_bundle, "done", False):
        return
    type("NotebookEditorBundle", (Model,), {"__view_module__": EDITOR_EXTENSION, "__module__": __name__,
                                            "__doc__": "Asks notebooks for the editor's bundle."})
    notebook_bundle.done = True  # type: ignore[attr-defined]
