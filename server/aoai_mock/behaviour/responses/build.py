"""The response object and its output items, built from a responder's :class:`Choice`.

Every output item comes with the pieces a stream sends it in (text tokens, argument tokens), so the
stream and the JSON body are one answer. The shapes follow the Responses API: ``message`` items with an
``output_text`` (or ``refusal``) part, ``function_call`` items with ``call_id``, ``name`` and
``arguments``, and a ``reasoning`` item first when the deployment is a reasoning model.

Which keys the response object carries is the api-version's era (:class:`~aoai_mock.wire.eras.ResponsesShape`,
read through :func:`~aoai_mock.wire.eras.era_for`): :func:`response_object` builds the newest shape and fits it
to the era's flags.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.responders.base import Choice, ToolCall
from aoai_mock.behaviour.responses.request import ResponsesRequest
from aoai_mock.behaviour.shaping import shape_text
from aoai_mock.wire.eras import ResponsesShape
from aoai_mock.wire.results import Usage

__all__ = [
    "Planned", "Output", "shape_output", "response_object", "usage_body", "tools_body", "counted_tools",
    "REASONING_TOKENS",
]

REASONING_TOKENS = 64  # what a reasoning model "thinks" before it writes (as chat completions count it)


@dataclass(slots=True)
class Planned:
    """One output item as it ends, and the pieces its text or arguments stream in."""

    item: dict[str, Any]
    pieces: tuple[str, ...] = ()


@dataclass(slots=True)
class Output:
    items: list[Planned] = field(default_factory=list)
    tokens: int = 0  # output tokens, reasoning included
    reasoning_tokens: int = 0
    incomplete: str | None = None  # why the answer stopped short: max_output_tokens or content_filter


def _message(choice: Choice, budget: int | None, encoding: str, item_id: str, out: Output) -> None:
    refusal = choice.content is None and bool(choice.refusal)
    shaped = shape_text((choice.refusal if refusal else choice.content) or "", stop=(), max_tokens=budget,
                        encoding=encoding)
    if choice.finish_reason == "content_filter":
        out.incomplete = "content_filter"
    elif shaped.finish_reason == "length" or choice.finish_reason == "length":
        out.incomplete = "max_output_tokens"
    part = ({"type": "refusal", "refusal": shaped.text} if refusal
            else {"type": "output_text", "text": shaped.text, "annotations": []})
    status = "incomplete" if out.incomplete else "completed"
    item = {"id": item_id, "type": "message", "status": status, "role": "assistant", "content": [part]}
    out.items.append(Planned(item, shaped.pieces))
    out.tokens += shaped.token_count


def _call(call: ToolCall, encoding: str, item_id: str, out: Output) -> None:
    ids = tokens.encode(call.arguments, encoding)
    item = {"id": item_id, "type": "function_call", "status": "completed", "call_id": call.id,
            "name": call.name, "arguments": call.arguments}
    out.items.append(Planned(item, tuple(tokens.pieces(ids, encoding))))
    out.tokens += len(ids) + tokens.count(call.name, encoding) + 3


def shape_output(
    choice: Choice,
    *,
    encoding: str,
    budget: int | None,
    reasoning: bool,
    parallel_tool_calls: bool,
    new_id: Callable[[str], str],
) -> Output:
    """The output items of one answer: text cut at ``budget`` tokens, one call only when not parallel."""
    out = Output()
    if reasoning:
        out.items.append(Planned({"id": new_id("rs_"), "type": "reasoning", "summary": []}))
        out.tokens = out.reasoning_tokens = REASONING_TOKENS
        budget = None if budget is None else max(budget - REASONING_TOKENS, 0)
    if choice.content is not None or choice.refusal or not choice.tool_calls:
        _message(choice, budget, encoding, new_id("msg_"), out)
    calls = choice.tool_calls if parallel_tool_calls else choice.tool_calls[:1]
    for call in calls:
        _call(call, encoding, new_id("fc_"), out)
    return out


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


def tools_body(request: ResponsesRequest) -> list[dict[str, Any]]:
    """The tools as the response states them: every key present, ``strict`` true unless turned off."""
    return [
        {"type": "function", "name": t.name, "description": t.description, "parameters": t.parameters,
         "strict": True if t.strict is None else t.strict}
        for t in request.tools or ()
    ]


def counted_tools(request: ResponsesRequest) -> list[dict[str, Any]]:
    """The request's tools in chat's shape (``{"type": "function", "function": {...}}``), as the token count takes
    them: a tool costs the same input tokens on both APIs [inferred: the service renders both into the prompt]."""
    return [{"type": "function", "function": t.model_dump(exclude={"type"}, exclude_none=True)}
            for t in request.tools or ()]


def _text_config(request: ResponsesRequest) -> dict[str, Any]:
    text = request.text
    shown: dict[str, Any] = {"format": {"type": "text"}}
    if text is not None and text.format is not None:
        shown["format"] = text.format.model_dump(by_alias=True, exclude_none=True)
    if text is not None and text.verbosity is not None:
        shown["verbosity"] = text.verbosity
    return shown


def _reasoning(request: ResponsesRequest, reasoning_model: bool) -> dict[str, Any]:
    asked = request.reasoning
    if not reasoning_model:
        return {"effort": None, "summary": None}
    return {"effort": (asked.effort if asked else None) or "medium",
            "summary": (asked.summary or asked.generate_summary) if asked else None}


def response_object(
    request: ResponsesRequest,
    *,
    id: str,
    created_at: int,
    model: str,
    output: Sequence[Mapping[str, Any]],
    usage: Usage | None,
    incomplete: str | None,
    reasoning_model: bool,
    shape: ResponsesShape,
) -> dict[str, Any]:
    """The ``response`` object: every key the API always sends in ``shape``'s era, nulls included."""
    body = {
        "id": id,
        "object": "response",
        "created_at": created_at,
        "status": "incomplete" if incomplete else "completed",
        "background": False,
        "error": None,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "max_tool_calls": request.max_tool_calls,
        "model": model,
        "output": [dict(item) for item in output],
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "previous_response_id": request.previous_response_id,
        "reasoning": _reasoning(request, reasoning_model),
        "service_tier": "default",
        "store": request.store is not False,
        "temperature": 1.0 if request.temperature is None else request.temperature,
        "text": _text_config(request),
        "tool_choice": _tool_choice(request),
        "tools": tools_body(request),
        "top_logprobs": request.top_logprobs or 0,
        "top_p": 1.0 if request.top_p is None else request.top_p,
        "truncation": request.truncation or "disabled",
        "usage": usage_body(usage) if usage is not None else None,
        "user": request.user,
        "metadata": dict(request.metadata or {}),
    }
    return _fit(body, request, shape)


_LIFECYCLE_KEYS = ("background", "max_tool_calls", "service_tier", "tool_choice")


def _fit(body: dict[str, Any], request: ResponsesRequest, shape: ResponsesShape) -> dict[str, Any]:
    """The newest response object as ``shape``'s era has it (the eras: :mod:`aoai_mock.wire.eras`)."""
    if not shape.lifecycle_keys:
        for key in _LIFECYCLE_KEYS:
            del body[key]
    if not shape.top_logprobs:
        del body["top_logprobs"]
    if shape.content_filters_key:
        body["content_filters"] = None  # the recorded answers carry no annotations here
    if shape.cache_and_safety_keys:
        body["prompt_cache_key"] = request.prompt_cache_key
        body["safety_identifier"] = request.safety_identifier
    if shape.reasoning_summary_key != "summary":
        reasoning = body["reasoning"]
        reasoning[shape.reasoning_summary_key] = reasoning.pop("summary")
    return body


def _tool_choice(request: ResponsesRequest) -> Any:
    choice = request.tool_choice
    if choice is None:
        return "auto"
    return choice if isinstance(choice, str) else choice.model_dump()
