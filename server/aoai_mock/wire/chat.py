"""``chat.completion`` bodies and ``chat.completion.chunk`` streams, as Azure writes them.

Azure serialises with sorted keys; the renderer does the same (``orjson.OPT_SORT_KEYS``), so the dicts
here can be built in any order. Keys that Azure omits are left out rather than set to null. Which keys an answer carries is its api-version's
era (:mod:`aoai_mock.wire.eras`, the result's ``era``); the builders read its flags and nothing else about versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aoai_mock.wire.eras import LATEST, PROMPT_FILTER_RESULTS, Era
from aoai_mock.wire.results import (
    ChatResult,
    ChoiceResult,
    CompletionResult,
    ToolCallOut,
    Usage,
)

__all__ = ["chat_body", "chat_chunks", "usage_body", "annotation_chunk", "chunk_head", "OffsetMarks", "offsets_chunk"]


def usage_body(usage: Usage, era: Era = LATEST) -> dict[str, Any]:
    body: dict[str, Any] = {
        "completion_tokens": usage.completion_tokens,
        "prompt_tokens": usage.prompt_tokens,
        "total_tokens": usage.total_tokens,
    }
    if era.usage_details:
        body["completion_tokens_details"] = {
            "accepted_prediction_tokens": 0,
            "audio_tokens": 0,
            "reasoning_tokens": usage.reasoning_tokens,
            "rejected_prediction_tokens": 0,
        }
        body["prompt_tokens_details"] = {"audio_tokens": 0, "cached_tokens": 0}
    return body


def _logprobs(content: list[dict[str, Any]], era: Era) -> dict[str, Any]:
    return {"content": content, "refusal": None} if era.refusal else {"content": content}


def _tool_call(call: ToolCallOut) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def _message(choice: ChoiceResult, era: Era) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": choice.content}
    if era.refusal or choice.refusal is not None:  # an era without the key still says a refusal it has
        message["refusal"] = choice.refusal
    if choice.function_call and choice.tool_calls:
        call = choice.tool_calls[0]
        message["function_call"] = {"name": call.name, "arguments": call.arguments}
    elif choice.tool_calls:
        message["tool_calls"] = [_tool_call(c) for c in choice.tool_calls]
    return message


def _choice(choice: ChoiceResult, era: Era) -> dict[str, Any]:
    out: dict[str, Any] = {"index": choice.index, "finish_reason": choice.finish_reason, "message": _message(choice, era)}
    if era.choice_logprobs:
        out["logprobs"] = _logprobs(list(choice.logprobs), era) if choice.logprobs is not None else None
    if choice.filter_results is not None:
        out["content_filter_results"] = choice.filter_results
    return out


def chat_body(result: ChatResult) -> dict[str, Any]:
    era = result.era
    body: dict[str, Any] = {
        "id": result.id,
        "object": "chat.completion",
        "created": result.created,
        "model": result.model,
        "choices": [_choice(c, era) for c in result.choices],
        "usage": usage_body(result.usage, era),
    }
    if era.system_fingerprint:
        body["system_fingerprint"] = result.system_fingerprint
    if result.prompt_filter_results is not None:
        body[era.prompt_annotations_key] = result.prompt_filter_results
    return body


def annotation_chunk(
    prompt_filter_results: list[dict[str, Any]], key: str = PROMPT_FILTER_RESULTS
) -> dict[str, Any]:
    """The first event of an annotated stream: prompt annotations only (under ``key``), every id field empty."""
    return {"choices": [], "created": 0, "id": "", "model": "", "object": "", key: prompt_filter_results}


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

    def advance(
        self, text: str, results: dict[str, Any] | None, close: bool = True
    ) -> tuple[Any, dict[str, int]] | None:
        """After a chunk of ``text`` (annotated ``results``): an annotation when a window is full, else None.
        ``close=False``: the window stays open (the chunk that a cut annotation follows)."""
        if results:
            self.results = results
        self.position += len(text)
        if not close or self.position - self.start < self.every:
            return None
        window = self.results, self._window(self.start, self.start)
        self.start = self.position
        return window

    def cut(self, results: dict[str, Any] | None) -> tuple[Any, dict[str, int]]:
        """The annotation that stops a cut stream: only the categories that filtered [captured]."""
        return _filtered_only(results or {}), self._window(self.start, self.start)

    def last(self, results: dict[str, Any] | None) -> tuple[Any, dict[str, int]]:
        """The annotation after the finish chunk, for the whole text: ``check_offset`` = ``start_offset``
        [captured: recordings/chat/net-AsyncContentFilterWorksStreaming, offsets 105 / 105 / 992]."""
        return results, self._window(0, 0)


def _filtered_only(results: dict[str, Any]) -> dict[str, Any]:
    def filtered(value: Any) -> bool:
        if isinstance(value, list):
            return any(v.get("filtered") for v in value)
        return isinstance(value, dict) and bool(value.get("filtered"))

    return {k: v for k, v in results.items() if filtered(v)}


def chunk_head(result: ChatResult | CompletionResult, obj: str) -> dict[str, Any]:
    """The fields every chunk of one stream shares (``"usage": null`` too where the era writes it)."""
    era = result.era
    head: dict[str, Any] = {"created": result.created, "id": result.id, "model": result.model, "object": obj}
    if era.system_fingerprint:
        head["system_fingerprint"] = result.system_fingerprint
    if result.include_usage and era.stream_usage_null:
        head["usage"] = None
    return head


def chat_chunks(result: ChatResult) -> Iterator[dict[str, Any]]:
    """Every data object of the stream, in order; the transport adds ``data: [DONE]``.

    Content chunks carry the choice's ``content_filter_results`` (those before a later hit, the safe ones); a
    choice cut by the filter ends with a chunk whose ``finish_reason`` is ``content_filter`` and whose results
    mark the category filtered. In the asynchronous-filter mode see :func:`offsets_chunks`.
    """
    era = result.era
    if result.prompt_filter_results is not None:
        yield annotation_chunk(result.prompt_filter_results, era.prompt_annotations_key)
    head = chunk_head(result, "chat.completion.chunk")
    for choice in result.choices:
        if result.filter_offsets_every and choice.filter_results is not None:
            yield from _async_choice(head, choice, result.filter_offsets_every, era)
            continue
        for delta, filters, logprobs in _deltas(choice, era):
            yield head | {"choices": [_chunk_choice(choice.index, delta, filters, None, logprobs, era)]}
        cut = choice.finish_reason == "content_filter" and choice.filter_results is not None
        final = choice.filter_results if cut else {}
        yield head | {"choices": [_chunk_choice(choice.index, {}, final, choice.finish_reason, None, era)]}
    if result.include_usage:
        yield head | {"choices": [], "usage": usage_body(result.usage, era)}


def _async_choice(head: dict[str, Any], choice: ChoiceResult, every: int, era: Era) -> Iterator[dict[str, Any]]:
    """The asynchronous filter: chunks without annotations, an annotation chunk with offsets whenever a window is
    checked, and after the finish chunk the annotation of the whole text, then the protected-material models'
    own [captured: recordings/chat/net-AsyncContentFilterWorksStreaming: finish chunk, the harm categories and
    custom_blocklists, then protected_material_code and _text alone, both with the same offsets]. A hit the
    filter blocks before the text ends stops the stream with a ``content_filter`` annotation instead."""
    marks = OffsetMarks(every, choice.filter_before or choice.filter_results)
    cut = choice.finish_reason == "content_filter"
    deltas = list(_deltas(choice, era))
    for position, (delta, filters, logprobs) in enumerate(deltas):
        yield head | {"choices": [_chunk_choice(choice.index, delta, None, None, logprobs, era)]}
        text = delta.get("content") or delta.get("refusal") or ""
        window = marks.advance(text, filters, close=not (cut and position == len(deltas) - 1))
        if window is not None:
            yield offsets_chunk(choice.index, _apart(window[0])[0], window[1])
    if cut:
        yield offsets_chunk(choice.index, *marks.cut(choice.filter_results), finish_reason="content_filter")
        return
    yield head | {"choices": [_chunk_choice(choice.index, {}, None, choice.finish_reason, None, era)]}
    results, offsets = marks.last(choice.filter_results)
    main, protected = _apart(results)
    yield offsets_chunk(choice.index, main, offsets)
    if protected:
        yield offsets_chunk(choice.index, protected, offsets)


_PROTECTED = ("protected_material_code", "protected_material_text")


def _apart(results: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The results without the protected-material models, and theirs (they come in a chunk of their own)."""
    if not results or not any(k in results for k in _PROTECTED):
        return results, {}
    rest = {k: v for k, v in results.items() if k not in _PROTECTED}
    return rest, {k: results[k] for k in _PROTECTED if k in results}


def _chunk_choice(
    index: int, delta: dict[str, Any], filters: dict[str, Any] | None, finish: str | None, logprobs: Any, era: Era
) -> dict[str, Any]:
    out: dict[str, Any] = {"delta": delta, "finish_reason": finish, "index": index}
    if era.choice_logprobs:
        out["logprobs"] = logprobs
    if filters is not None:
        out["content_filter_results"] = filters
    return out


def _deltas(choice: ChoiceResult, era: Era) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, Any]]:
    annotated = choice.filter_results is not None
    empty = {} if annotated else None
    before, start = choice.filter_before, choice.filter_from
    role: dict[str, Any] = {"content": "", "role": "assistant"}
    if era.refusal:
        role["refusal"] = None
    if choice.function_call and choice.tool_calls:
        yield from _function_call_deltas(choice.tool_calls[0], role, empty)
        return
    if choice.tool_calls:
        yield from _tool_call_deltas(choice, role, empty)
        return
    entries = choice.logprobs
    yield role, empty, _logprobs([], era) if entries is not None else None
    key = "refusal" if choice.refusal is not None else "content"
    for position, piece in enumerate(choice.pieces):
        logprobs = _logprobs([entries[position]], era) if entries is not None else None
        yield {key: piece}, before if position < start else choice.filter_results, logprobs


def _tool_call_deltas(
    choice: ChoiceResult, role: dict[str, Any], empty: dict[str, Any] | None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, Any]]:
    """The role chunk carries the first call's header; each later call's header comes in a chunk of its own,
    and the argument chunks carry only ``index`` and ``arguments`` [captured: recordings/chat/
    net-SimpleToolWorksStreaming-Required, the role chunk's ``tool_calls`` with id, type, name and ``""``]."""
    for position, call in enumerate(choice.tool_calls):
        function = {"name": call.name, "arguments": ""}
        header = {"index": position, "id": call.id, "type": "function", "function": function}
        first = role | {"content": None, "tool_calls": [header]}
        yield (first if position == 0 else {"tool_calls": [header]}), empty, None
        for piece in call.argument_pieces:
            yield {"tool_calls": [{"index": position, "function": {"arguments": piece}}]}, empty, None


def _function_call_deltas(
    call: ToolCallOut, role: dict[str, Any], empty: dict[str, Any] | None
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, Any]]:
    """Legacy ``functions``: the role chunk names the function (``arguments: ""``), then the arguments come in
    pieces as ``delta.function_call.arguments`` (the shape tool calls took over, without index or id)."""
    yield role | {"content": None, "function_call": {"name": call.name, "arguments": ""}}, empty, None
    for piece in call.argument_pieces:
        yield {"function_call": {"arguments": piece}}, empty, None
