"""A realtime response delivered under its fault plan, and the records of sessions and responses finished.

What each fault does on a socket [inferred: the ways a socket fails; the mock's own choices]:

* a delay waits before the response's first event; a deployment's ``pacing`` spaces out the events that carry
  a token (text, transcript and arguments deltas) as it spaces a chat stream's chunks;
* an injected error (``500``, ``503`` ...) is an ``error`` event instead of the response, and a ``429`` is
  ``rate_limits.updated`` with nothing left, then an ``error`` event (``rate_limit_exceeded``); the socket
  stays open;
* ``drop`` closes the socket (close code 1011: uvicorn gives an ASGI application no way to reset the TCP
  connection of a WebSocket) and the session ends;
* ``hang`` sends nothing for the response (after ``seconds``, the socket is closed);
* ``cut`` sends so many events, then closes the socket (1011); ``stall`` pauses after so many; ``malformed``
  sends a text frame that is not JSON; ``error_event`` ends the response with the ``error`` event after so
  many of its events.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from aoai_mock.behaviour.delivery import DeliveryPlan
from aoai_mock.behaviour.realtime.conversation import Turn
from aoai_mock.behaviour.realtime.events import error_event
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.state.record import BODY_LIMIT, CLIENT_CLOSED, CLOSED, CUT, ERROR_EVENT, HUNG, MALFORMED, Record

__all__ = ["Finish", "journal_text", "deliver_turn"]

_GONE = 1011
_PACED = ("text.delta", "transcript.delta", "arguments.delta")  # the events that carry a token each


class journal_text:  # noqa: N801 - used as a small value type
    """The events a socket sent, as the journal shows a stream: ``data: {...}`` blocks, the first 64 KiB."""

    __slots__ = ("parts", "size")

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def add(self, data: bytes) -> None:
        block = b"data: " + data + b"\n\n"
        if self.size < BODY_LIMIT:
            self.parts.append(block)
        self.size += len(block)

    def add_all(self, blocks: bytes) -> None:
        if self.size < BODY_LIMIT:
            self.parts.append(blocks)
        self.size += len(blocks)

    def body(self) -> bytes:
        return b"".join(self.parts)[:BODY_LIMIT]


class Finish:
    """A finished record into the journal, the metrics and the observers (log lines, telemetry), as the front
    door finishes every request's."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def __call__(self, record: Record) -> None:
        record.finish(time.monotonic())
        state = self.state
        state.metrics.observe(record)
        for observe in state.front.observers:
            observe(record)
        state.journal.add(record)


async def deliver_turn(websocket: WebSocket, turn: Turn, runtime: Runtime, finish: Finish) -> bool:
    """Send ``turn``'s events under its plan and finish its record; False when the socket is closed now."""
    record, plan = turn.record, turn.plan
    sent = journal_text()
    record.stream, record.events = True, 0
    try:
        return await _under_plan(websocket, turn, plan or DeliveryPlan(), runtime, sent)
    except (WebSocketDisconnect, OSError):  # the client went away while the response was going out
        record.outcome = CLIENT_CLOSED
        raise
    finally:
        record.response_body, record.response_size = sent.body(), sent.size
        if plan is not None and plan.fault is not None:
            runtime.faults.delivered(plan.fault, events_sent=record.events)
        finish(record)


async def _under_plan(websocket: WebSocket, turn: Turn, plan: DeliveryPlan, runtime: Runtime,
                      sent: journal_text) -> bool:  # fmt: skip
    record = turn.record
    if plan.delay_s:
        await runtime.sleep(plan.delay_s)
    if plan.drop is not None:
        record.outcome = CLOSED
        await websocket.close(code=_GONE)
        return False
    if plan.hang:
        record.outcome = HUNG
        if plan.hang_s is None:
            return True
        await runtime.sleep(plan.hang_s)
        await websocket.close(code=_GONE)
        return False
    content = 0
    for index, event in enumerate(turn.events):
        if plan.pace is not None and event["type"].endswith(_PACED):
            wait = turn.origin + plan.pace.at(content) - runtime.monotonic()  # from the request: no drift
            content += 1
            if wait > 0:
                await runtime.sleep(wait)
        if index == plan.error_after and plan.error_body is not None:
            await _send(websocket, _error_of(plan.error_body), record, sent)
            record.outcome = ERROR_EVENT
            return True
        if index == plan.cut_after:
            record.outcome = CUT
            await websocket.close(code=_GONE)
            return False
        if index == plan.stall_after:
            await runtime.sleep(plan.stall_s)
        if index == plan.malformed_after:
            await websocket.send_text('{"type": "response.text.delta", "delta": ')
            record.outcome = MALFORMED
        await _send(websocket, event, record, sent)
    if plan.error_after is not None and plan.error_body is not None:  # fewer events than asked: at the end
        await _send(websocket, _error_of(plan.error_body), record, sent)
        record.outcome = ERROR_EVENT
    return True


def _error_of(body: dict[str, Any]) -> dict[str, Any]:
    inner = body.get("error") or {}
    status = str(inner.get("code") or "")
    kind = "server_error" if status.startswith("5") or inner.get("type") in (None, "server_error") else inner["type"]
    return error_event("event_fault", str(inner.get("message") or "The server had an error."), type=kind,
                       code=inner.get("code"))  # fmt: skip


async def _send(websocket: WebSocket, event: dict[str, Any], record: Record, sent: journal_text) -> None:
    data = orjson.dumps(event)
    await websocket.send_text(data.decode())
    if record.first_byte is None:
        record.first_byte = time.monotonic()
    sent.add(data)
    record.events = (record.events or 0) + 1
