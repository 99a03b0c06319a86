"""The one SSE encoder and the one streaming reply, for every family that streams.

Three families stream, each framed its own way on the wire [captured: WIRE-NOTES.md, the recordings]:

* chat completions and completions: ``data: <json>\\n\\n`` events, ending ``data: [DONE]\\n\\n``;
* the Responses API: ``event: <type>\\ndata: <json>\\n\\n`` (the type is the event's ``type``), no end marker;
* assistant runs: ``event: <name>\\ndata: <json>\\n\\n`` from ``(name, data)`` pairs, ending
  ``event: done\\ndata: [DONE]\\n\\n`` (the run's own ``done`` pair).

JSON is compact with sorted keys and raw UTF-8, LF separators, no comments or pings. A :class:`Framing`
knows its family's events: how to encode one, which carry content (pacing spaces those out), and how the
family says a broken event and an error mid-stream, so a :class:`~aoai_mock.behaviour.delivery.DeliveryPlan`
(pacing, cut, stall, malformed, error event) applies to any family's stream alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from aoai_mock.behaviour.delivery import DeliveryPlan
from aoai_mock.behaviour.responses.pipeline import is_content_event
from aoai_mock.state.record import CLIENT_CLOSED, CUT, ERROR_EVENT, MALFORMED, SENT, Record

__all__ = ["Framing", "CHAT", "RESPONSES", "ASSISTANTS", "SseReply", "SseResponse", "encode_event", "STREAM_HEADERS"]

_SORTED = orjson.OPT_SORT_KEYS
STREAM_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache, must-revalidate"),
    (b"connection", b"keep-alive"),
)  # x-accel-buffering: by family and era, as recorded (wire/headers.py)


def _json(data: Mapping[str, Any] | str) -> bytes:
    return data.encode() if isinstance(data, str) else orjson.dumps(data, option=_SORTED)


def encode_event(data: Mapping[str, Any] | str, name: str | None = None) -> bytes:
    """One event: ``event: <name>`` when named, one ``data:`` line, the blank line."""
    if name is None:
        return b"data: " + _json(data) + b"\n\n"
    return b"event: " + name.encode() + b"\ndata: " + _json(data) + b"\n\n"


def _chat_content(chunk: Mapping[str, Any]) -> bool:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        if (delta and (delta.get("content") or delta.get("tool_calls") or delta.get("refusal"))) or choice.get("text"):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Framing:
    """How one family's stream looks on the wire."""

    encode: Callable[[Any, int], bytes]  # (event, its index) -> bytes
    is_content: Callable[[Any], bool]  # the event carries a token (pacing spaces these out)
    end: bytes | None  # sent after the last event, unless the family's events carry their own end
    malformed: Callable[[int], bytes]  # a broken event, given the index it takes
    error_event: Callable[[Mapping[str, Any], int], bytes]  # the family's error event from {"error": {...}}


def _chat_encode(chunk: Mapping[str, Any], _: int) -> bytes:
    return b"data: " + orjson.dumps(chunk, option=_SORTED) + b"\n\n"


# One event whose JSON stops in the middle of a string: a parser fails on it, a line reader does not.
_CHAT_MALFORMED = b'data: {"choices":[{"index":0,"delta":{"content":"the chunk stops here\n\n'

CHAT = Framing(
    encode=_chat_encode,
    is_content=_chat_content,
    end=b"data: [DONE]\n\n",
    malformed=lambda _: _CHAT_MALFORMED,
    error_event=lambda body, _: encode_event(body),
)


def _response_encode(event: Mapping[str, Any], _: int) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event, option=_SORTED) + b"\n\n"


def _response_error(body: Mapping[str, Any], sequence: int) -> bytes:
    """The Responses stream's ``error`` event [documented: OpenAI's ResponseErrorEvent]."""
    error = body.get("error") or {}
    event = {
        "type": "error",
        "code": error.get("code") or error.get("type"),
        "message": error.get("message"),
        "param": error.get("param"),
        "sequence_number": sequence,
    }
    return encode_event(event, "error")


RESPONSES = Framing(
    encode=_response_encode,
    is_content=is_content_event,
    end=None,
    malformed=lambda n: (
        b'event: response.output_text.delta\ndata: {"delta":"the event stops here,"sequence_number":'
        + str(n).encode()
        + b"\n\n"
    ),
    error_event=_response_error,
)


def _assistant_encode(pair: tuple[str, Any], _: int) -> bytes:
    name, data = pair
    return encode_event(data, name)


ASSISTANTS = Framing(
    encode=_assistant_encode,
    is_content=lambda pair: pair[0] == "thread.message.delta",
    end=None,  # the run's events end with its own ("done", "[DONE]")
    malformed=lambda _: b'event: thread.message.delta\ndata: {"id":"msg_the event stops here\n\n',
    error_event=lambda body, _: encode_event(body, "error"),  # the SDK raises APIError on data.error
)


Events = Iterable[Any] | AsyncIterable[Any]
# An unpaced stream whose events are all ready goes out in writes of about this size; a paced one, an event a write.
_BATCH_BYTES = 16 * 1024


async def _each(events: Events) -> AsyncIterator[Any]:
    if isinstance(events, AsyncIterable):
        async for event in events:
            yield event
    else:
        for event in events:
            yield event


async def _close_events(events: Events) -> None:
    """End an event source a stream stopped reading (a cut, an error event, the client gone) now, so that what
    it does when it ends (a streamed run handed back to polls) happens at once, not when it is collected."""
    close = getattr(events, "aclose", None)
    if close is not None:
        with anyio.CancelScope(shield=True):
            await close()
    elif hasattr(events, "close"):
        events.close()


class SseReply:
    """An event stream under a delivery plan; what happened goes into the request's record.

    ``sleep``/``clock`` are the runtime's (tests replace them). ``drop`` closes the connection for a cut.
    Pacing is counted from ``origin`` (the request's arrival), so time spent before the first byte counts.
    """

    def __init__(
        self,
        events: Events,
        framing: Framing,
        record: Record,
        plan: DeliveryPlan | None = None,
        *,
        sleep: Callable[[float], Any] = asyncio.sleep,
        clock: Callable[[], float] | None = None,
        origin: float | None = None,
        drop: Callable[[], object] | None = None,
        status: int = 200,
        headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self.events = events
        self.framing = framing
        self.record = record
        self.plan = plan
        self.sleep = sleep
        self.clock = clock
        self.origin = origin
        self.drop = drop
        self.status = status
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        record = self.record
        record.stream = True
        await send({"type": "http.response.start", "status": self.status, "headers": [*STREAM_HEADERS, *self.headers]})
        closed = False
        self.done = False  # every event of the stream went out (what follows is the body's end)
        async with anyio.create_task_group() as tasks:

            async def watch() -> None:
                nonlocal closed
                while (await receive())["type"] != "http.disconnect":
                    pass
                closed = True
                tasks.cancel_scope.cancel()

            tasks.start_soon(watch)
            try:
                await self._stream(send)
            finally:
                await _close_events(self.events)
            tasks.cancel_scope.cancel()
        if closed and not self.done and record.outcome == SENT:  # a fault's own outcome stands
            record.outcome = CLIENT_CLOSED

    async def _stream(self, send: Send) -> None:
        plan = self.plan
        if plan is None or (plan.pace is None and not plan.shapes_stream):
            await self._plain(send)
        else:
            await self._planned(send, plan)

    async def _plain(self, send: Send) -> None:
        encode, record, sent = self.framing.encode, self.record, 0
        events = self.events
        if isinstance(events, AsyncIterable):  # each event when its source has it
            async for event in events:
                await self._body(send, encode(event, sent))
                sent += 1
        else:  # all ready at once: the same events, a few writes instead of one each
            batch: list[bytes] = []
            size = 0
            for event in events:
                chunk = encode(event, sent)
                batch.append(chunk)
                sent += 1
                size += len(chunk)
                if size >= _BATCH_BYTES or sent == 1:  # the first event leaves at once
                    record.events = sent
                    await self._body(send, b"".join(batch))
                    batch.clear()
                    size = 0
            if batch:
                record.events = sent
                await self._body(send, b"".join(batch))
        record.events = sent
        self.done = self.framing.end is None
        await self._close(send, self.framing.end)

    async def _planned(self, send: Send, plan: DeliveryPlan) -> None:
        framing, record = self.framing, self.record
        clock = self.clock or (lambda: 0.0)
        origin = self.origin if self.origin is not None else clock()
        sent = content = 0
        async for event in _each(self.events):
            if await self._interrupt(send, plan, sent):
                return
            if plan.malformed_after == sent:
                record.outcome = MALFORMED
                await self._body(send, framing.malformed(sent))
            if plan.stall_after == sent:
                await self.sleep(plan.stall_s)
            if plan.pace is not None and framing.is_content(event):
                wait = origin + plan.pace.at(content) - clock()  # from arrival: no drift
                if wait > 0:
                    await self.sleep(wait)
                content += 1
            await self._body(send, framing.encode(event, sent))
            sent += 1
            record.events = sent
        if not await self._interrupt(send, plan, sent, at_end=True):
            self.done = framing.end is None
            await self._close(send, framing.end)

    async def _interrupt(self, send: Send, plan: DeliveryPlan, sent: int, at_end: bool = False) -> bool:
        """Where the plan ends the stream early (a cut, an error event): do it and say True."""
        record = self.record
        record.events = sent
        if plan.cut_after is not None and (sent >= plan.cut_after or at_end):
            record.outcome = CUT
            if plan.cut_graceful or self.drop is None:
                await self._close(send, None)
            else:
                self.drop()
            return True
        if plan.error_after is not None and (sent >= plan.error_after or at_end):
            record.outcome = ERROR_EVENT
            await self._close(send, self.framing.error_event(plan.error_body or {"error": {}}, sent))
            return True
        return False

    async def _body(self, send: Send, chunk: bytes) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _close(self, send: Send, last: bytes | None) -> None:
        await send({"type": "http.response.body", "body": last or b"", "more_body": False})
        self.done = True


class SseResponse(Response):
    """An :class:`SseReply` as a framework route's return value (the framework sends Response objects)."""

    def __init__(self, reply: SseReply) -> None:  # noqa: super().__init__ would render a body
        self.reply = reply
        self.status_code = reply.status
        self.background = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.reply(scope, receive, send)
