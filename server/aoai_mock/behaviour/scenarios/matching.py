"""Request patterns -> the rule that answers: a small algebra of compiled tests.

``compile_match(schema.Match)`` gives a :class:`RuleMatcher`, an all-of over small tests. Each test
answers ``miss(facts, found)``: ``None`` when the request passes, else a short reason in the user's
terms ("last user message 'hi' does not contain 'weather'"), which is what a near-miss report shows.
Regexes and JSON paths are compiled once, here; a request's messages, tools and tool results are worked
out once per request (:class:`RequestFacts`), whatever the number of rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aoai_mock.behaviour.scenarios import schema
from aoai_mock.behaviour.scenarios.request_facts import (
    RequestFacts,
    RequestView,
    ToolResult,
    short,
)

__all__ = ["RequestView", "RequestFacts", "Test", "ValueTest", "RuleMatcher", "compile_match"]


class Test(Protocol):
    field: str  # the match field it checks, for reports

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None: ...


# -- values -----------------------------------------------------------------------------------------


class ValueTest:
    """A compiled ``ValueMatch``: passes when any found value meets every condition."""

    def __init__(self, spec: schema.ValueMatch) -> None:
        flags = re.I if spec.ignore_case else 0
        self.spec = spec
        self.fold = (lambda s: s.casefold()) if spec.ignore_case else (lambda s: s)
        self.regex = re.compile(spec.regex, flags) if spec.regex is not None else None
        self.checks = self._checks(spec)

    def _checks(self, spec: schema.ValueMatch) -> list[tuple[str, Callable[[Any], bool]]]:
        fold, checks = self.fold, []
        if "equals" in spec.model_fields_set:
            want = spec.equals
            if isinstance(want, str):
                checks.append((f"= {short(want)}", lambda v: isinstance(v, str) and fold(v) == fold(want)))
            else:
                checks.append((f"= {short(want)}", lambda v: _same(v, want)))
        if spec.one_of is not None:
            checks.append((f"one of {spec.one_of!r}", lambda v: v in spec.one_of))
        if spec.contains is not None:
            checks.append((f"containing {short(spec.contains)}", lambda v: fold(spec.contains) in fold(_str(v))))
        if self.regex is not None:
            checks.append((f"matching /{self.regex.pattern}/", lambda v: self.regex.search(_str(v)) is not None))
        for op, bound in (("gt", spec.gt), ("gte", spec.gte), ("lt", spec.lt), ("lte", spec.lte)):
            if bound is not None:
                checks.append((f"{_SYMBOLS[op]} {bound:g}", _compare(op, bound)))
        return checks

    def miss(self, values: Sequence[Any]) -> str | None:
        if self.spec.exists is not None and bool(values) != self.spec.exists:
            return f"is {'absent' if self.spec.exists else 'present'}"
        if not self.checks:
            return None
        if not values:
            return "is absent"
        if any(all(check(v) for _, check in self.checks) for v in values):
            return None
        failed = next(desc for desc, check in self.checks if not check(values[0]))
        return f"is {short(values[0])}, wanted {failed}"


_SYMBOLS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _same(value: Any, want: Any) -> bool:
    """Equality as JSON means it: true is not 1, 1 is 1.0."""
    return isinstance(value, bool) == isinstance(want, bool) and value == want


def _str(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)


def _compare(op: str, bound: float) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return {"gt": value > bound, "gte": value >= bound, "lt": value < bound, "lte": value <= bound}[op]

    return check


# -- the tests --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OneOf:
    field: str
    values: tuple[str, ...]
    get: Callable[[RequestView], str | None]

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        value = self.get(facts.view)
        if value in self.values:
            return None
        wanted = repr(self.values[0]) if len(self.values) == 1 else f"one of {', '.join(map(repr, self.values))}"
        return f"is {value!r}, wanted {wanted}"


@dataclass(frozen=True, slots=True)
class Header:
    name: str
    test: ValueTest
    field: str = "headers"

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        value = facts.view.headers.get(self.name)
        reason = self.test.miss([] if value is None else [value])
        return f"{self.name} {reason}" if reason else None


@dataclass(frozen=True, slots=True)
class BodyPath:
    path: str
    test: ValueTest
    compiled: Any
    field: str = "body"

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        values = [m.value for m in self.compiled.find(facts.view.body)]
        reason = self.test.miss(values)
        return f"{self.path} {reason}" if reason else None


class Text:
    """A compiled ``TextMatch``: exact, contains or regex, on the messages ``where`` names."""

    field = "message"

    def __init__(self, spec: schema.TextMatch) -> None:
        self.spec = spec
        self.where = spec.where
        flags = re.I if spec.ignore_case else 0
        if spec.regex is not None:
            self.pattern = re.compile(spec.regex, flags)
            self.wanted = f"match /{spec.regex}/"
        else:
            literal = re.escape((spec.exact or "").strip() if spec.exact is not None else spec.contains or "")
            self.pattern = re.compile(rf"^\s*{literal}\s*$" if spec.exact is not None else literal, flags)
            self.wanted = f"equal {short(spec.exact)}" if spec.exact is not None else f"contain {short(spec.contains)}"

    def _texts(self, facts: RequestFacts) -> tuple[str, list[str]]:
        messages = facts.messages
        where = self.where
        if where == "last_user":
            found = [m.text for m in messages if m.role == "user"][-1:]
            return "the last user message", found
        if where == "last":
            return "the last message", [m.text for m in messages[-1:]]
        if where == "system":
            present = any(m.role in ("system", "developer") for m in messages)
            return "the system message", [facts.system] if present else []
        if where == "any":
            return "any message", [m.text for m in messages]
        kind, _, arg = where.partition(":")
        if kind == "role":
            return f"any {arg} message", [m.text for m in messages if m.role == arg]
        index = int(arg)
        in_range = -len(messages) <= index < len(messages)
        return f"message {index}", [messages[index].text] if in_range else []

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        label, texts = self._texts(facts)
        for text in texts:
            hit = self.pattern.search(text)
            if hit is not None:
                if self.spec.regex is not None:
                    found.update({0: hit.group(0), **dict(enumerate(hit.groups(), 1)), **hit.groupdict()})
                return None
        if not texts:
            return f"there is no {label.removeprefix('the ').removeprefix('any ').removeprefix('last ')}"
        shown = f" {short(texts[-1])}" if len(texts) == 1 else ""
        return f"{label}{shown} does not {self.wanted}"


@dataclass(frozen=True, slots=True)
class Tools:
    spec: schema.ToolsMatch
    field: str = "tools"

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        offered = facts.tool_names
        if self.spec.present is not None and bool(offered) != self.spec.present:
            return "the request offers tools" if offered else "the request offers no tools"
        missing = [n for n in self.spec.names or () if n not in offered]
        if missing:
            shown = ", ".join(offered) or "none"
            return f"no tool named {', '.join(missing)} is offered (offered: {shown})"
        if self.spec.choice is not None:
            choice = facts.view.body.get("tool_choice")
            if isinstance(choice, Mapping):
                choice = (choice.get("function") or choice).get("name")
            if choice != self.spec.choice:
                return f"tool_choice is {choice!r}, wanted {self.spec.choice!r}"
        return None


@dataclass(frozen=True, slots=True)
class ToolResultTest:
    spec: schema.ToolResultMatch
    field: str = "tool_result"

    def _fits(self, result: ToolResult) -> bool:
        spec = self.spec
        return (spec.name is None or result.name == spec.name) and (
            spec.tool_call_id is None or result.tool_call_id == spec.tool_call_id
        )

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        spec = self.spec
        results = facts.all_tool_results if spec.anywhere else facts.tool_results
        present = any(self._fits(r) for r in results)
        if present == spec.present:
            return None
        what = " ".join(
            part
            for part in (
                f"for {spec.name}" if spec.name else "",
                f"with tool_call_id {spec.tool_call_id!r}" if spec.tool_call_id else "",
            )
            if part
        )
        scope = "in the conversation" if spec.anywhere else "after the last user message"
        if spec.present:
            return f"no tool result {what + ' ' if what else ''}{scope}"
        return f"there is a tool result {what + ' ' if what else ''}{scope}"


@dataclass(frozen=True, slots=True)
class ResponseFormat:
    spec: schema.ResponseFormatMatch
    field: str = "response_format"

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        fmt = facts.view.body.get("response_format")
        kind = fmt.get("type") if isinstance(fmt, Mapping) else None
        if (kind or "text") != self.spec.type:
            return f"is {kind or 'not set'}, wanted {self.spec.type}"
        if self.spec.name is not None:
            name = (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, Mapping) else None
            if name != self.spec.name:
                return f"json_schema name is {name!r}, wanted {self.spec.name!r}"
        return None


@dataclass(frozen=True, slots=True)
class Call:
    spec: schema.CallMatch
    field: str = "call"

    def miss(self, facts: RequestFacts, found: dict[Any, Any]) -> str | None:
        n, spec = facts.call, self.spec
        wanted = [
            f"one of {spec.one_of}" if spec.one_of is not None and n not in spec.one_of else "",
            f"at least {spec.min}" if spec.min is not None and n < spec.min else "",
            f"at most {spec.max}" if spec.max is not None and n > spec.max else "",
            f"a multiple of {spec.every}" if spec.every is not None and n % spec.every else "",
        ]
        failed = [w for w in wanted if w]
        return f"this is call {n}, wanted {' and '.join(failed)}" if failed else None


# -- rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleMatcher:
    """All of its tests; no tests matches every request."""

    tests: tuple[Test, ...]

    def matches(self, facts: RequestFacts) -> dict[Any, Any] | None:
        """The captured regex groups when every test passes, else None."""
        found: dict[Any, Any] = {}
        for test in self.tests:
            if test.miss(facts, found) is not None:
                return None
        return found

    def misses(self, facts: RequestFacts) -> list[str]:
        """Why the request fails: one reason for every test that fails."""
        found: dict[Any, Any] = {}
        return [f"{test.field}: {reason}" for test in self.tests if (reason := test.miss(facts, found))]


def _operations(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(schema.OPERATION_ALIASES.get(v, v) for v in values))


def compile_match(spec: schema.Match) -> RuleMatcher:
    """The tests of a match, cheap ones first."""
    tests: list[Test] = []
    if spec.operation:
        tests.append(OneOf("operation", _operations(spec.operation), lambda v: v.operation))
    if spec.deployment:
        tests.append(OneOf("deployment", tuple(spec.deployment), lambda v: v.deployment))
    if spec.api_version:
        tests.append(OneOf("api_version", tuple(spec.api_version), lambda v: v.api_version))
    if spec.call is not None:
        tests.append(Call(spec.call))
    tests += [Header(name, ValueTest(test)) for name, test in (spec.headers or {}).items()]
    if spec.response_format is not None:
        tests.append(ResponseFormat(spec.response_format))
    if spec.tools is not None:
        tests.append(Tools(spec.tools))
    if spec.tool_result is not None:
        tests.append(ToolResultTest(spec.tool_result))
    tests += [BodyPath(path, ValueTest(test), _json_path(path)) for path, test in (spec.body or {}).items()]
    tests += [Text(test) for test in spec.message or ()]
    return RuleMatcher(tuple(tests))


def _json_path(path: str) -> Any:
    """A parsed JSONPath (jsonpath-ng, imported with the first rule that has one)."""
    from jsonpath_ng.ext import parse

    return parse(path)
