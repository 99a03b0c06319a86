"""``text_completion`` bodies and streams; which keys they carry is the result's era (:mod:`aoai_mock.wire.eras`).

The prompt's annotations are ``prompt_filter_results`` in every era: a 2023-08-01-preview completion of
gpt-35-turbo was recorded with that key (``prompt_annotations`` only came from a retired model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aoai_mock.wire.chat import OffsetMarks, annotation_chunk, chunk_head, offsets_chunk
from aoai_mock.wire.results import CompletionChoice, CompletionResult, Usage

__all__ = ["completion_body", "completion_chunks"]


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "completion_tokens": usage.completion_tokens,
        "prompt_tokens": usage.prompt_tokens,
        "total_tokens": usage.total_tokens,
    }


def _choice(
    choice: CompletionChoice, text: str, finish: str | None, logprobs: Any, filters: Any = False
) -> dict[str, Any]:
    """``filters``: what this chunk carries (by default the choice's results)."""
    out: dict[str, Any] = {"finish_reason": finish, "index": choice.index, "logprobs": logprobs, "text": text}
    results = choice.filter_results if filters is False else filters
    if results is not None:
        out["content_filter_results"] = results
    return out


def completion_body(result: CompletionResult) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": result.id,
        "object": "text_completion",
        "created": result.created,
        "model": result.model,
        "choices": [_choice(c, c.text, c.finish_reason, c.logprobs) for c in result.choices],
        "usage": _usage(result.usage),
    }
    if result.era.system_fingerprint:
        body["system_fingerprint"] = result.system_fingerprint
    if result.prompt_filter_results is not None:
        body["prompt_filter_results"] = result.prompt_filter_results
    return body


def completion_chunks(result: CompletionResult) -> Iterator[dict[str, Any]]:
    """Every data object of the stream. Each chunk carries the choice's ``content_filter_results`` (before a
    later hit, the safe ones); the last carries the finish_reason and the results of the whole text."""
    if result.prompt_filter_results is not None:
        yield annotation_chunk(result.prompt_filter_results)
    head = chunk_head(result, "text_completion")
    echoes = result.extra.get("echo_prefix")
    every = result.filter_offsets_every
    for position, choice in enumerate(result.choices):
        if every and choice.filter_results is not None:
            yield from _async_choice(head, choice, echoes[position] if echoes else None, every)
            continue
        early = choice.filter_before if choice.filter_before is not None else choice.filter_results
        if echoes:
            yield head | {"choices": [_choice(choice, echoes[position], None, None, early)]}
        for index, piece in enumerate(choice.pieces):
            filters = choice.filter_before if index < choice.filter_from else choice.filter_results
            yield head | {"choices": [_choice(choice, piece, None, None, filters)]}
        yield head | {"choices": [_choice(choice, "", choice.finish_reason, choice.logprobs)]}
    if result.include_usage:
        yield head | {"choices": [], "usage": _usage(result.usage)}


def _async_choice(
    head: dict[str, Any], choice: CompletionChoice, echo: str | None, every: int
) -> Iterator[dict[str, Any]]:
    """The asynchronous filter: text chunks without annotations, annotation chunks with offsets apart."""
    marks = OffsetMarks(every, choice.filter_before or choice.filter_results)
    if echo:
        yield head | {"choices": [_bare(choice, echo, None, None)]}
    for index, piece in enumerate(choice.pieces):
        yield head | {"choices": [_bare(choice, piece, None, None)]}
        filters = choice.filter_before if index < choice.filter_from else choice.filter_results
        window = marks.advance(piece, filters)
        if window is not None:
            yield offsets_chunk(choice.index, *window, text="")
    if choice.finish_reason == "content_filter":
        yield offsets_chunk(choice.index, *marks.cut(choice.filter_results), finish_reason="content_filter", text="")
        return
    yield head | {"choices": [_bare(choice, "", choice.finish_reason, choice.logprobs)]}
    yield offsets_chunk(choice.index, *marks.last(choice.filter_results), text="")


def _bare(choice: CompletionChoice, text: str, finish: str | None, logprobs: Any) -> dict[str, Any]:
    return {"finish_reason": finish, "index": choice.index, "logprobs": logprobs, "text": text}
