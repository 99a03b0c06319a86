"""How an answer reaches the client, apart from what it says: rate limits, pacing and (later) faults.

The routes decide the answer; this module decides when and how it is delivered: whether the deployment's
quota admits the request (the 429 otherwise), how long a paced answer takes, and how a stream is paced.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from starlette.types import ASGIApp

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.completions import prompts_of
from aoai_mock.behaviour.pacing import pace_for
from aoai_mock.behaviour.ratelimit import estimate_cost
from aoai_mock.config import Deployment
from aoai_mock.http.front import Exchange, JsonReply
from aoai_mock.http.render import StreamPlan, sse_response
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.requests import CompletionRequest

__all__ = ["rate_headers_early", "admit", "chat_prompt_tokens", "completion_prompt_tokens", "deliver_json", "deliver_stream"]


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


async def deliver_json(exchange: Exchange, deployment: Deployment, body: bytes, completion_tokens: int) -> ASGIApp:
    """A complete answer, after the time a paced deployment takes to write it."""
    pace = pace_for(deployment)
    if pace.enabled:
        await exchange.runtime.sleep(pace.schedule(_seed(exchange), completion_tokens).total)
    return JsonReply(body)


def deliver_stream(
    exchange: Exchange, deployment: Deployment, chunks: Iterable[Mapping[str, Any]], completion_tokens: int
) -> ASGIApp:
    """An SSE stream, its content chunks paced as the deployment says."""
    pace = pace_for(deployment)
    if not pace.enabled:
        return sse_response(chunks)
    plan = StreamPlan(sleep=exchange.runtime.sleep, schedule=pace.schedule(_seed(exchange), completion_tokens))
    return sse_response(chunks, plan)
