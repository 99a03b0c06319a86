"""The seam between HTTP and behaviour for every answering operation: ``answer(call, family) -> Outcome``.

A route checks the key, api-version and deployment, reads the body into a :class:`Call`, and asks
:func:`answer`. Behind this one function, in this order and once for every family (chat completions,
completions, embeddings, Responses): the body is validated, the fault is decided (a typed
:class:`~aoai_mock.behaviour.delivery.DeliveryPlan`), an enforced quota admits or refuses the request,
the responder is chosen (the request's header, a scenario's rule or default, else the deployment's),
the family answers (its content filter included), and pacing is planned. The outcome is a complete
answer or an event iterator, with the plan; the HTTP layer only renders it. A provisioned deployment's
utilization admits the request in place of a quota, and a request it would refuse (or fail) may be answered by
a standard deployment instead (:mod:`aoai_mock.behaviour.provisioned`, docs/provisioned.md).

Everything learned on the way goes into the request's :class:`~aoai_mock.state.record.Record`: the
scenario and rule, the responder, the fault and what it does, the quota's decision, the tokens.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import anyio.from_thread
import anyio.to_thread

from aoai_mock.behaviour import provisioned
from aoai_mock.behaviour.delivery import DeliveryPlan
from aoai_mock.behaviour.fault_build import Fault
from aoai_mock.behaviour.memo import AnswerMemo
from aoai_mock.behaviour.pacing import pace_for
from aoai_mock.behaviour.ratelimit import Admission, estimate_cost, operation_id
from aoai_mock.behaviour.responders.base import Responder
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.request_facts import RequestView
from aoai_mock.behaviour.shared_counters import naming
from aoai_mock.config import Deployment
from aoai_mock.errors import AzureError, ServerError
from aoai_mock.state.record import Record
from aoai_mock.wire import headers as names
from aoai_mock.wire.validation import validate

__all__ = [
    "Call", "Answer", "Answered", "Family", "Estimate", "Outcome", "answer", "answer_shared", "decide_fault",
    "quota_figures",
]


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class Call:
    """One request to an answering operation, checked and read."""

    runtime: Runtime
    record: Record
    operation: str
    deployment: Deployment
    api_version: str
    body: dict[str, Any]
    headers: Mapping[bytes, bytes]  # lower-case names, as received
    origin: float  # the runtime's monotonic clock when the request was taken up: pacing counts from here
    response_headers: list[tuple[bytes, bytes]]  # headers the answer (or its error) carries: quota figures
    responder: str | None = None  # x-aoai-mock-responder
    scenario: str | None = None  # x-aoai-mock-scenario
    loaded: Any = None  # what the family read from the store for this request (``Family.load``)
    _view: RequestView | None = None

    def view(self, body: Mapping[str, Any] | None = None) -> RequestView:
        """The request as fault plans and scenario rules see it (``body`` replaces the sent one)."""
        if body is not None:
            return RequestView(self.operation, self.deployment.name, self.api_version, self._named(), body)
        if self._view is None:
            self._view = RequestView(self.operation, self.deployment.name, self.api_version, self._named(), self.body)
        return self._view

    def _named(self) -> dict[str, str]:
        return {k.decode("latin-1"): v.decode("latin-1") for k, v in self.headers.items()}


class Answer(Protocol):
    """What a family's run gives: its usage, and the answer whole or as events."""

    tokens_in: int
    tokens_out: int

    def body(self) -> Mapping[str, Any]: ...

    def events(self) -> Iterable[Any]: ...


@dataclass(slots=True)
class Answered:
    """An :class:`Answer` from a family's own result and the wire builders that render it."""

    result: Any
    tokens_in: int
    tokens_out: int
    render: Callable[[Any], Mapping[str, Any]]  # the result as one JSON body
    stream_of: Callable[[Any], Iterable[Any]] | None = None  # the result as events; None: it never streams

    def body(self) -> Mapping[str, Any]:
        return self.render(self.result)

    def events(self) -> Iterable[Any]:
        if self.stream_of is None:
            raise TypeError("this answer does not stream")
        return self.stream_of(self.result)


@dataclass(frozen=True, slots=True)
class Estimate:
    """What an enforced quota charges before any work [documented: Azure's rate-limit estimate]."""

    prompt_tokens: int
    max_tokens: int | None
    choices: int = 1
    generates: bool = True  # False (embeddings): nothing is generated, no default estimate is added


@dataclass(frozen=True, slots=True)
class Family:
    """One answering operation, as the seam drives it."""

    operation: str
    parse: Callable[[Call], Any] | None  # the validated request (400s here); None: the body as ``model``
    streams: bool  # it can stream: then ``"stream": true`` in the body asks for it
    estimate: Callable[[Call, Any], Estimate]  # for an enforced quota
    run: Callable[[Call, Any, Responder | None], Answer]
    view: Callable[[Call, Any], RequestView] | None = None  # how scenario rules see it (default: as sent)
    model: type[Any] | None = None  # the request model the body is validated as, when ``parse`` is None
    # A body at least this large is answered in a worker thread, so that no single request holds the event
    # loop (the seam's state is locked: faults, quotas and scenarios are shared with threads; the store is
    # reached only on the loop, through ``load`` and ``keep``).
    offload_bytes: int = 64 * 1024
    # What it reads from the store before the answer, into ``Call.loaded``, and writes there after it (Responses
    # continues and keeps responses): awaited by the route on the event loop, around :func:`answer` (which may
    # run in a worker thread). The route holds the writes in a transaction and commits them once the answer is
    # rendered, so a request that fails stores nothing.
    load: Callable[[Call], Awaitable[Any]] | None = None
    keep: Callable[[Call, Any], Awaitable[None]] | None = None
    # The answer again, for a request the family has answered before with a pure responder (see
    # :class:`~aoai_mock.behaviour.memo.AnswerMemo`): the remembered result with this request's own id and time. None: never remembered.
    restamp: Callable[[Call, Any], Answered] | None = None


    @property
    def stores(self) -> bool:
        return self.keep is not None


@dataclass(slots=True)
class Outcome:
    """The answer, whole (``answer.body()``) or streamed (``answer.events()``), and how to deliver it.

    ``plan`` is None when nothing but sending it as is remains (no fault, no pacing): the fast case.
    ``answer`` is None when the plan answers in its place (an injected error, a dropped connection, a hang).
    """

    answer: Answer | None
    stream: bool
    plan: DeliveryPlan | None


def answer(call: Call, family: Family) -> Outcome:
    """Validate, fault, quota, responder, answer, pacing: see the module's docstring."""
    if call.deployment.ptu is not None:
        return _provisioned(call, family)
    key, known, parsed, stream, plan = _checked(call, family)
    if plan is not None and not plan.answers:
        return Outcome(None, stream, plan)
    if call.deployment.rate_limit.enforce:
        _admit(call, family.estimate(call, parsed))
    return _answered(call, family, key, known, parsed, stream, plan)


async def answer_shared(call: Call, family: Family) -> Outcome:
    """:func:`answer` for an enforced quota, a fault plan or a scenario kept in Redis (``--state redis://``),
    on the event loop: the same steps, the round trips awaited in between (a scenario's rule is decided in a
    worker thread, which waits for Redis: every family asks the book its own way)."""
    runtime = call.runtime
    if call.deployment.ptu is not None:  # its utilization is this process's own; a worker waits for the rest
        try:
            return await anyio.to_thread.run_sync(answer, call, family)
        except ServerError as exc:
            raise naming(exc, call.record.request_id) from exc
    key, known, parsed, stream, plan = _checked(call, family, faults=False)
    if not runtime.faults.idle or names.FAULT_B in call.headers:
        fault = await runtime.faults.decide_shared(call.view(), request_id=call.record.request_id, stream=stream)
        plan = plan_of(fault, call.record, call.deployment) if fault is not None else None
    if plan is not None and not plan.answers:
        return Outcome(None, stream, plan)
    if call.deployment.rate_limit.enforce:
        cost = _cost(call.deployment, family.estimate(call, parsed))
        limiter, record = runtime.limiter, call.record
        admission = await limiter.admit_shared(call.deployment, cost, call.operation, call.api_version,
                                               record.request_id)
        _admitted(call, cost, admission)
    if call.responder is None and (call.scenario is not None or runtime.book.active is not None):
        try:
            return await anyio.to_thread.run_sync(_answered, call, family, key, known, parsed, stream, plan)
        except ServerError as exc:  # Redis out of reach: its 500 names this request
            raise naming(exc, call.record.request_id) from exc
    return _answered(call, family, key, known, parsed, stream, plan)


_Checked = tuple[tuple[str, str, str, bytes] | None, Any, Any, bool, DeliveryPlan | None]


def _checked(call: Call, family: Family, faults: bool = True) -> _Checked:
    """The request's memo key and remembered answer (or None), the validated request, whether it streams, and
    its fault's plan (``faults``: decided here)."""
    runtime = call.runtime
    key = _memo_key(call, family)
    known = runtime.answers.get(key, call.deployment) if key is not None else None
    if known is not None:
        parsed = known[0]
    else:
        parsed = validate(family.model, call.body) if family.parse is None else family.parse(call)
    stream = family.streams and call.body.get("stream") is True
    plan = None
    if faults and (not runtime.faults.idle or names.FAULT_B in call.headers):  # the common case asks nothing more
        plan = decide_fault(call, stream)
    return key, known, parsed, stream, plan


def _answered(
    call: Call, family: Family, key: tuple[str, str, str, bytes] | None, known: Any, parsed: Any, stream: bool,
    plan: DeliveryPlan | None,
) -> Outcome:
    """The responder's answer to an admitted request, and its pacing."""
    runtime, record, deployment = call.runtime, call.record, call.deployment
    if call.responder is None and call.scenario is None and runtime.book.active is None:
        record.responder = deployment.responder.name
        responder = None  # the deployment's own
    else:
        responder = _responder(call, family, parsed)
    if known is not None and responder is None:
        answered = family.restamp(call, known[1])  # type: ignore[misc]  # (a key means it has one)
    else:
        answered = family.run(call, parsed, responder)
        if (
            key is not None
            and responder is None
            and runtime.answers.again(key)  # remembered the second time it comes
            and getattr(runtime.responder(deployment), "pure", False)
        ):
            runtime.answers.put(key, deployment, parsed, answered.result)
    record.tokens_in, record.tokens_out = answered.tokens_in, answered.tokens_out
    if deployment.pacing.enabled:
        plan = plan or DeliveryPlan()
        plan.pace = pace_for(deployment).schedule(zlib.crc32(record.body), answered.tokens_out)
    return Outcome(answered, stream, plan)


def _memo_key(call: Call, family: Family) -> tuple[str, str, str, bytes] | None:
    """The key under which the answer of ``call`` may be remembered (:class:`AnswerMemo`), or None: the family
    restamps answers, nothing but the deployment's own responder answers, and the whole body is a short one."""
    record = call.record
    raw = record.body
    if (
        family.restamp is None
        or call.responder is not None
        or call.scenario is not None
        or call.runtime.book.active is not None
        or len(raw) > AnswerMemo.BODY
        or record.body_size != len(raw)
    ):
        return None
    return family.operation, call.deployment.name, call.api_version, raw


def decide_fault(call: Call, stream: bool) -> DeliveryPlan | None:
    """The plan of the fault this request gets (``x-aoai-mock-fault``, or an installed plan), or None."""
    fault = call.runtime.faults.decide(call.view(), request_id=call.record.request_id, stream=stream)
    if fault is None:
        return None
    return plan_of(fault, call.record, call.deployment)


def plan_of(fault: Fault, record: Record, deployment: Deployment | None) -> DeliveryPlan:
    """A fault's plan, noted in the request's record; an injected 429 states the deployment's own quota."""
    plan = fault.apply(DeliveryPlan())
    record.fault, record.fault_source, record.fault_effect = fault.kind, fault.source, plan.effects
    if plan.error is not None and plan.error.status == 429 and deployment is not None:
        quota_figures(plan.error.headers, deployment)
    return plan


def quota_figures(headers: dict[str, str], deployment: Deployment) -> None:
    """An injected 429 states the deployment's own quota (spent), where it states one at all."""
    figures = {
        "x-ratelimit-limit-tokens": str(deployment.tokens_per_minute),
        "x-ratelimit-limit-requests": str(deployment.requests_per_minute),
    }
    for name, value in figures.items():
        if name in headers:
            headers[name] = value


def _admit(call: Call, estimate: Estimate) -> None:
    """Charge the enforced quota with the estimate; the 429 (raised) when it is spent. A quota kept in Redis
    is charged on the event loop, which this (a worker thread's) waits for: on the loop itself,
    :func:`answer_shared` charges it."""
    deployment, limiter = call.deployment, call.runtime.limiter
    cost = _cost(deployment, estimate)
    if limiter.shared is None:
        admission = limiter.admit(deployment, cost, call.operation, call.api_version)
    else:
        admission = anyio.from_thread.run(
            limiter.admit_shared, deployment, cost, call.operation, call.api_version, call.record.request_id
        )
    _admitted(call, cost, admission)


def _cost(deployment: Deployment, estimate: Estimate) -> int:
    default = deployment.rate_limit.default_max_tokens_estimate if estimate.generates else 0
    return estimate_cost(estimate.prompt_tokens, estimate.max_tokens, default, choices=estimate.choices)


def _admitted(call: Call, cost: int, admission: Admission) -> None:
    """The quota's decision in the record; the 429 raised, or the admission's figures among the headers."""
    call.record.quota = {"cost": cost, "admitted": admission.error is None, "retry_after_ms": admission.retry_after_ms}
    if admission.error is not None:
        raise admission.error
    call.response_headers.extend(admission.headers)


def _responder(call: Call, family: Family, parsed: Any) -> Responder | None:
    """Who answers: the responder the request names, else the scenario's rule or default, else None
    (the deployment's own); the record says which."""
    runtime, record = call.runtime, call.record
    if call.responder:
        record.responder = call.responder
        return runtime.responder(call.deployment, call.responder)
    view = family.view(call, parsed) if family.view is not None else call.view()
    decision = runtime.book.decide(view, call.scenario)
    decision.note(record)
    if decision.responder is not None:
        return decision.responder
    if decision.default is not None:
        return runtime.responder_for(decision.default)
    record.responder = call.deployment.responder.name
    return None


# -- provisioned deployments (behaviour/provisioned.py) ----------------------------------------------------


def _provisioned(call: Call, family: Family) -> Outcome:
    """A provisioned deployment's answer: admitted by its utilization, else Azure's immediate 429; or, when
    it would fail so and a standard deployment is named, that deployment's answer (spillover)."""
    headers = call.response_headers
    headers[:] = [header for header in headers if not header[0].startswith(b"x-ratelimit-")]  # not metered so
    target = provisioned.spillover_target(call.deployment, call.headers)
    try:
        outcome = _metered(call, family, target is not None)
    except AzureError as exc:
        if target is None or not provisioned.spills(exc):
            _note_utilization(call)
            raise
        return _spill(call, family, target, exc)
    _note_utilization(call)
    return outcome


def _metered(call: Call, family: Family, spill: bool) -> Outcome:
    """The provisioned deployment's own answer; its errors raised (an injected one too, when it would spill)."""
    deployment, record = call.deployment, call.record
    key, known, parsed, stream, plan = _checked(call, family)
    if plan is not None and not plan.answers:
        if spill and plan.error is not None and provisioned.spills(plan.error):
            raise plan.error
        return Outcome(None, stream, plan)
    estimate = family.estimate(call, parsed)
    ratio = provisioned.throughput(deployment)[1]
    default = deployment.rate_limit.default_max_tokens_estimate if estimate.generates else 0
    output = default if estimate.max_tokens is None else estimate.max_tokens
    cost = round(provisioned.work(estimate.prompt_tokens, output, ratio, estimate.choices))
    decision = call.runtime.provisioned.admit(deployment, cost)  # corrected when the response ends (front door)
    record.quota = {"cost": cost, "admitted": decision.allowed, "retry_after_ms": decision.retry_after_ms,
                    "utilization": round(decision.utilization, 1)}
    if not decision.allowed:
        raise provisioned.refusal(deployment, decision, operation_id(call.operation), call.api_version)
    return _answered(call, family, key, known, parsed, stream, plan)


def _note_utilization(call: Call) -> None:
    utilization = call.runtime.provisioned.utilization(call.deployment)
    call.response_headers.append((provisioned.UTILIZATION, provisioned.percent(utilization)))


def _spill(call: Call, family: Family, name: str, failed: AzureError) -> Outcome:
    """The standard deployment ``name`` answers in the provisioned one's place, saying so in its headers; if it
    is not there or fails too, the provisioned deployment's own error, with the spillover's status."""
    runtime, record, origin, headers = call.runtime, call.record, call.deployment, call.response_headers
    own = record.quota  # the provisioned deployment's decision; the standard one's own quota may note another
    spillover = {"from": origin.name, "to": name, "status": failed.status, "error": None, "quota": None}
    noted = {**(own or {}), "spillover": spillover}
    standard = runtime.deployment(name, call.scenario)
    if standard is None or standard.ptu is not None or call.operation not in standard.operations:
        raise _unspilled(call, failed, noted, 404 if standard is None else 400)
    record.deployment, before = standard.name, len(headers)
    if not standard.rate_limit.enforce:  # its full quota, as on its own answers
        headers.extend(runtime.limiter.admit(standard, 0, call.operation, call.api_version).headers)
    spilled = Call(runtime, record, call.operation, standard, call.api_version, call.body, call.headers, call.origin,
                   headers, call.responder, call.scenario)
    try:
        outcome = answer(spilled, family)
        if outcome.answer is None and outcome.plan is not None and outcome.plan.error is not None:
            raise outcome.plan.error
    except AzureError as exc:
        del headers[before:]
        record.deployment = origin.name
        raise _unspilled(call, failed, noted, exc.status) from None
    spillover["quota"] = record.quota if record.quota is not own else None
    record.quota = noted
    headers.extend(provisioned.spilled_headers(origin, standard, call.operation, call.api_version, outcome.stream))
    return outcome


def _unspilled(call: Call, failed: AzureError, noted: dict[str, Any], status: int) -> AzureError:
    """The provisioned deployment's own error, saying in ``x-ms-spillover-error`` how the spillover failed."""
    noted["spillover"]["error"] = status
    call.record.quota = noted
    failed.headers = {**failed.headers, provisioned.SPILLOVER_ERROR: str(status)}
    _note_utilization(call)
    return failed
