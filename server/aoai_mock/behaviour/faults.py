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

With ``shared`` set (``--state redis://...``), the schedules' counters are kept in Redis and each decision is
one script there (:mod:`aoai_mock.behaviour.shared_counters`), after one more round trip for the call number
of a plan that matches on ``call``. A plan's windows open when the first process installed it (or the last
reset): that moment is kept with the plan's counters, and each process reads it once per install
(:meth:`FaultBook.anchor_shared`) and judges its windows by its own clock from there. Every injection also goes
to the log every process lists (``shared_log``: :mod:`aoai_mock.behaviour.shared_fault_log`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from aoai_mock.behaviour.fault_build import Fault, build_fault
from aoai_mock.behaviour.fault_header import HEADER, parse_fault_header
from aoai_mock.behaviour.fault_log import Answers, FaultLog, Injection, Listing
from aoai_mock.behaviour.scenarios.fault_schema import (
    STREAM_KINDS,
    FaultEntry,
    FaultPlan,
    FaultSpec,
    unique_ids,
)
from aoai_mock.behaviour.scenarios.match_schema import OPERATION_ALIASES
from aoai_mock.behaviour.scenarios.matching import RequestFacts, RequestView, compile_match
from aoai_mock.behaviour.shared_counters import (
    FaultCandidate,
    SharedCounters,
    blocking,
    off_loop,
    plan_identity,
)
from aoai_mock.errors import InvalidRequest

if TYPE_CHECKING:  # loaded only with shared state (it imports redis)
    from aoai_mock.behaviour.shared_fault_log import SharedFaultLog

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

    def candidate(self, key: str, now: float) -> FaultCandidate:
        """This entry's schedule, for the shared decision (``-1``: not set)."""
        spec, window = self.spec, self.spec.window
        open_ = window is None or (
            window.start_s <= now - self.origin and (window.end_s is None or now - self.origin < window.end_s)
        )
        probability = spec.probability if spec.probability is not None else -1.0
        nxt, every = (spec.next if spec.next is not None else -1), (spec.every or 0)
        times = spec.times if spec.times is not None else -1
        return key, self.id, spec.after or 0, nxt, every, times, probability, spec.seed or 0, open_

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

    def __init__(self, entries: list[_Entry], identity: str = "") -> None:
        self.entries = entries
        self.identity = identity  # its name in Redis, with shared state (shared_counters.plan_identity)
        self.calls = 0
        # An entry matches on ``call``: with shared state, the plan's call number is taken from Redis first.
        self.by_call = any(e.spec.match is not None and e.spec.match.call is not None for e in entries)
        self.windowed = any(e.spec.window is not None for e in entries)
        self.anchored = False  # with shared state: its windows' origin is the one Redis keeps

    @property
    def origin(self) -> float:
        return self.entries[0].origin

    def reset(self, origin: float) -> None:
        self.calls = 0
        self.anchored = False
        for entry in self.entries:
            entry.reset(origin)

    def anchor(self, origin: float) -> None:
        self.anchored = True
        for entry in self.entries:
            entry.origin = origin


def _facts(view: RequestView, call: int, cache: list[RequestFacts]) -> Callable[[], RequestFacts]:
    """The request's facts for one plan, made on first use; the conversation is worked out once for all plans."""

    def get() -> RequestFacts:
        if not cache:
            cache.append(RequestFacts(view, call))
        first = cache[0]
        return first if first.call == call else RequestFacts(view, call, first.messages)

    return get


def dump_plan(entries: Iterable[FaultEntry]) -> list[dict[str, Any]]:
    """A plan's entries as JSON (as the control API takes them back)."""
    return [entry.model_dump(mode="json", exclude_none=True, by_alias=True) for entry in entries]


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

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, log_size: int = 1000, wall: Callable[[], float] = time.time
    ) -> None:
        self.clock = clock
        self.log_size = log_size
        self.wall = wall  # with shared state, times other processes read are on the wall clock
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()
        self._log = FaultLog(log_size)
        self._origin = clock()
        self._requests = 0
        self.shared: SharedCounters | None = None  # schedules counted in Redis (--state redis://...)
        self.shared_log: SharedFaultLog | None = None  # and injections logged there

    # -- managing ----------------------------------------------------------------------------------

    def install(
        self, plan: PlanLike, source: str = "control", now: float | None = None, *, version: int | None = None
    ) -> list[str]:
        """Install ``plan`` under ``source``, replacing that source's plan (an empty one removes it).

        Its windows count from now and its counters from zero. Returns the entry ids. Dicts are
        validated; a bad field or a repeated id is an InvalidRequest (400) naming it. With shared state
        the plan's counters are those of its identity in Redis: its content and ``version`` (the control
        API's number for it; None: the content alone, as for a scenario's plan).
        """
        entries = _entries(plan)
        at = self.clock() if now is None else now
        compiled = [_Entry(spec, source, i + 1, at) for i, spec in enumerate(entries)]
        identity = plan_identity(dump_plan(entries), version) if self.shared is not None and compiled else ""
        with self._lock:
            if compiled:
                self._plans[source] = _Plan(compiled, identity)
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
        """Counters, seeded draws and clock origins (of the book and every plan) start again; the log empties
        (with shared state, this process's own: ``shared_control`` clears the shared one)."""
        at = self.clock() if now is None else now
        with self._lock:
            self._origin = at
            self._requests = 0
            self._log.clear()
            if self.shared_log is not None:
                self.shared_log.forget()
            for plan in self._plans.values():
                plan.reset(at)

    def sources(self) -> list[str]:
        return list(self._plans)

    def share(self, shared: SharedCounters, log: SharedFaultLog | None = None) -> None:
        """Count the schedules in Redis from now on (plans installed already take their content's identity), and
        write the injections to ``log``."""
        with self._lock:
            self.shared = shared
            self.shared_log = log
            for plan in self._plans.values():
                plan.identity = plan.identity or plan_identity(dump_plan(entry.spec for entry in plan.entries))

    def shared_keys(self, source: str | None = None) -> list[str]:
        """The Redis hashes of the installed plans' counters (of ``source``'s plan only, when given)."""
        shared = self.shared
        if shared is None:
            return []
        return [shared.fault_key(s, plan.identity) for s, plan in list(self._plans.items()) if source in (None, s)]

    # -- windows with shared state ----------------------------------------------------------------

    def window_starts(self, *, unanchored: bool = False) -> dict[str, float]:
        """When the windows of the installed plans that have one open, as this process has it (wall-clock
        seconds), by the plans' Redis hashes; ``unanchored``: only plans whose shared origin it has not read."""
        shared = self.shared
        if shared is None:
            return {}
        offset = self.wall() - self.clock()
        return {
            shared.fault_key(source, plan.identity): offset + plan.origin
            for source, plan in list(self._plans.items())
            if plan.windowed and not (unanchored and plan.anchored)
        }

    def anchor(self, starts: Mapping[str, float]) -> None:
        """The windows of the plans in ``starts`` (wall-clock seconds, by Redis hash) open then: this process's
        clock judges them from that moment on."""
        shared = self.shared
        if shared is None:
            return
        offset = self.clock() - self.wall()
        with self._lock:
            for source, plan in self._plans.items():
                started = starts.get(shared.fault_key(source, plan.identity))
                if started is not None:
                    plan.anchor(offset + started)

    async def anchor_shared(self, request_id: str | None = None, *, every: bool = False) -> None:
        """Windows of plans installed (or reset) since the last look open when Redis says: when the first
        process to install the plan did (this one, if none did before). ``every``: every plan's, those this
        process read before too (written again where Redis lost them)."""
        shared = self.shared
        starts = self.window_starts(unanchored=not every) if shared is not None else {}
        if shared is not None and starts:
            self.anchor(await shared.anchor(starts, request_id))

    def _logged(self, record: Injection) -> Injection:
        """``record`` (new, or its delivery reported) goes to the shared log too. Called under the lock."""
        if self.shared_log is not None:
            self.shared_log.put(record, self.wall() - (self.clock() - self._origin))
        return record

    # -- deciding ----------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing installed: only a header can ask for a fault."""
        return not self._plans

    def decide(
        self, view: RequestView, now: float | None = None, *, request_id: str | None = None, stream: bool | None = None
    ) -> Fault | None:
        """The fault this request gets, or None. ``stream`` defaults to the body's ``"stream": true``.

        Raises InvalidRequest (400, param x-aoai-mock-fault) for a header it cannot read. With shared state,
        called from a worker thread: :meth:`decide_shared`, waited for (on the event loop's own thread, where
        nothing may wait, this process's own counters decide: use :meth:`decide_shared` there).
        """
        header = view.headers.get(HEADER)
        if header is None and not self._plans:
            return None
        if header is None and self.shared is not None and off_loop():
            return blocking(lambda: self.decide_shared(view, now, request_id=request_id, stream=stream))
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
            record = self._logged(self._log.add(at - self._origin, view, entry=entry_id, source=source,
                                                kind=spec.kind, request_id=request_id, stream=streaming))
        return build_fault(spec, view, entry=entry_id, source=source, record=record.n, stream=streaming,
                           request_id=request_id)

    async def decide_shared(
        self, view: RequestView, now: float | None = None, *, request_id: str | None = None, stream: bool | None = None
    ) -> Fault | None:
        """:meth:`decide`, the schedules counted in Redis (one script, when an entry's scope takes the request);
        without shared state, or for a request whose header names its fault, :meth:`decide` itself."""
        shared = self.shared
        if shared is None or view.headers.get(HEADER) is not None:
            return self.decide(view, now, request_id=request_id, stream=stream)
        if any(plan.windowed and not plan.anchored for plan in list(self._plans.values())):
            await self.anchor_shared(request_id)
        streaming = is_stream(view) if stream is None else stream
        at = self.clock() if now is None else now
        numbered = [(source, plan) for source, plan in list(self._plans.items()) if plan.by_call]
        calls = {
            id(plan): await shared.next_call(shared.fault_key(source, plan.identity), request_id)
            for source, plan in numbered
        }
        with self._lock:
            self._requests += 1
            scoped = self._scoped(view, streaming, calls)
            candidates = [entry.candidate(shared.fault_key(entry.source, identity), at) for entry, identity in scoped]
        if not candidates:
            return None
        codes = await shared.faults_due(candidates, request_id)
        fired: _Entry | None = None
        with self._lock:
            for (entry, _), code in zip(scoped, codes):
                entry.seen += 1
                if code == 1:
                    fired = entry
                    entry.fired += 1
                elif code == 2:
                    entry.shadowed += 1
            if fired is None:
                return None
            record = self._logged(self._log.add(at - self._origin, view, entry=fired.id, source=fired.source,
                                                kind=fired.spec.kind, request_id=request_id, stream=streaming))
        return build_fault(fired.spec, view, entry=fired.id, source=fired.source, record=record.n, stream=streaming,
                           request_id=request_id)

    def _scoped(self, view: RequestView, stream: bool, calls: dict[int, int]) -> list[tuple[_Entry, str]]:
        """The entries whose scope takes the request (each plan counts it as a call: ``calls`` has the shared
        numbers of the plans that match on it), with their plan's identity."""
        scoped: list[tuple[_Entry, str]] = []
        cache: list[RequestFacts] = []
        for plan in self._plans.values():
            plan.calls += 1
            facts = _facts(view, calls.get(id(plan), plan.calls), cache)
            scoped += [(entry, plan.identity) for entry in plan.entries if entry.in_scope(view, stream, facts)]
        return scoped

    async def shared_counts(self) -> dict[tuple[str, str], dict[str, int]]:
        """The installed entries' counters as Redis has them, by (source, entry id); empty without shared state."""
        shared = self.shared
        if shared is None:
            return {}
        plans = list(self._plans.items())
        found = await shared.counts([shared.fault_key(source, plan.identity) for source, plan in plans])
        counts: dict[tuple[str, str], dict[str, int]] = {}
        for (source, plan), fields in zip(plans, found):
            for entry in plan.entries:
                counts[(source, entry.id)] = {
                    what: fields.get(f"{entry.id}:{what}", 0) for what in ("seen", "fired", "shadowed")
                }
        return counts

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
            self._logged(found)

    def record_outcome(self, record: int, **fields: Any) -> None:
        """Add what the HTTP layer knows of the client's answer to fault ``record`` (merged into ``client``)."""
        with self._lock:
            found = self._log.get(record)
            if found is not None:
                found.client = {**(found.client or {}), **fields}
                self._logged(found)

    def injections(self) -> list[Injection]:
        with self._lock:
            return self._log.records()

    async def shared_listing(self) -> Listing | None:
        """Every process's injections, as the shared log lists them; None without shared state."""
        return await self.shared_log.read() if self.shared_log is not None else None

    def summary(
        self,
        now: float | None = None,
        answers: Answers | None = None,
        counts: Mapping[tuple[str, str], Mapping[str, int]] | None = None,
        log: Listing | None = None,
    ) -> dict[str, Any]:
        """For ``GET /_mock/faults``: installed entries and counters, injected faults and the client's answers
        (``answers``: how the journal says the client answered each, see ``fault_log.client_answers``;
        ``counts``: the shared counters, see :meth:`shared_counts`, in place of this process's; ``log``: the
        shared log's injections, see :meth:`shared_listing`, in place of this process's)."""
        at = self.clock() if now is None else now
        with self._lock:
            log = log or self._log.listing(at - self._origin)
            since, records = log.now, log.records
            answered = {r.n: found for r in records if answers is not None and (found := answers(r)) is not None}
            installed = [entry.as_dict() for plan in self._plans.values() for entry in plan.entries]
            for item in installed if counts else ():
                shared = counts.get((item["source"], item["id"])) if counts else None
                if shared is not None:
                    item.update(shared)
                    times = item["spec"].get("times")
                    item["exhausted"] = times is not None and item["fired"] >= times
            return {
                "time_s": round(since, 3),
                "requests": self._requests,
                "installed": installed,
                "injected": [record.as_dict(since, answered.get(record.n)) for record in records],
                "totals": log.totals(answered),
            }
