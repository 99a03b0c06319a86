"""A request as scenario rules and templates see it: the view a route builds, and facts derived once.

:class:`RequestView` is what a route knows before anything answers (operation, deployment, api-version,
headers, body). :class:`RequestFacts` works out, on first use, the conversation (from chat ``messages``,
a completions ``prompt`` in ChatML or not, an embeddings or responses ``input``, ``instructions``), the
offered tools and the tool results, so many rules cost one parse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from aoai_mock.behaviour.chatml import chatml_messages
from aoai_mock.behaviour.responders.base import Message

__all__ = ["RequestView", "RequestFacts", "ToolResult", "messages_of", "text_of", "short"]


@dataclass(frozen=True, slots=True)
class RequestView:
    """What a route knows of a request before anything answers it."""

    operation: str  # an api_versions operation: chat.completions, completions, embeddings, ...
    deployment: str | None
    api_version: str | None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolResult:
    name: str | None
    tool_call_id: str | None
    text: str


def short(value: Any, limit: int = 60) -> str:
    """A value for a message: strings quoted, on one line, cut at ``limit`` characters."""
    text = (value if isinstance(value, str) else repr(value)).replace("\n", " ")
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return repr(text) if isinstance(value, str) else text


def text_of(content: Any) -> str:
    """The text of message content: a string, or parts with ``text`` (refusals count as text)."""
    if content is None or isinstance(content, str):
        return content or ""
    if isinstance(content, Sequence):
        return "".join(str(p.get("text") or p.get("refusal") or "") for p in content if isinstance(p, Mapping))
    return str(content)


def _message(raw: Mapping[str, Any]) -> Message:
    return Message(
        role=str(raw.get("role", "user")),
        text=text_of(raw.get("content")),
        name=raw.get("name"),
        tool_call_id=raw.get("tool_call_id"),
        tool_calls=tuple(raw.get("tool_calls") or ()),
    )


def messages_of(body: Mapping[str, Any]) -> tuple[Message, ...]:
    """The conversation of any body: chat ``messages``, a completions ``prompt``, an ``input``, ``instructions``."""
    found: list[Message] = []
    if isinstance(body.get("instructions"), str):
        found.append(Message("system", body["instructions"]))
    if isinstance(body.get("messages"), list):
        found += [_message(m) for m in body["messages"] if isinstance(m, Mapping)]
    for key in ("prompt", "input"):
        value = body.get(key)
        items = [value] if isinstance(value, str | Mapping) else value if isinstance(value, list) else []
        for item in items:
            if isinstance(item, str):
                found += chatml_messages(item) if key == "prompt" else [Message("user", item)]
            elif isinstance(item, Mapping):
                found.append(_message(item))
    return tuple(found)


class RequestFacts:
    """A request as the tests see it; each fact is worked out on first use."""

    def __init__(self, view: RequestView, call: int, messages: tuple[Message, ...] | None = None) -> None:
        self.view = view
        self.call = call
        if messages is not None:  # already parsed (by the operation): use those
            self.__dict__["messages"] = messages

    @cached_property
    def messages(self) -> tuple[Message, ...]:
        return messages_of(self.view.body)

    @cached_property
    def tool_names(self) -> tuple[str, ...]:
        body = self.view.body
        tools = [t.get("function") or t for t in body.get("tools") or () if isinstance(t, Mapping)]
        tools += [f for f in body.get("functions") or () if isinstance(f, Mapping)]
        return tuple(str(t.get("name")) for t in tools if isinstance(t, Mapping) and t.get("name"))

    @cached_property
    def all_tool_results(self) -> tuple[ToolResult, ...]:
        return self._results(self.messages)

    @cached_property
    def tool_results(self) -> tuple[ToolResult, ...]:
        """Results after the last user message: the ones the model is being asked to use now."""
        last_user = max((i for i, m in enumerate(self.messages) if m.role == "user"), default=-1)
        return self._results(self.messages[last_user + 1 :], self.messages)

    @staticmethod
    def _results(messages: Sequence[Message], context: Sequence[Message] = ()) -> tuple[ToolResult, ...]:
        names: dict[str, str] = {}
        for message in context or messages:
            for call in message.tool_calls:
                function = call.get("function") or {}
                if call.get("id") and function.get("name"):
                    names[str(call["id"])] = str(function["name"])
        return tuple(
            ToolResult(m.name or names.get(m.tool_call_id or ""), m.tool_call_id, m.text)
            for m in messages
            if m.role in ("tool", "function")
        )

    @cached_property
    def system(self) -> str:
        return "\n".join(m.text for m in self.messages if m.role in ("system", "developer"))

    @cached_property
    def last_user(self) -> str:
        return next((m.text for m in reversed(self.messages) if m.role == "user"), "")
