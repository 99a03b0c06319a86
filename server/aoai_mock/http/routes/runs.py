"""Runs and run steps: ``/openai/threads/runs`` and ``/openai/threads/{thread_id}/runs/...`` (Assistants v2).

``stream: true`` (on create, create-thread-and-run and submit_tool_outputs) answers with the assistant event
stream. Responses about a run carry ``openai-poll-after-ms`` when the scenario's ``runs.poll_after_ms`` sets it.
This router must be included before the threads router: ``POST /openai/threads/runs`` is not a thread.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.assistants import runs
from aoai_mock.behaviour.assistants.common import Doc
from aoai_mock.behaviour.assistants.events import Recorder
from aoai_mock.behaviour.assistants.requests import (
    CreateRun,
    CreateThreadAndRun,
    ModifyRun,
    SubmitToolOutputs,
)
from aoai_mock.behaviour.assistants.streaming import run_events
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.http.resource import StoreRoute, azure_call
from aoai_mock.http.routes.assistants_io import (
    body_of,
    event_stream,
    headers_of,
    includes,
    paging,
    reply,
)
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter(route_class=StoreRoute)
_RUN = "/openai/threads/{thread_id}/runs/{run_id}"


def _run_reply(run: Doc, api_version: str) -> Response:
    return reply(runs.render(run, api_version), runs.poll_after_ms(run))


def _streamed(request: Request, runtime: Runtime, run: Doc, recorder: Recorder, include: tuple[str, ...]) -> Response:
    return event_stream(request, run_events(runtime, run["id"], recorder.events, include))


@router.post("/openai/threads/runs")
async def create_thread_and_run(request: Request) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, CreateThreadAndRun)
    recorder = Recorder()
    run = await runs.create_thread_and_run(call.runtime, body, headers_of(request), call.api_version, recorder)
    if body.stream:
        return _streamed(request, call.runtime, run, recorder, includes(request))
    return _run_reply(run, call.api_version)


@router.post("/openai/threads/{thread_id}/runs")
async def create_run(request: Request, thread_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, CreateRun)
    recorder = Recorder()
    run = await runs.create_run(call.runtime, thread_id, body, headers_of(request), call.api_version, recorder)
    if body.stream:
        return _streamed(request, call.runtime, run, recorder, includes(request))
    return _run_reply(run, call.api_version)


@router.get("/openai/threads/{thread_id}/runs")
async def list_runs(request: Request, thread_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await runs.list_runs(call.runtime, thread_id, paging(request), call.api_version))


@router.get(_RUN)
async def retrieve_run(request: Request, thread_id: str, run_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return _run_reply(await runs.retrieve_run(call.runtime, thread_id, run_id), call.api_version)


@router.post(_RUN)
async def modify_run(request: Request, thread_id: str, run_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, ModifyRun, empty_ok=True)
    return _run_reply(await runs.modify_run(call.runtime, thread_id, run_id, body), call.api_version)


@router.post(_RUN + "/cancel")
async def cancel_run(request: Request, thread_id: str, run_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return _run_reply(await runs.cancel_run(call.runtime, thread_id, run_id), call.api_version)


@router.post(_RUN + "/submit_tool_outputs")
async def submit_tool_outputs(request: Request, thread_id: str, run_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    body = await body_of(request, SubmitToolOutputs)
    recorder = Recorder()
    run = await runs.submit_tool_outputs(call.runtime, thread_id, run_id, body, recorder)
    if body.stream:
        return _streamed(request, call.runtime, run, recorder, includes(request))
    return _run_reply(run, call.api_version)


@router.get(_RUN + "/steps")
async def list_steps(request: Request, thread_id: str, run_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await runs.list_steps(call.runtime, thread_id, run_id, paging(request), includes(request)))


@router.get(_RUN + "/steps/{step_id}")
async def retrieve_step(request: Request, thread_id: str, run_id: str, step_id: str) -> Response:
    call = azure_call(request, av.ASSISTANTS)
    return reply(await runs.retrieve_step(call.runtime, thread_id, run_id, step_id, includes(request)))
