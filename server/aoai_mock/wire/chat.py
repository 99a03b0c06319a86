"""``chat.completion`` bodies and ``chat.completion.chunk`` streams, as Azure writes them.

Azure serialises with sorted keys; the renderer does the same (``orjson.OPT_SORT_KEYS``), so the dicts
here can be built in any order. Keys that Azure omits are left out rather than set to null.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aoai_mock.wire.results import (
    ChatResult,
    ChoiceResult,
    CompletionResult,
    ToolCallOut,
    Usage,
)

__all__ = ["chat_body", "chat_chunks", "usage_body", "annotation_chunk", "chunk_head"]


def usage_body(usage: Usage) -> dict[str, Any]:
    return {
        "completion_tokens": usage.completion_tokens,
        "prompt_tokens": usage.prompt_tokens,
        "total_tokens": usage.total_tokens,
        "completion_tokens_details": {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": usage.reasoning_tokens,
            "rejected_prediction_tokens": 0,
        },
        "prompt_tokens_details": {"audio_tokens": 0, "cached_tokens": 0},
    }


def _tool_call(call: ToolCallOut) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _message(choice: ChoiceResult) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.content, "refusal": choice.refusal}
    if choice.tool_calls:
        message["tool_calls"] = [_tool_call(c) for c in choice.tool_calls]
    return message


def _choice(choice: ChoiceResult) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": choice.index,
        "finish_reason": choice.finish_reason,
        "logprobs": {"content": list(choice.logprobs), "refusal": None} if choice.logprobs is not None else None,
        "message": _message(choice),
    }
    if choice.filter_results is not None:
        out["content_filter_results"] = choice.filter_results
    return out


def chat_body(result: ChatResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": result.id,
        "object": "chat.completion",
        "created": result.created,
        "model": result.model,
        "system_fingerprint": result.system_fingerprint,
        "choices": [_choice(c) for c in result.choices],
        "usage": usage_body(result.usage),
    }
    if result.prompt_filter_results is not None:
        body["prompt_filter_results"] = result.prompt_filter_results
    return body


def annotation_chunk(prompt_filter_results: list[dict[str, Any]]) -> dict[str, Any]:
    """The first event of an annotated stream: prompt annotations only, every id field empty."""
    return {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": prompt_filter_results}


def chunk_head(result: ChatResult | CompletionResult, obj: str) -> dict[str, Any]:
    """The fields every chunk of one stream shares."""
    return {
        "created": result.created,
        "id": result.id,
        "model": result.model,
        "object": obj,
        "system_fingerprint": result.system_fingerprint,
    }


def chat_chunks(result: ChatResult) -> Iterator[dict[str, Any]]:
    """Every data object of the stream, in order; the transport adds ``data: [DONE]``."""
    if result.prompt_filter_results is not None:
        yield annotation_chunk(result.prompt_filter_results)
    head = chunk_head(result, "chat.completion.chunk")
    for choice in result.choices:
        for delta, filters, logprobs in _deltas(choice):
            yield head | {"choices": [_chunk_choice(choice.index, delta, filters, None, logprobs)]}
        yield head | {"choices": [_chunk_choice(choice.index, {}, {}, choice.finish_reason, None)]}
    if result.include_usage:
        yield head | {"choices": [], "usage": usage_body(result.usage)}


def _chunk_choice(
    index: int, delta: dict[str, Any], filters: dict[str, Any] | None, finish: str | None, logprobs: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"delta": delta, "finish_reason": finish, "index": index, "logprobs": logprobs}
    if filters is not None:
        out["content_filter_results"] = filters
    return out


def _deltas(choice: ChoiceResult) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, Any]]:
    annotated = choice.filter_results is not None
    empty = {} if annotated else None
    if choice.tool_calls:
        yield {"content": None, "role": "assistant"}, empty, None
        for position, call in enumerate(choice.tool_calls):
            header = {"index": position, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
            yield {"tool_calls": [header]}, empty, None
            for piece in call.argument_pieces:
                yield {"tool_calls": [{"index": position, "function": {"arguments": piece}}]}, empty, None
        return
    yield {"content": "", "role": "assistant"}, empty, None
    key = "refusal" if choice.refusal is not None else "content"
    entries = choice.logprobs
    for position, piece in enumerate(choice.pieces):
        logprobs = {"content": [entries[position]], "refusal": None} if entries is not None else None
        yield {key: piece}, choice.filter_results, logprobs
