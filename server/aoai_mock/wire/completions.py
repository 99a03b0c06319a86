"""``text_completion`` bodies and streams."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aoai_mock.wire.chat import annotation_chunk, chunk_head
from aoai_mock.wire.results import CompletionChoice, CompletionResult, Usage

__all__ = ["completion_body", "completion_chunks"]


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "completion_tokens": usage.completion_tokens,
        "prompt_tokens": usage.prompt_tokens,
        "total_tokens": usage.total_tokens,
    }


def _choice(choice: CompletionChoice, text: str, finish: str | None, logprobs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"finish_reason": finish, "index": choice.index, "logprobs": logprobs, "text": text}
    if choice.filter_results is not None:
        out["content_filter_results"] = choice.filter_results
    return out


def completion_body(result: CompletionResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": result.id,
        "object": "text_completion",
        "created": result.created,
        "model": result.model,
        "system_fingerprint": result.system_fingerprint,
        "choices": [_choice(c, c.text, c.finish_reason, c.logprobs) for c in result.choices],
        "usage": _usage(result.usage),
    }
    if result.prompt_filter_results is not None:
        body["prompt_filter_results"] = result.prompt_filter_results
    return body


def completion_chunks(result: CompletionResult) -> Iterator[dict[str, Any]]:
    if result.prompt_filter_results is not None:
        yield annotation_chunk(result.prompt_filter_results)
    head = chunk_head(result, "text_completion")
    echoes = result.extra.get("echo_prefix")
    for position, choice in enumerate(result.choices):
        if echoes:
            yield head | {"choices": [_choice(choice, echoes[position], None, None)]}
        for piece in choice.pieces:
            yield head | {"choices": [_choice(choice, piece, None, None)]}
        yield head | {"choices": [_choice(choice, "", choice.finish_reason, choice.logprobs)]}
    if result.include_usage:
        yield head | {"choices": [], "usage": _usage(result.usage)}
