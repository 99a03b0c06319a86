"""Scenarios at run time: which are loaded, which is active, their counters, and the rule that answers.

A route builds a :class:`RequestView`, asks ``book.decide(view, scenario_from_header)`` and lets the
decision's ``responder`` answer (or the deployment's own when it is None)::

    decision = book.decide(RequestView(av.CHAT, name, version, headers, body), headers.get("x-aoai-mock-scenario"))
    responder = decision.responder or runtime.responder(deployment)

Every decision counts as a call of its scenario (``call`` in matches and templates); a rule counts the
calls it answered, which drive ``replies`` sequences and ``times``. ``reset`` zeroes both.

With ``shared`` set (``--state redis://...``), both counters are kept in Redis, shared by every process, and
each decision takes its rule in one script there (:mod:`aoai_mock.behaviour.shared_counters`); a scenario
with a rule that matches on ``call`` takes one round trip more, for the call's number.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aoai_mock.behaviour.responders.base import Context, Conversation, Reply, Responder
from aoai_mock.behaviour.responders.fixture import FixtureError
from aoai_mock.behaviour.scenarios.loader import Problem, ScenarioError
from aoai_mock.behaviour.scenarios.match_schema import OPERATION_ALIASES
from aoai_mock.behaviour.scenarios.matching import (
    RequestFacts,
    RequestView,
    RuleMatcher,
    compile_match,
)
from aoai_mock.behaviour.scenarios.replies import Bindings, CompiledReply
from aoai_mock.behaviour.scenarios.schema import Rule, Scenario
from aoai_mock.behaviour.shared_counters import (
    RuleCandidate,
    SharedCounters,
    blocking,
    off_loop,
    plan_identity,
)
from aoai_mock.config import Deployment, ResponderSpec
from aoai_mock.errors import InvalidRequest, UnknownScenario
from aoai_mock.state.record import SCENARIO_DEFAULT, Record

__all__ = ["RequestView", "Decision", "ScenarioBook", "ScenarioResponder", "UnknownScenario", "NEAREST"]

NEAREST = 3  # rules a near-miss report names


class ScenarioResponder:
    """A rule's reply bound to one decision; a Responder like any other."""

    def __init__(self, reply: CompiledReply, bindings: Bindings) -> None:
        self.reply = reply
        self.bindings = bindings

    def respond(self, conversation: Conversation, ctx: Context) -> Reply:
        return self.reply.build(conversation, ctx, self.bindings)


@dataclass(frozen=True, slots=True)
class Decision:
    """Which scenario and rule answer a request, and the responder that writes the answer."""

    scenario: str | None = None  # None: no scenario is active
    rule: str | None = None  # None: no rule matched
    rule_index: int | None = None
    call: int = 0  # the request's number in its scenario, from 1
    responder: Responder | None = None  # None: the deployment's own responder answers
    default: ResponderSpec | None = None  # the scenario's default, when it names a responder

    @property
    def matched(self) -> bool:
        return self.rule is not None

    def note(self, record: Record | None) -> None:
        """Say in the request's record which scenario and rule answered: the rule's name, SCENARIO_DEFAULT
        when the scenario's default did, nothing when no scenario was involved."""
        if record is None or self.scenario is None:
            return
        record.scenario = self.scenario
        record.rule = self.rule if self.rule is not None else SCENARIO_DEFAULT
        if self.responder is not None:
            record.responder = "scenario"
        elif self.default is not None:
            record.responder = self.default.name


@dataclass(slots=True)
class _Rule:
    index: int
    name: str
    spec: Rule
    matcher: RuleMatcher
    replies: tuple[CompiledReply, ...]

    def available(self, hits: int) -> bool:
        if self.spec.times is not None and hits >= self.spec.times:
            return False
        return not (self.spec.then == "fall_through" and hits >= len(self.replies))

    def unavailable_reason(self, hits: int) -> str:
        if self.spec.times is not None and hits >= self.spec.times:
            return f"times: already answered {hits} time{'s' if hits != 1 else ''}"
        return f"replies: all {len(self.replies)} used (then: fall_through)"

    def reply(self, hits: int) -> CompiledReply:
        count = len(self.replies)
        return self.replies[hits % count if self.spec.then == "cycle" else min(hits, count - 1)]

    def candidate(self, errors_only: bool = False) -> RuleCandidate:
        """This rule's limits, for the shared decision; ``errors_only``: the replies that are errors."""
        spec = self.spec
        limit = len(self.replies) if spec.then == "fall_through" else -1
        flags = "".join("1" if r.error is not None else "0" for r in self.replies) if errors_only else ""
        cycle = 1 if spec.then == "cycle" else 0
        return self.index, spec.times if spec.times is not None else -1, limit, cycle, flags


@dataclass(slots=True)
class _Loaded:
    scenario: Scenario
    rules: tuple[_Rule, ...]
    default: CompiledReply | None
    deployments: dict[str, Deployment]
    calls: int = 0
    hits: list[int] = field(default_factory=list)
    identity: str = ""  # its counters' name in Redis, with shared state

    @property
    def by_call(self) -> bool:
        """A rule matches on ``call``: the call's number is needed before matching."""
        return any(rule.spec.match.call is not None for rule in self.rules)

    def reset(self) -> None:
        self.calls = 0
        self.hits = [0] * len(self.rules)


def _compile(scenario: Scenario) -> _Loaded:
    base = scenario.base_dir if isinstance(scenario.base_dir, Path) else None
    source = scenario.source or str(scenario.name)
    try:
        rules = tuple(
            _Rule(i, scenario.rule_name(i), rule, compile_match(rule.match), _replies(rule, i, base))
            for i, rule in enumerate(scenario.rules)
        )
        default = CompiledReply(scenario.default, base, "default") if scenario.default is not None else None
    except ScenarioError:
        raise
    except (FixtureError, ValueError, TypeError) as exc:  # a responder's options, a fixture changed since loading
        raise ScenarioError([Problem(source, None, "", str(exc))]) from None
    loaded = _Loaded(scenario, rules, default, {d.name: d for d in scenario.deployments})
    loaded.reset()
    return loaded


def _replies(rule: Rule, index: int, base: Path | None) -> tuple[CompiledReply, ...]:
    specs = [rule.reply] if rule.reply is not None else rule.replies or []
    return tuple(CompiledReply(spec, base, f"rules[{index}]") for spec in specs)


class ScenarioBook:
    """The loaded scenarios by name, the active one, and their counters. Safe to use from several threads."""

    def __init__(self, scenarios: Iterable[Scenario] = ()) -> None:
        self._loaded: dict[str, _Loaded] = {}
        self._active: str | None = None
        self._lock = threading.Lock()
        self.shared: SharedCounters | None = None  # counters kept in Redis (--state redis://...)
        for scenario in scenarios:
            self.load(scenario)

    # -- managing ----------------------------------------------------------------------------------

    def load(self, scenario: Scenario, version: int | None = None) -> None:
        """Add a scenario, or replace the one of the same name (its counters start again).

        The first scenario loaded becomes the active one. With shared state its counters are those of its
        identity: its content and ``version`` (the control API's number for it; None: the content alone).
        """
        if not scenario.name:
            problem = Problem(scenario.source or "<scenario>", None, "name", "a loaded scenario needs a name")
            raise ScenarioError([problem])
        compiled = _compile(scenario)
        if self.shared is not None:
            compiled.identity = _identity(scenario, version)
        name = scenario.name
        with self._lock:
            self._loaded[name] = compiled
            if self._active is None:
                self._active = name

    def remove(self, name: str) -> None:
        with self._lock:
            self._require(name)
            del self._loaded[name]
            if self._active == name:
                self._active = None

    def activate(self, name: str | None) -> None:
        """Make ``name`` the active scenario; None: no scenario, every deployment answers as configured."""
        with self._lock:
            if name is not None:
                self._require(name)
            self._active = name

    @property
    def active(self) -> str | None:
        return self._active

    def reset(self, name: str | None = None) -> None:
        """Zero the counters of one scenario, or of all of them."""
        with self._lock:
            targets = [self._require(name)] if name is not None else list(self._loaded.values())
            for loaded in targets:
                loaded.reset()

    def names(self) -> list[str]:
        return list(self._loaded)

    def share(self, shared: SharedCounters) -> None:
        """Count in Redis from now on (scenarios loaded already take their content's identity)."""
        with self._lock:
            self.shared = shared
            for loaded in self._loaded.values():
                loaded.identity = loaded.identity or _identity(loaded.scenario, None)

    def shared_keys(self, name: str | None = None) -> list[str]:
        """The Redis hashes of the loaded scenarios' counters (of ``name``'s only, when given)."""
        shared = self.shared
        if shared is None:
            return []
        loaded = list(self._loaded.items())
        return [shared.scenario_key(n, found.identity) for n, found in loaded if name in (None, n)]

    async def shared_summary(self) -> list[dict[str, Any]]:
        """:meth:`summary`, with the counters Redis keeps in place of this process's."""
        listing = self.summary()
        shared = self.shared
        if shared is None:
            return listing
        keys = self.shared_keys()
        counts = dict(zip(list(self._loaded), await shared.counts(keys)))
        for item in listing:
            found = counts.get(item["name"])
            if found is None:
                continue
            item["calls"] = found.get("calls", 0)
            for i, rule in enumerate(item["rules"]):
                rule["hits"] = found.get(f"hits:{i}", 0)
        return listing

    def get(self, name: str) -> Scenario:
        return self._require(name).scenario

    def summary(self) -> list[dict[str, Any]]:
        """One entry per scenario, for listings: name, description, source, active, calls, rules and their hits."""
        with self._lock:
            return [
                {
                    "name": name,
                    "description": loaded.scenario.description,
                    "source": loaded.scenario.source,
                    "active": name == self._active,
                    "on_no_match": loaded.scenario.on_no_match,
                    "calls": loaded.calls,
                    "deployments": sorted(loaded.deployments),
                    "rules": [{"name": r.name, "hits": loaded.hits[r.index]} for r in loaded.rules],
                }
                for name, loaded in self._loaded.items()
            ]

    def deployment(self, name: str, scenario_name: str | None = None) -> Deployment | None:
        """A deployment the active (or named) scenario declares; None: look in the configuration."""
        chosen = scenario_name or self._active
        loaded = self._loaded.get(chosen) if chosen is not None else None
        return loaded.deployments.get(name) if loaded is not None else None

    def _require(self, name: str) -> _Loaded:
        found = self._loaded.get(name)
        if found is None:
            raise UnknownScenario(name, self._loaded)
        return found

    # -- deciding ----------------------------------------------------------------------------------

    def decide(self, view: RequestView, scenario_name: str | None = None) -> Decision:
        """The rule that answers ``view`` in the named scenario, else the active one.

        Raises UnknownScenario for a name that is not loaded, and InvalidRequest listing the near misses
        when no rule matches and the scenario says ``on_no_match: error``.
        """
        if self.shared is not None and (scenario_name or self._active) is not None and off_loop():
            return blocking(lambda: self.decide_shared(view, scenario_name))
        with self._lock:
            chosen = scenario_name or self._active
            if chosen is None:
                return Decision()
            loaded = self._require(chosen)
            loaded.calls += 1
            facts = RequestFacts(view, loaded.calls)
            for rule in loaded.rules:
                hits = loaded.hits[rule.index]
                if not rule.available(hits):
                    continue
                captures = rule.matcher.matches(facts)
                if captures is not None:
                    loaded.hits[rule.index] = hits + 1
                    return self._answer(chosen, loaded, rule, hits, captures, view)
            return self._no_match(chosen, loaded, facts, view)

    def decide_named(self, view: RequestView, scenario_name: str | None = None) -> Decision | None:
        """For the operations no responder answers (images, audio, files, batches, fine-tuning, assistants'
        objects, ...): the first available rule whose ``match.operation`` names this operation, whose next
        reply is an ``error:`` and that matches answers it with that error; no such rule, None (the route
        answers as always, whatever ``on_no_match`` says: a scenario written for chat leaves the other
        routes alone, and a run's text reply waits for the run)."""
        if self.shared is not None and (scenario_name or self._active) is not None and off_loop():
            return blocking(lambda: self.decide_named_shared(view, scenario_name))
        with self._lock:
            chosen = scenario_name or self._active
            if chosen is None:
                return None
            loaded = self._require(chosen)
            facts = RequestFacts(view, loaded.calls + 1)
            for rule in loaded.rules:
                named = rule.spec.match.operation
                if not named or view.operation not in {OPERATION_ALIASES.get(o, o) for o in named}:
                    continue
                hits = loaded.hits[rule.index]
                if not rule.available(hits) or rule.reply(hits).error is None:
                    continue  # only an error answers in a route's place
                captures = rule.matcher.matches(facts)
                if captures is not None:
                    loaded.calls += 1
                    loaded.hits[rule.index] = hits + 1
                    return self._answer(chosen, loaded, rule, hits, captures, view)
            return None

    async def decide_shared(self, view: RequestView, scenario_name: str | None = None) -> Decision:
        """:meth:`decide`, the counters kept in Redis: the rules that match are worked out here, the first of
        them still available takes the request there (one script)."""
        shared = self.shared
        if shared is None:
            return self.decide(view, scenario_name)
        chosen = scenario_name or self._active
        if chosen is None:
            return Decision()
        loaded = self._require(chosen)
        key = shared.scenario_key(chosen, loaded.identity)
        call = await shared.next_call(key) if loaded.by_call else 0
        facts = RequestFacts(view, call)
        matched = {
            rule.index: (rule, found) for rule in loaded.rules if (found := rule.matcher.matches(facts)) is not None
        }
        mode = "counted" if loaded.by_call else "count"
        calls, index, hits = await shared.take_rule(key, mode, [rule.candidate() for rule, _ in matched.values()])
        call = call or calls
        with self._lock:
            loaded.calls += 1
            if index >= 0:
                loaded.hits[index] += 1
        if index < 0:
            return self._no_match(chosen, loaded, RequestFacts(view, call), view)
        rule, captures = matched[index]
        return self._decision(chosen, loaded, rule, call, hits, captures, view)

    async def decide_named_shared(self, view: RequestView, scenario_name: str | None = None) -> Decision | None:
        """:meth:`decide_named`, the counters kept in Redis (a rule counts a call only when it answers)."""
        shared = self.shared
        if shared is None:
            return self.decide_named(view, scenario_name)
        chosen = scenario_name or self._active
        if chosen is None:
            return None
        loaded = self._require(chosen)
        key = shared.scenario_key(chosen, loaded.identity)
        upcoming = (await shared.counts([key]))[0].get("calls", 0) + 1 if loaded.by_call else 0
        facts = RequestFacts(view, upcoming)
        matched = {}
        for rule in loaded.rules:
            named = rule.spec.match.operation
            if not named or view.operation not in {OPERATION_ALIASES.get(o, o) for o in named}:
                continue
            if all(reply.error is None for reply in rule.replies):
                continue  # only an error answers in a route's place
            if (found := rule.matcher.matches(facts)) is not None:
                matched[rule.index] = (rule, found)
        if not matched:
            return None
        calls, index, hits = await shared.take_rule(key, "if_taken", [r.candidate(True) for r, _ in matched.values()])
        if index < 0:
            return None
        with self._lock:
            loaded.calls += 1
            loaded.hits[index] += 1
        rule, captures = matched[index]
        return self._decision(chosen, loaded, rule, calls, hits, captures, view)

    @staticmethod
    def _decision(
        name: str, loaded: _Loaded, rule: _Rule, call: int, hits: int, captures: dict[Any, Any], view: RequestView
    ) -> Decision:
        bindings = Bindings(name, rule.name, call, hits + 1, view, captures)
        responder = ScenarioResponder(rule.reply(hits), bindings)
        return Decision(name, rule.name, rule.index, call, responder, _default_spec(loaded))

    @staticmethod
    def _answer(
        name: str, loaded: _Loaded, rule: _Rule, hits: int, captures: dict[Any, Any], view: RequestView
    ) -> Decision:
        return ScenarioBook._decision(name, loaded, rule, loaded.calls, hits, captures, view)

    @staticmethod
    def _no_match(name: str, loaded: _Loaded, facts: RequestFacts, view: RequestView) -> Decision:
        if loaded.scenario.on_no_match == "error":
            raise InvalidRequest(near_misses(name, loaded, facts), code="scenario_no_match")
        responder = None
        if loaded.default is not None:
            responder = ScenarioResponder(loaded.default, Bindings(name, None, facts.call, 0, view))
        return Decision(name, None, None, facts.call, responder, _default_spec(loaded))


def _identity(scenario: Scenario, version: int | None) -> str:
    return plan_identity(scenario.model_dump(mode="json", exclude_none=True), version)


def _default_spec(loaded: _Loaded) -> ResponderSpec | None:
    spec = loaded.scenario.default
    if spec is None or spec.responder is None:
        return None
    return ResponderSpec(name=spec.responder, options=spec.options)


def near_misses(name: str, loaded: _Loaded, facts: RequestFacts) -> str:
    """The 400's message: the rules that came closest, and why each missed."""
    ranked = []
    for rule in loaded.rules:
        reasons = rule.matcher.misses(facts)
        hits = loaded.hits[rule.index]
        if not rule.available(hits):
            reasons.append(rule.unavailable_reason(hits))
        ranked.append((len(reasons), rule.index, rule, reasons))
    ranked.sort(key=lambda item: (item[0], item[1]))
    head = f"aoai-mock: no rule of scenario {name!r} matched this request (call {facts.call})"
    if not ranked:
        return head + "; the scenario has no rules."
    parts = [
        f"{rule.name!r} (rule {rule.index + 1}) missed: {'; '.join(reasons)}" for _, _, rule, reasons in ranked[:NEAREST]
    ]
    return f"{head}. Nearest rules: " + " | ".join(parts) + "."
