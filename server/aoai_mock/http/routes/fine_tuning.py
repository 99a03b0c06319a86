"""``/openai/fine_tuning/jobs``: create, list, retrieve, cancel, events, checkpoints.
Behaviour: :mod:`aoai_mock.behaviour.fine_tuning`."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import fine_tuning
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import azure_call
from aoai_mock.http.routes.resource_io import (
    created,
    json_body,
    list_query,
    page_response,
)
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter()
_JOBS = "/openai/fine_tuning/jobs"


@router.post(_JOBS)
async def create(request: Request) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    doc = fine_tuning.create(call.runtime, await json_body(request))
    return created(request, doc, f"{_JOBS}/{doc['id']}")


@router.get(_JOBS)
async def list_jobs(request: Request) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    return page_response(fine_tuning.list_jobs(call.runtime, list_query(request)))


@router.get(_JOBS + "/{job_id}")
async def retrieve(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    return json_response(fine_tuning.retrieve(call.runtime, job_id))


@router.post(_JOBS + "/{job_id}/cancel")
async def cancel(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    return json_response(fine_tuning.cancel(call.runtime, job_id))


@router.get(_JOBS + "/{job_id}/events")
async def events(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    query = list_query(request, default_order="asc")
    return page_response(fine_tuning.list_events(call.runtime, job_id, query))


@router.get(_JOBS + "/{job_id}/checkpoints")
async def checkpoints(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    query = list_query(request, default_order="asc", default_limit=10)
    return page_response(fine_tuning.list_checkpoints(call.runtime, job_id, query))
