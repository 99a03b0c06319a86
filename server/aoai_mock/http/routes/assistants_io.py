"""What the assistants, threads, runs and vector store routes share: bodies in, JSON and event streams out.

Bodies are JSON objects checked against a request model (a bad one is the service's 400, never a 500); an
empty body counts as ``{}`` where every field is optional. Streams are the assistant event stream:
``event: <name>\\ndata: <json>\\n\\n`` for each event, ending ``event: done\\ndata: [DONE]\\n\\n``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.assistants.common import ListQuery, list_query
from aoai_mock.errors import InvalidJson, RequestTooLarge, ResourceNotFound
from aoai_mock.http.deps import check_json_request
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import AzureCall
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.validation import load_json, validate

__all__ = [
    "body_of",
    "paging",
    "includes",
    "headers_of",
    "reply",
    "event_stream",
    "encode_named_event",
    "require_version",
]

M = TypeVar("M", bound=BaseModel)
_STREAM_HEADERS = {"cache-control": "no-cache, must-revalidate", "x-accel-buffering": "no"}


async def body_of(request: Request, model: type[M], empty_ok: bool = False) -> M:
    """The request's JSON body as ``model``, or the service's 400 (413 when too large)."""
    limit = request.app.state.runtime.settings.config.max_body_bytes
    check_json_request(request.headers.get("content-type"), request.headers.get("content-length"), limit)
    raw = await request.body()
    if len(raw) > limit:
        raise RequestTooLarge(limit)
    if not raw.strip():
        if not empty_ok:
            raise InvalidJson()
        return validate(model, {})
    return validate(model, load_json(raw))


def paging(request: Request) -> ListQuery:
    return list_query(request.query_params)


def includes(request: Request) -> tuple[str, ...]:
    params = request.query_params
    return tuple(params.getlist("include[]") + params.getlist("include"))


def headers_of(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def reply(body: Mapping[str, Any], poll_after_ms: int | None = None) -> Response:
    response = json_response(body)
    if poll_after_ms is not None:
        response.headers["openai-poll-after-ms"] = str(poll_after_ms)
    return response


def encode_named_event(event: str, data: Any) -> bytes:
    text = data if isinstance(data, str) else orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()
    return ServerSentEvent(data=text, event=event, sep="\n").encode()


async def _encoded(events: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[bytes]:
    async for event, data in events:
        yield encode_named_event(event, data)


def event_stream(events: AsyncIterator[tuple[str, Any]]) -> EventSourceResponse:
    return EventSourceResponse(_encoded(events), headers=_STREAM_HEADERS, ping=0, sep="\n")


def require_version(call: AzureCall, minimum: str) -> None:
    """Routes the spec adds later than their family: an older api-version does not have them (404)."""
    if call.api_version and not av.is_at_least(call.api_version, minimum):
        raise ResourceNotFound()
