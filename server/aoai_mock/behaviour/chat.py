"""Chat completions: check the request as the service does, ask the responder, shape every choice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from aoai_mock.behaviour import content_filter, tokens, vision
from aoai_mock.behaviour.responders.base import (
    Choice,
    Conversation,
    Message,
    Responder,
    UsageOverride,
)
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.shaping import chat_logprobs, shape_text
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.eras import era_for
from aoai_mock.wire.requests import ChatRequest
from aoai_mock.wire.results import ChatResult, ChoiceResult, ToolCallOut, Usage

__all__ = ["run_chat", "request_key", "check_output_budget", "check_stream_options", "usage_of"]

_REASONING_TOKENS = 64  # what an o-series answer "thinks" before it writes, per choice


def request_key(body: Mapping[str, Any]) -> bytes:
    """The part of a body that decides the answer: streaming or not gives the same text."""
    kept = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)


def _text(content: Any) -> str:
    if content is None or isinstance(content, str):
        return content or ""
    return "".join(p.get("text") or p.get("refusal") or "" for p in content if isinstance(p, Mapping))


def _messages(raw: Sequence[Mapping[str, Any]]) -> tuple[Message, ...]:
    made = []
    for m in raw:
        get = m.get
        calls = get("tool_calls")
        made.append(Message(m["role"], _text(get("content")), get("name"), get("tool_call_id"), tuple(calls or ())))
    return tuple(made)


def _tools(request: ChatRequest, body: Mapping[str, Any]) -> tuple[Mapping[str, Any], ...]:
    if request.tools:
        return tuple(t["function"] for t in body["tools"])
    return tuple(body.get("functions") or ())


def check_stream_options(stream: bool | None, stream_options: object | None) -> None:
    """The service's 400 for ``stream_options`` on a request that does not stream."""
    if stream_options is not None and not stream:
        raise InvalidRequest(
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
            code="invalid_value",
        )


def _check_tools(request: ChatRequest, tools: Sequence[Mapping[str, Any]]) -> None:
    choice = request.tool_choice
    if choice is not None and not request.tools:
        raise InvalidRequest(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            param="tool_choice",
        )
    if choice is not None and not isinstance(choice, str):
        name = choice.function.name
        if not any(t.get("name") == name for t in tools):
            raise InvalidRequest(
                f"Invalid value for 'tool_choice': no function named '{name}' was specified in the 'tools' "
                "parameter.",
                param="tool_choice",
            )


def check_output_budget(
    deployment: Deployment, prompt_tokens: int, asked: int | None, param: str, unit: str = "messages"
) -> None:
    """The service's length checks: the output cap of the model, then the context window."""
    if asked is not None and asked > deployment.max_output_tokens:
        raise InvalidRequest(
            f"{param} is too large: {asked}. This model supports at most {deployment.max_output_tokens} "
            f"completion tokens, whereas you provided {asked}.",
            param=param,
            code="invalid_value",
        )
    window = deployment.context_window
    if asked is not None and prompt_tokens + asked > window:
        raise InvalidRequest(
            f"This model's maximum context length is {window} tokens. However, you requested "
            f"{prompt_tokens + asked} tokens ({prompt_tokens} in the {unit}, {asked} in the completion). "
            f"Please reduce the length of the {unit} or completion.",
            param=unit,
            code="context_length_exceeded",
        )
    if prompt_tokens > window:
        raise InvalidRequest(
            f"This model's maximum context length is {window} tokens. However, your {unit} resulted in "
            f"{prompt_tokens} tokens. Please reduce the length of the {unit}.",
            param=unit,
            code="context_length_exceeded",
        )


def _max_tokens(request: ChatRequest, deployment: Deployment) -> tuple[int | None, str]:
    if deployment.reasoning and request.max_tokens is not None:
        raise InvalidRequest(
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
            "'max_completion_tokens' instead.",
            param="max_tokens",
            code="unsupported_parameter",
        )
    if request.max_completion_tokens is not None:
        return request.max_completion_tokens, "max_completion_tokens"
    return request.max_tokens, "max_tokens"


def _tool_call(call: Any, encoding: str) -> tuple[ToolCallOut, int]:
    ids = tokens.encode(call.arguments, encoding)
    pieces = tuple(tokens.pieces(ids, encoding))
    return ToolCallOut(call.id, call.name, call.arguments, pieces), len(ids) + tokens.count(call.name, encoding) + 3


def _shape_choice(
    index: int,
    choice: Choice,
    request: ChatRequest,
    conv: Conversation,
    encoding: str,
    budget: int | None,
    screen: content_filter.ContentFilter,
    api_version: str,
) -> tuple[ChoiceResult, int]:
    if choice.tool_calls:  # tool-call arguments are not screened
        made = [_tool_call(c, encoding) for c in choice.tool_calls]
        forced = request.tool_choice is not None and not isinstance(request.tool_choice, str)
        finish = choice.finish_reason or ("stop" if forced else "tool_calls")
        calls = tuple(c for c, _ in made)
        # No text, nothing screened: an empty object where the version annotates [captured: recordings/chat,
        # net-SimpleToolWorks-Required-2025, a tool call's "content_filter_results": {}].
        results = {} if screen.safe_choice(api_version) is not None else None
        return ChoiceResult(index, None, (), finish, calls, filter_results=results), sum(n for _, n in made)
    stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or ())
    refusal = choice.content is None and bool(choice.refusal)
    text = (choice.refusal or "") if refusal else (choice.content or "")
    shaped = shape_text(text, stop=stop, max_tokens=budget, encoding=encoding)
    trip = choice.trip if isinstance(choice, content_filter.FilteredChoice) else None
    pieces, finish = shaped.pieces, choice.finish_reason or shaped.finish_reason
    results, start, before = screen.safe_choice(api_version), 0, None
    if trip is not None or (screen.screens_completions and not refusal):
        out = screen.completion(api_version, shaped.text, trip).apply(pieces, finish)
        pieces, finish, results, start, before = out.pieces, out.finish_reason, out.results, out.start, out.before
    text = shaped.text if pieces is shaped.pieces else "".join(pieces)
    if refusal:
        return ChoiceResult(index, None, pieces, finish, (), text, None, results, start, before), len(pieces)
    logprobs = None
    if request.logprobs:
        logprobs = chat_logprobs(pieces, request.top_logprobs or 0, conv.rng(1000 + index))
    return ChoiceResult(index, text, pieces, finish, (), None, logprobs, results, start, before), len(pieces)


def usage_of(override: UsageOverride | None, prompt: int, completion: int, reasoning: int) -> Usage:
    """The counted tokens, or the figures a scripted reply states."""
    if override is None:
        return Usage(prompt, completion, reasoning)
    reasoning = reasoning if override.reasoning_tokens is None else override.reasoning_tokens
    return Usage(
        prompt if override.prompt_tokens is None else override.prompt_tokens,
        completion if override.completion_tokens is None else override.completion_tokens,
        reasoning,
    )


def _has_parts(messages: Sequence[Mapping[str, Any]]) -> bool:
    """Whether any message has content parts (only then can it hold an image)."""
    return any(type(m.get("content")) is list for m in messages)


def run_chat(
    runtime: Runtime,
    deployment: Deployment,
    api_version: str,
    request: ChatRequest,
    body: Mapping[str, Any],
    responder: Responder | None = None,
) -> ChatResult:
    """``responder``: who writes the answer; None: the deployment's own."""
    encoding = tokens.encoding_name_for(deployment.model)
    tools = _tools(request, body)
    _check_tools(request, tools)
    check_stream_options(request.stream, request.stream_options)
    budget, param = _max_tokens(request, deployment)
    messages = body["messages"]
    pictures = vision.image_tokens(messages, deployment.model) if _has_parts(messages) else 0
    prompt_tokens = tokens.count_chat(messages, encoding, body.get("tools") or body.get("functions"), pictures)
    check_output_budget(deployment, prompt_tokens, budget, param)
    key = request_key(body)
    conv = Conversation(
        operation=av.CHAT,
        messages=_messages(body["messages"]),
        seed=runtime.request_seed(deployment, key),
        n=request.n or 1,
        max_tokens=budget,
        tools=tools,
        tool_choice=body.get("tool_choice", body.get("function_call")),
        response_format=body.get("response_format"),
        parallel_tool_calls=request.parallel_tool_calls is not False,
        body=body,
    )
    screen = content_filter.for_deployment(deployment)
    prompt_filter_results = screen.chat_prompt(api_version, conv.messages)  # raises PromptFiltered
    reply = (responder or runtime.responder(deployment)).respond(conv, runtime.context(deployment))
    choices, completion_tokens = [], 0
    for index in range(conv.n):
        choice = reply.choices[index % len(reply.choices)]
        shaped, used = _shape_choice(index, choice, request, conv, encoding, budget, screen, api_version)
        choices.append(shaped)
        completion_tokens += used
    reasoning = _REASONING_TOKENS * conv.n if deployment.reasoning else 0
    return ChatResult(
        id=runtime.ids.object_id("chatcmpl-", key),
        created=runtime.clock.created(),
        model=deployment.response_model,
        system_fingerprint=deployment.system_fingerprint,
        choices=tuple(choices),
        usage=usage_of(reply.usage, prompt_tokens, completion_tokens + reasoning, reasoning),
        prompt_filter_results=prompt_filter_results,
        include_usage=bool(request.stream_options and request.stream_options.include_usage),
        filter_offsets_every=screen.async_every if prompt_filter_results is not None else 0,
        era=era_for(api_version),
    )
