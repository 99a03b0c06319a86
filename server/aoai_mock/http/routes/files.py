"""``/openai/files``: upload (multipart), list, retrieve, content, delete.
Behaviour: :mod:`aoai_mock.behaviour.files`.

From 2025-03-01-preview, as recorded: an ``assistant-`` file is answered by the assistants file service
(200 for its upload, plain ``application/json``, no ``Location``); a ``file-`` file by the Files service
(201 with ``Location`` and ``api-supported-versions``, ``charset=utf-8``) [captured: files/, fine_tuning/]."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import files
from aoai_mock.http.front import answer_as
from aoai_mock.http.resource import StoreRoute, azure_call
from aoai_mock.http.routes.resource_io import (
    created,
    list_query,
    page_response,
    read_upload,
    resource_json,
)
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import headers as names

__all__ = ["router"]

router = APIRouter(route_class=StoreRoute)


@router.post("/openai/files")
async def upload(request: Request) -> Response:
    call = azure_call(request, av.FILES)
    given = await read_upload(request, files.size_limit(call.runtime, None))
    doc = await files.upload(call.runtime, given, call.api_version)
    if files.assistants_service(doc):
        answer_as(request.scope, names.ASSISTANTS_FILES)
        return resource_json(doc, call.api_version, plain=True)
    answer_as(request.scope, names.CREATE)
    return created(request, doc, f"/openai/files/{doc['id']}", api_version=call.api_version, versions_of=av.FILES)


@router.get("/openai/files")
async def list_files(request: Request) -> Response:
    call = azure_call(request, av.FILES)
    query = list_query(request)
    found = await files.list_files(call.runtime, query, request.query_params.get("purpose"))
    return page_response(found, call.api_version)


@router.get("/openai/files/{file_id}")
async def retrieve(request: Request, file_id: str) -> Response:
    call = azure_call(request, av.FILES)
    _service(request, file_id)
    return _answer(await files.retrieve(call.runtime, file_id), call.api_version)


@router.delete("/openai/files/{file_id}")
async def delete(request: Request, file_id: str) -> Response:
    call = azure_call(request, av.FILES)
    _service(request, file_id)
    return _answer(await files.delete(call.runtime, file_id, call.api_version), call.api_version)


def _service(request: Request, file_id: str) -> None:
    """An ``assistant-`` file's answers, its 404 too, are the assistants file service's (their headers)."""
    if files.assistants_service(file_id):
        answer_as(request.scope, names.ASSISTANTS_FILES)


def _answer(body: dict[str, object], api_version: str) -> Response:
    """The assistants file service's plain answer, or the Files service's (charset, supported versions)."""
    if files.assistants_service(body):
        return resource_json(body, api_version, plain=True)
    return resource_json(body, api_version, versions_of=av.FILES)


@router.get("/openai/files/{file_id}/content")
async def content(request: Request, file_id: str) -> Response:
    call = azure_call(request, av.FILES)
    _service(request, file_id)
    return Response(await files.content(call.runtime, file_id), media_type="application/octet-stream")
