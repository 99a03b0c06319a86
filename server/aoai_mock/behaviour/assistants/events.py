"""The assistant stream's events, as a run makes them: ``(event name, data)`` pairs.

The run engine reports every change through an :data:`Emit`; a polled run ignores them, a streamed one
records them (:class:`Recorder`) and the route sends them as ``event: <name>\\ndata: <json>\\n\\n``, ending with
``event: done\\ndata: [DONE]``. Deltas are shaped for the SDK's accumulators: a ``thread.message.created`` or
``thread.run.step.created`` carries empty content or tool calls, and the deltas fill them in by ``index``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

from aoai_mock.behaviour.assistants.common import Doc

__all__ = [
    "Emit",
    "ignore",
    "Recorder",
    "DONE",
    "message_deltas",
    "tool_call_deltas",
    "run_event",
]

Emit = Callable[[str, Any], None]
DONE = ("done", "[DONE]")


def ignore(event: str, data: Any) -> None:
    """The events of a run nobody streams."""


class Recorder:
    """Keeps a copy of every event, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def __call__(self, event: str, data: Any) -> None:
        self.events.append((event, copy.deepcopy(data)))


def run_event(status: str) -> str:
    """``thread.run.<status>``: the event a run's new status is announced with."""
    return f"thread.run.{status}"


def message_deltas(message_id: str, pieces: Iterable[str], annotations: list[Doc]) -> list[Doc]:
    """One delta per token piece of the text; the annotations come with the last one."""
    deltas = []
    for piece in pieces:
        text: Doc = {"value": piece}
        if not deltas:
            text["annotations"] = []
        deltas.append(_message_delta(message_id, text))
    if annotations:
        numbered = [{"index": i, **a} for i, a in enumerate(annotations)]
        if deltas:
            deltas[-1]["delta"]["content"][0]["text"]["annotations"] = numbered
        else:
            deltas.append(_message_delta(message_id, {"value": "", "annotations": numbered}))
    return deltas


def _message_delta(message_id: str, text: Doc) -> Doc:
    content = [{"index": 0, "type": "text", "text": text}]
    return {"id": message_id, "object": "thread.message.delta", "delta": {"content": content}}


def tool_call_deltas(step_id: str, calls: list[Doc]) -> list[Doc]:
    """The deltas that build a step's tool calls, as the service sends them: each call opens empty (id, type,
    function name), then its arguments or code come, then a code interpreter's outputs."""
    deltas = []
    for index, call in enumerate(calls):
        kind = call["type"]
        if kind == "function":
            function = call["function"]
            opening = {"name": function["name"], "arguments": "", "output": function.get("output")}
            deltas.append(_step_delta(step_id, {"index": index, "id": call["id"], "type": kind, "function": opening}))
            if function["arguments"]:
                rest = {"index": index, "type": kind, "function": {"arguments": function["arguments"]}}
                deltas.append(_step_delta(step_id, rest))
        elif kind == "code_interpreter":
            code = call["code_interpreter"]
            opening = {"input": "", "outputs": []}
            deltas.append(_step_delta(step_id, {"index": index, "id": call["id"], "type": kind, kind: opening}))
            if code["input"]:
                deltas.append(_step_delta(step_id, {"index": index, "type": kind, kind: {"input": code["input"]}}))
            if code["outputs"]:
                numbered = [{"index": i, **o} for i, o in enumerate(code["outputs"])]
                deltas.append(_step_delta(step_id, {"index": index, "type": kind, kind: {"outputs": numbered}}))
        else:
            deltas.append(_step_delta(step_id, {"index": index, "id": call["id"], "type": kind, kind: {}}))
    return deltas


def _step_delta(step_id: str, call: Doc) -> Doc:
    details = {"type": "tool_calls", "tool_calls": [call]}
    return {"id": step_id, "object": "thread.run.step.delta", "delta": {"step_details": details}}
