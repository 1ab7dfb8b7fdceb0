"""What the server, the page and the worker must agree on: versions, limits and names.

This module is the one source of them. The build writes its constants (with the codec's
tags, from ``wire.py``) into ``bokehjs_ext/shared.ts``, and the worker installs it beside
the browser half of the package (``bokeh_live/browser/``).

It imports nothing outside the standard library: it runs in Pyodide too.
"""

from __future__ import annotations

#: bokeh_live's version, the one place it is written: the Python package, the compiled view
#: (through the generated shared.ts) and the distribution's metadata (pyproject.toml) read it.
VERSION = "0.1.0"

#: The Pyodide release bokeh_live ships (package.json) and whose packages it loads by default.
PYODIDE_VERSION = "314.0.7"

# --- the editor's bundle -------------------------------------------------------------------
# CodeMirror is a bundle of its own, which only pages that show an editor load (a Python
# package of this name holds it, so that Bokeh inlines it into standalone pages that need it).

#: The editor's Python package and BokehJS bundle name.
EDITOR_EXTENSION = "bokeh_live_editor"

#: The global through which the editor's bundle hands its editor class to bokeh_live's.
EDITOR_GLOBAL = "__bokeh_live_editor__"

#: The event the editor's bundle dispatches on ``globalThis`` once that global is set.
EDITOR_READY_EVENT = "bokeh_live_editor_ready"

# --- sizes ---------------------------------------------------------------------------------
# Bokeh closes a websocket on any message over 20 MiB. Binary buffers travel as websocket
# messages of their own; the JSON text of one event must stay below that.

#: Bytes of one chunk of a large binary value (see chunks.py). Every chunk of a blob but
#: its last holds exactly this many bytes; only values larger than this are chunked.
CHUNK_BYTES = 4 * 1024 * 1024

#: An event takes chunks and messages up to this size; an item larger than that (a message
#: of at most MAX_INLINE_BYTES of JSON) goes alone.
EVENT_BYTES = 2 * CHUNK_BYTES

#: Default ``max_message_size``: a batch's decoded size, chunked values included, either way.
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

#: The most JSON text (UTF-8 bytes, as encoded) one message may take: it must fit one
#: websocket message with room to spare.
MAX_INLINE_BYTES = 16 * 1024 * 1024

#: Nesting deeper than this is refused rather than walked (a forged value could be deep).
MAX_DEPTH = 64

#: Request ids are ``secrets.token_urlsafe(16)``: 22 characters. Anything much longer is junk.
MAX_ID_LENGTH = 64

#: ``stdout``, ``stderr`` and ``error`` keep at most this many characters (the newest),
#: after a line saying how much was dropped.
MAX_TEXT_CHARS = 1024 * 1024

#: ``bokeh_live.progress`` text keeps at most this many characters.
MAX_PROGRESS_TEXT = 200

#: ``bokeh_live.progress`` leaves the worker at most this often (ms): a tight loop may call it
#: on every step. The last report of a run always leaves, when the run ends.
PROGRESS_INTERVAL_MS = 50

#: ``bokeh_live.call``: how long browser code waits for the server by default (s), how many
#: of a model's calls may be waiting at once (each side holds to it), and the longest name
#: a function may be exposed under.
CALL_TIMEOUT = 30.0
MAX_CALLS_IN_FLIGHT = 16
MAX_NAME_LENGTH = 100

#: ``BokehLive(modules=...)``: the largest file a model may ship, and all its files together.
MAX_MODULE_BYTES = 2 * 1024 * 1024
MAX_MODULES_BYTES = 8 * 1024 * 1024

#: Where the browser writes shipped modules; it is first on ``sys.path`` there.
MODULES_ROOT = "/bokeh_live_modules"

#: The editor's completions: at most this many options, and how long it waits for them (ms).
MAX_COMPLETIONS = 500
COMPLETE_TIMEOUT_MS = 1500

# --- the model's enumerations (live.py's properties and the view's types) -------------------

#: What a ``BokehLive`` shows (its ``mode``), the first being the default.
MODES = ("editor", "app", "playground", "headless", "compact", "debug")

#: Where the browser's runtime is (``status``), the first being the default.
STATUSES = ("idle", "loading", "ready", "running", "error")

#: Colour themes (``theme``), the first being the default.
THEMES = ("auto", "light", "dark")

#: The phases of a worker's start, in order, as its status line names them.
PHASES = ("starting", "downloading Pyodide", "starting Python")

#: What the browser reports for ``BokehLive.metrics()``: counts, durations in ms, and 1 or 0
#: for whether Python last started from a memory snapshot.
BROWSER_METRICS = ("python_start_ms", "packages_ms", "last_run_ms", "code_runs", "restarts", "from_snapshot")

#: Where tracebacks say the model's code is (the editor links these lines).
CODE_FILENAME = "<code>"


def keep_tail(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The newest ``limit`` characters of ``text``, after a line saying what was dropped
    (``keep_tail`` in values.ts is the page's twin)."""
    if len(text) <= limit:
        return text
    return f"[bokeh_live: {len(text) - limit} earlier characters dropped]\n{text[-limit:]}"
