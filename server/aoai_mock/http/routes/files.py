"""``/openai/files``: upload (multipart), list, retrieve, content, delete.
Behaviour: :mod:`aoai_mock.behaviour.files`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import files
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import azure_call
from aoai_mock.http.routes.resource_io import (
    created,
    list_query,
    page_response,
    read_upload,
)
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter()


@router.post("/openai/files")
async def upload(request: Request) -> Response:
    call = azure_call(request, av.FILES)
    given = await read_upload(request, files.size_limit(call.runtime, None))
    doc = files.upload(call.runtime, given, call.api_version)
    return created(request, doc, f"/openai/files/{doc['id']}")


@router.get("/openai/files")
async def list_files(request: Request) -> Response:
    call = azure_call(request, av.FILES)
    query = list_query(request)
    return page_response(files.list_files(call.runtime, query, request.query_params.get("purpose")))


@router.get("/openai/files/{file_id}")
async def retrieve(request: Request, file_id: str) -> Response:
    call = azure_call(request, av.FILES)
    return json_response(files.retrieve(call.runtime, file_id))


@router.delete("/openai/files/{file_id}")
async def delete(request: Request, file_id: str) -> Response:
    call = azure_call(request, av.FILES)
    return json_response(files.delete(call.runtime, file_id))


@router.get("/openai/files/{file_id}/content")
async def content(request: Request, file_id: str) -> Response:
    call = azure_call(request, av.FILES)
    return Response(files.content(call.runtime, file_id), media_type="application/octet-stream")
