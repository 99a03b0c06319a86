"""``/openai/batches``: create, list, retrieve, cancel. Behaviour: :mod:`aoai_mock.behaviour.batches`.

A batch's lines are sent through this same application, in process (:func:`resource_io.engine_sender`), with
the first configured API key (any key is accepted when none is configured). From 2025-04-01-preview the
answers are ``application/json; charset=utf-8`` [captured: batches/net-CanCancelBatch-2025-04-01-preview.json].
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import files, tokens
from aoai_mock.behaviour.batches import Batches
from aoai_mock.behaviour.objects import parse_jsonl
from aoai_mock.http.front import answer_as
from aoai_mock.http.resource import StoreRoute, azure_call
from aoai_mock.http.routes.resource_io import (
    JOBS_ERA,
    engine_sender,
    json_body,
    list_query,
    mock_headers,
    page_response,
    resource_json,
)
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import headers as names

__all__ = ["router", "batches_of"]

router = APIRouter(route_class=StoreRoute)
_BATCH_KEY = "aoai-mock-batch"


def batches_of(request: Request) -> Batches:
    """The application's batch family, made on first use (it keeps the in-process client)."""
    state = request.app.state
    found: Batches | None = getattr(state, "batches", None)
    if found is None:
        runtime = state.runtime
        key = runtime.settings.api_keys[0] if runtime.settings.api_keys else _BATCH_KEY
        found = state.batches = Batches(runtime, engine_sender(state.front, key))  # the whole application
    return found


@router.post("/openai/batches")
async def create(request: Request) -> Response:
    call = azure_call(request, av.BATCHES)
    body = await json_body(request)
    doc = await batches_of(request).create(body, call.api_version, mock_headers(request))
    data = await files.content(call.runtime, str(doc["input_file_id"]))
    answer_as(request.scope, names.CREATE, enqueued_tokens=lambda: str(_enqueued_tokens(data)))
    return resource_json(doc, call.api_version, since=JOBS_ERA)


def _enqueued_tokens(data: bytes) -> int:
    """What a new batch puts in its deployment's queue (``deployment-enqueued-tokens``): its lines' prompt
    tokens (chat messages, a prompt, an embedding input) as the tokenizer counts them. The lines are not
    checked until the batch runs: one the tokenizer cannot read (a message whose ``content`` is a number)
    counts nothing, so the header, worked out as the answer is sent, never fails it."""
    total = 0
    for line in parse_jsonl(data):
        body = line.value.get("body") if isinstance(line.value, dict) else None
        if not isinstance(body, dict):
            continue
        encoding = tokens.encoding_name_for(str(body.get("model", "")))
        messages = body.get("messages")
        try:
            if isinstance(messages, list):
                total += tokens.count_chat([m for m in messages if isinstance(m, dict)], encoding)
            else:
                total += tokens.count(str(body.get("prompt") or body.get("input") or ""), encoding)
        except (TypeError, ValueError, KeyError, AttributeError):
            continue
    return total


@router.get("/openai/batches")
async def list_batches(request: Request) -> Response:
    call = azure_call(request, av.BATCHES)
    return page_response(await batches_of(request).list(list_query(request)), call.api_version, since=JOBS_ERA)


@router.get("/openai/batches/{batch_id}")
async def retrieve(request: Request, batch_id: str) -> Response:
    call = azure_call(request, av.BATCHES)
    return resource_json(await batches_of(request).retrieve(batch_id), call.api_version, since=JOBS_ERA)


@router.post("/openai/batches/{batch_id}/cancel")
async def cancel(request: Request, batch_id: str) -> Response:
    call = azure_call(request, av.BATCHES)
    return resource_json(await batches_of(request).cancel(batch_id), call.api_version, since=JOBS_ERA)
