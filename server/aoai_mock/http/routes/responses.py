"""The Responses API's stored responses: ``/openai/responses/...`` (dated previews from 2025-03-01-preview)
and ``/openai/v1/responses/...``.

* ``GET    .../responses/{id}``: a stored response; ``DELETE`` forgets it;
* ``GET    .../responses/{id}/input_items``: its input items, paged (``limit``, ``order``, ``after``, ``before``).

Creating a response (``POST .../responses``) is an answering operation: it runs from the front door
through the behaviour seam, like chat (:mod:`aoai_mock.http.routes.inference`). On ``/openai/responses``
the api-version is required and must offer Responses; on ``/openai/v1/...`` it is optional (``v1`` or
``preview``). The key is ``api-key`` or ``Authorization: Bearer``.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import responses
from aoai_mock.errors import ApiVersionNotSupported, InvalidRequest
from aoai_mock.http.render import json_response, list_bytes
from aoai_mock.http.resource import AzureCall, StoreRoute, azure_call
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter(route_class=StoreRoute)


def _preview_call(request: Request) -> AzureCall:
    return azure_call(request, av.RESPONSES)


def _v1_call(request: Request) -> AzureCall:
    call = azure_call(request, av.RESPONSES, version_required=False)
    if call.api_version and call.api_version not in av.V1_FAMILY:
        raise ApiVersionNotSupported()
    return call


async def _retrieve(request: Request, call: AzureCall, response_id: str) -> Response:
    if request.query_params.get("stream") in ("true", "True", "1"):
        raise InvalidRequest(
            "aoai-mock does not replay stored responses as streams: retrieve without 'stream'.", param="stream"
        )
    return json_response(await responses.retrieve(call.runtime, response_id))


async def _input_items(request: Request, call: AzureCall, response_id: str, default_order: str) -> Response:
    query = request.query_params
    page = await responses.list_input_items(
        call.runtime,
        response_id,
        limit=query.get("limit"),
        order=query.get("order"),
        after=query.get("after"),
        before=query.get("before"),
        default_order=default_order,
    )
    return Response(list_bytes(page), media_type="application/json")


# -- /openai/responses (dated previews) --------------------------------------------------------------


@router.get("/openai/responses/{response_id}")
async def retrieve(request: Request, response_id: str) -> Response:
    return await _retrieve(request, _preview_call(request), response_id)


@router.delete("/openai/responses/{response_id}")
async def delete(request: Request, response_id: str) -> Response:
    return json_response(await responses.delete(_preview_call(request).runtime, response_id))


@router.get("/openai/responses/{response_id}/input_items")
async def input_items(request: Request, response_id: str) -> Response:
    # The 2025-03-01-preview spec: "Default is `asc`".
    return await _input_items(request, _preview_call(request), response_id, "asc")


# -- /openai/v1/responses -----------------------------------------------------------------------------


@router.get("/openai/v1/responses/{response_id}")
async def retrieve_v1(request: Request, response_id: str) -> Response:
    return await _retrieve(request, _v1_call(request), response_id)


@router.delete("/openai/v1/responses/{response_id}")
async def delete_v1(request: Request, response_id: str) -> Response:
    return json_response(await responses.delete(_v1_call(request).runtime, response_id))


@router.get("/openai/v1/responses/{response_id}/input_items")
async def input_items_v1(request: Request, response_id: str) -> Response:
    # OpenAI's API, which the v1 family follows, lists input items newest first by default.
    return await _input_items(request, _v1_call(request), response_id, "desc")
