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

__all__ = ["chat_body", "chat_chunks", "usage_body", "annotation_chunk", "chunk_head", "OffsetMarks", "offsets_chunk"]


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


def offsets_chunk(
    index: int,
    results: dict[str, Any] | None,
    offsets: dict[str, int],
    finish_reason: str | None = None,
    text: str | None = None,
) -> dict[str, Any]:
    """An asynchronous-filter annotation: no delta, results for the text between the offsets [captured].

    Offsets count characters of the choice's text from its start (the service counts from the prompt's)."""
    choice: dict[str, Any] = {
        "content_filter_offsets": offsets,
        "content_filter_results": results,
        "finish_reason": finish_reason,
        "index": index,
    }
    if text is not None:  # text_completion annotations carry an empty text
        choice["text"] = text
    return {"choices": [choice], "created": 0, "id": "", "model": "", "object": ""}


class OffsetMarks:
    """How far the asynchronous filter has checked one choice's text, and what it last said about it."""

    __slots__ = ("every", "position", "start", "results")

    def __init__(self, every: int, results: dict[str, Any] | None) -> None:
        self.every, self.position, self.start, self.results = every, 0, 0, results

    def _window(self, check: int, start: int) -> dict[str, int]:
        return {"check_offset": check, "start_offset": start, "end_offset": self.position}

    def advance(self, text: str, results: dict[str, Any] | None) -> tuple[Any, dict[str, int]] | None:
        """After a chunk of ``text`` (annotated ``results``): an annotation when a window is full, else None."""
        if results:
            self.results = results
        self.position += len(text)
        if self.position - self.start < self.every:
            return None
        window = self.results, self._window(self.start, self.start)
        self.start = self.position
        return window

    def cut(self, results: dict[str, Any] | None) -> tuple[Any, dict[str, int]]:
        """The annotation that stops a cut stream: only the categories that filtered [captured]."""
        return _filtered_only(results or {}), self._window(self.start, self.start)

    def last(self, results: dict[str, Any] | None) -> tuple[Any, dict[str, int]]:
        """The annotation after the finish chunk, for the whole text."""
        return results, self._window(self.position, 0)


def _filtered_only(results: dict[str, Any]) -> dict[str, Any]:
    def filtered(value: Any) -> bool:
        if isinstance(value, list):
            return any(v.get("filtered") for v in value)
        return isinstance(value, dict) and bool(value.get("filtered"))

    return {k: v for k, v in results.items() if filtered(v)}


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
    """Every data object of the stream, in order; the transport adds ``data: [DONE]``.

    Content chunks carry the choice's ``content_filter_results`` (those before a later hit, the safe ones); a
    choice cut by the filter ends with a chunk whose ``finish_reason`` is ``content_filter`` and whose results
    mark the category filtered. In the asynchronous-filter mode see :func:`offsets_chunks`.
    """
    if result.prompt_filter_results is not None:
        yield annotation_chunk(result.prompt_filter_results)
    head = chunk_head(result, "chat.completion.chunk")
    for choice in result.choices:
        if result.filter_offsets_every and choice.filter_results is not None:
            yield from _async_choice(head, choice, result.filter_offsets_every)
            continue
        for delta, filters, logprobs in _deltas(choice):
            yield head | {"choices": [_chunk_choice(choice.index, delta, filters, None, logprobs)]}
        cut = choice.finish_reason == "content_filter" and choice.filter_results is not None
        final = choice.filter_results if cut else {}
        yield head | {"choices": [_chunk_choice(choice.index, {}, final, choice.finish_reason, None)]}
    if result.include_usage:
        yield head | {"choices": [], "usage": usage_body(result.usage)}


def _async_choice(head: dict[str, Any], choice: ChoiceResult, every: int) -> Iterator[dict[str, Any]]:
    """The asynchronous filter: chunks without annotations, then annotation chunks with offsets [captured]."""
    marks = OffsetMarks(every, choice.filter_before or choice.filter_results)
    for delta, filters, logprobs in _deltas(choice):
        yield head | {"choices": [_chunk_choice(choice.index, delta, None, None, logprobs)]}
        window = marks.advance(delta.get("content") or delta.get("refusal") or "", filters)
        if window is not None:
            yield offsets_chunk(choice.index, *window)
    if choice.finish_reason == "content_filter":
        yield offsets_chunk(choice.index, *marks.cut(choice.filter_results), finish_reason="content_filter")
        return
    yield head | {"choices": [_chunk_choice(choice.index, {}, None, choice.finish_reason, None)]}
    yield offsets_chunk(choice.index, *marks.last(choice.filter_results))


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
    before, start = choice.filter_before, choice.filter_from
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
        yield {key: piece}, before if position < start else choice.filter_results, logprobs
