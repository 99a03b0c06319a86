"""The answering routes: chat completions, completions and embeddings under
``/openai/deployments/{deployment}/...`` and ``/openai/v1/...``; the Responses API's create under
``/openai/responses`` and ``/openai/v1/responses``.

Each one: check the key, api-version and deployment in the service's order, read the body into a
:class:`~aoai_mock.behaviour.inference.Call`, ask behaviour's one seam for the outcome, and deliver it
(:mod:`aoai_mock.http.deliver`). They are the hot path, so they run straight from the front door
(:mod:`aoai_mock.http.front`) on the raw ASGI exchange, without the framework's routing.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from aoai_mock.behaviour import answering
from aoai_mock.behaviour.inference import Call, Family, answer
from aoai_mock.behaviour.responses.family import RESPONSES as RESPONSES_FAMILY
from aoai_mock.config import Deployment
from aoai_mock.errors import ApiVersionNotSupported, InvalidRequest
from aoai_mock.http.deliver import deliver
from aoai_mock.http.deps import (
    api_version,
    authenticate,
    deployment_for,
    json_body,
    rate_headers_early,
)
from aoai_mock.http.front import Exchange, FastRoute
from aoai_mock.http.sse import CHAT, RESPONSES, Framing
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import headers as names

__all__ = ["fast_route"]

_PREFIX = "/openai/deployments/"
_V1_PREFIX = "/openai/v1/"


async def _call(exchange: Exchange, operation: str) -> Call:
    """The checks in the service's order (key, api-version, deployment), then the body as JSON."""
    runtime = exchange.runtime
    record = exchange.record
    record.operation = operation
    key = exchange.header(b"api-key")
    authenticate(key, None if key else exchange.header(b"authorization"), runtime.settings.api_keys)
    if not exchange.deployment:  # /openai/v1/... and /openai/responses: the body's model names the deployment
        return await _call_by_model(exchange, operation)
    version = record.api_version = api_version(exchange.scope["query_string"], operation)
    scenario = exchange.header(names.SCENARIO_B)
    found = deployment_for(runtime, exchange.deployment, operation, version, scenario)
    rate_headers_early(runtime, found, operation, version, exchange.response_headers)
    body = await _json_body(exchange)
    return _made(exchange, operation, found, version, body, scenario)


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
        raise InvalidRequest("you must provide a model parameter", param="model")
    exchange.deployment = record.deployment = name
    scenario = exchange.header(names.SCENARIO_B)
    found = deployment_for(runtime, name, operation, version, scenario)
    rate_headers_early(runtime, found, operation, version, exchange.response_headers)
    return _made(exchange, operation, found, version, body, scenario)


def _made(exchange: Exchange, operation: str, found: Deployment, version: str, body: dict, scenario: str | None) -> Call:
    return Call(
        exchange.runtime,
        exchange.record,
        operation,
        found,
        version,
        body,
        exchange.headers,
        exchange.origin,
        exchange.response_headers,
        exchange.header(names.RESPONDER_B),
        scenario,
    )


async def _json_body(exchange: Exchange) -> dict:
    exchange.body_read = True
    limit = exchange.runtime.settings.config.max_body_bytes
    content_type, length = exchange.header(b"content-type"), exchange.header(b"content-length")
    _, parsed = await json_body(exchange.receive, content_type, length, limit, keep=exchange.record.keep_body)
    return parsed


def _route(family: Family, framing: Framing) -> FastRoute:
    async def serve(exchange: Exchange) -> ASGIApp:
        call = await _call(exchange, family.operation)
        return await deliver(exchange, answer(call, family), framing)

    serve.__name__ = family.operation.replace(".", "_")
    return serve


chat_completions = _route(answering.CHAT, CHAT)
completions = _route(answering.COMPLETIONS, CHAT)
embeddings = _route(answering.EMBEDDINGS, CHAT)
responses_create = _route(RESPONSES_FAMILY, RESPONSES)

_OPERATIONS: dict[str, FastRoute] = {
    "chat/completions": chat_completions,
    "completions": completions,
    "embeddings": embeddings,
}
_V1_OPERATIONS: dict[str, FastRoute] = {
    "chat/completions": chat_completions,
    "embeddings": embeddings,
    "responses": responses_create,
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
    if path == "/openai/responses":
        return responses_create, ""
    return None
