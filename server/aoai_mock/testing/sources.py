"""What ``aoai_mock.load_scenario(...)`` accepts, decided one way only.

* a mapping: the scenario itself;
* a :class:`~pathlib.Path`: a file or a folder;
* a string: a file or folder that exists, or a shipped scenario's name, is that; any other string is YAML
  text whose top level is a mapping (``"name: x\\nrules: []"``, ``"{name: x, rules: []}"``).

Anything else is an error that says what was tried, so a mistyped name is not read as a YAML string.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from aoai_mock.behaviour.scenarios import Problem, Scenario, ScenarioError, load_paths, load_text, shipped

__all__ = ["scenarios_from", "SOURCE"]

SOURCE = "<test>"  # how a scenario given as text or a mapping is named in problems (and, unnamed, its name: test)


def scenarios_from(source: Mapping[str, Any] | str | Path) -> list[Scenario]:
    if isinstance(source, Mapping):
        return [load_text(_yaml_of(source), source=SOURCE)]
    if isinstance(source, Path):
        return load_paths([source])
    if not isinstance(source, str):
        raise TypeError(
            "load_scenario takes a mapping, YAML text, a path or a shipped scenario's name, "
            f"not {type(source).__name__}"
        )
    if _exists(source) or source in shipped():
        return load_paths([source])
    data, problem = _parse(source)
    if isinstance(data, dict):
        return [load_text(source, source=SOURCE)]
    raise ScenarioError([Problem(_shown(source), None, "", _not_a_scenario(source, problem or _reads_as(data)))])


def _yaml_of(data: Mapping[str, Any]) -> str:
    """Block YAML of a mapping (through JSON, so tuples are lists), for the loader's checks and line numbers."""
    return yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False, allow_unicode=True)


def _exists(text: str) -> bool:
    try:
        return bool(text.strip()) and Path(text).exists()
    except (OSError, ValueError):  # too long for a file name, or a NUL in it: text, not a path
        return False


def _parse(text: str) -> tuple[Any, str | None]:
    try:
        return yaml.safe_load(text), None
    except yaml.YAMLError as exc:
        return None, f"not valid YAML: {str(exc).splitlines()[0]}"


def _reads_as(data: Any) -> str:
    kind = {str: "a string", list: "a list", type(None): "nothing"}.get(type(data), type(data).__name__)
    return f"it reads as {kind}, not a mapping"


def _not_a_scenario(text: str, why_not_yaml: str) -> str:
    names = shipped()
    close = difflib.get_close_matches(text.strip(), names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    path = "no such path" + (f": {Path.cwd() / text}" if "\n" not in text else "")
    return (
        f"not a scenario. Tried: a file or folder ({path}); a shipped scenario ({', '.join(names)}){hint}; "
        f"YAML text of a scenario ({why_not_yaml})"
    )


def _shown(text: str) -> str:
    one_line = text.replace("\n", "\\n")
    return repr(one_line if len(one_line) <= 60 else one_line[:59] + "…")
