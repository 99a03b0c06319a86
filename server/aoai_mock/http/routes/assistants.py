"""``/openai/assistants``: create, list, retrieve, modify, delete (Assistants v2)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.assistants import objects
from aoai_mock.behaviour.assistants.requests import CreateAssistant, ModifyAssistant
from aoai_mock.http.front import answer_as
from aoai_mock.http.resource import StoreRoute, azure_call
from aoai_mock.http.routes.assistants_io import body_of, headers_of, paging, reply
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import headers as names

__all__ = ["router"]

router = APIRouter(route_class=StoreRoute)


@router.post("/openai/assistants")
async def create_assistant(request: Request) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, CreateAssistant)
    scenario = headers_of(request).get(names.SCENARIO)
    created = await objects.create_assistant(call.runtime, body, scenario)
    answer_as(request.scope, names.CREATE, call.runtime.deployment(body.model, scenario))  # it spends its quota
    return reply(created)


@router.get("/openai/assistants")
async def list_assistants(request: Request) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await objects.list_assistants(call.runtime, paging(request)))


@router.get("/openai/assistants/{assistant_id}")
async def retrieve_assistant(request: Request, assistant_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await objects.retrieve_assistant(call.runtime, assistant_id))


@router.post("/openai/assistants/{assistant_id}")
async def modify_assistant(request: Request, assistant_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, ModifyAssistant, empty_ok=True)
    scenario = headers_of(request).get(names.SCENARIO)
    return reply(await objects.modify_assistant(call.runtime, assistant_id, body, scenario))


@router.delete("/openai/assistants/{assistant_id}")
async def delete_assistant(request: Request, assistant_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await objects.delete_assistant(call.runtime, assistant_id))
