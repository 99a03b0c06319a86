"""What the assistants, threads, runs and vector store routes share: bodies in, JSON and event streams out.

Bodies are JSON objects checked against a request model (a bad one is the service's 400, never a 500); an
empty body counts as ``{}`` where every field is optional. Streams are the assistant event stream:
``event: <name>\\ndata: <json>\\n\\n`` for each event, ending ``event: done\\ndata: [DONE]\\n\\n``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.assistants.common import ListQuery, list_query
from aoai_mock.errors import ResourceNotFound
from aoai_mock.http.deps import json_body
from aoai_mock.http.front import record_of
from aoai_mock.http.protocol import drop_connection
from aoai_mock.http.render import json_response, list_bytes
from aoai_mock.http.resource import AzureCall
from aoai_mock.http.resource_faults import stream_plan_of
from aoai_mock.http.sse import ASSISTANTS, SseReply, SseResponse
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.validation import validate

__all__ = [
    "body_of",
    "paging",
    "includes",
    "headers_of",
    "reply",
    "event_stream",
    "require_version",
]

M = TypeVar("M", bound=BaseModel)


async def body_of(request: Request, model: type[M], empty_ok: bool = False) -> M:
    """The request's JSON body as ``model``, or the service's 400 (413 when too large)."""
    limit = request.app.state.runtime.settings.config.max_body_bytes
    headers = request.headers
    _, parsed = await json_body(
        request.receive, headers.get("content-type"), headers.get("content-length"), limit, empty_ok=empty_ok
    )
    return validate(model, parsed)


def paging(request: Request) -> ListQuery:
    return list_query(request.query_params)


def includes(request: Request) -> tuple[str, ...]:
    params = request.query_params
    return tuple(params.getlist("include[]") + params.getlist("include"))


def headers_of(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def reply(body: Mapping[str, Any], poll_after_ms: int | None = None) -> Response:
    """A JSON answer; a list leaves out an object it cannot write (:func:`~aoai_mock.http.render.list_bytes`)."""
    if body.get("object") == "list":
        response = Response(list_bytes(body), media_type="application/json")
    else:
        response = json_response(body)
    if poll_after_ms is not None:
        response.headers["openai-poll-after-ms"] = str(poll_after_ms)
    return response


def event_stream(request: Request, events: AsyncIterator[tuple[str, Any]]) -> Response:
    """The assistant event stream, under the stream fault a request's plan carries (if any)."""
    runtime = request.app.state.runtime
    scope = request.scope
    plan = stream_plan_of(scope)
    reply = SseReply(
        events,
        ASSISTANTS,
        record_of(scope),
        plan,
        sleep=runtime.sleep,
        clock=runtime.monotonic,
        drop=lambda: drop_connection(scope),
    )
    return SseResponse(reply)


def require_version(call: AzureCall, minimum: str) -> None:
    """Routes the spec adds later than their family: an older api-version does not have them (404)."""
    if call.api_version and not av.is_at_least(call.api_version, minimum):
        raise ResourceNotFound()
