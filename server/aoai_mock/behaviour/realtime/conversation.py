"""One realtime session's protocol: each client event in, the server events (and turns) it gives.

:class:`RealtimeSession` holds the session's configuration, its conversation and its input audio buffer.
:meth:`RealtimeSession.handle` reads one client event and returns what to send: events at once, and, for a
response, a :class:`Turn` the HTTP layer delivers under its fault plan. A client event the service refuses
gives an ``error`` event naming it, and the session goes on.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from aoai_mock.behaviour.delivery import DeliveryPlan
from aoai_mock.behaviour.realtime import audio, turns
from aoai_mock.behaviour.realtime.events import Era, Event, error_event, rate_limits_event
from aoai_mock.behaviour.realtime.session import EventError, SessionConfig, configured, configured_by, session_object
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import AzureError
from aoai_mock.state.record import Record
from aoai_mock.wire import headers as names

__all__ = ["RealtimeSession", "Turn", "Outgoing", "SESSION_SECONDS"]

SESSION_SECONDS = 30 * 60  # a session's expires_at is this far ahead [documented: sessions last 30 minutes]
_MIN_COMMIT_MS = 100  # [documented: "Expected at least 100ms of audio" in the service's commit error]
_ITEM_TYPES = frozenset({"message", "function_call", "function_call_output"})
_ROLES = frozenset({"user", "assistant", "system"})
# What ``response.create`` may set for itself, spelt as the session's fields are [documented: the SDK's
# ``ResponseCreateEvent.response`` in each era]; the era decides which of them it knows.
_RESPONSE_SETTINGS = frozenset({
    "instructions", "tools", "tool_choice", "modalities", "output_modalities", "voice", "temperature",
    "max_response_output_tokens", "max_output_tokens", "audio", "output_audio_format",
})  # fmt: skip


@dataclass(slots=True)
class Turn:
    """A response to deliver: its events in order, under ``plan`` (None: as they are), and its record."""

    record: Record
    events: list[Event]
    plan: DeliveryPlan | None = None
    origin: float = 0.0  # the runtime's monotonic clock when the response was asked for: pacing counts from here


Outgoing = list[Event | Turn]


class _Ids:
    """The session's ids: random, or with ``--seed`` derived from the session and a count."""

    def __init__(self, runtime: Runtime, session_key: str) -> None:
        self._ids, self._key, self._n = runtime.ids, session_key, 0

    def _next(self, prefix: str) -> str:
        self._n += 1
        return self._ids.object_id(prefix, f"{self._key}:{self._n}".encode(), 21)

    def event(self) -> str:
        return self._next("event_")

    def item(self) -> str:
        return self._next("item_")

    def response(self) -> str:
        return self._next("resp_")


@dataclass
class RealtimeSession:
    runtime: Runtime
    deployment: Deployment
    era: Era
    api_version: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]  # the handshake's: x-aoai-mock-responder, -scenario and -fault apply to turns
    session_id: str = ""
    config: SessionConfig | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    heard_ms: dict[str, int] = field(default_factory=dict)  # input audio items' lengths
    buffer: audio.InputBuffer = field(default_factory=audio.InputBuffer)
    turns: int = 0
    next_item: str | None = None  # the id VAD gives the buffer's item before it is committed
    ids: _Ids = field(init=False)

    def __post_init__(self) -> None:
        self.session_id = self.session_id or self.runtime.ids.object_id("sess_", self.query, 21)
        self.ids = _Ids(self.runtime, self.session_id)
        self.config = self.config or configured(self.deployment.model, self.era)  # an ephemeral key brings its own
        self._listen()

    # -- the session ---------------------------------------------------------------------------------------

    def created(self) -> Event:
        return {"type": "session.created", "event_id": self.ids.event(), "session": self._session()}

    def _session(self) -> dict[str, Any]:
        expires = self.runtime.clock.created() + SESSION_SECONDS
        return session_object(self.config, self.era, self.session_id, expires)

    def _listen(self) -> None:
        vad = self.config.turn_detection
        self.buffer.vad = audio.Vad(vad["threshold"], vad["silence_duration_ms"]) if vad is not None else None

    def error(self, failure: EventError, client_event_id: str | None = None) -> Event:
        return error_event(self.ids.event(), failure.message, type=failure.type, code=failure.code,
                           param=failure.param, client_event_id=client_event_id)  # fmt: skip

    async def handle(self, raw: str | bytes) -> Outgoing:
        """One client event in; what to send out."""
        try:
            event = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return [self.error(EventError("The event is not valid JSON.", code="invalid_json"))]
        if not isinstance(event, dict):
            return [self.error(EventError("The event must be a JSON object.", code="invalid_type"))]
        client_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        handler = _HANDLERS.get(event.get("type"))  # type: ignore[arg-type]
        if handler is None:
            failure = EventError(f"Invalid value: '{event.get('type')}'. Supported values are: "
                                 f"{', '.join(sorted(_HANDLERS))}.", param="type")  # fmt: skip
            return [self.error(failure, client_id)]
        try:
            return await handler(self, event)
        except EventError as failure:
            return [self.error(failure, client_id)]

    async def _update(self, event: dict[str, Any]) -> Outgoing:
        self.config = configured_by(self.config, event.get("session"), self.era)
        self._listen()
        return [{"type": "session.updated", "event_id": self.ids.event(), "session": self._session()}]

    # -- input audio ---------------------------------------------------------------------------------------

    async def _append(self, event: dict[str, Any]) -> Outgoing:
        pcm = _decoded(event.get("audio"), "audio")
        out: Outgoing = []
        for change in self.buffer.append(pcm):
            if change.started:
                out.append({"type": "input_audio_buffer.speech_started", "event_id": self.ids.event(),
                            "audio_start_ms": change.at_ms, "item_id": self._pending_item()})  # fmt: skip
                continue
            out.append({"type": "input_audio_buffer.speech_stopped", "event_id": self.ids.event(),
                        "audio_end_ms": change.at_ms, "item_id": self._pending_item()})  # fmt: skip
            out.extend(self._commit(self.buffer.take(whole=False)))
            if self.config.turn_detection.get("create_response", True):
                out.append(await self._respond({}))
        return out

    def _pending_item(self) -> str:
        """The id the buffer's item will have once committed (VAD names it before)."""
        if self.next_item is None:
            self.next_item = self.ids.item()
        return self.next_item

    async def _commit_event(self, event: dict[str, Any]) -> Outgoing:
        heard = audio.duration_ms(self.buffer.pcm)
        if heard < _MIN_COMMIT_MS:
            raise EventError(f"Error committing input audio buffer: buffer too small. Expected at least "
                             f"{_MIN_COMMIT_MS}ms of audio, but buffer only has {heard:.2f}ms of audio.",
                             code="input_audio_buffer_commit_empty")  # fmt: skip
        return self._commit(self.buffer.take())

    def _commit(self, pcm: bytes) -> Outgoing:
        item_id = self._pending_item()
        self.next_item = None
        previous = self.items[-1]["id"] if self.items else None
        text = audio.transcript_of(pcm, self.runtime.media, self.runtime.fixtures_dir)
        item = {"id": item_id, "object": "realtime.item", "type": "message", "status": "completed", "role": "user",
                "content": [{"type": self.era.input_audio, "transcript": text}]}  # fmt: skip
        self.items.append(item)
        self.heard_ms[item_id] = audio.duration_ms(pcm)
        out: Outgoing = [{"type": "input_audio_buffer.committed", "event_id": self.ids.event(),
                          "previous_item_id": previous, "item_id": item_id}]  # fmt: skip
        out.extend(self.era.item_added(self._shown(item), previous, self.ids.event))
        if self.config.transcription is not None:
            out.append({"type": "conversation.item.input_audio_transcription.completed", "event_id": self.ids.event(),
                        "item_id": item_id, "content_index": 0, "transcript": text})  # fmt: skip
        return out

    def _shown(self, item: dict[str, Any]) -> dict[str, Any]:
        """An item as events show it: an audio part's transcript only when the session transcribes."""
        if self.config.transcription is not None or item.get("type") != "message":
            return item
        parts = [dict(p, transcript=None) if p.get("type") == self.era.input_audio else p for p in item["content"]]
        return dict(item, content=parts)

    async def _clear(self, event: dict[str, Any]) -> Outgoing:
        self.buffer.clear()
        return [{"type": "input_audio_buffer.cleared", "event_id": self.ids.event()}]

    # -- the conversation ----------------------------------------------------------------------------------

    async def _create_item(self, event: dict[str, Any]) -> Outgoing:
        item = _checked_item(event.get("item"))
        item["id"] = item.get("id") or self.ids.item()
        if any(i["id"] == item["id"] for i in self.items):
            raise EventError(f"Item with id '{item['id']}' already exists.", code="item_already_exists", param="item.id")
        for part in item.get("content") or ():
            if part.get("type") == "input_audio" and isinstance(part.get("audio"), str):
                pcm = _decoded(part.pop("audio"), "item.content.audio")
                part.setdefault("transcript", audio.transcript_of(pcm, self.runtime.media, self.runtime.fixtures_dir))
                self.heard_ms[item["id"]] = self.heard_ms.get(item["id"], 0) + audio.duration_ms(pcm)
        previous = event.get("previous_item_id") or (self.items[-1]["id"] if self.items else None)
        self.items.append(item)
        return self.era.item_added(self._shown(item), previous, self.ids.event)

    def _find(self, event: dict[str, Any]) -> dict[str, Any]:
        wanted = event.get("item_id")
        for item in self.items:
            if item["id"] == wanted:
                return item
        raise EventError(f"Item with item_id not found: {wanted}", code="item_not_found", param="item_id")

    async def _delete_item(self, event: dict[str, Any]) -> Outgoing:
        self.items.remove(self._find(event))
        return [{"type": "conversation.item.deleted", "event_id": self.ids.event(), "item_id": event["item_id"]}]

    async def _retrieve_item(self, event: dict[str, Any]) -> Outgoing:
        item = self._find(event)
        return [{"type": "conversation.item.retrieved", "event_id": self.ids.event(), "item": self._shown(item)}]

    async def _truncate_item(self, event: dict[str, Any]) -> Outgoing:
        self._find(event)
        return [{"type": "conversation.item.truncated", "event_id": self.ids.event(), "item_id": event["item_id"],
                 "content_index": event.get("content_index", 0), "audio_end_ms": event.get("audio_end_ms", 0)}]  # fmt: skip

    async def _cancel(self, event: dict[str, Any]) -> Outgoing:
        raise EventError("Cancellation failed: no active response found.", code="response_cancel_not_active")

    # -- responses -----------------------------------------------------------------------------------------

    async def _respond_event(self, event: dict[str, Any]) -> Outgoing:
        return [await self._respond(event.get("response") or {}, event.get("event_id"))]

    async def _respond(self, params: Mapping[str, Any], client_id: Any = None) -> Turn:
        asked = self._asked(params)
        record = self._turn_record()
        self.turns += 1
        named = dict(self.headers)
        responder, scenario = named.get(names.RESPONDER_B), named.get(names.SCENARIO_B)
        body = turns.chat_body(asked)
        record.keep_body(orjson.dumps(body))  # the turn's journal body; and the key of a remembered answer
        call = turns.new_call(self.runtime, record, self.deployment, self.api_version, body, named,
                              _text(responder), _text(scenario))  # fmt: skip
        try:
            answered = await turns.ask(call)
        except AzureError as exc:
            record.status = exc.status
            return Turn(record, self.refused(exc, client_id))
        plan = answered.plan
        if answered.result is None:
            error = plan.error if plan is not None else None
            return Turn(record, self.refused(error, client_id) if error is not None else [], plan, call.origin)
        record.status = 200
        return Turn(record, self._response_events(answered.result, asked, record), plan, call.origin)

    def _asked(self, params: Mapping[str, Any]) -> turns.Asked:
        """The response's own settings (checked as a ``session.update`` of them is) over the session's."""
        own = {name: value for name, value in params.items() if name in _RESPONSE_SETTINGS}
        try:
            config = configured_by(self.config, own, self.era) if own else self.config
        except EventError as failure:
            param = failure.param.replace("session.", "response.", 1) if failure.param else None
            raise EventError(failure.message.replace("'session.", "'response.", 1), failure.code, param) from None
        into = params.get("conversation", "auto") != "none"
        items = [_checked_item(dict(i)) for i in params["input"]] if isinstance(params.get("input"), list) else self.items
        heard = sum(self.heard_ms.get(i.get("id", ""), 0) for i in items)
        return turns.Asked(items, config, heard, params.get("metadata"), into)

    def _response_events(self, result: Any, asked: turns.Asked, record: Record) -> list[Event]:
        response_id, ids, era = self.ids.response(), self.ids, self.era
        previous = self.items[-1]["id"] if self.items else None
        started = turns.response_object(response_id, asked, era, "in_progress", [], None)
        events: list[Event] = [{"type": "response.created", "event_id": ids.event(), "response": started}]
        out = turns.output_events(result.choices[0], result, asked, era, response_id, ids, self.runtime.media, previous)
        events.extend(out.events)
        if asked.into_conversation:
            self.items.extend(out.items)
        used = turns.usage(result, asked, out)
        record.tokens_in, record.tokens_out = used["input_tokens"], used["output_tokens"]
        events.append(self._rate_limits(used["total_tokens"]))
        done = turns.response_object(response_id, asked, era, "completed", out.items, used)
        events.append({"type": "response.done", "event_id": ids.event(), "response": done})
        return events

    def _rate_limits(self, spent: int, exhausted: bool = False, reset_s: float = 60.0) -> Event:
        deployment = self.deployment
        requests, tokens = deployment.requests_per_minute, deployment.tokens_per_minute
        left = (0, 0) if exhausted else (requests - 1, max(0, tokens - spent))
        return rate_limits_event(self.ids.event(), (requests, left[0]), (tokens, left[1]), reset_s)

    def refused(self, error: AzureError, client_id: Any) -> list[Event]:
        """An Azure error as the socket says it: an ``error`` event; a 429 after ``rate_limits.updated`` with
        nothing left [inferred: the service's realtime quota refusal is not documented]."""
        client = client_id if isinstance(client_id, str) else None
        if error.status == 429:
            wait = float(error.headers.get("retry-after") or 60)
            failure = EventError(error.message, code="rate_limit_exceeded", type="rate_limit_error")
            return [self._rate_limits(0, exhausted=True, reset_s=wait), self.error(failure, client)]
        kind = error.type or ("server_error" if error.status >= 500 else "invalid_request_error")
        if error.status >= 500:
            kind = "server_error"
        return [self.error(EventError(error.message, code=error.code or str(error.status), param=error.param,
                                      type=kind), client)]  # fmt: skip

    def _turn_record(self) -> Record:
        runtime = self.runtime
        return Record(runtime.ids.request_id(), "WS", self.path, self.query, self.headers, time.monotonic())


def _text(value: bytes | None) -> str | None:
    return value.decode("latin-1") if value is not None else None


def _decoded(value: Any, param: str) -> bytes:
    if not isinstance(value, str):
        raise EventError(f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param)
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise EventError("Invalid audio: expected base64-encoded PCM16.", code="invalid_value", param=param) from None


def _checked_item(item: Any) -> dict[str, Any]:
    if not isinstance(item, Mapping):
        raise EventError("Missing required parameter: 'item'.", code="missing_required_parameter", param="item")
    kind = item.get("type")
    if kind not in _ITEM_TYPES:
        raise EventError(f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', and "
                         "'function_call_output'.", param="item.type")  # fmt: skip
    if kind == "message":
        if item.get("role") not in _ROLES:
            raise EventError(f"Invalid value: '{item.get('role')}'. Supported values are: 'user', 'assistant', "
                             "and 'system'.", param="item.role")  # fmt: skip
        if not isinstance(item.get("content"), list):
            raise EventError("Missing required parameter: 'item.content'.", code="missing_required_parameter",
                             param="item.content")  # fmt: skip
    elif not isinstance(item.get("call_id"), str):
        raise EventError("Missing required parameter: 'item.call_id'.", code="missing_required_parameter",
                         param="item.call_id")  # fmt: skip
    found = {**item, "object": "realtime.item", "status": "completed"}
    found["content"] = [dict(p) for p in item.get("content") or () if isinstance(p, Mapping)] if kind == "message" else None
    if found["content"] is None:
        del found["content"]
    return found


_Handler = Callable[[RealtimeSession, dict[str, Any]], Awaitable[Outgoing]]
_HANDLERS: dict[str, _Handler] = {
    "session.update": RealtimeSession._update,
    "input_audio_buffer.append": RealtimeSession._append,
    "input_audio_buffer.commit": RealtimeSession._commit_event,
    "input_audio_buffer.clear": RealtimeSession._clear,
    "conversation.item.create": RealtimeSession._create_item,
    "conversation.item.delete": RealtimeSession._delete_item,
    "conversation.item.retrieve": RealtimeSession._retrieve_item,
    "conversation.item.truncate": RealtimeSession._truncate_item,
    "response.create": RealtimeSession._respond_event,
    "response.cancel": RealtimeSession._cancel,
}
