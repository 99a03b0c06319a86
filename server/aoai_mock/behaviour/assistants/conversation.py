"""What the model sees of a run, and who answers it: the same seam a chat completion goes through.

A run turn becomes a chat-shaped request: a system message (the run's instructions, the assistant's unless
the run overrides them, plus ``additional_instructions``), the thread's messages in order (cut to the last N
by ``truncation_strategy: last_messages``), then the run's own tool calls and their outputs. Scenario rules
match it like any chat request, with operation ``assistants``: ``message``, ``tools`` (function names, and
``code_interpreter`` / ``file_search`` when enabled), ``tool_result``, and body paths such as
``$.assistant_name``, ``$.assistant_id``, ``$.thread_id``, ``$.metadata.<key>``. With shared state
(``--state redis://``) the scenario's counters (``times``, reply sequences, ``call``) are counted in Redis, as
for every other request, whichever process takes the turn.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.assistants.common import Doc
from aoai_mock.behaviour.assistants.objects import model_deployment
from aoai_mock.behaviour.assistants.prompt import prompt_tokens
from aoai_mock.behaviour.assistants.threads import message_text, thread_messages
from aoai_mock.behaviour.responders.base import (
    Context,
    Conversation,
    Message,
    Responder,
)
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.request_facts import RequestView
from aoai_mock.config import Deployment
from aoai_mock.state.record import current
from aoai_mock.wire import api_versions as av

__all__ = ["BUILTIN_TOOLS", "ModelCall", "prepare", "chat_tool_calls"]

BUILTIN_TOOLS = ("code_interpreter", "file_search")


@dataclass(slots=True)
class ModelCall:
    """One turn of a run, ready to be answered."""

    conversation: Conversation
    context: Context
    responder: Responder
    deployment: Deployment
    encoding: str
    prompt_tokens: int
    scenario: str | None
    rule: str | None


def chat_tool_calls(calls: list[tuple[str, str, str]]) -> Doc:
    """The assistant's turn that made tool calls ``(id, name, arguments)``, as a chat message."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}
            for id, name, arguments in calls
        ],
    }


async def _chat_messages(runtime: Runtime, run: Doc) -> list[Doc]:
    found = [
        {"role": m["role"], "content": message_text(m)}
        for m in await thread_messages(runtime, run["thread_id"])
        if m["run_id"] != run["id"]
    ]
    truncation = run.get("truncation_strategy") or {}
    if truncation.get("type") == "last_messages" and truncation.get("last_messages"):
        found = found[-int(truncation["last_messages"]) :]
    system = [{"role": "system", "content": run["instructions"]}] if run.get("instructions") else []
    return system + found + list(run["_mock"]["transcript"])


def _functions(run: Doc) -> tuple[Mapping[str, Any], ...]:
    return tuple(t["function"] for t in run["tools"] if t["type"] == "function")


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, Mapping):
        return dict(choice) if choice.get("type") == "function" else "auto"
    return choice


def _view_body(run: Doc, messages: list[Doc]) -> Doc:
    functions = [{"type": "function", "function": dict(f)} for f in _functions(run)]
    builtins = [{"type": t["type"], "name": t["type"]} for t in run["tools"] if t["type"] in BUILTIN_TOOLS]
    return {
        "model": run["model"],
        "messages": messages,
        "tools": functions + builtins,
        "tool_choice": run.get("tool_choice"),
        "response_format": run.get("response_format"),
        "temperature": run.get("temperature"),
        "top_p": run.get("top_p"),
        "assistant_id": run["assistant_id"],
        "assistant_name": run["_mock"].get("assistant_name"),
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "metadata": run.get("metadata") or {},
    }


async def _responder(runtime: Runtime, run: Doc, deployment: Deployment, view: RequestView) -> tuple[Responder, Any]:
    mock = run["_mock"]
    if mock.get("responder"):
        return runtime.responder(deployment, mock["responder"]), None
    scenario = mock.get("scenario")
    book = runtime.book
    if scenario is None and book.active is None:
        return runtime.responder(deployment), None
    # With shared state the scenario's counters are Redis's, awaited here (the turn runs on the event loop).
    decision = book.decide(view, scenario) if book.shared is None else await book.decide_shared(view, scenario)
    decision.note(current())
    if decision.responder is not None:
        return decision.responder, decision
    if decision.default is not None:
        return runtime.responder_for(decision.default), decision
    return runtime.responder(deployment), decision


async def prepare(runtime: Runtime, run: Doc, api_version: str | None = None) -> ModelCall:
    """The turn's conversation and responder (the scenario's rule, else the deployment's own)."""
    mock = run["_mock"]
    deployment = model_deployment(runtime, run["model"], mock.get("scenario"))
    encoding = tokens.encoding_name_for(deployment.model)
    messages = await _chat_messages(runtime, run)
    body = _view_body(run, messages)
    headers = dict(mock.get("headers") or {})
    view = RequestView(av.ASSISTANTS, deployment.name, api_version or mock.get("api_version"), headers, body)
    functions = _functions(run)
    key = orjson.dumps([messages, body["tools"], mock["turn"]], option=orjson.OPT_SORT_KEYS)
    fmt = run.get("response_format")
    conversation = Conversation(
        operation=av.ASSISTANTS,
        messages=tuple(_message(m) for m in messages),
        seed=runtime.request_seed(deployment, key),
        max_tokens=run.get("max_completion_tokens"),
        tools=functions,
        tool_choice=_tool_choice(run.get("tool_choice")),
        response_format=fmt if isinstance(fmt, Mapping) else None,
        parallel_tool_calls=run.get("parallel_tool_calls") is not False,
        body=body,
    )
    responder, decision = await _responder(runtime, run, deployment, view)
    prompt = prompt_tokens(messages, encoding, functions)
    return ModelCall(
        conversation,
        runtime.context(deployment),
        responder,
        deployment,
        encoding,
        prompt,
        decision.scenario if decision else None,
        decision.rule if decision else None,
    )


def _message(raw: Doc) -> Message:
    calls = tuple(raw.get("tool_calls") or ())
    return Message(raw["role"], raw.get("content") or "", None, raw.get("tool_call_id"), calls)
