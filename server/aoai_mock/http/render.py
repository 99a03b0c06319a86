"""Responses: JSON bodies serialised once with sorted keys (as Azure writes them), and SSE streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

__all__ = ["json_bytes", "json_response", "sse_response", "encode_event"]

_SORTED = orjson.OPT_SORT_KEYS
_STREAM_HEADERS = {"cache-control": "no-cache, must-revalidate"}
DONE = "[DONE]"


def json_bytes(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body, option=_SORTED)


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body, option=_SORTED), status_code=status, media_type="application/json")


def encode_event(data: Mapping[str, Any] | str) -> bytes:
    """One ``data: ...`` event with the LF separators the service uses."""
    text = data if isinstance(data, str) else orjson.dumps(data, option=_SORTED).decode()
    return ServerSentEvent(data=text, sep="\n").encode()


async def _events(chunks: Iterable[Mapping[str, Any]]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield encode_event(chunk)
    yield encode_event(DONE)


def sse_response(chunks: Iterable[Mapping[str, Any]]) -> EventSourceResponse:
    """``text/event-stream; charset=utf-8``, no pings, ending with ``data: [DONE]``."""
    return EventSourceResponse(_events(chunks), headers=_STREAM_HEADERS, ping=0, sep="\n")
