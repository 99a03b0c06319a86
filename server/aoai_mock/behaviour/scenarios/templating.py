"""Templates in scenario replies: Jinja in an immutable sandbox, checked and compiled once, at load.

A text such as ``"You said: {{ last_user }}"`` is a template; a string without ``{{`` or ``{%`` stays a
literal and costs nothing. Inside JSON values (tool arguments, ``json:`` replies) a string that is one
whole expression, ``"{{ match.age | int }}"``, yields the expression's value with its type (an integer
here); any other string renders to text. Unknown variables and filters are errors at load time, not
empty output at run time. Nothing here is random: the ``random`` filter and ``lipsum`` are removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from aoai_mock.errors import AzureError

if TYPE_CHECKING:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "VARIABLES",
    "TemplateProblem",
    "Text",
    "Value",
    "check_text",
    "check_value",
    "compile_text",
    "compile_value",
]

# Every name a template may use; the engine fills them from the request (see replies).
VARIABLES: dict[str, str] = {
    "last_user": "text of the last user message",
    "system": "text of the system (and developer) messages, joined by newlines",
    "messages": "every message: {role, text, name, tool_call_id}",
    "last": "the last message: {role, text, name, tool_call_id}",
    "tool_results": "tool results after the last user message: {name, tool_call_id, text}",
    "tools": "names of the tools the request offers",
    "body": "the request body as sent",
    "headers": "request headers, lower-case names",
    "deployment": "the deployment name",
    "api_version": "the api-version of the request",
    "operation": "the operation, e.g. chat.completions",
    "model": "the deployment's model",
    "call": "this request's number in the scenario, from 1",
    "rule_call": "how many times this rule has answered, this time included",
    "match": "groups captured by `regex` message matches, by number and by name",
    "seed": "the request's seed (an integer), for deterministic choices",
    "choice": "the index of the choice being written",
    "scenario": "the scenario's name",
    "rule": "the rule's name",
}

_MARKERS = ("{{", "{%", "{#")
_WHOLE_EXPRESSION = re.compile(r"^\{\{(?P<expr>(?:(?!\}\}).)*)\}\}$", re.S)


class TemplateProblem(ValueError):
    """A template that does not compile, or uses a name that is not available."""


def _regex_search(value: Any, pattern: str, group: int | str = 0) -> str:
    found = re.search(pattern, str(value))
    return (found.group(group) or "") if found else ""


def _regex_findall(value: Any, pattern: str) -> list[Any]:
    return re.findall(pattern, str(value))


def _regex_replace(value: Any, pattern: str, replacement: str) -> str:
    return re.sub(pattern, replacement, str(value))


def _json(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _from_json(value: Any) -> Any:
    """JSON text as a value (a tool result's text, say); text that is not JSON stays as it is."""
    try:
        return orjson.loads(str(value))
    except orjson.JSONDecodeError:
        return value


class _Jinja(NamedTuple):
    env: ImmutableSandboxedEnvironment
    known: frozenset[str]  # the names a template may use
    error: type[Exception]  # jinja2.TemplateError
    meta: Any  # jinja2.meta


@cache
def _jinja() -> _Jinja:
    """The sandbox templates run in, made with the first template (Jinja takes a while to import)."""
    from jinja2 import ChainableUndefined, TemplateError, meta
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(undefined=ChainableUndefined, autoescape=False)
    env.filters.pop("random", None)  # draws from the global RNG: not deterministic
    env.globals.pop("lipsum", None)  # likewise
    env.filters.update(regex_search=_regex_search, regex_findall=_regex_findall, regex_replace=_regex_replace)
    env.filters.update({"json": _json, "from_json": _from_json})
    return _Jinja(env, frozenset(VARIABLES) | frozenset(env.globals), TemplateError, meta)


def _is_template(source: str) -> bool:
    return any(marker in source for marker in _MARKERS)


def _check_names(source: str) -> None:
    jinja = _jinja()
    try:
        unknown = sorted(jinja.meta.find_undeclared_variables(jinja.env.parse(source)) - jinja.known)
    except jinja.error as exc:
        raise TemplateProblem(f"template error: {exc}") from None
    if unknown:
        raise TemplateProblem(
            f"unknown template variable {', '.join(repr(u) for u in unknown)}; available: {', '.join(VARIABLES)}"
        )


class Text:
    """A text template; ``render(variables)`` gives a string."""

    __slots__ = ("source", "_template")

    def __init__(self, source: str) -> None:
        self.source = source
        self._template = None
        if _is_template(source):
            _check_names(source)
            jinja = _jinja()
            try:
                self._template = jinja.env.from_string(source)
            except jinja.error as exc:
                raise TemplateProblem(f"template error: {exc}") from None

    def render(self, variables: Mapping[str, Any]) -> str:
        if self._template is None:
            return self.source
        try:
            return self._template.render(variables)
        except Exception as exc:  # a template is the user's code: any failure is its failure
            raise _render_failed(self.source, exc) from None


class Value:
    """A JSON value whose strings may be templates; ``render(variables)`` gives the filled-in value."""

    __slots__ = ("_build",)

    def __init__(self, value: Any) -> None:
        self._build = _compile(value)

    def render(self, variables: Mapping[str, Any]) -> Any:
        return self._build(variables)


def _compile(value: Any) -> Any:
    if isinstance(value, Mapping):
        parts = {str(k): _compile(v) for k, v in value.items()}
        return lambda vs: {k: build(vs) for k, build in parts.items()}
    if isinstance(value, list | tuple):
        items = [_compile(v) for v in value]
        return lambda vs: [build(vs) for build in items]
    if isinstance(value, str) and _is_template(value):
        whole = _WHOLE_EXPRESSION.match(value.strip())
        if whole is None:
            return Text(value).render
        return _expression(value, whole["expr"])
    return lambda vs: value


def _expression(source: str, expr: str) -> Any:
    _check_names(source)
    jinja = _jinja()
    try:
        compiled = jinja.env.compile_expression(expr, undefined_to_none=True)
    except jinja.error as exc:
        raise TemplateProblem(f"template error: {exc}") from None

    def build(variables: Mapping[str, Any]) -> Any:
        try:
            return compiled(**variables)
        except Exception as exc:  # as in Text.render
            raise _render_failed(source, exc) from None

    return build


def _render_failed(source: str, exc: Exception) -> AzureError:
    return AzureError(
        f"aoai-mock: the scenario template {source!r} failed: {exc}",
        code="scenario_template_error",
        type="server_error",
        status=500,
    )


def compile_text(source: str) -> Text:
    return Text(source)


def compile_value(value: Any) -> Value:
    return Value(value)


def check_text(source: str) -> str:
    """Validate a text template (for the schema's validators); returns it unchanged."""
    Text(source)
    return source


def check_value(value: Any) -> Any:
    Value(value)
    return value
