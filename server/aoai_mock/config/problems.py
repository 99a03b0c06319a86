"""What is wrong with a configuration file: each :class:`Problem` names its file, line and field, and a
:class:`ConfigError` carries them all, so one start lists every mistake at once.

The models raise plain errors; this module places them. A pydantic error's location
(``deployments.0.rate_limit.burst``) is walked down the YAML node tree, whose marks give the line, and its
message is said for people: "did you mean" for a misspelt key or value, quotes for a version YAML read as
a number. None of it runs while a file is good.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from aoai_mock.wire.bounded_yaml import Problem

__all__ = [
    "Problem",
    "ConfigError",
    "did_you_mean",
    "located",
    "validation_problems",
    "duplicate_keys",
    "node_line",
    "place",
]

LOCATED = "config_problem"  # the error type of :func:`located`
_BOUNDS = {
    "greater_than_equal": "at least",
    "greater_than": "more than",
    "less_than_equal": "at most",
    "less_than": "less than",
}
_EXPECTED = {  # pydantic's type errors, said as what the file should hold
    "model_type": "a mapping",
    "dict_type": "a mapping",
    "tuple_type": "a list",
    "list_type": "a list",
    "frozen_set_type": "a list",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
}


class ConfigError(ValueError):
    """A configuration that cannot be used. From a file, ``problems`` lists each one (file, line, field);
    a bad flag or environment variable is a message alone."""

    def __init__(self, message: str = "", problems: Iterable[Problem] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message or "\n".join(str(p) for p in self.problems))


def did_you_mean(word: Any, choices: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the known choice closest to ``word``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def located(places: Sequence[tuple[tuple[Any, ...], str]]) -> PydanticCustomError:
    """An error a validator raises to place one or more problems below its own field: each place is a
    location relative to the validated value (``(3, "name")``) and its message."""
    return PydanticCustomError(LOCATED, "{message}", {"message": "; ".join(m for _, m in places), "places": places})


# -- the node tree ----------------------------------------------------------------------------------


def node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _join(path: str, part: Any) -> str:
    return f"{path}.{part}" if path else str(part)


def _child(node: yaml.Node, part: Any) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item = node.value[part]
        return item, item
    return None


def _locate(root: yaml.Node, loc: Iterable[Any]) -> tuple[int, str, yaml.Node | None]:
    """The line, the field path and the value's node of a pydantic error location. A part the tree does not
    have (a missing key, a validator's own name) ends the walk on the nearest line; a scalar given for a
    mapping (``responder: echo``) ends it on the scalar."""
    node, line, path = root, node_line(root), ""
    for part in loc:
        if isinstance(node, yaml.ScalarNode):
            break
        found = _child(node, part)
        if found is None:
            return line, _join(path, part) if isinstance(node, yaml.MappingNode) else path, None
        key, node = found
        line, path = node_line(key), _join(path, part)
    return line, path, node


def place(root: yaml.Node, source: str, loc: Sequence[Any], message: str) -> Problem:
    """A problem at a location of the file, on its line."""
    line, field, _ = _locate(root, loc)
    return Problem(source, line, field, message)


def duplicate_keys(node: yaml.Node, source: str, path: str = "") -> Iterator[Problem]:
    """Keys given twice in one mapping: YAML keeps the last silently."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            if name in seen:
                message = f"key {name!r} is given twice (first on line {seen[name]}); the last one would count"
                yield Problem(source, node_line(key), _join(path, name), message)
            seen.setdefault(name, node_line(key))
            yield from duplicate_keys(value, source, _join(path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from duplicate_keys(item, source, _join(path, index))


# -- messages ---------------------------------------------------------------------------------------


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds, alone, in a collection or as an option (``ResponderSpec | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _keys_at(model: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys the model at ``loc`` (an unknown key's location, the key last) accepts."""
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        inner = _model_in(field.annotation) if field is not None else None
        if inner is None:
            return []
        model = inner
    return list(model.model_fields)


def _quote_hint(node: yaml.Node | None, value: Any) -> str:
    """For a value YAML read as another type (``0613`` is the number 395, ``2024-08-06`` a date): quote it."""
    if isinstance(node, yaml.ScalarNode) and node.style is None and not isinstance(value, str):
        return f"; YAML reads {node.value} as {type(value).__name__} {value}: write it in quotes, \"{node.value}\""
    return ""


def _number(value: Any) -> str:
    """``1`` for a bound of 1.0: the file says numbers as people write them."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else repr(value)


def _message(error: Any, node: yaml.Node | None, model: type[BaseModel]) -> str:
    kind, loc, msg, ctx = error["type"], error["loc"], error["msg"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        unknown = str(loc[-1]) if loc else "?"
        return f"unknown field {unknown!r}{did_you_mean(unknown, _keys_at(model, loc))}"
    if kind == "missing":
        return "this field is required"
    if kind in ("enum", "literal_error") and "expected" in ctx:
        choices = re.findall(r"'([^']*)'", str(ctx["expected"]))
        return f"{error['input']!r} is not one of {', '.join(choices)}{did_you_mean(error['input'], choices)}"
    if kind == "string_type":
        return f"a string is expected{_quote_hint(node, error['input'])}"
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "?")
        return f"must be {_BOUNDS[kind]} {_number(bound)}, not {_number(error['input'])}"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]} is expected, not {error['input']!r}"
    if kind == "finite_number":
        return f"must be a finite number, not {error['input']!r}"
    return re.sub(r"^(Value error|Assertion failed), ", "", msg)


def validation_problems(
    exc: ValidationError, root: yaml.Node | None, source: str, model: type[BaseModel]
) -> list[Problem]:
    """Every error of ``exc`` as a problem on its line; ``model`` is the one validated (for "did you mean")."""
    problems = []
    for error in exc.errors():
        ctx = error.get("ctx") or {}
        for sub, message in ctx.get("places") if error["type"] == LOCATED else [((), None)]:
            loc = (*error["loc"], *sub)
            if root is None:
                line, field, node = None, ".".join(map(str, loc)), None
            else:
                line, field, node = _locate(root, loc)
            problems.append(Problem(source, line, field, message or _message(error, node, model)))
    return sorted(dict.fromkeys(problems), key=lambda p: p.line or 0)
