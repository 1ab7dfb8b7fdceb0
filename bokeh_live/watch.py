"""The server's half of browser callbacks: the model's ``watch``, checked and named.

What browser code may hear is listed by model name; an app may give the model itself.
``bokehjs_ext/watch.ts`` decides what the page sends from this list alone, and
``bokeh_live/browser/watch.py`` is what the browser code calls.
"""

from __future__ import annotations

from typing import Any

__all__ = ("watch_by_name",)


def watch_by_name(watch: Any) -> Any:
    """``watch`` with model objects replaced by their names, each checked: a model needs a
    ``name``, is never a BokehLive, and has each listed property or event. Anything else is
    left to the property's own validation."""
    from bokeh.events import _CONCRETE_EVENT_CLASSES
    from bokeh.model import Model

    if not isinstance(watch, dict):
        return watch
    by_name: dict[Any, Any] = {}
    for key, attrs in watch.items():
        listed = [attrs] if isinstance(attrs, str) else attrs
        if isinstance(key, Model):
            kind = type(key).__name__
            if type(key).__name__ == "BokehLive":
                raise ValueError("watch: a BokehLive is never watchable")
            if not key.name:
                raise ValueError(f"watch={{{kind}: ...}}: give the {kind} a name (name='...'); browser code "
                                 "finds the models it watches by name")
            for attr in listed if isinstance(listed, (list, tuple)) else []:
                if str(attr).split(".")[0] not in key.properties() and attr not in _CONCRETE_EVENT_CLASSES:
                    raise ValueError(f"watch: a {kind} has no property or event {attr!r}")
            key = key.name
        by_name[key] = listed
    return by_name
