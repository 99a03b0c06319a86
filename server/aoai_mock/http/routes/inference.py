"""The answering routes: chat completions, completions and embeddings under
``/openai/deployments/{deployment}/...`` and ``/openai/v1/...``; the Responses API's create under
``/openai/responses`` and ``/openai/v1/responses``.

Each one: check the key, api-version and deployment in the service's order, read the body into a
:class:`~aoai_mock.behaviour.inference.Call`, ask behaviour's one seam for the outcome, and deliver it
(:mod:`aoai_mock.http.deliver`). They are the hot path, so they run straight from the front door
(:mod:`aoai_mock.http.front`) on the raw ASGI exchange, without the framework's routing.
"""

from __future__ import annotations

import asyncio

import anyio.to_thread
from starlette.types import ASGIApp

from aoai_mock.behaviour import answering
from aoai_mock.behaviour.inference import Call, Family, Outcome, answer, answer_shared
from aoai_mock.behaviour.responses.family import RESPONSES as RESPONSES_FAMILY
from aoai_mock.behaviour.shared_counters import needs_redis
from aoai_mock.errors import (
    ApiVersionNotSupported,
    InvalidJson,
    InvalidRequest,
    MissedModelDeployment,
    RequestTooLarge,
)
from aoai_mock.http.deliver import deliver
from aoai_mock.http.deps import (
    api_version,
    authenticate,
    check_json_request,
    deployment_for,
    rate_headers_early,
    receive_body,
)
from aoai_mock.http.front import Exchange, FastRoute, JsonReply
from aoai_mock.http.render import json_bytes, json_bytes_in_pieces
from aoai_mock.http.sse import CHAT, RESPONSES, Framing
from aoai_mock.state.record import BODY_LIMIT
from aoai_mock.state.store import transaction
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import headers as names
from aoai_mock.wire.operations import OPERATIONS
from aoai_mock.wire.validation import load_json

__all__ = ["fast_route"]

_PREFIX = "/openai/deployments/"
_V1_PREFIX = "/openai/v1/"


async def _call(exchange: Exchange, operation: str) -> Call:
    """The checks in the service's order (key, api-version, deployment), then the body as JSON."""
    runtime = exchange.runtime
    record = exchange.record
    record.operation = operation
    key = _text(exchange.headers.get(b"api-key"))
    authenticate(key, None if key else exchange.header(b"authorization"), runtime, operation)
    if not exchange.deployment:  # /openai/v1/... and /openai/responses: the body's model names the deployment
        return await _call_by_model(exchange, operation)
    version = record.api_version = api_version(exchange.scope["query_string"], operation)
    headers = exchange.headers
    scenario = _text(headers.get(names.SCENARIO_B))
    found = exchange.target = deployment_for(runtime, exchange.deployment, operation, version, scenario)
    if not found.rate_limit.enforce:  # rate_headers_early, inlined: the full quota on every answer
        exchange.response_headers.extend(runtime.limiter.admit(found, 0, operation, version).headers)
    body = await _json_body(exchange)
    return Call(runtime, record, operation, found, version, body, headers, exchange.origin,
                exchange.response_headers, _text(headers.get(names.RESPONDER_B)), scenario)


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


async def _call_by_model(exchange: Exchange, operation: str) -> Call:
    """``/openai/v1/<op>`` (api-version optional: ``v1`` or ``preview``) and the dated ``/openai/responses``
    (api-version required): the deployment is the body's ``model``."""
    runtime, record = exchange.runtime, exchange.record
    query = exchange.scope["query_string"]
    if record.path.startswith(_V1_PREFIX):
        version = api_version(query, operation, required=False) or "v1"
        if version not in av.V1_FAMILY:
            raise ApiVersionNotSupported()
    else:
        version = api_version(query, operation)
    record.api_version = version
    body = await _json_body(exchange)
    name = body.get("model")
    if not isinstance(name, str) or not name:
        if not record.path.startswith(_V1_PREFIX):  # the dated Responses route says it its own way
            raise MissedModelDeployment()
        raise InvalidRequest("you must provide a model parameter", param="model")
    exchange.deployment = record.deployment = name
    scenario = exchange.header(names.SCENARIO_B)
    found = exchange.target = deployment_for(runtime, name, operation, version, scenario)
    rate_headers_early(runtime, found, operation, version, exchange.response_headers)
    return Call(runtime, record, operation, found, version, body, exchange.headers, exchange.origin,
                exchange.response_headers, exchange.header(names.RESPONDER_B), scenario)


async def _json_body(exchange: Exchange) -> dict:
    """The body, as :func:`~aoai_mock.http.deps.json_body` reads every JSON body (inlined: the hot path)."""
    exchange.body_read = True
    limit = exchange.runtime.settings.config.max_body_bytes
    headers = exchange.headers
    if headers.get(b"content-type") != b"application/json":  # what every SDK sends needs no parsing
        check_json_request(_text(headers.get(b"content-type")), _text(headers.get(b"content-length")), limit)
    elif (length := headers.get(b"content-length")) is not None and length.isdigit() and int(length) > limit:
        raise RequestTooLarge(limit)
    raw = await receive_body(exchange.receive, limit)
    record = exchange.record
    record.body_size = len(raw)
    record.body = raw if len(raw) <= BODY_LIMIT else raw[:BODY_LIMIT]
    if not raw.strip():
        raise InvalidJson()
    return load_json(raw)


def _answered_in_thread(call: Call, family: Family) -> tuple[Outcome, bytes | None]:
    """The outcome, and the bytes of a whole answer sent as it is: for a large request, in a worker thread."""
    outcome = answer(call, family)
    if outcome.plan is None and not outcome.stream:
        return outcome, json_bytes_in_pieces(outcome.answer.body())  # type: ignore[union-attr]
    return outcome, None


def _route(family: Family, framing: Framing) -> FastRoute:
    async def serve(exchange: Exchange) -> ASGIApp:
        call = await _call(exchange, family.operation)
        if call.deployment.pacing.enabled:
            # A paced answer's clock runs from its arrival: let the loop read the rest of a burst (stamping each
            # request's arrival) before this one is worked out, instead of after every ready request is.
            await asyncio.sleep(0)
        if family.load is not None:  # what it names in the store, read here, on the loop
            call.loaded = await family.load(call)
        if exchange.record.body_size < family.offload_bytes:
            if call.runtime.shared is not None and (
                call.deployment.rate_limit.enforce or call.deployment.ptu is not None or needs_redis(call)
            ):
                outcome = await answer_shared(call, family)
            else:
                outcome = answer(call, family)
            if family.keep is not None and outcome.answer is not None:
                await family.keep(call, outcome.answer)
            if outcome.plan is None and not outcome.stream:  # most answers: as they are
                return JsonReply(json_bytes(outcome.answer.body()))  # type: ignore[union-attr]
        else:  # a large request: worked out in a thread while the loop serves others
            outcome, whole = await anyio.to_thread.run_sync(_answered_in_thread, call, family)
            if family.keep is not None and outcome.answer is not None:
                await family.keep(call, outcome.answer)
            if whole is not None:
                return JsonReply(whole)
        return await deliver(exchange, outcome, framing)

    if family.stores:
        serve = _held(serve)
    serve.__name__ = family.operation.replace(".", "_")
    return serve


def _held(serve: FastRoute) -> FastRoute:
    """A route whose store writes (a stored response, its items) land once its reply is built: the JSON
    rendered, or the stream's events made (its family makes them all up front); an error stores nothing."""

    async def held(exchange: Exchange) -> ASGIApp:
        with transaction(exchange.runtime.store) as writes:
            reply = await serve(exchange)
            await writes.commit()
        return reply

    return held


chat_completions = _route(answering.CHAT, CHAT)
completions = _route(answering.COMPLETIONS, CHAT)
embeddings = _route(answering.EMBEDDINGS, CHAT)
responses_create = _route(RESPONSES_FAMILY, RESPONSES)

# The answering operations this router serves; its path tables come from the operation registry.
_ROUTES: dict[str, FastRoute] = {
    av.CHAT: chat_completions,
    av.COMPLETIONS: completions,
    av.EMBEDDINGS: embeddings,
    av.RESPONSES: responses_create,
}
_DEPLOYMENT_TEMPLATE = _PREFIX + "{deployment}/"
# "chat/completions" -> route, after /openai/deployments/{deployment}/
_OPERATIONS = {
    path[len(_DEPLOYMENT_TEMPLATE) :]: route
    for name, route in _ROUTES.items()
    for path in OPERATIONS[name].paths
    if path.startswith(_DEPLOYMENT_TEMPLATE)
}
# "chat/completions" -> route, after /openai/v1/
_V1_OPERATIONS = {
    path[len(_V1_PREFIX) :]: route for name, route in _ROUTES.items() for path in OPERATIONS[name].v1_paths
}
# Whole paths of the resource-scoped answering operations: /openai/responses
_RESOURCE_OPERATIONS = {
    path: route
    for name, route in _ROUTES.items()
    for path in OPERATIONS[name].paths
    if not path.startswith(_DEPLOYMENT_TEMPLATE)
}


def fast_route(method: str, path: str) -> tuple[FastRoute, str] | None:
    """``POST /openai/deployments/{deployment}/{operation}``: the route and the deployment's name;
    ``POST /openai/v1/{operation}`` and ``POST /openai/responses``: the route and "" (the body's ``model``
    names the deployment)."""
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
    route = _RESOURCE_OPERATIONS.get(path)
    return (route, "") if route is not None else None
