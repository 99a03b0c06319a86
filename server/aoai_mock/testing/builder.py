"""Rules and faults from Python, for one test: ``aoai_mock.on(deployment="gpt-4o").reply(text="Hi")``.

The builder writes what a scenario file would say -- a rule (its ``match`` and ``reply``) or a fault entry
(a kind, a schedule and a scope) -- and hands it to the test's :class:`~aoai_mock.testing.mock.MockServer`,
which puts the rules in front of the active scenario's own and installs the faults; the reset after the
test removes both. So whatever the scenario format can match and answer is at hand, and a rule written here
reads the same as in a YAML file (docs/scenarios-and-journal.md, scenarios/README.md).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from aoai_mock.behaviour.scenarios import Problem, Rule, Scenario, ScenarioError
from aoai_mock.behaviour.scenarios.fault_schema import FAULT_KINDS
from aoai_mock.behaviour.scenarios.schema import ERROR_PRESETS

__all__ = ["RequestPattern", "Stub", "MATCH_FIELDS", "validated_rule", "in_front"]

# A rule's ``match`` fields (match_schema.Match); a fault entry takes deployment and operation itself, the rest
# under its own ``match``.
MATCH_FIELDS = (
    "operation", "deployment", "api_version", "headers", "message", "tools", "tool_result", "response_format",
    "body", "call",
)
_FAULT_SCOPE = ("deployment", "operation")
_SOURCE = "aoai_mock.on(...)"


class Mock(Protocol):
    """What the builder needs of :class:`~aoai_mock.testing.mock.MockServer` (which imports this module)."""

    def add_rule(self, rule: Mapping[str, Any]) -> str: ...

    def install_faults(self, entries: list[dict[str, Any]], source: str | None = None) -> tuple[str, list[str]]: ...

    def requests(self, **filters: str | int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class Stub:
    """What ``reply``, ``replies`` or ``fail`` made: a rule (``kind="rule"``, ``name`` its name) or a fault
    plan (``kind="fault"``, ``name`` its source), and the requests it answered so far."""

    mock: Mock
    kind: str
    name: str

    @property
    def calls(self) -> list[dict[str, Any]]:
        """The journal entries of the requests this rule answered, or this fault hit."""
        if self.kind == "rule":
            return [e for e in self.mock.requests() if e.get("rule") == self.name]
        return [e for e in self.mock.requests() if (e.get("fault") or {}).get("source") == self.name]

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def called(self) -> bool:
        return bool(self.calls)


class RequestPattern:
    """The requests a rule or fault is for, as ``aoai_mock.on(...)`` names them.

    Keywords: any field of a scenario rule's ``match`` (``deployment``, ``operation``, ``message``,
    ``tools``, ``tool_result``, ``response_format``, ``body``, ``headers``, ``api_version``, ``call``), plus
    ``message_contains`` (the last user message contains this, as ``message: <text>`` in a file), ``stream``
    (faults only: streaming requests or not) and ``name`` (the rule's name, for ``assert_called(rule=...)``).
    """

    def __init__(
        self,
        mock: Mock,
        *,
        message_contains: str | None = None,
        stream: bool | None = None,
        name: str | None = None,
        **match: Any,
    ) -> None:
        unknown = sorted(set(match) - set(MATCH_FIELDS))
        if unknown:
            known = (*MATCH_FIELDS, "message_contains", "stream", "name")
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise TypeError(
                f"aoai_mock.on() got unknown field(s) {', '.join(unknown)}{hint}; it takes: {', '.join(known)}"
            )
        found = {key: value for key, value in match.items() if value is not None}
        if message_contains is not None:
            found["message"] = [*_as_list(found.get("message")), {"contains": message_contains}]
        self.mock = mock
        self.match = found
        self.stream = stream
        self.name = name

    def reply(self, text: str | None = None, *, times: int | None = None, **reply: Any) -> Stub:
        """Answer the matching requests with this reply: ``text=``, or any field of a scenario reply
        (``tool_calls``, ``json``, ``refusal``, ``choices``, ``embeddings``, ``error``, ``responder`` and
        ``options``, ``fixture``, ``finish_reason``, ``usage``, ``content_filter``). ``times``: at most that
        many requests, then later rules (and the scenario) answer."""
        if text is not None:
            reply["text"] = text
        return self._rule({"reply": reply, "times": times})

    def replies(self, *replies: str | Mapping[str, Any], then: str = "repeat_last", times: int | None = None) -> Stub:
        """Answer the matching requests with these replies in turn (a string is ``{"text": ...}``); ``then``:
        repeat_last, cycle or fall_through when they run out."""
        answers = [{"text": r} if isinstance(r, str) else dict(r) for r in replies]
        return self._rule({"replies": answers, "then": then, "times": times})

    def fail(self, kind: int | str, *, times: int | None = None, **params: Any) -> Stub:
        """Make the matching requests fail.

        A fault kind (429, 408, 500, 502, 503, 504, delay, hang, close, reset, cut, stall, malformed,
        stream_error) installs a fault entry with Azure's own body and headers; ``params`` are the entry's
        (``retry_after_ms``, ``message``, ``after_chunks``, ``next``, ``every``, ``after``, ``probability``...).
        Another 4xx or 5xx status, or an error preset (rate_limit, server_error, overloaded, content_filter),
        is a rule that answers with that error (``message``, ``code``, ``param``, ``headers``...).
        ``times``: at most that many requests."""
        text = str(kind).strip().lower()
        if text in FAULT_KINDS:
            return self._fault({"kind": text, **params, "times": times})
        if text in ERROR_PRESETS:
            return self._rule({"reply": {"error": {"preset": text, **params}}, "times": times})
        if isinstance(kind, int) and 400 <= kind <= 599:
            error = {"status": kind, "message": f"The request failed with status {kind} (aoai_mock.on().fail).",
                     **params}
            return self._rule({"reply": {"error": error}, "times": times})
        raise ValueError(
            f"fail({kind!r}): not a fault kind ({', '.join(FAULT_KINDS)}), an error preset "
            f"({', '.join(ERROR_PRESETS)}) or an HTTP error status (400-599)"
        )

    def _rule(self, rule: dict[str, Any]) -> Stub:
        if self.stream is not None:
            raise TypeError("on(stream=...) scopes a fault (fail with a fault kind); a rule can match "
                            "body={'stream': True}")
        given = {key: value for key, value in rule.items() if value is not None}
        if self.name is not None:
            given["name"] = self.name
        return Stub(self.mock, "rule", self.mock.add_rule({"match": self.match, **given}))

    def _fault(self, entry: dict[str, Any]) -> Stub:
        given = {key: value for key, value in entry.items() if value is not None}
        given |= {key: self.match[key] for key in _FAULT_SCOPE if key in self.match}
        rest = {key: value for key, value in self.match.items() if key not in _FAULT_SCOPE}
        if rest:
            given["match"] = rest
        if self.stream is not None:
            given["stream"] = self.stream
        if self.name is not None:
            given.setdefault("id", self.name)
        source, _ids = self.mock.install_faults([given])
        return Stub(self.mock, "fault", source)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _message(text: str) -> str:
    return re.sub(r"^(Value error|Assertion failed), ", "", text)


def validated_rule(rule: Mapping[str, Any], taken: Collection[str | None] = ()) -> Rule:
    """A rule checked as the loader checks one, its problems named by field."""
    try:
        checked = Rule.model_validate(dict(rule))
    except ValidationError as exc:
        raise ScenarioError(
            Problem(_SOURCE, None, ".".join(str(p) for p in error["loc"]), _message(error["msg"]))
            for error in exc.errors()
        ) from None
    if checked.name in taken:
        raise ScenarioError([Problem(_SOURCE, None, "name", f"this test already has a rule named {checked.name!r}")])
    return checked


def in_front(rules: Iterable[Rule], base: Scenario) -> Scenario:
    """``base`` with ``rules`` tried before its own; its unnamed rules keep the names the journal gave them."""
    own = [rule if rule.name else rule.model_copy(update={"name": base.rule_name(i)}) for i, rule in
           enumerate(base.rules)]
    mine = list(rules)
    clash = sorted({r.name for r in mine} & {r.name for r in own})
    if clash:
        problem = f"scenario {base.name!r} has a rule named {clash[0]!r} already; give on(...) another name="
        raise ScenarioError([Problem(_SOURCE, None, "name", problem)])
    return base.model_copy(update={"rules": [*mine, *own]})
