"""The Realtime API's server events, as plain dicts, in the two eras' spellings.

The preview API (``/openai/realtime?api-version=...``, and the beta client's ``OpenAI-Beta: realtime=v1``)
and the GA API (``/openai/v1/realtime``) name the same events differently: ``response.text.delta`` is
``response.output_text.delta`` in GA, ``response.audio.delta`` ``response.output_audio.delta``,
``response.audio_transcript.delta`` ``response.output_audio_transcript.delta``; GA announces an item with
``conversation.item.added`` and ``conversation.item.done`` where the preview says ``conversation.item.created``;
its content parts are ``output_text``/``output_audio`` where the preview's are ``text``/``audio``
[documented: the openai SDK's ``types/realtime`` and ``types/beta/realtime`` event models].

Every builder is pure: ids come from the caller's ``new_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Era", "PREVIEW", "GA", "Event", "error_event", "rate_limits_event", "usage_of"]

Event = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Era:
    """How one era spells what the server sends."""

    ga: bool
    text_delta: str
    text_done: str
    audio_delta: str
    audio_done: str
    transcript_delta: str
    transcript_done: str
    text_part: str  # an assistant message's text content part
    audio_part: str
    input_text: str = "input_text"
    input_audio: str = "input_audio"

    def part(self, audio: bool, text: str = "") -> dict[str, Any]:
        """A content part of an assistant message: its text, or its audio's transcript."""
        if audio:
            return {"type": self.audio_part, "transcript": text}
        return {"type": self.text_part, "text": text}

    def item_added(self, item: Mapping[str, Any], previous: str | None, new_id: Callable[[], str]) -> list[Event]:
        """The events that put an item in the conversation (GA: added, then done)."""
        if self.ga:
            return [
                {"type": "conversation.item.added", "event_id": new_id(), "previous_item_id": previous, "item": item},
                {"type": "conversation.item.done", "event_id": new_id(), "previous_item_id": previous, "item": item},
            ]
        return [{"type": "conversation.item.created", "event_id": new_id(), "previous_item_id": previous, "item": item}]


PREVIEW = Era(
    ga=False,
    text_delta="response.text.delta",
    text_done="response.text.done",
    audio_delta="response.audio.delta",
    audio_done="response.audio.done",
    transcript_delta="response.audio_transcript.delta",
    transcript_done="response.audio_transcript.done",
    text_part="text",
    audio_part="audio",
)

GA = Era(
    ga=True,
    text_delta="response.output_text.delta",
    text_done="response.output_text.done",
    audio_delta="response.output_audio.delta",
    audio_done="response.output_audio.done",
    transcript_delta="response.output_audio_transcript.delta",
    transcript_done="response.output_audio_transcript.done",
    text_part="output_text",
    audio_part="output_audio",
)


def error_event(
    event_id: str,
    message: str,
    *,
    type: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    client_event_id: str | None = None,
) -> Event:
    """The ``error`` event: the socket stays open after it [documented: the Realtime reference's ``error``
    event; the error's ``event_id`` names the client event that caused it]."""
    return {
        "type": "error",
        "event_id": event_id,
        "error": {"type": type, "code": code, "message": message, "param": param, "event_id": client_event_id},
    }


def rate_limits_event(event_id: str, requests: tuple[int, int], tokens: tuple[int, int], reset_s: float) -> Event:
    """``rate_limits.updated``: ``(limit, remaining)`` of requests and of tokens, and when they refill."""
    return {
        "type": "rate_limits.updated",
        "event_id": event_id,
        "rate_limits": [
            {"name": "requests", "limit": requests[0], "remaining": requests[1], "reset_seconds": reset_s},
            {"name": "tokens", "limit": tokens[0], "remaining": tokens[1], "reset_seconds": reset_s},
        ],
    }


def usage_of(text_in: int, audio_in: int, text_out: int, audio_out: int) -> dict[str, Any]:
    """``response.done``'s usage, split by modality [documented: the Realtime reference's usage object]."""
    return {
        "total_tokens": text_in + audio_in + text_out + audio_out,
        "input_tokens": text_in + audio_in,
        "output_tokens": text_out + audio_out,
        "input_token_details": {
            "text_tokens": text_in,
            "audio_tokens": audio_in,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0},
        },
        "output_token_details": {"text_tokens": text_out, "audio_tokens": audio_out},
    }
