"""``/openai/vector_stores``: stores, their files and file batches, and (from 2025-03-01-preview) search."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.assistants import vector_store_files as files
from aoai_mock.behaviour.assistants import vector_stores as stores
from aoai_mock.behaviour.assistants.requests import (
    CreateFileBatch,
    CreateVectorStore,
    CreateVectorStoreFile,
    SearchVectorStore,
    UpdateVectorStore,
    UpdateVectorStoreFile,
)
from aoai_mock.http.resource import StoreRoute, azure_call
from aoai_mock.http.routes.assistants_io import body_of, paging, reply, require_version
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter(route_class=StoreRoute)
_STORE = "/openai/vector_stores/{vs_id}"
_SEARCH_SINCE = "2025-03-01-preview"  # the first spec with /search and /files/{id}/content


@router.post("/openai/vector_stores")
async def create_store(request: Request) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    body = await body_of(request, CreateVectorStore, empty_ok=True)
    return reply(await stores.create_store(call.runtime, body))


@router.get("/openai/vector_stores")
async def list_stores(request: Request) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    return reply(await stores.list_stores(call.runtime, paging(request)))


@router.get(_STORE)
async def retrieve_store(request: Request, vs_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    return reply(await stores.retrieve_store(call.runtime, vs_id))


@router.post(_STORE)
async def modify_store(request: Request, vs_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    body = await body_of(request, UpdateVectorStore, empty_ok=True)
    return reply(await stores.modify_store(call.runtime, vs_id, body))


@router.delete(_STORE)
async def delete_store(request: Request, vs_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    return reply(await stores.delete_store(call.runtime, vs_id))


@router.post(_STORE + "/search")
async def search(request: Request, vs_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    require_version(call, _SEARCH_SINCE)
    body = await body_of(request, SearchVectorStore)
    return reply(await stores.search_page(call.runtime, vs_id, body))


# -- files ------------------------------------------------------------------------------------------


@router.post(_STORE + "/files")
async def create_file(request: Request, vs_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    body = await body_of(request, CreateVectorStoreFile)
    return reply(await files.create_file(call.runtime, vs_id, body))


@router.get(_STORE + "/files")
async def list_files(request: Request, vs_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    status = request.query_params.get("filter")
    return reply(await files.list_files(call.runtime, vs_id, paging(request), status))


@router.get(_STORE + "/files/{file_id}")
async def retrieve_file(request: Request, vs_id: str, file_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    return reply(await files.retrieve_file(call.runtime, vs_id, file_id))


@router.post(_STORE + "/files/{file_id}")
async def update_file(request: Request, vs_id: str, file_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    body = await body_of(request, UpdateVectorStoreFile)
    return reply(await files.update_file(call.runtime, vs_id, file_id, body))


@router.delete(_STORE + "/files/{file_id}")
async def delete_file(request: Request, vs_id: str, file_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    return reply(await files.delete_file(call.runtime, vs_id, file_id))


@router.get(_STORE + "/files/{file_id}/content")
async def file_content(request: Request, vs_id: str, file_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    require_version(call, _SEARCH_SINCE)
    return reply(await files.file_content(call.runtime, vs_id, file_id))


# -- file batches -----------------------------------------------------------------------------------


@router.post(_STORE + "/file_batches")
async def create_batch(request: Request, vs_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    body = await body_of(request, CreateFileBatch)
    return reply(await files.create_batch(call.runtime, vs_id, body))


@router.get(_STORE + "/file_batches/{batch_id}")
async def retrieve_batch(request: Request, vs_id: str, batch_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    return reply(await files.retrieve_batch(call.runtime, vs_id, batch_id))


@router.post(_STORE + "/file_batches/{batch_id}/cancel")
async def cancel_batch(request: Request, vs_id: str, batch_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    return reply(await files.cancel_batch(call.runtime, vs_id, batch_id))


@router.get(_STORE + "/file_batches/{batch_id}/files")
async def list_batch_files(request: Request, vs_id: str, batch_id: str) -> Response:
    call = azure_call(request, av.VECTOR_STORES)
    status = request.query_params.get("filter")
    return reply(await files.list_batch_files(call.runtime, vs_id, batch_id, paging(request), status))
