"""The responder seam: one method, ``respond(conversation, ctx) -> Reply``.

A responder decides *what* the model says; the operation (chat, completions) then applies what the
request asks of every answer: ``n``, ``stop``, ``max_tokens``, logprobs, token counts. Responders
register by name and a deployment (later a scenario rule) picks one.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import orjson

from aoai_mock.behaviour.schema_instance import instance

__all__ = [
    "Message",
    "Conversation",
    "ToolCall",
    "Choice",
    "Reply",
    "UsageOverride",
    "Context",
    "Responder",
    "register",
    "create",
    "names",
    "TextResponder",
    "UnknownResponder",
]


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class Message:
    role: str
    text: str
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[Mapping[str, Any], ...] = ()


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class Conversation:
    """What a responder sees of a chat or completions request."""

    operation: str
    messages: tuple[Message, ...]
    seed: int  # derived from the request and the server seed: same request, same answer
    n: int = 1
    max_tokens: int | None = None
    tools: tuple[Mapping[str, Any], ...] = ()  # function definitions: {name, description, parameters}
    tool_choice: Any = None
    response_format: Mapping[str, Any] | None = None
    parallel_tool_calls: bool = True
    body: Mapping[str, Any] = field(default_factory=dict)

    def last(self, role: str) -> Message | None:
        for message in reversed(self.messages):
            if message.role == role:
                return message
        return None

    @property
    def last_user_text(self) -> str:
        message = self.last("user")
        return message.text if message else ""

    def rng(self, index: int = 0) -> random.Random:
        return random.Random(self.seed * 1_000_003 + index)


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the wire carries it


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class Choice:
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    finish_reason: str | None = None  # None: decided by the operation (stop, length, tool_calls)


@dataclass(frozen=True, slots=True)
class UsageOverride:
    """Token counts a reply reports instead of the counted ones; a field left None stays counted."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class Reply:
    choices: tuple[Choice, ...]
    usage: UsageOverride | None = None  # None: report the counted tokens
    embeddings: tuple[tuple[float, ...], ...] | None = None  # for an embeddings request: one vector per input, in turn


@dataclass(frozen=True, slots=True)
class Context:
    deployment_name: str
    model: str
    fixtures_dir: Path


class Responder(Protocol):
    def respond(self, conversation: Conversation, ctx: Context) -> Reply: ...


class UnknownResponder(ValueError):
    pass


_REGISTRY: dict[str, Callable[[Mapping[str, Any]], Responder]] = {}


def register(name: str) -> Callable[[Callable[[Mapping[str, Any]], Responder]], Any]:
    def decorate(factory: Callable[[Mapping[str, Any]], Responder]) -> Any:
        _REGISTRY[name] = factory
        return factory

    return decorate


def create(name: str, options: Mapping[str, Any] | None = None) -> Responder:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownResponder(f"unknown responder {name!r}; known: {', '.join(names())}") from None
    return factory(options or {})


def names() -> list[str]:
    return sorted(_REGISTRY)


def tool_call_id(seed: int, index: int) -> str:
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=18).hexdigest()
    return "call_" + digest[:24]


class TextResponder:
    """A responder that writes text; tools and response formats are handled the same way for all.

    Subclasses implement :meth:`text` and may override :meth:`wants_tool`.
    """

    # The answer is a function of the conversation (its seed included) and the options alone: the seam may
    # answer a request that comes again as it answered it before (behaviour.inference.AnswerMemo).
    pure = True

    def text(self, conversation: Conversation, ctx: Context, index: int) -> str:
        raise NotImplementedError

    def wants_tool(self, conversation: Conversation) -> bool:
        return False

    def respond(self, conversation: Conversation, ctx: Context) -> Reply:
        if conversation.n == 1:
            return Reply((self._choice(conversation, ctx, 0),))
        return Reply(tuple(self._choice(conversation, ctx, i) for i in range(conversation.n)))

    def _choice(self, conversation: Conversation, ctx: Context, index: int) -> Choice:
        tool = self._forced_tool(conversation)
        if tool is None and conversation.tools and conversation.tool_choice != "none":
            if self.wants_tool(conversation):
                tool = conversation.tools[conversation.rng(index).randrange(len(conversation.tools))]
        if tool is not None:
            rng = conversation.rng(index)
            arguments = orjson.dumps(instance(tool.get("parameters"), rng)).decode()
            call = ToolCall(tool_call_id(conversation.seed, index), str(tool["name"]), arguments)
            return Choice(tool_calls=(call,))
        fmt = conversation.response_format or {}
        if fmt.get("type") == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            return Choice(content=orjson.dumps(instance(schema, conversation.rng(index))).decode())
        text = self.text(conversation, ctx, index)
        if fmt.get("type") == "json_object":
            return Choice(content=orjson.dumps({"response": text}).decode())
        return Choice(content=text)

    @staticmethod
    def _forced_tool(conversation: Conversation) -> Mapping[str, Any] | None:
        choice = conversation.tool_choice
        if not conversation.tools or choice in (None, "none", "auto"):
            return None
        if choice == "required":
            return conversation.tools[0]
        wanted = (choice.get("function") or choice).get("name") if isinstance(choice, Mapping) else None
        return next((t for t in conversation.tools if t.get("name") == wanted), None)
