"""The trust boundary of a ``BokehLive``: what a browser may write, and how it is checked.

Bokeh applies any property change any client sends. A ``BokehLive`` takes from a browser
only what its view reports (``status``, ``stdout``...) and what the editor writes (``code``),
each checked here; every other change, to an inherited property or one added later too, is
refused. The server's messages from the browser are judged in ``channel.py``.
"""

from __future__ import annotations

from typing import Any

from .shared import BROWSER_METRICS, MAX_PROGRESS_TEXT, MAX_TEXT_CHARS, keep_tail

__all__ = ("BROWSER_WRITABLE", "SERVER_OWNED", "judge")

#: The properties a browser may set: what the view reports (``status``, ``stdout``...) and
#: what the editor writes back (``code``). Bokeh applies any property change a browser sends,
#: so a change to any other property, a new one included, is refused (see ``set_from_json``).
BROWSER_WRITABLE = frozenset({"code", "status", "error", "stdout", "stderr", "progress", "browser_metrics"})

#: The model's own properties that only the server sets (those inherited from ``LayoutDOM``
#: are the server's too). Not consulted at run time: tests/test_model.py fails when a
#: property of BokehLive is in neither list or in both, so each new one is placed on purpose.
SERVER_OWNED = frozenset({
    "mode", "auto_run", "packages", "pyodide_url", "value", "output", "max_message_size",
    "examples", "theme", "allow_update", "run_timeout", "sandbox", "package_url", "auto_packages",
    "requirements", "index_urls", "editor_assets", "version", "persist", "worker", "snapshot", "watch",
    "modules", "module_files",
})

#: Text properties the browser writes; each keeps at most MAX_TEXT_CHARS characters.
BROWSER_TEXT = frozenset({"stdout", "stderr", "error", "code"})


class Refusal(str):
    """Why a browser's change was refused (for the log)."""


def judge(name: str, value: Any) -> Any:
    """A browser's change of property ``name`` as the model takes it, or a :class:`Refusal`."""
    if name not in BROWSER_WRITABLE:
        return Refusal(f"the browser may not set {name!r}")
    if name in BROWSER_TEXT and isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return keep_tail(value)
    if name == "browser_metrics" and not _valid_metrics(value):
        return Refusal(f"browser_metrics must map {', '.join(BROWSER_METRICS)} to numbers from 0 to 1e12, "
                       f"not {str(value)[:80]!r}")
    if name == "progress" and not _valid_progress(value):
        return Refusal(f"progress must be null or [fraction from 0 to 1, text of at most {MAX_PROGRESS_TEXT} "
                       f"characters], not {str(value)[:80]!r}")
    return value


def _valid_metrics(value: Any) -> bool:
    return isinstance(value, dict) and all(
        key in BROWSER_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1e12
        for key, v in value.items())


def _valid_progress(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return False
    fraction, text = value
    return (isinstance(fraction, (int, float)) and not isinstance(fraction, bool) and 0 <= fraction <= 1
            and isinstance(text, str) and len(text) <= MAX_PROGRESS_TEXT)
