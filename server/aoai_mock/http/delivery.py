"""How an answer reaches the client, apart from what it says: rate limits, pacing and faults.

The routes decide the answer; this module decides when and how it is delivered: whether the deployment's
quota admits the request (the 429 otherwise), how long a paced answer takes, and how a stream is paced.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.completions import prompts_of
from aoai_mock.behaviour.faults import Fault
from aoai_mock.behaviour.pacing import pace_for
from aoai_mock.behaviour.ratelimit import estimate_cost
from aoai_mock.config import Deployment
from aoai_mock.http.front import Exchange, JsonReply
from aoai_mock.http.protocol import drop_connection
from aoai_mock.http.render import StreamPlan, sse_response
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.requests import CompletionRequest

__all__ = [
    "before_answer",
    "NoReply","rate_headers_early", "admit", "chat_prompt_tokens", "completion_prompt_tokens", "deliver_json", "deliver_stream"]


def rate_headers_early(exchange: Exchange, deployment: Deployment, operation: str, version: str) -> None:
    """A deployment without an enforced quota shows its full quota on every answer, errors included."""
    if not deployment.rate_limit.enforce:
        admission = exchange.runtime.limiter.admit(deployment, 0, operation, version)
        exchange.response_headers.extend(admission.headers)


def admit(
    exchange: Exchange,
    deployment: Deployment,
    operation: str,
    version: str,
    prompt_tokens: int,
    max_tokens: int | None,
    choices: int = 1,
) -> None:
    """Charge an enforced quota with what Azure estimates the request costs; the 429 when it is spent."""
    limits = deployment.rate_limit
    if not limits.enforce:
        return
    default = 0 if operation == av.EMBEDDINGS else limits.default_max_tokens_estimate
    cost = estimate_cost(prompt_tokens, max_tokens, default, choices=choices)
    admission = exchange.runtime.limiter.admit(deployment, cost, operation, version)
    if admission.error is not None:
        raise admission.error
    exchange.response_headers.extend(admission.headers)


def chat_prompt_tokens(deployment: Deployment, body: Mapping[str, Any]) -> int:
    encoding = tokens.encoding_name_for(deployment.model)
    return tokens.count_chat(body["messages"], encoding, body.get("tools") or body.get("functions"))


def completion_prompt_tokens(deployment: Deployment, request: CompletionRequest) -> list[int]:
    encoding = tokens.encoding_name_for(deployment.model)
    return [tokens.count(p, encoding) for p in prompts_of(request.prompt, encoding)]


def _seed(exchange: Exchange) -> int:
    return zlib.crc32(exchange.body)


async def deliver_json(
    exchange: Exchange, deployment: Deployment, body: bytes, completion_tokens: int, fault: Fault | None = None
) -> ASGIApp:
    """A complete answer, after the time a paced deployment takes to write it (and cut, if a fault says)."""
    pace = pace_for(deployment)
    if pace.enabled:
        await exchange.runtime.sleep(pace.schedule(_seed(exchange), completion_tokens).total)
    return after_answer(exchange, fault, JsonReply(body))


def deliver_stream(
    exchange: Exchange,
    deployment: Deployment,
    chunks: Iterable[Mapping[str, Any]],
    completion_tokens: int,
    fault: Fault | None = None,
) -> ASGIApp:
    """An SSE stream, its content chunks paced as the deployment says, with a stream fault if any."""
    pace = pace_for(deployment)
    plan = None
    if pace.enabled:
        runtime = exchange.runtime
        schedule = pace.schedule(_seed(exchange), completion_tokens)
        plan = StreamPlan(sleep=runtime.sleep, clock=runtime.monotonic, schedule=schedule)
    return sse_response(chunks, stream_plan(exchange, fault, plan))


# -- faults --------------------------------------------------------------------------------------------


class NoReply:
    """The answer to a request whose connection a fault closed: nothing, once the server has seen it go."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass


class HalfReply:
    """A non-streaming answer cut mid-body: the headers (full content-length), half the body, then gone."""

    def __init__(self, body: bytes, scope: Scope) -> None:
        self.body = body
        self.scope = scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = (b"content-length", str(len(self.body)).encode())
        await send({"type": "http.response.start", "status": 200, "headers": [length, (b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": self.body[: len(self.body) // 2], "more_body": True})
        drop_connection(scope)
        await NoReply()(scope, receive, send)


def _quota_figures(headers: dict[str, str], deployment: Deployment) -> None:
    """An injected 429 states the deployment's own quota (spent), where it states one at all."""
    figures = {
        "x-ratelimit-limit-tokens": str(deployment.tokens_per_minute),
        "x-ratelimit-limit-requests": str(deployment.requests_per_minute),
    }
    for name, value in figures.items():
        if name in headers:
            headers[name] = value


async def before_answer(exchange: Exchange, deployment: Deployment | None, fault: Fault | None) -> ASGIApp | None:
    """Carry out the part of a fault that comes before the answer: its delay, then an error or a dead
    connection (returned as the reply, or raised). None: go on and answer (perhaps paced or cut later)."""
    if fault is None:
        return None
    runtime = exchange.runtime
    if fault.delay_s:
        await runtime.sleep(fault.delay_s)
    if fault.action == "error" and fault.error is not None:
        runtime.faults.delivered(fault.record)
        if fault.error.status == 429 and deployment is not None:
            _quota_figures(fault.error.headers, deployment)
        raise fault.error
    if fault.action in ("close", "reset"):
        drop_connection(exchange.scope, reset=fault.action == "reset")
        runtime.faults.delivered(fault.record, client_closed=False)
        return NoReply()
    if fault.action == "hang":
        closed = await _hang(exchange, fault.seconds)
        runtime.faults.delivered(fault.record, client_closed=closed)
        return NoReply()
    return None


async def _hang(exchange: Exchange, seconds: float | None) -> bool:
    """Say nothing until the client gives up (True) or ``seconds`` pass and the mock closes (False)."""

    async def client_gone() -> None:
        while (await exchange.receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(client_gone(), timeout=seconds)
        return True
    except TimeoutError:
        drop_connection(exchange.scope)
        return False


def after_answer(exchange: Exchange, fault: Fault | None, reply: ASGIApp) -> ASGIApp:
    """Carry out the part of a fault that changes how a complete non-streaming answer is sent."""
    if fault is None or fault.action in ("error", "close", "reset", "hang"):
        return reply
    exchange.runtime.faults.delivered(fault.record)
    if fault.action == "cut" and isinstance(reply, JsonReply):
        return HalfReply(reply.body, exchange.scope)
    return reply


def stream_plan(exchange: Exchange, fault: Fault | None, plan: StreamPlan | None) -> StreamPlan | None:
    """Add a stream fault (cut, stall, malformed event, error event) to the stream's plan."""
    if fault is None or fault.action in ("error", "close", "reset", "hang", "delay"):
        if fault is not None and fault.action == "delay":
            exchange.runtime.faults.delivered(fault.record)
        return plan
    plan = plan or StreamPlan(sleep=exchange.runtime.sleep, clock=exchange.runtime.monotonic)
    exchange.runtime.faults.delivered(fault.record)
    n = fault.after_chunks
    if fault.action == "cut":
        plan.cut_after, plan.cut_graceful = n, fault.graceful
        plan.drop = lambda: drop_connection(exchange.scope)
    elif fault.action == "stall":
        plan.stall_after, plan.stall_seconds = n, fault.seconds or 0.0
    elif fault.action == "malformed":
        plan.malformed_after, plan.malformed = n, fault.raw
    elif fault.action == "stream_error":
        plan.error_after, plan.error_body = n, fault.event
    return plan
