"""One realtime response (a turn), answered by the same seam as chat completions.

The conversation so far becomes a chat completions body (the session's instructions as the system message,
user text and audio transcripts as user messages, function calls and their outputs as tool calls and tool
messages, the session's flat tools as chat tools) and goes through
:func:`~aoai_mock.behaviour.inference.answer` with the chat family, as operation ``realtime``: the fault is
decided, an enforced quota charged, the responder chosen (the handshake's ``x-aoai-mock-responder``, a
scenario's rule, else the deployment's own) and the answer written exactly as for chat. Its choice becomes
the response's output: a message (text, or audio with its transcript) or function calls with their
arguments in deltas.

Usage: the chat tokenizer's count of the prompt and of the answer (``behaviour/tokens.py``); audio adds 10
tokens a second heard and 20 a second spoken [inferred: the ratio OpenAI publishes for its realtime models].
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aoai_mock.behaviour.answering import CHAT
from aoai_mock.behaviour.delivery import DeliveryPlan
from aoai_mock.behaviour.inference import Call, answer, answer_shared
from aoai_mock.behaviour.realtime import audio
from aoai_mock.behaviour.realtime.events import Era, Event, usage_of
from aoai_mock.behaviour.realtime.session import SessionConfig
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.state.record import Record
from aoai_mock.wire.operations import REALTIME
from aoai_mock.wire.results import ChatResult, ChoiceResult

__all__ = ["Asked", "Answered", "chat_body", "ask", "output_events", "b64"]


@dataclass(slots=True)
class Asked:
    """What one ``response.create`` asks for, the session's settings and the event's own merged."""

    items: Sequence[Mapping[str, Any]]
    config: SessionConfig
    audio_in_ms: int = 0  # input audio in the conversation, for usage
    metadata: Any = None
    into_conversation: bool = True


@dataclass(slots=True)
class Answered:
    """The chat seam's outcome for a turn: its result (None when the plan answers instead) and the plan."""

    result: ChatResult | None
    plan: DeliveryPlan | None
    record: Record
    extra: list[Event] = field(default_factory=list)


def _text(item: Mapping[str, Any]) -> str:
    parts = item.get("content") or ()
    return " ".join(str(p.get("text") or p.get("transcript") or "") for p in parts if isinstance(p, Mapping)).strip()


def _messages(items: Iterable[Mapping[str, Any]], instructions: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [{"role": "system", "content": instructions}] if instructions else []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            messages.append({"role": item.get("role", "user"), "content": _text(item)})
        elif kind == "function_call":
            call = {"id": item.get("call_id", ""), "type": "function",
                    "function": {"name": item.get("name", ""), "arguments": item.get("arguments") or "{}"}}  # fmt: skip
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and last.get("tool_calls"):
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append({"role": "tool", "tool_call_id": item.get("call_id", ""), "content": str(item.get("output", ""))})
    return messages


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, Mapping) and choice.get("type") == "function":
        return {"type": "function", "function": {"name": choice.get("name", "")}}
    return choice


def chat_body(asked: Asked) -> dict[str, Any]:
    """The chat completions body that stands for this turn (a stream, as a response is: the stream faults apply)."""
    config = asked.config
    body: dict[str, Any] = {"messages": _messages(asked.items, config.instructions), "stream": True}
    if config.tools:
        body["tools"] = [
            {"type": "function", "function": {k: v for k, v in tool.items() if k in ("name", "description", "parameters")}}
            for tool in config.tools
        ]
        body["tool_choice"] = _tool_choice(config.tool_choice)
    if isinstance(config.max_output_tokens, int):
        body["max_tokens"] = config.max_output_tokens
    return body


async def ask(call: Call) -> Answered:
    """The chat seam's answer to the turn ``call`` stands for (AzureError raised as the seam raises it)."""
    needs_shared = call.runtime.shared is not None and (
        call.deployment.rate_limit.enforce or not call.runtime.faults.idle or call.runtime.book.active is not None
    )
    outcome = await answer_shared(call, CHAT) if needs_shared else answer(call, CHAT)
    result = outcome.answer.result if outcome.answer is not None else None  # type: ignore[attr-defined]
    return Answered(result, outcome.plan, call.record)


def new_call(
    runtime: Runtime, record: Record, deployment: Deployment, api_version: str, body: dict[str, Any],
    headers: Mapping[bytes, bytes], responder: str | None, scenario: str | None,
) -> Call:  # fmt: skip
    record.operation, record.deployment, record.api_version = REALTIME, deployment.name, api_version
    return Call(runtime, record, REALTIME, deployment, api_version, body, headers, runtime.monotonic(), [],
                responder, scenario)  # fmt: skip


def b64(pcm: bytes) -> str:
    import base64

    return base64.b64encode(pcm).decode("ascii")


@dataclass(slots=True)
class Output:
    """The output of one response: its items, the events that make them, and the output tokens by kind."""

    items: list[dict[str, Any]]
    events: list[Event]
    text_tokens: int
    audio_tokens: int


def output_events(
    choice: ChoiceResult, result: ChatResult, asked: Asked, era: Era, response_id: str, ids: Any, media: Any,
    previous: str | None,
) -> Output:  # fmt: skip
    """The events between ``response.created`` and ``response.done``: each output item added, its content in
    deltas, then done. ``ids.event()`` and ``ids.item()`` make the ids."""
    if choice.tool_calls:
        return _calls(choice, result, era, response_id, ids, previous, asked.into_conversation)
    return _message(choice, result, asked, era, response_id, ids, media, previous)


def _calls(
    choice: ChoiceResult, result: ChatResult, era: Era, response_id: str, ids: Any, previous: str | None,
    into: bool,
) -> Output:  # fmt: skip
    items, events = [], []
    for index, call in enumerate(choice.tool_calls):
        item_id = ids.item()
        item = {"id": item_id, "object": "realtime.item", "type": "function_call", "status": "in_progress",
                "name": call.name, "call_id": call.id, "arguments": ""}  # fmt: skip
        events.append({"type": "response.output_item.added", "event_id": ids.event(), "response_id": response_id,
                       "output_index": index, "item": dict(item)})  # fmt: skip
        if into:
            events.extend(era.item_added(dict(item), previous, ids.event))
        for piece in call.argument_pieces or (call.arguments,):
            events.append({"type": "response.function_call_arguments.delta", "event_id": ids.event(),
                           "response_id": response_id, "item_id": item_id, "output_index": index,
                           "call_id": call.id, "delta": piece})  # fmt: skip
        events.append({"type": "response.function_call_arguments.done", "event_id": ids.event(),
                       "response_id": response_id, "item_id": item_id, "output_index": index, "call_id": call.id,
                       "name": call.name, "arguments": call.arguments})  # fmt: skip
        item.update(status="completed", arguments=call.arguments)
        events.append({"type": "response.output_item.done", "event_id": ids.event(), "response_id": response_id,
                       "output_index": index, "item": item})  # fmt: skip
        items.append(item)
        previous = item_id
    return Output(items, events, result.usage.completion_tokens, 0)


def _message(
    choice: ChoiceResult, result: ChatResult, asked: Asked, era: Era, response_id: str, ids: Any, media: Any,
    previous: str | None,
) -> Output:  # fmt: skip
    text = choice.content or ""
    speaks = "audio" in asked.config.modalities
    item_id = ids.item()
    item = {"id": item_id, "object": "realtime.item", "type": "message", "status": "in_progress",
            "role": "assistant", "content": []}  # fmt: skip
    where = {"response_id": response_id, "item_id": item_id, "output_index": 0, "content_index": 0}
    events: list[Event] = [{"type": "response.output_item.added", "event_id": ids.event(), "response_id": response_id,
                            "output_index": 0, "item": dict(item, content=[])}]  # fmt: skip
    if asked.into_conversation:
        events.extend(era.item_added(dict(item, content=[]), previous, ids.event))
    events.append({"type": "response.content_part.added", "event_id": ids.event(), **where, "part": era.part(speaks)})
    pieces = choice.pieces or ((text,) if text else ())
    audio_tokens = 0
    if speaks:
        for piece in pieces:
            events.append({"type": era.transcript_delta, "event_id": ids.event(), **where, "delta": piece})
        pcm = audio.spoken(text, asked.config.voice, media)
        for chunk in audio.chunks(pcm):
            events.append({"type": era.audio_delta, "event_id": ids.event(), **where, "delta": b64(chunk)})
        events.append({"type": era.audio_done, "event_id": ids.event(), **where})
        events.append({"type": era.transcript_done, "event_id": ids.event(), **where, "transcript": text})
        audio_tokens = math.ceil(audio.duration_ms(pcm) / 50)
    else:
        for piece in pieces:
            events.append({"type": era.text_delta, "event_id": ids.event(), **where, "delta": piece})
        events.append({"type": era.text_done, "event_id": ids.event(), **where, "text": text})
    part = era.part(speaks, text)
    events.append({"type": "response.content_part.done", "event_id": ids.event(), **where, "part": part})
    item.update(status="completed", content=[part])
    events.append({"type": "response.output_item.done", "event_id": ids.event(), "response_id": response_id,
                   "output_index": 0, "item": item})  # fmt: skip
    text_tokens = result.usage.completion_tokens
    return Output([item], events, text_tokens, audio_tokens)


def response_object(
    response_id: str, asked: Asked, era: Era, status: str, output: list[dict[str, Any]],
    usage: dict[str, Any] | None, details: dict[str, Any] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The response as ``response.created`` and ``response.done`` show it."""
    config = asked.config
    found: dict[str, Any] = {"id": response_id, "object": "realtime.response", "status": status,
                             "status_details": details, "output": output, "usage": usage,
                             "metadata": asked.metadata}  # fmt: skip
    if era.ga:
        found.update(output_modalities=list(config.modalities), max_output_tokens=config.max_output_tokens,
                     conversation_id=None,
                     audio={"output": {"format": {"type": "audio/pcm", "rate": audio.RATE}, "voice": config.voice}})  # fmt: skip
    else:
        found.update(modalities=list(config.modalities), voice=config.voice, output_audio_format="pcm16",
                     temperature=config.temperature, max_output_tokens=config.max_output_tokens,
                     conversation_id=None)  # fmt: skip
    return found


def usage(result: ChatResult, asked: Asked, out: Output) -> dict[str, Any]:
    heard = math.ceil(asked.audio_in_ms / 100)
    return usage_of(result.usage.prompt_tokens, heard, out.text_tokens, out.audio_tokens)
