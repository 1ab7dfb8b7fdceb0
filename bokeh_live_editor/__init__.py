"""The bundle of bokeh_live's code editor (CodeMirror 6, built from ``bokehjs_editor/``):
apart from bokeh_live's own, so that pages which show no editor never load it.

Bokeh finds an extension's bundle in ``dist/`` beside the ``__init__.py`` of the top-level
package a model names as its ``__view_module__``: this package holds only that bundle. See
``bokeh_live/editor.py`` for which pages carry it.
"""
