"""``/openai/threads`` and their messages: create, retrieve, modify, delete, list (Assistants v2).

Listing a thread's messages first brings its runs up to date (a look, not a poll), so an answer shows as
soon as the run's schedule lets it.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.assistants import runs, threads
from aoai_mock.behaviour.assistants.requests import (
    CreateMessage,
    CreateThread,
    ModifyMessage,
    ModifyThread,
)
from aoai_mock.http.resource import StoreRoute, azure_call
from aoai_mock.http.routes.assistants_io import body_of, paging, reply
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter(route_class=StoreRoute)


@router.post("/openai/threads")
async def create_thread(request: Request) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, CreateThread, empty_ok=True)
    return reply(await threads.create_thread(call.runtime, body))


@router.get("/openai/threads/{thread_id}")
async def retrieve_thread(request: Request, thread_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await threads.retrieve_thread(call.runtime, thread_id))


@router.post("/openai/threads/{thread_id}")
async def modify_thread(request: Request, thread_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, ModifyThread, empty_ok=True)
    return reply(await threads.modify_thread(call.runtime, thread_id, body))


@router.delete("/openai/threads/{thread_id}")
async def delete_thread(request: Request, thread_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await threads.delete_thread(call.runtime, thread_id))


@router.post("/openai/threads/{thread_id}/messages")
async def create_message(request: Request, thread_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, CreateMessage)
    await runs.advance_thread(call.runtime, thread_id)
    return reply(await threads.create_message(call.runtime, thread_id, body))


@router.get("/openai/threads/{thread_id}/messages")
async def list_messages(request: Request, thread_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    query = paging(request)
    await threads.retrieve_thread(call.runtime, thread_id)  # 404 before anything else
    await runs.advance_thread(call.runtime, thread_id)
    run_id = request.query_params.get("run_id")
    return reply(await threads.list_messages(call.runtime, thread_id, query, run_id))


@router.get("/openai/threads/{thread_id}/messages/{message_id}")
async def retrieve_message(request: Request, thread_id: str, message_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await threads.retrieve_message(call.runtime, thread_id, message_id))


@router.post("/openai/threads/{thread_id}/messages/{message_id}")
async def modify_message(request: Request, thread_id: str, message_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, ModifyMessage, empty_ok=True)
    return reply(await threads.modify_message(call.runtime, thread_id, message_id, body))


@router.delete("/openai/threads/{thread_id}/messages/{message_id}")
async def delete_message(request: Request, thread_id: str, message_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await threads.delete_message(call.runtime, thread_id, message_id))
