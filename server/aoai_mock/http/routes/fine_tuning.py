"""``/openai/fine_tuning/jobs``: create, list, retrieve, cancel, delete, events, checkpoints.
Behaviour: :mod:`aoai_mock.behaviour.fine_tuning`.

From 2025-04-01-preview, as recorded [captured: fine_tuning/net-CreateCancelDelete-2025-04-01-preview.json]:
``content-type: application/json; charset=utf-8`` and ``api-supported-versions`` on the job answers, and
``DELETE .../jobs/{id}``, a 204 without a body (on older versions the route is the gateway's 404)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import fine_tuning
from aoai_mock.errors import ResourceNotFound
from aoai_mock.http.resource import StoreRoute, azure_call
from aoai_mock.http.routes.resource_io import (
    JOBS_ERA,
    created,
    json_body,
    list_query,
    page_response,
    resource_json,
)
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter(route_class=StoreRoute)
_JOBS = "/openai/fine_tuning/jobs"


@router.post(_JOBS)
async def create(request: Request) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    doc = await fine_tuning.create(call.runtime, await json_body(request), call.api_version)
    where = f"{_JOBS}/{doc['id']}"
    return created(request, doc, where, api_version=call.api_version, versions_of=av.FINE_TUNING, since=JOBS_ERA)


@router.get(_JOBS)
async def list_jobs(request: Request) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    jobs = await fine_tuning.list_jobs(call.runtime, list_query(request))
    return page_response(jobs, call.api_version, since=JOBS_ERA)


@router.get(_JOBS + "/{job_id}")
async def retrieve(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    return _job(await fine_tuning.retrieve(call.runtime, job_id), call.api_version)


@router.delete(_JOBS + "/{job_id}")
async def delete(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    if not call.api_version or not av.is_at_least(call.api_version, fine_tuning.ERA_2025_04):
        raise ResourceNotFound()  # not recorded before 2025-04-01-preview: the route is not offered
    await fine_tuning.delete(call.runtime, job_id)
    return _job(None, call.api_version, status=204)


@router.post(_JOBS + "/{job_id}/cancel")
async def cancel(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    return _job(await fine_tuning.cancel(call.runtime, job_id), call.api_version)


@router.get(_JOBS + "/{job_id}/events")
async def events(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    query = list_query(request, default_order="asc")
    return page_response(await fine_tuning.list_events(call.runtime, job_id, query), call.api_version, since=JOBS_ERA)


@router.get(_JOBS + "/{job_id}/checkpoints")
async def checkpoints(request: Request, job_id: str) -> Response:
    call = azure_call(request, av.FINE_TUNING)
    query = list_query(request, default_order="asc", default_limit=10)
    found = await fine_tuning.list_checkpoints(call.runtime, job_id, query)
    return page_response(found, call.api_version, since=JOBS_ERA)


def _job(body: dict[str, object] | None, api_version: str, status: int = 200) -> Response:
    """A job answer (or a 204), with the headers the service sends from 2025-04-01-preview [captured]."""
    return resource_json(body, api_version, status=status, versions_of=av.FINE_TUNING, since=JOBS_ERA)
