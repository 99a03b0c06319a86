"""What an operation decided, before it is rendered: plain data that the builders turn into Azure's shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aoai_mock.wire.eras import LATEST, Era

__all__ = ["Usage", "ToolCallOut", "ChoiceResult", "ChatResult", "CompletionChoice", "CompletionResult"]


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class Usage:
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class ToolCallOut:
    id: str
    name: str
    arguments: str
    argument_pieces: tuple[str, ...] = ()  # how a stream splits the arguments


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class ChoiceResult:
    index: int
    content: str | None
    pieces: tuple[str, ...]  # the content, token by token, as a stream sends it
    finish_reason: str
    tool_calls: tuple[ToolCallOut, ...] = ()
    refusal: str | None = None
    logprobs: tuple[dict[str, Any], ...] | None = None  # one entry per piece
    filter_results: dict[str, Any] | None = None  # content_filter_results; with finish_reason content_filter, the cut
    filter_from: int = 0  # stream: pieces before this one carry ``filter_before`` (a hit comes later in the text)
    filter_before: dict[str, Any] | None = None
    function_call: bool = False  # legacy ``functions``: the one call goes out as ``function_call``, not tool_calls


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class ChatResult:
    id: str
    created: int
    model: str
    system_fingerprint: str | None
    choices: tuple[ChoiceResult, ...]
    usage: Usage
    prompt_filter_results: list[dict[str, Any]] | None = None
    include_usage: bool = False  # stream_options.include_usage
    filter_offsets_every: int = 0  # asynchronous filter: annotation chunks with offsets after so many characters
    era: Era = LATEST  # the api-version's era: which keys the answer carries


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class CompletionChoice:
    index: int
    text: str
    pieces: tuple[str, ...]
    finish_reason: str
    logprobs: dict[str, Any] | None = None
    filter_results: dict[str, Any] | None = None
    filter_from: int = 0  # as ChoiceResult's
    filter_before: dict[str, Any] | None = None


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class CompletionResult:
    id: str
    created: int
    model: str
    choices: tuple[CompletionChoice, ...]
    usage: Usage
    prompt_filter_results: list[dict[str, Any]] | None = None
    include_usage: bool = False
    system_fingerprint: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    filter_offsets_every: int = 0  # as ChatResult's
    era: Era = LATEST  # as ChatResult's
