"""One source for what the server, the page and the worker share: bokeh_live/shared.py, the
codec's tags in bokeh_live/wire.py, and the page-worker messages in bokeh_live/browser/messages.py."""
from __future__ import annotations

import json
import re
import typing
from pathlib import Path

from bokeh_live import shared, wire
from bokeh_live.browser import messages

ROOT = Path(__file__).parents[1]
WORKER_TS = (ROOT / "bokehjs_ext" / "worker.ts").read_text()


def constants() -> dict[str, object]:
    return {name: value for module in (shared, wire) for name, value in vars(module).items()
            if name.isupper() and isinstance(value, (int, float, str, dict, tuple))}


def test_the_built_typescript_constants_are_shared_py():
    generated = (ROOT / "bokehjs_ext" / "shared.ts").read_text()
    found = dict(re.findall(r"^export const (\w+) = (.+) as const$", generated, re.MULTILINE))
    expected = {name: list(value) if isinstance(value, tuple) else value for name, value in constants().items()}
    assert {name: json.loads(value) for name, value in found.items()} == expected
    assert len(found) == len(expected) > 30


def test_no_other_source_spells_the_tags_or_limits():
    """A tag or limit written again elsewhere could drift: every module must import it."""
    tags = [value for name, value in constants().items() if name.endswith("_TAG")]
    assert len(tags) == 7
    sources = [p for p in [*ROOT.glob("bokeh_live/**/*.py"), *ROOT.glob("bokehjs_ext/*.ts")]
               if p.name not in ("wire.py", "shared.ts", "browser_py.ts")]
    assert len(sources) > 30
    for path in sources:
        text = path.read_text()
        for tag in tags:
            assert tag not in text, f"{path.name} spells {tag} instead of importing it"
        if path.name != "shared.py":
            assert not re.search(r"\b(4|16|64) \* 1024 \* 1024", text), path.name


def ts_union(name: str) -> str:
    """The text of a union type in worker.ts: from its name to the next blank line."""
    return re.search(rf"export type {name} =\n(.*?)\n\n", WORKER_TS, re.DOTALL).group(1)


def ts_union_kinds(name: str) -> set[str]:
    return set(re.findall(r'kind: "([a-z_]+)"', ts_union(name)))


def python_kinds(union: object) -> set[str]:
    return {typing.get_type_hints(cls)["kind"].__args__[0] for cls in typing.get_args(union)}


def test_page_worker_messages_agree_with_typescript():
    assert python_kinds(messages.ToPython) <= ts_union_kinds("ToWorker")
    assert python_kinds(messages.FromPython) <= ts_union_kinds("FromWorker")
    # What Python does not handle or send is the worker's own JavaScript business.
    assert ts_union_kinds("ToWorker") - python_kinds(messages.ToPython) == {"batch", "init", "load", "make_snapshot"}
    assert ts_union_kinds("FromWorker") - python_kinds(messages.FromPython) == {
        "batch", "phase", "ready", "init_failed", "crashed", "loaded", "snapshot_saved"}


def test_page_worker_message_fields_agree_with_typescript():
    for cls in [*typing.get_args(messages.ToPython), *typing.get_args(messages.FromPython)]:
        hints = typing.get_type_hints(cls)
        kind = hints["kind"].__args__[0]
        union = ts_union("ToWorker" if cls in typing.get_args(messages.ToPython) else "FromWorker")
        member = re.search(rf'\{{kind: "{kind}"([^}}]*)\}}', union).group(1)
        ts_fields = set(re.findall(r"(\w+)\??:", re.sub(r"\[[^\]]*\]", "", member)))
        assert ts_fields == set(hints) - {"kind"}, kind


def test_the_pyodide_version_is_the_one_package_json_ships():
    package = json.loads((ROOT / "package.json").read_text())
    assert package["dependencies"]["pyodide"] == shared.PYODIDE_VERSION
