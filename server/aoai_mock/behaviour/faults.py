"""Fault plans at run time: which faults are installed, their counters, and the fault a request gets.

The HTTP layer asks, for every inference request, before a scenario rule answers it::

    fault = runtime.faults.decide(view, request_id=request_id)   # None: answer normally
    if fault is not None:
        ...wait fault.delay_s, then carry out fault.action (error, delay, hang, close, reset, cut, ...)
        runtime.faults.delivered(fault.record, client_closed=...)

``decide`` reads the ``x-aoai-mock-fault`` header itself (see ``fault_header``): a request that names a
fault gets it, and ``none`` gets none; either way the installed plans do not see that request. Otherwise
every installed entry whose scope fits counts the request, and the first one whose schedule is due fires.
Plans come from scenario files (``faults:``), the control API (``install(plan, "control")``) or code, one
plan per source; installing again under a source replaces its plan. Time is the injected ``clock``'s
(``time.monotonic`` by default) unless a ``now`` is passed, so tests never sleep.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from aoai_mock.behaviour.fault_build import Fault, build_fault
from aoai_mock.behaviour.fault_header import HEADER, parse_fault_header
from aoai_mock.behaviour.fault_log import Answers, FaultLog, Injection
from aoai_mock.behaviour.scenarios.fault_schema import (
    STREAM_KINDS,
    FaultEntry,
    FaultPlan,
    FaultSpec,
    unique_ids,
)
from aoai_mock.behaviour.scenarios.match_schema import OPERATION_ALIASES
from aoai_mock.behaviour.scenarios.matching import RequestFacts, RequestView, compile_match
from aoai_mock.errors import InvalidRequest

__all__ = ["Fault", "FaultBook", "FaultEntry", "FaultPlan", "FaultSpec", "load_plan", "is_stream", "HEADER_SOURCE"]

HEADER_SOURCE = "header"  # source and entry id of a fault the request's header asked for
PlanLike = FaultPlan | Iterable[FaultEntry | Mapping[str, Any]]


def is_stream(view: RequestView) -> bool:
    """The request asks for a stream (``"stream": true`` in its body)."""
    return view.body.get("stream") is True


def load_plan(data: Any) -> FaultPlan:
    """A plan from JSON (``{"faults": [...]}`` or the bare list); InvalidRequest naming each bad field."""
    if isinstance(data, list):
        data = {"faults": data}
    try:
        return FaultPlan.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
            problems.append(f"{where}: {error['msg'].removeprefix('Value error, ')}" if where else error["msg"])
        first = exc.errors()[0]["loc"]
        param = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first).lstrip(".") or None
        raise InvalidRequest("aoai-mock: invalid fault plan: " + "; ".join(problems), param=param,
                             code="invalid_fault_plan") from None


class _Entry:
    """One installed fault entry: its compiled scope, counters and seeded draws."""

    def __init__(self, spec: FaultEntry, source: str, position: int, origin: float) -> None:
        self.spec = spec
        self.source = source
        self.id = spec.id or f"fault-{position}"
        self.operations = frozenset(OPERATION_ALIASES.get(o, o) for o in spec.operation) if spec.operation else None
        self.deployments = frozenset(spec.deployment) if spec.deployment else None
        self.stream = True if spec.kind in STREAM_KINDS[1:] else spec.stream
        self.matcher = compile_match(spec.match) if spec.match is not None else None
        self.reset(origin)

    def reset(self, origin: float) -> None:
        self.origin = origin
        self.seen = self.fired = self.shadowed = 0
        self.rng = random.Random(self.spec.seed or 0) if self.spec.probability is not None else None

    def in_scope(self, view: RequestView, stream: bool, facts: Callable[[], RequestFacts]) -> bool:
        if self.operations is not None and view.operation not in self.operations:
            return False
        if self.deployments is not None and view.deployment not in self.deployments:
            return False
        if self.stream is not None and stream != self.stream:
            return False
        return self.matcher is None or self.matcher.matches(facts()) is not None

    def due(self, now: float) -> bool:
        """Count this request (it is in scope) and say whether the schedule picks it."""
        spec = self.spec
        self.seen += 1
        draw = self.rng.random() if self.rng is not None else 0.0  # drawn every time: the n-th request, the n-th draw
        k = self.seen - (spec.after or 0)
        if k < 1 or (spec.next is not None and k > spec.next) or (spec.every is not None and k % spec.every):
            return False
        if spec.window is not None:
            since = now - self.origin
            if since < spec.window.start_s or (spec.window.end_s is not None and since >= spec.window.end_s):
                return False
        if spec.probability is not None and draw >= spec.probability:
            return False
        return spec.times is None or self.fired < spec.times

    def as_dict(self) -> dict[str, Any]:
        spec = self.spec
        return {
            "source": self.source,
            "id": self.id,
            "kind": spec.kind,
            "description": spec.description,
            "spec": spec.model_dump(mode="json", exclude_none=True, exclude={"id", "description"}, by_alias=True),
            "seen": self.seen,
            "fired": self.fired,
            "shadowed": self.shadowed,
            "exhausted": spec.times is not None and self.fired >= spec.times,
        }


class _Plan:
    """The entries one source installed, and the requests decided since (``match``'s ``call``)."""

    def __init__(self, entries: list[_Entry]) -> None:
        self.entries = entries
        self.calls = 0

    def reset(self, origin: float) -> None:
        self.calls = 0
        for entry in self.entries:
            entry.reset(origin)


def _facts(view: RequestView, call: int, cache: list[RequestFacts]) -> Callable[[], RequestFacts]:
    """The request's facts for one plan, made on first use; the conversation is worked out once for all plans."""

    def get() -> RequestFacts:
        if not cache:
            cache.append(RequestFacts(view, call))
        first = cache[0]
        return first if first.call == call else RequestFacts(view, call, first.messages)

    return get


def _entries(plan: PlanLike) -> list[FaultEntry]:
    if isinstance(plan, FaultPlan):
        return list(plan.faults)
    items = list(plan)
    if not all(isinstance(item, FaultEntry) for item in items):
        return list(load_plan(items).faults)
    try:
        return unique_ids(items)  # type: ignore[arg-type]
    except ValueError as exc:
        message = f"aoai-mock: invalid fault plan: {exc}"
        raise InvalidRequest(message, param="faults", code="invalid_fault_plan") from None


class FaultBook:
    """Installed fault plans by source, their counters, and the log of injected faults. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, log_size: int = 1000) -> None:
        self.clock = clock
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()
        self._log = FaultLog(log_size)
        self._origin = clock()
        self._requests = 0

    # -- managing ----------------------------------------------------------------------------------

    def install(self, plan: PlanLike, source: str = "control", now: float | None = None) -> list[str]:
        """Install ``plan`` under ``source``, replacing that source's plan (an empty one removes it).

        Its windows count from now and its counters from zero. Returns the entry ids. Dicts are
        validated; a bad field or a repeated id is an InvalidRequest (400) naming it.
        """
        entries = _entries(plan)
        at = self.clock() if now is None else now
        compiled = [_Entry(spec, source, i + 1, at) for i, spec in enumerate(entries)]
        with self._lock:
            if compiled:
                self._plans[source] = _Plan(compiled)
            else:
                self._plans.pop(source, None)
        return [entry.id for entry in compiled]

    def clear(self, source: str | None = None) -> None:
        """Remove the plan of ``source``, or every plan. The log stays."""
        with self._lock:
            if source is None:
                self._plans.clear()
            else:
                self._plans.pop(source, None)

    def reset(self, now: float | None = None) -> None:
        """Counters, seeded draws and clock origins (of the book and every plan) start again; the log empties."""
        at = self.clock() if now is None else now
        with self._lock:
            self._origin = at
            self._requests = 0
            self._log.clear()
            for plan in self._plans.values():
                plan.reset(at)

    def sources(self) -> list[str]:
        return list(self._plans)

    # -- deciding ----------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing installed: only a header can ask for a fault."""
        return not self._plans

    def decide(
        self, view: RequestView, now: float | None = None, *, request_id: str | None = None, stream: bool | None = None
    ) -> Fault | None:
        """The fault this request gets, or None. ``stream`` defaults to the body's ``"stream": true``.

        Raises InvalidRequest (400, param x-aoai-mock-fault) for a header it cannot read.
        """
        header = view.headers.get(HEADER)
        if header is None and not self._plans:
            return None
        streaming = is_stream(view) if stream is None else stream
        asked = parse_fault_header(header, streaming) if header is not None else None
        at = self.clock() if now is None else now
        with self._lock:
            self._requests += 1
            if header is not None:
                chosen = (asked, HEADER_SOURCE, HEADER_SOURCE) if asked is not None else None
            else:
                chosen = self._choose(view, streaming, at)
            if chosen is None:
                return None
            spec, entry_id, source = chosen
            record = self._log.add(at - self._origin, view, entry=entry_id, source=source, kind=spec.kind,
                                   request_id=request_id, stream=streaming)
        return build_fault(spec, view, entry=entry_id, source=source, record=record.n, stream=streaming,
                           request_id=request_id)

    def _choose(self, view: RequestView, stream: bool, now: float) -> tuple[FaultSpec, str, str] | None:
        """Every entry in scope counts the request; the first that is due fires, later due ones are shadowed."""
        fired: _Entry | None = None
        cache: list[RequestFacts] = []
        for plan in self._plans.values():
            plan.calls += 1
            facts = _facts(view, plan.calls, cache)
            for entry in plan.entries:
                if not entry.in_scope(view, stream, facts) or not entry.due(now):
                    continue
                if fired is None:
                    fired = entry
                    entry.fired += 1
                else:
                    entry.shadowed += 1
        return (fired.spec, fired.id, fired.source) if fired is not None else None

    # -- outcomes ----------------------------------------------------------------------------------

    def delivered(self, record: int, now: float | None = None, *, client_closed: bool | None = None,
                  **details: Any) -> None:
        """The HTTP layer finished carrying out fault ``record`` (the response ended, or the connection closed).

        ``client_closed``: the client went away first (a hang past its timeout: that is its answer).
        ``details``: anything else worth showing (``chunks_sent=3``, ``detail="..."``), kept under ``transport``.
        Unknown records (too old for the log) are ignored.
        """
        at = self.clock() if now is None else now
        with self._lock:
            found = self._log.get(record)
            if found is None:
                return
            found.delivered_at = at - self._origin
            if client_closed is not None:
                details["client_closed"] = client_closed
            found.transport.update(details)

    def record_outcome(self, record: int, **fields: Any) -> None:
        """Add what the HTTP layer knows of the client's answer to fault ``record`` (merged into ``client``)."""
        with self._lock:
            found = self._log.get(record)
            if found is not None:
                found.client = {**(found.client or {}), **fields}

    def injections(self) -> list[Injection]:
        with self._lock:
            return self._log.records()

    def summary(self, now: float | None = None, answers: Answers | None = None) -> dict[str, Any]:
        """For ``GET /_mock/faults``: installed entries and counters, injected faults and the client's answers
        (``answers``: how the journal says the client answered each, see ``fault_log.client_answers``)."""
        at = self.clock() if now is None else now
        with self._lock:
            since = at - self._origin
            records = self._log.records()
            answered = {r.n: found for r in records if answers is not None and (found := answers(r)) is not None}
            return {
                "time_s": round(since, 3),
                "requests": self._requests,
                "installed": [entry.as_dict() for plan in self._plans.values() for entry in plan.entries],
                "injected": [record.as_dict(since, answered.get(record.n)) for record in records],
                "totals": self._log.totals(answered),
            }
