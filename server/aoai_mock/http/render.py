"""Responses: JSON bodies serialised once with sorted keys (as Azure writes them), and SSE streams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import Response

from aoai_mock.behaviour.pacing import PaceSchedule

__all__ = ["StreamPlan", "json_bytes", "json_response", "sse_response", "encode_event"]

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


@dataclass(slots=True)
class StreamPlan:
    """How a stream is delivered beyond its chunks: pacing, and the faults a test asked for.

    ``*_after`` count the ``data:`` events already sent (the prompt-annotation and role chunks included).
    """

    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    clock: Callable[[], float] = time.monotonic  # the time ``sleep`` passes
    schedule: PaceSchedule | None = None  # content chunk i goes out schedule.at(i) after the stream starts
    cut_after: int | None = None  # then the connection is closed: no [DONE], no end of the body
    cut_graceful: bool = False  # the cut ends the body properly instead (still no [DONE])
    drop: Callable[[], object] | None = None  # closes the connection, for the cut
    stall_after: int | None = None  # then nothing for stall_seconds, then the rest
    stall_seconds: float = 0.0
    malformed_after: int | None = None  # then one event that is not JSON
    malformed: bytes | None = None  # its exact bytes
    error_after: int | None = None  # then this {"error": ...} event, and the stream ends without [DONE]
    error_body: Mapping[str, Any] | None = None


_MALFORMED = b'data: {"id":"chatcmpl-\n\n'  # JSON cut short, as a broken proxy would deliver it


def _is_content(chunk: Mapping[str, Any]) -> bool:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        if (delta and (delta.get("content") or delta.get("tool_calls") or delta.get("refusal"))) or choice.get("text"):
            return True
    return False


async def _events(chunks: Iterable[Mapping[str, Any]], plan: StreamPlan | None) -> AsyncIterator[bytes]:
    if plan is None:
        for chunk in chunks:
            yield encode_event(chunk)
        yield encode_event(DONE)
        return
    sent = content = 0
    origin = plan.clock()
    for chunk in chunks:
        stop = _interrupt(plan, sent)
        if stop is not None:
            if stop:
                yield stop
            return
        if plan.malformed_after is not None and sent == plan.malformed_after:
            yield plan.malformed or _MALFORMED
        if plan.stall_after is not None and sent == plan.stall_after:
            await plan.sleep(plan.stall_seconds)
        if plan.schedule is not None and _is_content(chunk):
            wait = origin + plan.schedule.at(content) - plan.clock()  # from the start: no drift
            if wait > 0:
                await plan.sleep(wait)
            content += 1
        yield encode_event(chunk)
        sent += 1
    stop = _interrupt(plan, sent, at_end=True)
    if stop is not None:
        if stop:
            yield stop
        return
    yield encode_event(DONE)


def _interrupt(plan: StreamPlan, sent: int, at_end: bool = False) -> bytes | None:
    """Where a fault ends the stream early: b"" to end it (the connection dropped unless graceful),
    an error event to send last, or None to go on. A stream too short for the fault has it at the end."""
    if plan.cut_after is not None and (sent >= plan.cut_after or at_end):
        if not plan.cut_graceful and plan.drop is not None:
            plan.drop()
        return b""
    if plan.error_after is not None and (sent >= plan.error_after or at_end):
        return encode_event(dict(plan.error_body or {"error": {"message": "stream error"}}))
    return None


def sse_response(chunks: Iterable[Mapping[str, Any]], plan: StreamPlan | None = None) -> EventSourceResponse:
    """``text/event-stream; charset=utf-8``, no pings, ending with ``data: [DONE]`` unless ``plan`` says not."""
    return EventSourceResponse(_events(chunks, plan), headers=_STREAM_HEADERS, ping=0, sep="\n")
