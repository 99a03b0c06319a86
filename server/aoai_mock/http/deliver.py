"""Carrying out a delivery plan (:mod:`aoai_mock.behaviour.delivery`) for any family: the one place where
a fault's effects and pacing reach the wire.

* :func:`before_answer`: the part of a plan that comes before any byte: its delay, then an Azure error
  (raised, so the front door renders it), a dropped connection, or a hang;
* :func:`deliver`: an :class:`~aoai_mock.behaviour.inference.Outcome` as a reply: a JSON body (paced as a
  whole, or cut in half) or an SSE stream (:class:`~aoai_mock.http.sse.SseReply`, paced and shaped).

Every outcome goes into the request's record: hung, closed, reset, cut, and the events sent.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from aoai_mock.behaviour.delivery import DeliveryPlan
from aoai_mock.behaviour.inference import Outcome
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.http.front import Exchange, JsonReply
from aoai_mock.http.protocol import drop_connection
from aoai_mock.http.render import json_bytes
from aoai_mock.http.sse import Framing, SseReply
from aoai_mock.state.record import CLOSED, CUT, HUNG, RESET, Record

__all__ = ["before_answer", "deliver", "stream_reply", "NoReply"]


class NoReply:
    """The answer to a request whose connection a fault closed: nothing, once the server has seen it go."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass


class HalfReply:
    """A complete answer cut mid-body: the headers (full content-length), half the body, then gone."""

    def __init__(self, body: bytes, record: Record) -> None:
        self.body = body
        self.record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = (b"content-length", str(len(self.body)).encode())
        await send({"type": "http.response.start", "status": 200, "headers": [length, (b"content-type", b"application/json")]})
        half = self.body[: len(self.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
        self.record.outcome = CUT
        drop_connection(scope)
        await NoReply()(scope, receive, send)


async def before_answer(
    runtime: Runtime, record: Record, scope: Scope, receive: Receive, plan: DeliveryPlan
) -> ASGIApp | None:
    """Carry out the part of ``plan`` that comes before the answer: its delay, then an error (raised), or
    a dead connection (returned as the reply). None: go on and answer (perhaps paced or shaped later)."""
    if plan.delay_s:
        await runtime.sleep(plan.delay_s)
    faults = runtime.faults
    if plan.error is not None:
        _delivered(runtime, plan)
        raise plan.error
    if plan.drop is not None:
        reset = plan.drop == "reset"
        drop_connection(scope, reset=reset)
        record.outcome = RESET if reset else CLOSED
        if plan.fault is not None:
            faults.delivered(plan.fault, client_closed=False)
        return NoReply()
    if plan.hang:
        closed = await _hang(scope, receive, plan.hang_s)
        record.outcome = HUNG
        if plan.fault is not None:
            faults.delivered(plan.fault, client_closed=closed)
        return NoReply()
    return None


async def _hang(scope: Scope, receive: Receive, seconds: float | None) -> bool:
    """Say nothing until the client gives up (True) or ``seconds`` pass and the mock closes (False)."""

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(client_gone(), timeout=seconds)
        return True
    except TimeoutError:
        drop_connection(scope)
        return False


def _delivered(runtime: Runtime, plan: DeliveryPlan) -> None:
    if plan.fault is not None:
        runtime.faults.delivered(plan.fault)


async def deliver(exchange: Exchange, outcome: Outcome, framing: Framing) -> ASGIApp:
    """The reply of an outcome: as is when it has no plan, else under its plan."""
    plan = outcome.plan
    answer = outcome.answer
    if plan is None and answer is not None:
        if outcome.stream:
            return SseReply(answer.events(), framing, exchange.record)
        return JsonReply(json_bytes(answer.body()))
    assert plan is not None
    runtime = exchange.runtime
    cut_short = await before_answer(runtime, exchange.record, exchange.scope, exchange.receive, plan)
    if cut_short is not None or answer is None:
        return cut_short or NoReply()
    _delivered(runtime, plan)
    if outcome.stream:
        return stream_reply(exchange, answer.events(), framing, plan)
    body = json_bytes(answer.body())
    if plan.pace is not None:
        wait = exchange.origin + plan.pace.total - runtime.monotonic()
        if wait > 0:
            await runtime.sleep(wait)
    if plan.cut_after is not None:
        return HalfReply(body, exchange.record)
    return JsonReply(body)


def stream_reply(exchange: Exchange, events: object, framing: Framing, plan: DeliveryPlan | None) -> SseReply:
    """An SSE stream under ``plan`` (pacing counted from the request's arrival)."""
    runtime, scope = exchange.runtime, exchange.scope
    return SseReply(
        events,  # type: ignore[arg-type]
        framing,
        exchange.record,
        plan,
        sleep=runtime.sleep,
        clock=runtime.monotonic,
        origin=exchange.origin,
        drop=lambda: drop_connection(scope),
    )

