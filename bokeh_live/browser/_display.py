"""Showing objects in a model's output area, as notebooks show them."""

from __future__ import annotations

import base64
import io
import sys
from typing import Any

from ..shared import keep_tail
from ..wire import Encoder
from ._state import current, current_run, emit


def display(obj: Any) -> None:
    """Show ``obj`` in the model's output area, after what the code printed so far.

    A Bokeh model (when bokeh is loaded in the browser) or the dict ``bokeh.embed.json_item``
    returns becomes a live Bokeh plot. Other objects show as notebooks show them, by their
    richest representation: ``_repr_mimebundle_``, ``_repr_html_`` (a pandas DataFrame),
    ``_repr_svg_``, ``_repr_png_``, ``_repr_jpeg_``; a matplotlib figure as a PNG image.
    Anything else shows as its ``str``. HTML and SVG are sanitized on the page.
    """
    state = current("display")
    obj = _as_json_item(obj)
    if isinstance(obj, dict) and isinstance(obj.get("doc"), dict) and isinstance(obj.get("root_id"), str):
        item = {"display": "bokeh", "data": Encoder().encode(obj)}
    elif (markup := _rich_html(obj)) is not None:
        item = {"display": "html", "data": markup}
    else:
        item = {"display": "text", "data": str(obj)}
    emit("display", {"model": state.id, "id": current_run.get(), **item})


def show(value: Any) -> None:
    """The value of a code run's last expression, in the output: rich where the object
    has a rich form, else its repr. Any object will do; one whose repr fails says so."""
    try:
        if _rich_html(value) is not None or _as_json_item(value) is not value:
            display(value)
        else:
            emit("display", {"model": current("display").id, "id": current_run.get(), "display": "result",
                             "data": keep_tail(repr(value))})
    except Exception as e:
        print(f"the last expression's value cannot be shown: {type(e).__name__}: {e}", file=sys.stderr)


#: The mime types shown, richest first, and the ``_repr_*_`` method of each.
_MIME_REPRS = (("text/html", "_repr_html_"), ("image/svg+xml", "_repr_svg_"), ("image/png", "_repr_png_"),
               ("image/jpeg", "_repr_jpeg_"))


def _rich_html(obj: Any) -> str | None:
    """``obj``'s richest representation as HTML (images as ``data:`` URLs), or None."""
    if isinstance(obj, type):
        return None  # a class's _repr_html_ is an unbound method
    bundle: dict[str, Any] = {}
    mimebundle = getattr(obj, "_repr_mimebundle_", None)
    if callable(mimebundle):
        got = mimebundle()
        got = got[0] if isinstance(got, tuple) else got  # (data, metadata)
        bundle = dict(got) if isinstance(got, dict) else {}
    for mime, method in _MIME_REPRS:
        if mime not in bundle and callable(fn := getattr(obj, method, None)):
            value = fn()
            if value is not None:
                bundle[mime] = value[0] if isinstance(value, tuple) else value  # (data, metadata)
                break
    if not bundle and _is_matplotlib_figure(obj):
        buffer = io.BytesIO()
        obj.savefig(buffer, format="png", bbox_inches="tight")
        bundle["image/png"] = buffer.getvalue()
    for mime, _ in _MIME_REPRS:
        data = bundle.get(mime)
        if data is None:
            continue
        if mime.startswith("text/") or mime == "image/svg+xml":
            return data.decode() if isinstance(data, bytes) else str(data)
        encoded = base64.b64encode(data).decode() if isinstance(data, bytes) else str(data).strip()
        return f'<img src="data:{mime};base64,{encoded}" alt="">'
    return None


def _is_matplotlib_figure(obj: Any) -> bool:
    return type(obj).__module__.startswith("matplotlib.") and callable(getattr(obj, "savefig", None))


def _as_json_item(obj: Any) -> Any:
    """A Bokeh model as its ``json_item``; anything else unchanged. Never imports bokeh:
    an object can only be a Bokeh model if the code already loaded it."""
    bokeh_model = sys.modules.get("bokeh.model")
    if bokeh_model is not None and isinstance(obj, bokeh_model.Model):
        from bokeh.embed import json_item

        return json_item(obj)
    return obj
