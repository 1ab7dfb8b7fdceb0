"""bokeh_live's log as JSON lines, for log collectors.

Every line bokeh_live logs about a session (under the ``bokeh_live`` logger) carries the
session (the first 12 characters of its Bokeh id), the model and what happened (``event``:
``session_opened``, ``started``, ``restart``, ``start_failed``, ``timeout``, ``refused``,
``disconnected``, ``callback``, ``session_closed``) as the record's ``bokeh_live``
attribute. :class:`JsonLines` writes them as fields of one JSON object per line::

    {"time": "2026-12-05T10:00:00.123+00:00", "level": "WARNING", "logger": "bokeh_live.live",
     "message": "session 3f9a...: a run_python call of BokehLive live got no answer ...",
     "event": "timeout", "session": "3f9a1c2b7d4e", "model": "BokehLive live"}

``python -m bokeh_live serve --log-json ...`` turns it on; elsewhere call :func:`json_lines`.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import IO, Any

__all__ = ("JsonLines", "json_lines")


class JsonLines(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, bokeh_live's fields,
    and the traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc).isoformat(
                timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        fields = getattr(record, "bokeh_live", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def json_lines(stream: IO[str] | None = None, logger: str = "bokeh_live", level: int = logging.INFO) -> logging.Handler:
    """Send ``logger``'s records (bokeh_live's by default) as JSON lines to ``stream``
    (standard error by default) instead of to the root logger's handlers; returns the handler."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLines())
    target = logging.getLogger(logger)
    target.addHandler(handler)
    target.propagate = False
    if target.level == logging.NOTSET:
        target.setLevel(level)
    return handler
