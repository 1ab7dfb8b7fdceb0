"""The messages between the page and the browser half, named once in Python.

Each is a dict tagged by ``kind``; ``ToPython`` are the page's, ``FromPython`` the browser
half's. The TypeScript twins are the ``ToWorker`` and ``FromWorker`` unions of
``bokehjs_ext/worker.ts`` (``tests/test_shared.py`` holds the two languages together);
the worker's own JavaScript messages (init, load, ready, phase...) are typed there only.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict


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


class Watched(TypedDict):
    """What browser code may hear (the model's ``watch``), sorted by the page into properties,
    with their values for the mirror, and events; ``missing``: why an entry (``name`` or
    ``name.attr``) cannot be watched (no such model, or no such property). Sent when Python
    starts and whenever the document or ``watch`` changes."""

    kind: Literal["watched"]
    model: str
    watch: dict[str, list[str]]
    properties: dict[str, dict[str, Any]]
    events: dict[str, list[str]]
    missing: dict[str, str]


class Change(TypedDict):
    """A watched property's new value (``event`` is None), or a watched event's values."""

    target: str
    attr: str | None
    value: Any
    event: str | None
    values: dict[str, Any] | None


class Changes(TypedDict):
    """What happened on the page since the last batch, in order, for the model's callbacks;
    answered by ``done`` with the same id. Changes of one property that came while the
    previous batch ran are collapsed to the latest; events never are."""

    kind: Literal["changes"]
    model: str
    id: str
    items: list[Change]


class ModuleSource(TypedDict):
    path: str  # below the import root: "pkg/sub.py"
    sha256: str
    source: str
    imports: list[str]  # the top-level names it imports (the server parsed it)


class Modules(TypedDict):
    """The files a model ships (``BokehLive(modules=...)``), installed before its code runs."""

    kind: Literal["modules"]
    model: str
    files: list[ModuleSource]


ToPython = (RunCode | Config | ServerDataToWorker | Forget | CancelRuns | CallReply | Complete | Watched | Changes
            | Modules)


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


class CallbackError(TypedDict):
    """A callback of a ``changes`` batch raised (the batch goes on): its traceback."""

    kind: Literal["callback_error"]
    model: str
    id: str
    error: str


FromPython = (Stream | Display | SendToServer | Update | Progress | CallServer | Completions | Done | Failed
              | CallbackError)
