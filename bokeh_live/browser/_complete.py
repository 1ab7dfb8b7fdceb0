"""The editor's completions, from a model's live namespace."""

from __future__ import annotations

import builtins
import inspect
import keyword
import re
import types
from typing import Any

from ..shared import MAX_COMPLETIONS
from . import _state

_TAIL = re.compile(r"[\w.]*$")
_DOTTED = re.compile(r"((?:[^\W\d]\w*\.)*)([^\W\d]\w*)?")


def complete(model: str, before: str) -> tuple[str, list[dict[str, str]]]:
    """What could follow ``before`` (code up to the cursor) in ``model``'s namespace: the
    identifier it ends with (the prefix to replace) and the names that start with it, from
    the namespace, builtins and keywords, or an object's attributes after ``name.``.

    Nothing is called: attributes are looked up statically, so completing never runs a
    property or ``__getattr__`` of the user's objects (modules excepted)."""
    tail = _TAIL.search(before[-1000:]).group()  # type: ignore[union-attr]  # always matches
    match = _DOTTED.fullmatch(tail)
    if match is None:  # after a literal or call ("'text'.up", "f().x"): nothing known
        return re.search(r"\w*$", tail).group(), []  # type: ignore[union-attr]
    path, prefix = match.group(1).split(".")[:-1], match.group(2) or ""
    state = _state.models.get(model)
    namespace = state.namespace if state is not None else {}
    if path:
        found, obj = _lookup(namespace, path)
        if not found:
            return prefix, []
        names = {name: _static(obj, name) for name in _dir(obj)}
    else:
        names = {**{name: getattr(builtins, name) for name in dir(builtins)}, **namespace}
        names.update((word, keyword) for word in [*keyword.kwlist, *keyword.softkwlist])
    private = prefix.startswith("_")
    chosen = sorted(name for name in names if name.startswith(prefix) and (private or not name.startswith("_")))
    return prefix, [{"label": name, "type": _kind(names[name])} for name in chosen[:MAX_COMPLETIONS]]


def _lookup(namespace: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    if path[0] in namespace:
        obj = namespace[path[0]]
    elif hasattr(builtins, path[0]):
        obj = getattr(builtins, path[0])
    else:
        return False, None
    for name in path[1:]:
        obj = _static(obj, name)
        if obj is _MISSING:
            return False, None
    return True, obj


_MISSING = object()


def _static(obj: Any, name: str) -> Any:
    if isinstance(obj, types.ModuleType):
        return getattr(obj, name, _MISSING)  # modules run no user properties; lazy submodules load
    try:
        return inspect.getattr_static(obj, name)
    except AttributeError:
        return _MISSING


def _dir(obj: Any) -> list[str]:
    try:
        return dir(obj)
    except Exception:
        return []


def _kind(value: Any) -> str:
    if value is keyword:
        return "keyword"
    if isinstance(value, types.ModuleType):
        return "namespace"
    if isinstance(value, type):
        return "class"
    if isinstance(value, property):
        return "property"
    if callable(value) or isinstance(value, (staticmethod, classmethod)):
        return "function"
    return "variable"
