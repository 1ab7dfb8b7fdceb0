"""What the server, the page and the worker must agree on: limits, tags and message shapes.

This module is the one source. The build writes its constants into
``bokehjs_ext/shared.ts`` (``hatch_build.py``), the worker installs it beside the browser
half of the package (``bokeh_live/_browser.py``), and ``tests/test_shared.py`` holds the
TypeScript message unions of ``bokehjs_ext/worker.ts`` against the ``TypedDict``\\ s below.

It imports nothing outside the standard library: it runs in Pyodide too.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

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

#: Integers beyond this travel tagged (``INT_TAG``): JavaScript numbers are doubles, and
#: Pyodide turns larger Python ints into BigInts, which BokehJS cannot serialize.
MAX_SAFE_INT = 2**53 - 1


def keep_tail(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """The newest ``limit`` characters of ``text``, after a line saying what was dropped
    (``keep_tail`` in values.ts is the page's twin)."""
    if len(text) <= limit:
        return text
    return f"[bokeh_live: {len(text) - limit} earlier characters dropped]\n{text[-limit:]}"


# --- tags ------------------------------------------------------------------------------------

#: A placeholder for a chunked binary value, server <-> page (chunks.py).
BLOB_TAG = "__bokeh_live_blob__"

#: A binary value between page and worker (values.ts, _browser.py).
BINARY_TAG = "__bokeh_live_binary__"

#: An integer beyond MAX_SAFE_INT, as its decimal digits, anywhere a value travels.
INT_TAG = "__bokeh_live_int__"

#: An array of a dtype BokehJS has no typed array for, as raw bytes; a column of strings;
#: a categorical column; a DataFrame (tabular.py).
ARRAY_TAG = "__bokeh_live_array__"
STRINGS_TAG = "__bokeh_live_strings__"
CATEGORY_TAG = "__bokeh_live_category__"
FRAME_TAG = "__bokeh_live_frame__"

#: Where tracebacks say the model's code is (the editor links these lines).
CODE_FILENAME = "<code>"

#: numpy dtypes that BokehJS has typed arrays for (it has no 64-bit integers), and the
#: ``memoryview`` format of each.
DTYPE_FORMATS = {
    "uint8": "B", "int8": "b", "uint16": "H", "int16": "h", "uint32": "I", "int32": "i",
    "float32": "f", "float64": "d", "bool": "?",
}

# --- the page <-> worker messages that Python sends or handles --------------------------------
# The worker's own JavaScript messages (init, load, ready, phase...) are typed in worker.ts only.


class RunCode(TypedDict):
    """Run ``code`` for ``model``; ``fresh`` starts a new namespace (the model's own code)."""

    kind: Literal["run"]
    model: str
    id: str
    code: str
    kwargs: Any
    fresh: bool


class Config(TypedDict):
    kind: Literal["config"]
    model: str
    value: Any
    limit: int
    auto_packages: bool


class ServerDataToWorker(TypedDict):
    kind: Literal["server_data"]
    model: str
    data: Any


class Forget(TypedDict):
    kind: Literal["forget"]
    model: str


class CancelRuns(TypedDict):
    """Stop these runs if they wait at an ``await`` (a busy run needs an interrupt)."""

    kind: Literal["cancel"]
    ids: list[str]


class CallReply(TypedDict):
    """The server's answer to a ``bokeh_live.call``: ``error`` (its message, never its
    traceback) and ``error_type`` are null when it returned ``result``."""

    kind: Literal["reply"]
    model: str
    id: str
    result: Any
    error: str | None
    error_type: str | None


class Complete(TypedDict):
    """The editor asks what could follow ``before`` (the code up to the cursor) in the
    model's live namespace."""

    kind: Literal["complete"]
    model: str
    id: str
    before: str


ToPython = RunCode | Config | ServerDataToWorker | Forget | CancelRuns | CallReply | Complete


class Stream(TypedDict):
    kind: Literal["stream"]
    model: str
    id: str
    name: Literal["stdout", "stderr"]
    text: str


class Display(TypedDict):
    kind: Literal["display"]
    model: str
    id: str
    display: Literal["html", "bokeh", "text", "result"]  # result: a code run's last expression
    data: Any


class SendToServer(TypedDict):
    kind: Literal["send"]
    model: str
    data: Any


class Update(TypedDict):
    kind: Literal["update"]
    model: str
    id: str
    target: str
    props: dict[str, Any]


class Progress(TypedDict):
    kind: Literal["progress"]
    model: str
    id: str
    fraction: float  # 0 to 1
    text: str


class CallServer(TypedDict):
    """``bokeh_live.call(name, *args, **kwargs)``: call a function the server exposes."""

    kind: Literal["call"]
    model: str
    id: str
    name: str
    args: list[Any]
    kwargs: dict[str, Any]


class Completion(TypedDict):
    label: str
    type: str  # CodeMirror's completion types: variable, function, class, namespace, keyword...


class Completions(TypedDict):
    """What could replace ``prefix``, the identifier the cursor ends."""

    kind: Literal["completions"]
    model: str
    id: str
    prefix: str
    options: list[Completion]


class Done(TypedDict):
    kind: Literal["done"]
    model: str
    id: str
    result: Any  # None for a code run: its last expression is shown, not sent


class Failed(TypedDict):
    kind: Literal["failed"]
    model: str
    id: str
    error: str
    error_type: str


FromPython = Stream | Display | SendToServer | Update | Progress | CallServer | Completions | Done | Failed
