"""The Responses API: ``/openai/responses`` (dated previews from 2025-03-01-preview) and ``/openai/v1/responses``.

* ``POST   .../responses``: create; ``stream: true`` answers with the typed SSE events (``event:`` lines,
  no ``data: [DONE]``);
* ``GET    .../responses/{id}``: a stored response; ``DELETE`` forgets it;
* ``GET    .../responses/{id}/input_items``: its input items, paged (``limit``, ``order``, ``after``, ``before``).

The deployment is the body's ``model``. On ``/openai/responses`` the api-version is required and must
offer Responses; on ``/openai/v1/...`` it is optional (``v1`` or ``preview``). The key is ``api-key`` or
``Authorization: Bearer``. ``x-aoai-mock-responder`` and ``x-aoai-mock-scenario`` work as for chat.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import orjson
from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import responses
from aoai_mock.config import Deployment
from aoai_mock.errors import (
    ApiVersionNotSupported,
    DeploymentNotFound,
    InvalidJson,
    InvalidRequest,
    ModelNeedsNewerApiVersion,
    OperationNotSupported,
    RequestTooLarge,
)
from aoai_mock.http.deps import check_json_request
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import AzureCall, azure_call
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.validation import load_json

__all__ = ["router"]

router = APIRouter()

_RESPONDER_HEADER = "x-aoai-mock-responder"
_SCENARIO_HEADER = "x-aoai-mock-scenario"
_STREAM_HEADERS = {"cache-control": "no-cache, must-revalidate"}
# Chat deployments answer Responses: the configuration's kinds predate the operation (config.py lists
# only chat.completions for kind chat), so a deployment that serves chat serves Responses too.
_ANSWERS_RESPONSES = (av.RESPONSES, av.CHAT)


def _preview_call(request: Request) -> AzureCall:
    return azure_call(request, av.RESPONSES)


def _v1_call(request: Request) -> AzureCall:
    call = azure_call(request, av.RESPONSES, version_required=False)
    if call.api_version and call.api_version not in av.V1_FAMILY:
        raise ApiVersionNotSupported()
    return call


def _deployment(call: AzureCall, name: str, scenario: str | None) -> Deployment:
    found = call.runtime.deployment(name, scenario)
    if found is None:
        raise DeploymentNotFound()
    if not any(op in found.operations for op in _ANSWERS_RESPONSES):
        raise OperationNotSupported("responses", found.model)
    minimum = found.min_api_version
    if minimum and call.api_version and not av.is_at_least(call.api_version, minimum):
        raise ModelNeedsNewerApiVersion(minimum)
    return found


async def _json_body(request: Request, limit: int) -> dict[str, Any]:
    check_json_request(request.headers.get("content-type"), request.headers.get("content-length"), limit)
    raw = await request.body()
    if len(raw) > limit:
        raise RequestTooLarge(limit)
    if not raw.strip():
        raise InvalidJson()
    return load_json(raw)


def _encode(events: Iterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    async def encoded() -> AsyncIterator[bytes]:
        for event in events:
            data = orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode()
            yield ServerSentEvent(data=data, event=event["type"], sep="\n").encode()

    return encoded()


async def _create(request: Request, call: AzureCall) -> Response:
    runtime = call.runtime
    body = await _json_body(request, runtime.settings.config.max_body_bytes)
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise InvalidRequest("you must provide a model parameter", param="model")
    headers = dict(request.headers)
    scenario = headers.get(_SCENARIO_HEADER)
    deployment = _deployment(call, name, scenario)
    request.scope.setdefault("state", {})["deployment"] = name
    prepared = responses.prepare(runtime, deployment, call.api_version or "v1", body)
    chosen = responses.choose_responder(runtime, prepared, headers, headers.get(_RESPONDER_HEADER), scenario)
    created = responses.create(runtime, prepared, chosen.responder)
    if prepared.request.stream:
        return EventSourceResponse(_encode(created.events()), headers=_STREAM_HEADERS, ping=0, sep="\n")
    return json_response(created.response)


def _retrieve(request: Request, call: AzureCall, response_id: str) -> Response:
    if request.query_params.get("stream") in ("true", "True", "1"):
        raise InvalidRequest(
            "aoai-mock does not replay stored responses as streams: retrieve without 'stream'.", param="stream"
        )
    return json_response(responses.retrieve(call.runtime, response_id))


def _input_items(request: Request, call: AzureCall, response_id: str, default_order: str) -> Response:
    query = request.query_params
    page = responses.list_input_items(
        call.runtime,
        response_id,
        limit=query.get("limit"),
        order=query.get("order"),
        after=query.get("after"),
        before=query.get("before"),
        default_order=default_order,
    )
    return json_response(page)


# -- /openai/responses (dated previews) --------------------------------------------------------------


@router.post("/openai/responses")
async def create(request: Request) -> Response:
    return await _create(request, _preview_call(request))


@router.get("/openai/responses/{response_id}")
async def retrieve(request: Request, response_id: str) -> Response:
    return _retrieve(request, _preview_call(request), response_id)


@router.delete("/openai/responses/{response_id}")
async def delete(request: Request, response_id: str) -> Response:
    return json_response(responses.delete(_preview_call(request).runtime, response_id))


@router.get("/openai/responses/{response_id}/input_items")
async def input_items(request: Request, response_id: str) -> Response:
    # The 2025-03-01-preview spec: "Default is `asc`".
    return _input_items(request, _preview_call(request), response_id, "asc")


# -- /openai/v1/responses -----------------------------------------------------------------------------


@router.post("/openai/v1/responses")
async def create_v1(request: Request) -> Response:
    return await _create(request, _v1_call(request))


@router.get("/openai/v1/responses/{response_id}")
async def retrieve_v1(request: Request, response_id: str) -> Response:
    return _retrieve(request, _v1_call(request), response_id)


@router.delete("/openai/v1/responses/{response_id}")
async def delete_v1(request: Request, response_id: str) -> Response:
    return json_response(responses.delete(_v1_call(request).runtime, response_id))


@router.get("/openai/v1/responses/{response_id}/input_items")
async def input_items_v1(request: Request, response_id: str) -> Response:
    # OpenAI's API, which the v1 family follows, lists input items newest first by default.
    return _input_items(request, _v1_call(request), response_id, "desc")
