"""Chat completions: check the request as the service does, ask the responder, shape every choice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from aoai_mock.behaviour import content_filter, reasoning, tokens, vision
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
from aoai_mock.errors import FeatureNeedsNewerApiVersion, InvalidRequest
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.eras import era_for
from aoai_mock.wire.requests import ChatRequest
from aoai_mock.wire.results import ChatResult, ChoiceResult, ToolCallOut, Usage
from aoai_mock.wire.validation import unrecognized, validate

__all__ = ["run_chat", "parse_request", "request_key", "check_output_budget", "check_stream_options", "usage_of"]


def request_key(body: Mapping[str, Any]) -> bytes:
    """The part of a body that decides the answer: streaming or not gives the same text."""
    kept = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)


def parse_request(body: dict[str, Any], api_version: str) -> ChatRequest:
    """The body as the api-version's service reads it: arguments the version does not have yet are
    unrecognized, and ``json_schema`` response formats need 2024-08-01-preview (the table is
    :mod:`aoai_mock.wire.api_versions`)."""
    messages = body.get("messages")
    if type(messages) is list and len(messages) > MAX_MESSAGES:
        raise InvalidRequest(
            f"'$.messages' is too long. Maximum length is {MAX_MESSAGES}, but got {len(messages)} items.",
            param="messages",
        )
    if not _LATE_ARGUMENTS.isdisjoint(body):
        late = [k for k, since in av.CHAT_ARGUMENTS_SINCE.items() if k in body and not av.offers_since(api_version, since)]
        if late:
            raise unrecognized(sorted({*late, *(k for k in body if k not in ChatRequest.model_fields)}))
    fmt = body.get("response_format")
    if fmt is not None and isinstance(fmt, Mapping) and fmt.get("type") == "json_schema" and not av.offers_since(
        api_version, av.JSON_SCHEMA_SINCE
    ):
        raise FeatureNeedsNewerApiVersion("response_format value as json_schema", av.JSON_SCHEMA_SINCE[0])
    return validate(ChatRequest, body)


_LATE_ARGUMENTS = frozenset(av.CHAT_ARGUMENTS_SINCE)
# Azure's documented limit on a chat request's messages, and the wording of its refusal [documented: Azure
# OpenAI quotas and limits, "Max number of /chat/completions messages: 2048"; the message as users quote it].
MAX_MESSAGES = 2048


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


def _max_tokens(request: ChatRequest) -> tuple[int | None, str]:
    if request.max_completion_tokens is not None:
        return request.max_completion_tokens, "max_completion_tokens"
    return request.max_tokens, "max_tokens"


def _spend(deployment: Deployment, request: ChatRequest, budget: int | None) -> tuple[int, int | None]:
    """The reasoning tokens each choice spends and what is left of the budget for its visible answer:
    ``max_completion_tokens`` caps both together."""
    thinking = reasoning.thinking_tokens(deployment, request.reasoning_effort)
    if budget is None:
        return thinking, None
    thinking = min(thinking, budget)
    return thinking, budget - thinking


def _tool_call(call: Any, encoding: str) -> tuple[ToolCallOut, int]:
    ids = tokens.encode(call.arguments, encoding)
    pieces = tuple(tokens.pieces(ids, encoding))
    return ToolCallOut(call.id, call.name, call.arguments, pieces), len(ids) + tokens.count(call.name, encoding) + 3


def _shape_calls(
    index: int, choice: Choice, request: ChatRequest, encoding: str, annotated: bool
) -> tuple[ChoiceResult, int]:
    """A choice that calls tools. Legacy ``functions``: one call, answered as ``message.function_call`` with
    finish_reason "function_call" [documented: the chat completions reference, deprecated for tools]."""
    legacy = bool(request.functions) and not request.tools
    made = [_tool_call(c, encoding) for c in (choice.tool_calls[:1] if legacy else choice.tool_calls)]
    named = request.function_call if legacy else request.tool_choice
    forced = named is not None and not isinstance(named, str)
    finish = choice.finish_reason or ("stop" if forced else "function_call" if legacy else "tool_calls")
    # No text, nothing screened: an empty object where the version annotates [captured: recordings/chat,
    # net-SimpleToolWorks-Required-2025, a tool call's "content_filter_results": {}].
    results = {} if annotated else None
    calls = tuple(c for c, _ in made)
    shaped = ChoiceResult(index, None, (), finish, calls, filter_results=results, function_call=legacy)
    return shaped, sum(n for _, n in made)


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
        return _shape_calls(index, choice, request, encoding, screen.safe_choice(api_version) is not None)
    stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or ())
    refusal = choice.content is None and bool(choice.refusal)
    text = (choice.refusal or "") if refusal else (choice.content or "")
    shaped = shape_text(text, stop=stop, max_tokens=budget, encoding=encoding)
    trip = choice.trip if isinstance(choice, content_filter.FilteredChoice) else None
    pieces, finish = shaped.pieces, choice.finish_reason or shaped.finish_reason
    results, start, before = screen.safe_choice(api_version), 0, None
    if trip is not None or (screen.screens_completions and not refusal):
        every = screen.async_every if request.stream else 0
        out = screen.completion(api_version, shaped.text, trip).apply(pieces, finish, every)
        pieces, finish, results, start, before = out.pieces, out.finish_reason, out.results, out.start, out.before
    text = shaped.text if pieces is shaped.pieces else "".join(pieces)
    if _plain(request, conv) or (request.stream and screen.async_every):
        results = screen.default_annotated(api_version, results, text)
    if refusal:
        return ChoiceResult(index, None, pieces, finish, (), text, None, results, start, before), len(pieces)
    logprobs = None
    if request.logprobs:
        logprobs = chat_logprobs(pieces, request.top_logprobs or 0, conv.rng(1000 + index))
    return ChoiceResult(index, text, pieces, finish, (), None, logprobs, results, start, before), len(pieces)


def _thought_out(index: int, annotated: dict[str, Any] | None) -> ChoiceResult:
    """A choice whose whole ``max_completion_tokens`` went on reasoning: ``content: ""``, ``finish_reason:
    length`` and, nothing having been screened, ``content_filter_results: {}`` where the version annotates."""
    return ChoiceResult(index, "", (), "length", filter_results={} if annotated is not None else None)


def _plain(request: ChatRequest, conv: Conversation) -> bool:
    """Whether Azure's default filter adds its protected-material annotations to this answer: a non-streamed
    answer to a request without tools, ``logprobs`` or a ``json_schema`` response format [inferred: in
    recordings/chat, net-ChatCompletion and net-ChatWithO1Works (plain requests) carry them, while
    net-ChatCompletionWithHistoryAndLogProbabilities (logprobs), net-StructuredOutputsWork (json_schema) and
    net-SimpleToolWorks-Required-2025#1 (tools) of the same eras do not, nor do default-mode streams
    (net-ChatCompletionStreaming), while the asynchronous filter's streams do, in an annotation of their own
    (net-AsyncContentFilterWorksStreaming); public captures of plain o1/o3 answers of thousands of characters carry
    them, so the length of the answer does not decide]."""
    if request.stream or conv.tools or request.logprobs:
        return False
    fmt = conv.response_format
    return fmt is None or not (isinstance(fmt, Mapping) and fmt.get("type") == "json_schema")


def usage_of(override: UsageOverride | None, prompt: int, completion: int, thought: int) -> Usage:
    """The counted tokens, or the figures a scripted reply states."""
    if override is None:
        return Usage(prompt, completion, thought)
    thought = thought if override.reasoning_tokens is None else override.reasoning_tokens
    return Usage(
        prompt if override.prompt_tokens is None else override.prompt_tokens,
        completion if override.completion_tokens is None else override.completion_tokens,
        thought,
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
    budget, param = _max_tokens(request)
    if deployment.reasoning:
        reasoning.check_parameters(deployment, request)
        thinking, visible = _spend(deployment, request, budget)
    else:
        thinking, visible = 0, budget
    messages = body["messages"]
    pictures = vision.image_tokens(messages, deployment.model) if _has_parts(messages) else 0
    prompt_tokens = tokens.count_chat(
        messages,
        encoding,
        body.get("tools") or body.get("functions"),
        pictures,
        tool_choice=body.get("tool_choice", body.get("function_call")),
        response_format=body.get("response_format"),
        frame=tokens.frame_for(deployment.model, deployment.version, api_version),
    )
    check_output_budget(deployment, prompt_tokens, budget, param)
    key = request_key(body)
    conv = Conversation(
        operation=av.CHAT,
        messages=_messages(body["messages"]),
        seed=runtime.request_seed(deployment, key),
        n=request.n or 1,
        max_tokens=visible,
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
        if visible == 0:  # the budget went on thinking [captured: recordings/chat/net-MaxOutputTokens-o3-mini]
            shaped, used = _thought_out(index, screen.safe_choice(api_version)), 0
        else:
            shaped, used = _shape_choice(index, choice, request, conv, encoding, visible, screen, api_version)
        choices.append(shaped)
        completion_tokens += used
    thought = thinking * conv.n
    return ChatResult(
        id=runtime.ids.object_id("chatcmpl-", key),
        created=runtime.clock.created(),
        model=deployment.response_model,
        system_fingerprint=deployment.system_fingerprint,
        choices=tuple(choices),
        usage=usage_of(reply.usage, prompt_tokens, completion_tokens + thought, thought),
        prompt_filter_results=prompt_filter_results,
        include_usage=bool(request.stream_options and request.stream_options.include_usage),
        filter_offsets_every=screen.async_every if prompt_filter_results is not None else 0,
        era=era_for(api_version),
    )
