"""Chat completions, completions and embeddings under ``/openai/deployments/{deployment}/...``.

Each route: check key, api-version and deployment; parse the body into its model; ask behaviour; render.
They are the hot path, so they run straight from the front door (:mod:`aoai_mock.http.front`) on the raw
ASGI exchange, without the framework's routing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp

from aoai_mock.behaviour.chat import run_chat
from aoai_mock.behaviour.completions import run_completion
from aoai_mock.behaviour.embeddings import run_embeddings
from aoai_mock.behaviour.faults import Fault
from aoai_mock.behaviour.responders.base import Responder
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenario_engine import RequestView
from aoai_mock.config import Deployment
from aoai_mock.errors import ApiVersionNotSupported, InvalidJson, InvalidRequest
from aoai_mock.http.delivery import (
    admit,
    before_answer,
    chat_prompt_tokens,
    completion_prompt_tokens,
    deliver_json,
    deliver_stream,
    rate_headers_early,
)
from aoai_mock.http.deps import (
    api_version,
    authenticate,
    check_json_request,
    deployment_for,
    receive_body,
)
from aoai_mock.http.front import Exchange, FastRoute, JsonReply
from aoai_mock.http.render import json_bytes
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.chat import chat_body, chat_chunks
from aoai_mock.wire.completions import completion_body, completion_chunks
from aoai_mock.wire.embeddings import embeddings_body
from aoai_mock.wire.requests import ChatRequest, CompletionRequest, EmbeddingRequest
from aoai_mock.wire.validation import load_json, validate

__all__ = ["fast_route", "RESPONDER_HEADER", "SCENARIO_HEADER"]

RESPONDER_HEADER = b"x-aoai-mock-responder"
SCENARIO_HEADER = b"x-aoai-mock-scenario"
FAULT_HEADER = b"x-aoai-mock-fault"
_PREFIX = "/openai/deployments/"


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class _Call:
    runtime: Runtime
    deployment: Deployment
    api_version: str
    body: dict[str, Any]
    responder: str | None  # the x-aoai-mock-responder header
    scenario: str | None  # the x-aoai-mock-scenario header


async def _prepare(exchange: Exchange, operation: str) -> _Call:
    """The checks in the service's order (key, api-version, deployment), then the body as JSON."""
    runtime = exchange.runtime
    settings = runtime.settings
    exchange.operation = operation
    key = exchange.header(b"api-key")
    authenticate(key, None if key else exchange.header(b"authorization"), settings.api_keys)
    if not exchange.deployment:  # /openai/v1/...: the deployment travels in the body
        return await _prepare_v1(exchange, operation)
    version = api_version(exchange.scope["query_string"], operation)
    scenario = exchange.header(SCENARIO_HEADER)
    found = deployment_for(runtime, exchange.deployment, operation, version, scenario)
    rate_headers_early(exchange, found, operation, version)
    body = await _json_body(exchange)
    return _Call(runtime, found, version, body, exchange.header(RESPONDER_HEADER), scenario)


async def _prepare_v1(exchange: Exchange, operation: str) -> _Call:
    """``/openai/v1/<op>``: api-version optional (``v1`` or ``preview``), the deployment named by ``model``."""
    runtime = exchange.runtime
    version = api_version(exchange.scope["query_string"], operation, required=False) or "v1"
    if version not in av.V1_FAMILY:
        raise ApiVersionNotSupported()
    body = await _json_body(exchange)
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("you must provide a model parameter", param="model")
    exchange.deployment = name
    scenario = exchange.header(SCENARIO_HEADER)
    found = deployment_for(runtime, name, operation, version, scenario)
    rate_headers_early(exchange, found, operation, version)
    return _Call(runtime, found, version, body, exchange.header(RESPONDER_HEADER), scenario)


async def _json_body(exchange: Exchange) -> dict[str, Any]:
    limit = exchange.runtime.settings.config.max_body_bytes
    check_json_request(exchange.header(b"content-type"), exchange.header(b"content-length"), limit)
    exchange.body_read = True
    raw = exchange.body = await receive_body(exchange.receive, limit)
    if not raw.strip():
        raise InvalidJson()
    return load_json(raw)


def _view(exchange: Exchange, call: _Call, operation: str) -> RequestView:
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in exchange.headers.items()}
    return RequestView(operation, call.deployment.name, call.api_version, headers, call.body)


def _fault(exchange: Exchange, call: _Call, operation: str, stream: bool) -> Fault | None:
    """The fault this request gets (x-aoai-mock-fault, or an installed plan), before any rule answers it."""
    faults = call.runtime.faults
    if faults.idle and FAULT_HEADER not in exchange.headers:
        return None
    fault = faults.decide(_view(exchange, call, operation), request_id=exchange.request_id, stream=stream)
    if fault is not None:
        exchange.fault = fault.kind
    return fault


def _responder(exchange: Exchange, call: _Call, operation: str) -> Responder | None:
    """Who answers: the responder the request names, else the scenario's rule, else None (the deployment's)."""
    runtime = call.runtime
    if call.responder:
        return runtime.responder(call.deployment, call.responder)
    book = runtime.book
    if call.scenario is None and book.active is None:
        return None
    decision = book.decide(_view(exchange, call, operation), call.scenario)
    exchange.scenario, exchange.rule = decision.scenario, decision.rule
    if decision.responder is not None:
        return decision.responder
    return runtime.responder_for(decision.default) if decision.default is not None else None


async def chat_completions(exchange: Exchange) -> ASGIApp:
    call = await _prepare(exchange, av.CHAT)
    parsed = validate(ChatRequest, call.body)
    deployment = call.deployment
    fault = _fault(exchange, call, av.CHAT, bool(parsed.stream))
    if fault is not None and (cut_short := await before_answer(exchange, call.deployment, fault)) is not None:
        return cut_short
    if deployment.rate_limit.enforce:
        asked = parsed.max_completion_tokens if parsed.max_completion_tokens is not None else parsed.max_tokens
        prompt = chat_prompt_tokens(deployment, call.body)
        admit(exchange, deployment, av.CHAT, call.api_version, prompt, asked, parsed.n or 1)
    responder = _responder(exchange, call, av.CHAT)
    result = run_chat(call.runtime, deployment, call.api_version, parsed, call.body, responder)
    exchange.tokens = (result.usage.prompt_tokens, result.usage.completion_tokens)
    if parsed.stream:
        return deliver_stream(exchange, deployment, chat_chunks(result), result.usage.completion_tokens, fault)
    body = json_bytes(chat_body(result))
    if fault is None and not deployment.pacing.enabled:
        return JsonReply(body)
    return await deliver_json(exchange, deployment, body, result.usage.completion_tokens, fault)


async def completions(exchange: Exchange) -> ASGIApp:
    call = await _prepare(exchange, av.COMPLETIONS)
    parsed = validate(CompletionRequest, call.body)
    deployment = call.deployment
    fault = _fault(exchange, call, av.COMPLETIONS, bool(parsed.stream))
    if fault is not None and (cut_short := await before_answer(exchange, call.deployment, fault)) is not None:
        return cut_short
    if deployment.rate_limit.enforce:
        prompts = completion_prompt_tokens(deployment, parsed)
        choices = len(prompts) * max(parsed.n or 1, parsed.best_of or 1)
        admit(exchange, deployment, av.COMPLETIONS, call.api_version, sum(prompts), parsed.max_tokens or 16, choices)
    responder = _responder(exchange, call, av.COMPLETIONS)
    result = run_completion(call.runtime, deployment, call.api_version, parsed, call.body, responder)
    exchange.tokens = (result.usage.prompt_tokens, result.usage.completion_tokens)
    if parsed.stream:
        tokens = result.usage.completion_tokens
        return deliver_stream(exchange, deployment, completion_chunks(result), tokens, fault)
    body = json_bytes(completion_body(result))
    return await deliver_json(exchange, deployment, body, result.usage.completion_tokens, fault)


async def embeddings(exchange: Exchange) -> ASGIApp:
    call = await _prepare(exchange, av.EMBEDDINGS)
    parsed = validate(EmbeddingRequest, call.body)
    fault = _fault(exchange, call, av.EMBEDDINGS, False)
    if fault is not None and (cut_short := await before_answer(exchange, call.deployment, fault)) is not None:
        return cut_short
    responder = _responder(exchange, call, av.EMBEDDINGS)
    context = call.runtime.context(call.deployment)
    result = run_embeddings(call.deployment, parsed, call.body, responder, context)
    exchange.tokens = (result.prompt_tokens, 0)
    admit(exchange, call.deployment, av.EMBEDDINGS, call.api_version, result.prompt_tokens, None)
    body = json_bytes(embeddings_body(result.model, result.vectors, result.prompt_tokens))
    return await deliver_json(exchange, call.deployment, body, 0, fault)


_OPERATIONS: dict[str, FastRoute] = {
    "chat/completions": chat_completions,
    "completions": completions,
    "embeddings": embeddings,
}


_V1_PREFIX = "/openai/v1/"
_V1_OPERATIONS: dict[str, FastRoute] = {"chat/completions": chat_completions, "embeddings": embeddings}


def fast_route(method: str, path: str) -> tuple[FastRoute, str] | None:
    """``POST /openai/deployments/{deployment}/{operation}``: the route and the deployment's name;
    ``POST /openai/v1/{operation}``: the route and "" (the body's ``model`` names the deployment)."""
    if method != "POST":
        return None
    if path.startswith(_PREFIX):
        name, _, operation = path[len(_PREFIX) :].partition("/")
        route = _OPERATIONS.get(operation)
        if route is None or not name:
            return None
        return route, name
    if path.startswith(_V1_PREFIX):
        route = _V1_OPERATIONS.get(path[len(_V1_PREFIX) :])
        return (route, "") if route is not None else None
    return None
