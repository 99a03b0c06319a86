"""YAML -> Scenario, with every problem named by file, line and field.

The YAML is composed into nodes first (they carry line marks), then validated by the pydantic models;
each validation error's location (``rules.2.match.message.0.regex``) is walked down the node tree to
the line it came from. Fixture files a scenario names are looked up and read here too, so
``aoai-mock validate`` finds a missing or broken fixture before a request does.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import BaseModel, ValidationError

from aoai_mock.behaviour.responders.fixture import FixtureError, load_reply
from aoai_mock.behaviour.scenarios import schema
from aoai_mock.behaviour.scenarios.problems import Problem, ScenarioError
from aoai_mock.behaviour.scenarios.schema import ReplySpec, Scenario
from aoai_mock.wire import bounded_yaml

__all__ = [
    "Problem",
    "ScenarioError",
    "load_file",
    "load_text",
    "load_paths",
    "json_schema",
    "shipped",
    "shipped_dir",
    "find_fixture",
    "fixture_name_problem",
    "read_vectors",
    "VectorFixture",
]

SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"
_SUFFIXES = (".yaml", ".yml")


# -- the node tree ----------------------------------------------------------------------------------


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    found = bounded_yaml.compose_in_file(text, source, "a scenario")
    if isinstance(found, Problem):
        raise ScenarioError([found]) from None
    return found


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _duplicate_keys(node: yaml.Node, source: str, path: str = "") -> Iterator[Problem]:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name in seen:
                yield Problem(source, _line(key), _join(path, name), f"key {name!r} is given twice")
            seen.add(name)
            yield from _duplicate_keys(value, source, _join(path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, source, f"{path}[{index}]")


def _join(path: str, part: Any) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else str(part)


def _is_tag(part: Any) -> bool:
    """Pydantic's names for union members and validators in a location, which are no YAML keys."""
    return isinstance(part, str) and (part[:1].isupper() or "[" in part or part in ("str", "int", "float", "bool"))


def _child(node: yaml.Node, part: Any) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and -len(node.value) <= part < len(node.value):
        item = node.value[part]
        return item, item
    return None


def locate(root: yaml.Node, loc: Iterable[Any]) -> tuple[int, str]:
    """The line and the field path of a pydantic error location."""
    node, line, path = root, _line(root), ""
    for part in loc:
        found = _child(node, part)
        if found is None:
            if _is_tag(part) or (part == 0 and not isinstance(node, yaml.SequenceNode)):
                continue  # a union member's name, or a single item given where a list may be
            return line, _join(path, part)
        key, node = found
        line, path = _line(key), _join(path, part)
    return line, path


# -- messages ---------------------------------------------------------------------------------------


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for value in vars(schema).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            names |= {f.alias or n for n, f in value.model_fields.items()}
    return names


_FIELDS = _all_field_names()


def _message(error: Any) -> str:
    kind, loc, msg = error["type"], error["loc"], error["msg"]
    if kind == "extra_forbidden":
        unknown = str(loc[-1]) if loc else "?"
        close = difflib.get_close_matches(unknown, _FIELDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown field {unknown!r}{hint}"
    if kind == "missing":
        return "this field is required"
    return re.sub(r"^(Value error|Assertion failed), ", "", msg)


def _validation_problems(exc: ValidationError, root: yaml.Node, source: str) -> list[Problem]:
    problems = []
    for error in exc.errors():
        line, field = locate(root, error["loc"])
        problems.append(Problem(source, line, field, _message(error)))
    return sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)


# -- fixtures ---------------------------------------------------------------------------------------


def fixture_name_problem(name: str) -> str | None:
    """Why a fixture name cannot be used, or None: a fixture is named relative to the fixture folders."""
    path = Path(name)
    if path.is_absolute() or path.drive or ".." in path.parts or "\0" in name:
        return f"fixture {name!r} must be a path inside the fixture folders (relative, without '..')"
    return None


def find_fixture(name: str, base_dir: Path | None) -> Path | None:
    """A fixture file inside the fixture folders: next to the scenario, or in ``fixtures/`` beside or inside its
    folder (for a scenario posted to the control API, the server's fixture folder). Absolute names and names
    with ``..`` are never looked up."""
    if fixture_name_problem(name) is not None:
        return None
    path = Path(name)
    base = base_dir or Path.cwd()
    for candidate in (base / path, base.parent / "fixtures" / path, base / "fixtures" / path):
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class VectorFixture:
    """Embedding vectors from a fixture: in turn (one per input), or by input text."""

    in_turn: tuple[tuple[float, ...], ...] = ()
    by_input: Mapping[str, tuple[float, ...]] = field(default_factory=dict)


def _vector(value: Any) -> tuple[float, ...] | None:
    if isinstance(value, list) and value and all(isinstance(x, int | float) for x in value):
        return tuple(float(x) for x in value)
    return None


def read_vectors(path: Path) -> VectorFixture:
    """Vectors from JSON: one vector, a list of vectors, an embeddings response (``data[].embedding``), or
    ``{"inputs": {"<input text>": vector, ...}}``."""
    try:
        data = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise FixtureError(f"fixture {path}: cannot read: {exc.strerror}", f"cannot read: {exc.strerror}") from None
    except orjson.JSONDecodeError as exc:
        raise FixtureError(f"fixture {path}: not JSON: {exc}", f"not JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("inputs"), dict):
        by_input = {str(k): _vector(v) for k, v in data["inputs"].items()}
        if by_input and all(v is not None for v in by_input.values()):
            return VectorFixture(by_input=by_input)  # type: ignore[arg-type]
    if isinstance(data, dict):
        data = [item.get("embedding") for item in data.get("data") or [] if isinstance(item, dict)]
    vectors = [_vector(data)] if _vector(data) else [_vector(v) for v in data] if isinstance(data, list) else []
    if not vectors or any(v is None for v in vectors):
        reason = 'expected a vector, a list of vectors, an embeddings response or {"inputs": {...}}'
        raise FixtureError(f"fixture {path}: {reason}", reason)
    return VectorFixture(in_turn=tuple(vectors))  # type: ignore[arg-type]


def _replies(scenario: Scenario) -> Iterator[tuple[tuple[Any, ...], ReplySpec]]:
    if scenario.default is not None:
        yield ("default",), scenario.default
    for i, rule in enumerate(scenario.rules):
        if rule.reply is not None:
            yield ("rules", i, "reply"), rule.reply
        for j, reply in enumerate(rule.replies or ()):
            yield ("rules", i, "replies", j), reply


def _fixture_problems(scenario: Scenario, root: yaml.Node | None, source: str, base: Path | None) -> list[Problem]:
    problems = []
    for loc, reply in _replies(scenario):
        for key, name, read in (
            ("fixture", reply.fixture, load_reply),
            ("embeddings", reply.embeddings.fixture if reply.embeddings else None, read_vectors),
        ):
            if name is None:
                continue
            full = (*loc, key) if key == "fixture" else (*loc, key, "fixture")
            line, path = locate(root, full) if root is not None else (None, ".".join(map(str, full)))
            found = find_fixture(name, base)
            try:
                if found is None:
                    raise FixtureError(fixture_name_problem(name) or f"fixture {name!r} not found in the fixture folders")
                read(found)
            except FixtureError as exc:  # said by name: an answer to the control API shows no server paths
                problems.append(Problem(source, line, path, f"fixture {name!r}: {exc.reason}" if found else exc.reason))
    return problems


# -- loading ----------------------------------------------------------------------------------------


def _default_name(source: str) -> str:
    stem = Path(source.strip("<>")).stem
    return re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.") or "scenario"


def load_text(text: str, source: str = "<string>", base_dir: Path | None = None) -> Scenario:
    """A scenario from YAML text; ``base_dir`` is where fixtures are looked up (default: the working folder)."""
    root, data = _compose(text, source)
    problems = list(_duplicate_keys(root, source)) if root is not None else []
    if not isinstance(data, dict):
        line = _line(root) if root is not None else None
        raise ScenarioError([*problems, Problem(source, line, "", "a scenario must be a mapping (name, rules, ...)")])
    data.setdefault("name", _default_name(source))
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError([*problems, *_validation_problems(exc, root, source)]) from None
    problems += _fixture_problems(scenario, root, source, base_dir)
    if problems:
        raise ScenarioError(problems)
    scenario._source = source
    scenario._base_dir = base_dir
    return scenario


def load_file(path: Path | str) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read: {exc}")]) from None
    return load_text(text, str(path), path.resolve().parent)


def shipped_dir() -> Path:
    """The folder of the scenarios that come with aoai-mock."""
    return Path(str(files("aoai_mock") / "data" / "scenarios"))


def shipped() -> list[str]:
    """Names of the shipped scenarios."""
    return sorted(p.stem for p in shipped_dir().iterdir() if p.suffix in _SUFFIXES)


def _files_of(entry: str | Path) -> list[Path]:
    path = Path(entry)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    if path.is_file():
        return [path]
    named = shipped_dir() / f"{entry}.yaml"
    if isinstance(entry, str) and "/" not in entry and named.is_file():
        return [named]
    raise ScenarioError(
        [Problem(str(entry), None, "", f"no such file or folder, nor a shipped scenario ({', '.join(shipped())})")]
    )


def load_paths(paths: Iterable[str | Path]) -> list[Scenario]:
    """Scenarios from files, folders (their .yaml/.yml files) and names of shipped scenarios, in order.

    Every problem in every file is collected before one ScenarioError is raised.
    """
    loaded: list[Scenario] = []
    problems: list[Problem] = []
    files_seen: set[Path] = set()
    for entry in paths:
        try:
            found = _files_of(entry)
        except ScenarioError as exc:
            problems += exc.problems
            continue
        for path in found:
            if path.resolve() in files_seen:
                continue  # named twice (as a file and in its folder, say): load it once
            files_seen.add(path.resolve())
            try:
                loaded.append(load_file(path))
            except ScenarioError as exc:
                problems += exc.problems
    seen: dict[str, str] = {}
    for scenario in loaded:
        name = str(scenario.name)
        if name in seen:
            problems.append(Problem(str(scenario.source), None, "name", f"scenario {name!r} is also in {seen[name]}"))
        seen.setdefault(name, str(scenario.source))
    if problems:
        raise ScenarioError(problems)
    return loaded


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for editors (``aoai-mock schema > scenario.schema.json``)."""
    document = Scenario.model_json_schema(by_alias=True)
    deployment = document.get("$defs", {}).get("Deployment", {}).get("properties", {})
    if "responder" in deployment:  # config.py accepts a responder's name alone
        deployment["responder"] = {"anyOf": [{"type": "string"}, deployment["responder"]], "default": "echo"}
    return {"$schema": SCHEMA_URL, "title": "aoai-mock scenario", **document}
