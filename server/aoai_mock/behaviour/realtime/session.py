"""A realtime session's configuration: its defaults, ``session.update`` checked and applied, and the session
object each era shows in ``session.created`` / ``session.updated``.

The preview session is flat (``modalities``, ``voice``, ``input_audio_format: "pcm16"``,
``input_audio_transcription``, ``turn_detection``, ``max_response_output_tokens``); the GA session says
``type: "realtime"`` and nests audio (``output_modalities``, ``audio.input.format: {"type": "audio/pcm",
"rate": 24000}``, ``audio.input.turn_detection``, ``audio.output.voice``, ``max_output_tokens``)
[documented: the openai SDK's ``RealtimeSessionCreateRequest`` and the beta ``Session`` models]. The mock
keeps one configuration and renders it either way, so a client may send either spelling of a field it knows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aoai_mock.behaviour.realtime.events import Era

__all__ = ["EventError", "SessionConfig", "configured", "configured_by", "session_object", "RATE"]

RATE = 24_000  # PCM16 mono, in and out [documented: Azure's realtime how-to, "audio/pcm at 24000 Hz"]
_VOICES = frozenset({"alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar"})
_MODALITIES = frozenset({"text", "audio"})
_PCM_NAMES = frozenset({"pcm16", "audio/pcm"})
_VAD_TYPES = frozenset({"server_vad", "semantic_vad"})
_PREVIEW_KEYS = frozenset({
    "model", "modalities", "instructions", "voice", "input_audio_format", "output_audio_format",
    "input_audio_transcription", "input_audio_noise_reduction", "turn_detection", "tools", "tool_choice",
    "temperature", "max_response_output_tokens", "speed", "tracing", "type",
})  # fmt: skip
_GA_KEYS = frozenset({
    "type", "model", "output_modalities", "instructions", "audio", "include", "tracing", "tools", "tool_choice",
    "max_output_tokens", "truncation", "prompt",
})  # fmt: skip


class EventError(Exception):
    """A client event the service refuses: answered with an ``error`` event, and the socket stays open."""

    def __init__(self, message: str, code: str = "invalid_value", param: str | None = None,
                 type: str = "invalid_request_error") -> None:  # fmt: skip
        super().__init__(message)
        self.message, self.code, self.param, self.type = message, code, param, type


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """What a session answers with, whichever era spells it."""

    model: str
    modalities: tuple[str, ...]
    instructions: str = ""
    voice: str = "alloy"
    tools: tuple[Mapping[str, Any], ...] = ()
    tool_choice: Any = "auto"
    temperature: float = 0.8
    max_output_tokens: int | str = "inf"
    turn_detection: Mapping[str, Any] | None = field(default_factory=lambda: _vad({}))
    transcription: Mapping[str, Any] | None = None


def configured(model: str, era: Era) -> SessionConfig:
    """A new session's defaults: text and audio out in the preview, audio in GA."""
    return SessionConfig(model=model, modalities=("audio",) if era.ga else ("text", "audio"))


def _vad(given: Mapping[str, Any]) -> dict[str, Any]:
    """Server VAD's settings, the defaults filled in [documented: threshold 0.5, prefix_padding_ms 300,
    silence_duration_ms 200 in the preview reference, 500 in GA's; the mock uses 200 for both]."""
    kind = given.get("type", "server_vad")
    if kind not in _VAD_TYPES:
        raise EventError(f"Invalid value: '{kind}'. Supported values are: 'server_vad' and 'semantic_vad'.",
                         param="session.turn_detection.type")  # fmt: skip
    found = {"type": kind, "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 200,
             "create_response": True, "interrupt_response": True}  # fmt: skip
    for name in ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms", "eagerness"):
        if given.get(name) is not None:
            found[name] = given[name]
    for name in ("create_response", "interrupt_response"):
        if isinstance(given.get(name), bool):
            found[name] = given[name]
    if not isinstance(found["threshold"], (int, float)) or not 0 <= found["threshold"] <= 1:
        raise EventError("Invalid value for 'threshold': expected a number from 0 to 1.",
                         param="session.turn_detection.threshold")  # fmt: skip
    if not isinstance(found["silence_duration_ms"], int) or found["silence_duration_ms"] < 0:
        raise EventError("Invalid value for 'silence_duration_ms': expected a non-negative integer.",
                         param="session.turn_detection.silence_duration_ms")  # fmt: skip
    return found


def configured_by(config: SessionConfig, raw: Any, era: Era) -> SessionConfig:
    """``session.update``'s ``session`` applied to ``config``; EventError for what the service refuses."""
    if not isinstance(raw, Mapping):
        raise EventError("Invalid type for 'session': expected an object.", code="invalid_type", param="session")
    allowed = _GA_KEYS if era.ga else _PREVIEW_KEYS
    for name in raw:
        if name not in allowed:
            raise EventError(f"Unknown parameter: 'session.{name}'.", code="unknown_parameter", param=f"session.{name}")
    if era.ga and raw.get("type", "realtime") != "realtime":
        raise EventError(f"Invalid value: '{raw['type']}'. Supported values are: 'realtime'.", param="session.type")
    changes: dict[str, Any] = {}
    _common(raw, changes)
    if era.ga:
        _ga_fields(raw, changes)
    else:
        _preview_fields(raw, changes)
    return replace(config, **changes)


def _common(raw: Mapping[str, Any], changes: dict[str, Any]) -> None:
    if "instructions" in raw:
        changes["instructions"] = _string(raw["instructions"], "session.instructions")
    if "tools" in raw:
        changes["tools"] = tuple(_tool(tool, f"session.tools[{i}]") for i, tool in enumerate(raw["tools"] or ()))
    if "tool_choice" in raw:
        changes["tool_choice"] = raw["tool_choice"]


def _preview_fields(raw: Mapping[str, Any], changes: dict[str, Any]) -> None:
    if "modalities" in raw:
        changes["modalities"] = _modalities(raw["modalities"], "session.modalities")
    if "voice" in raw:
        changes["voice"] = _voice(raw["voice"], "session.voice")
    for name in ("input_audio_format", "output_audio_format"):
        if name in raw and raw[name] not in _PCM_NAMES:
            raise EventError(f"Invalid value: '{raw[name]}'. The mock speaks and hears 'pcm16' only.",
                             param=f"session.{name}")  # fmt: skip
    if "turn_detection" in raw:
        changes["turn_detection"] = None if raw["turn_detection"] is None else _vad(raw["turn_detection"])
    if "input_audio_transcription" in raw:
        changes["transcription"] = raw["input_audio_transcription"]
    if "temperature" in raw:
        changes["temperature"] = _number(raw["temperature"], "session.temperature")
    if "max_response_output_tokens" in raw:
        changes["max_output_tokens"] = _budget(raw["max_response_output_tokens"], "session.max_response_output_tokens")


def _ga_fields(raw: Mapping[str, Any], changes: dict[str, Any]) -> None:
    if "output_modalities" in raw:
        changes["modalities"] = _modalities(raw["output_modalities"], "session.output_modalities")
    if "max_output_tokens" in raw:
        changes["max_output_tokens"] = _budget(raw["max_output_tokens"], "session.max_output_tokens")
    audio = raw.get("audio") or {}
    heard, spoken = audio.get("input") or {}, audio.get("output") or {}
    for where, side in (("input", heard), ("output", spoken)):
        kind = (side.get("format") or {}).get("type", "audio/pcm")
        if kind not in _PCM_NAMES:
            raise EventError(f"Invalid value: '{kind}'. The mock speaks and hears 'audio/pcm' only.",
                             param=f"session.audio.{where}.format.type")  # fmt: skip
    if "turn_detection" in heard:
        changes["turn_detection"] = None if heard["turn_detection"] is None else _vad(heard["turn_detection"])
    if "transcription" in heard:
        changes["transcription"] = heard["transcription"]
    if "voice" in spoken:
        changes["voice"] = _voice(spoken["voice"], "session.audio.output.voice")


def _string(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"Invalid type for '{param}': expected a string.", code="invalid_type", param=param)
    return value


def _number(value: Any, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise EventError(f"Invalid type for '{param}': expected a number.", code="invalid_type", param=param)
    return float(value)


def _budget(value: Any, param: str) -> int | str:
    if value == "inf" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 4096):
        return value  # type: ignore[no-any-return]
    raise EventError(f"Invalid '{param}': expected an integer from 1 to 4096, or 'inf'.", param=param)


def _modalities(value: Any, param: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not set(value) <= _MODALITIES:
        raise EventError(f"Invalid value for '{param}': expected a list of 'text' and 'audio'.", param=param)
    return tuple(value)


def _voice(value: Any, param: str) -> str:
    if value not in _VOICES:
        raise EventError(f"Invalid value: '{value}'. Supported values are: {', '.join(sorted(_VOICES))}.", param=param)
    return str(value)


def _tool(tool: Any, param: str) -> Mapping[str, Any]:
    """A realtime tool is flat: ``{"type": "function", "name", "description", "parameters"}``."""
    if not isinstance(tool, Mapping) or tool.get("type", "function") != "function":
        raise EventError("Only tools of type 'function' are supported.", param=f"{param}.type")
    if not isinstance(tool.get("name"), str) or not tool["name"]:
        raise EventError(f"Missing required parameter: '{param}.name'.", code="missing_required_parameter",
                         param=f"{param}.name")  # fmt: skip
    return tool


def session_object(config: SessionConfig, era: Era, session_id: str, expires_at: int) -> dict[str, Any]:
    """The session as ``session.created`` and ``session.updated`` show it."""
    common = {"id": session_id, "object": "realtime.session", "model": config.model, "expires_at": expires_at,
              "instructions": config.instructions, "tools": list(config.tools), "tool_choice": config.tool_choice}  # fmt: skip
    if era.ga:
        pcm = {"type": "audio/pcm", "rate": RATE}
        return {
            "type": "realtime", **common, "output_modalities": list(config.modalities),
            "max_output_tokens": config.max_output_tokens, "tracing": None, "prompt": None, "include": None,
            "truncation": "auto",
            "audio": {
                "input": {"format": pcm, "transcription": config.transcription, "noise_reduction": None,
                          "turn_detection": config.turn_detection},
                "output": {"format": pcm, "voice": config.voice, "speed": 1.0},
            },
        }  # fmt: skip
    return {
        **common, "modalities": list(config.modalities), "voice": config.voice, "input_audio_format": "pcm16",
        "output_audio_format": "pcm16", "input_audio_transcription": config.transcription,
        "input_audio_noise_reduction": None, "turn_detection": config.turn_detection,
        "temperature": config.temperature, "max_response_output_tokens": config.max_output_tokens,
        "speed": 1.0, "tracing": None,
    }  # fmt: skip
