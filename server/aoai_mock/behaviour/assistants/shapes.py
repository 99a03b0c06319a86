"""Runs, messages and run steps as the service writes them: what every recorded api-version shares, and what
the api-version's era adds (:class:`~aoai_mock.wire.eras.AssistantsShape`, read through
:func:`~aoai_mock.wire.eras.era_for`).

The store keeps every key any version shows; these builders leave out or add what the wire has:

* a run carries ``tool_resources`` (``{}`` in a JSON answer, ``{"code_interpreter": {"file_ids": []}}`` in its
  stream events, whatever the assistant's) [captured: recordings/assistants/net-BasicRunOperationsWork and
  net-StreamingRunWorks (2024-05-01-preview); Azure/azure-sdk-assets net/.../AssistantTests/
  SettingResponseFormatWorks(Text).json @b040ce6 (2025-03-01-preview, JSON), StreamingRunWorks.json @d30b730
  (2025-04-01-preview, stream); BasicRunStepFunctionalityWorks.json @68faa53 (an assistant with code_interpreter
  resources, its run's ``{}``)]; ``parallel_tool_calls`` as the era says;
* a message in a JSON answer has no ``status``, ``incomplete_details``, ``completed_at`` or ``incomplete_at``;
  the stream's message events have them [captured: the same recordings, 2024-05-01-preview and
  2025-03-01-preview JSON, 2024-05-01-preview and 2025-04-01-preview streams];
* a run step has ``expires_at`` (its run's, null once the run has ended) where the API reference has
  ``expired_at``, and no ``metadata`` [captured: net-StreamingRunWorks (2024-05), StreamingRunWorks.json @d30b730
  (2025-04), BasicRunStepFunctionalityWorks.json @68faa53 (a JSON list of steps: ``expires_at: null``)];
* in the 2024-05-01-preview stream, run events after ``thread.run.queued`` leave out the run's settings
  (``stream_run_settings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aoai_mock.behaviour.assistants.common import Doc, public
from aoai_mock.wire.eras import AssistantsShape, era_for

__all__ = ["shape_for", "run_wire", "run_event", "message_wire", "step_wire"]

RUN_SETTINGS = ("max_completion_tokens", "max_prompt_tokens", "truncation_strategy", "incomplete_details")
MESSAGE_PROGRESS = ("status", "incomplete_details", "completed_at", "incomplete_at")
_BEFORE_PICKUP = ("thread.run.created", "thread.run.queued")  # the events that carry every setting


def shape_for(api_version: str | None) -> AssistantsShape:
    """The Assistants shape of an api-version (the newest without one)."""
    return era_for(api_version or "").assistants


def run_wire(run: Mapping[str, Any], shape: AssistantsShape) -> Doc:
    """A run in a JSON answer."""
    out = public(dict(run))
    if not shape.run_parallel_tool_calls:
        out.pop("parallel_tool_calls", None)
    return out


def run_event(event: str, run: Mapping[str, Any], shape: AssistantsShape) -> Doc:
    """A run as a ``thread.run.*`` event carries it."""
    out = run_wire(run, shape)
    out["tool_resources"] = {"code_interpreter": {"file_ids": []}, **(out.get("tool_resources") or {})}
    if not shape.stream_run_settings and event not in _BEFORE_PICKUP:
        for key in RUN_SETTINGS:
            if not (key == "incomplete_details" and out.get(key)):  # an incomplete run still says why [inferred]
                out.pop(key, None)
    return out


def message_wire(message: Mapping[str, Any]) -> Doc:
    """A message in a JSON answer (its stream events keep its progress)."""
    return {k: v for k, v in public(dict(message)).items() if k not in MESSAGE_PROGRESS}


def step_wire(step: Mapping[str, Any], run_expires_at: int | None) -> Doc:
    """A run step: ``expires_at`` (the run's, as it is now) in place of ``expired_at``, no ``metadata``."""
    out: Doc = {}
    for key, value in public(dict(step)).items():
        if key == "expired_at":
            out["expires_at"] = run_expires_at
        elif key != "metadata":
            out[key] = value
    return out
