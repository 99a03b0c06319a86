"""A scenario's replies, compiled once at load and built into a :class:`Reply` per request.

``CompiledReply(spec, base_dir).build(conversation, ctx, bindings)`` writes the answer: text and refusals
from templates, tool calls (arguments from templates or generated from the tool's schema), several
choices, JSON (literal or an instance of the request's ``json_schema``), canned fixture answers,
embedding vectors, or an Azure error, which it raises. Everything derives from the request's seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aoai_mock.behaviour import responders
from aoai_mock.behaviour.content_filter import FilteredChoice, FilterTrip
from aoai_mock.behaviour.embeddings import vector
from aoai_mock.behaviour.responders.base import (
    Choice,
    Context,
    Conversation,
    Reply,
    Responder,
    ToolCall,
    UsageOverride,
    tool_call_id,
)
from aoai_mock.behaviour.responders.fixture import load_reply
from aoai_mock.behaviour.scenarios.loader import (
    Problem,
    ScenarioError,
    VectorFixture,
    find_fixture,
    read_vectors,
)
from aoai_mock.behaviour.scenarios.request_facts import RequestFacts, RequestView
from aoai_mock.behaviour.scenarios.schema import (
    ChoiceSpec,
    ContentFilterTrip,
    ErrorSpec,
    ReplySpec,
    ToolCallSpec,
)
from aoai_mock.behaviour.scenarios.templating import Text, Value
from aoai_mock.behaviour.schema_instance import instance
from aoai_mock.errors import ScriptedError
from aoai_mock.wire.operations import (
    AUDIO_SPEECH,
    AUDIO_TRANSCRIPTIONS,
    AUDIO_TRANSLATIONS,
    CHAT,
    COMPLETIONS,
    EMBEDDINGS,
    IMAGES_GENERATIONS,
    by_name,
)

__all__ = ["Bindings", "CompiledReply", "ScriptedError", "variables"]

_CALLS_PER_CHOICE = 64  # tool-call ids and generated arguments: index = choice * 64 + call


@dataclass(frozen=True, slots=True)
class Bindings:
    """What the decision knew that the conversation does not: names, counters, captured groups."""

    scenario: str
    rule: str | None
    call: int
    rule_call: int
    view: RequestView
    captures: Mapping[Any, Any] = field(default_factory=dict)


def _message_dict(message: Any) -> dict[str, Any]:
    return {"role": message.role, "text": message.text, "name": message.name, "tool_call_id": message.tool_call_id}


def variables(conversation: Conversation, ctx: Context, bindings: Bindings) -> dict[str, Any]:
    """The names a template sees (listed in ``templating.VARIABLES``)."""
    view = bindings.view
    # What the operation parsed is what the answer talks about.
    facts = RequestFacts(view, bindings.call, tuple(conversation.messages))
    messages = [_message_dict(m) for m in conversation.messages]
    return {
        "last_user": facts.last_user,
        "system": facts.system,
        "messages": messages,
        "last": messages[-1] if messages else {},
        "tool_results": [dataclasses.asdict(r) for r in facts.tool_results],
        "tools": [str(t.get("name")) for t in conversation.tools],
        "body": dict(conversation.body or view.body),
        "headers": dict(view.headers),
        "deployment": ctx.deployment_name,
        "api_version": view.api_version,
        "operation": view.operation,
        "model": ctx.model,
        "call": bindings.call,
        "rule_call": bindings.rule_call,
        "match": dict(bindings.captures),
        "seed": conversation.seed,
        "choice": 0,
        "scenario": bindings.scenario,
        "rule": bindings.rule,
    }


# -- choices ----------------------------------------------------------------------------------------


class _ToolCall:
    def __init__(self, spec: ToolCallSpec) -> None:
        self.spec = spec
        self.arguments = None if spec.arguments == "generate" else Value(spec.arguments)

    def build(self, conversation: Conversation, names: Mapping[str, Any], index: int) -> ToolCall:
        if self.arguments is None:
            tool = next((t for t in conversation.tools if t.get("name") == self.spec.name), {})
            arguments = instance(tool.get("parameters"), conversation.rng(index))
        else:
            arguments = self.arguments.render(names)
        call_id = self.spec.id or tool_call_id(conversation.seed, index)
        return ToolCall(call_id, self.spec.name, orjson.dumps(arguments, default=str).decode())


def _trip(spec: ContentFilterTrip | None) -> FilterTrip | None:
    if spec is None:
        return None
    return FilterTrip(spec.category, spec.severity, spec.filtered, spec.citation)


def _tripped(choice: Choice, trip: FilterTrip | None) -> Choice:
    """The choice, carrying the reply's content-filter trip (when it has none of its own)."""
    if trip is None or isinstance(choice, FilteredChoice):
        return choice
    return FilteredChoice(choice.content, choice.tool_calls, choice.refusal, choice.finish_reason, trip)


class _Choice:
    def __init__(self, spec: ChoiceSpec, finish_reason: str | None, trip: FilterTrip | None = None) -> None:
        self.text = Text(spec.text) if spec.text is not None else None
        self.refusal = Text(spec.refusal) if spec.refusal is not None else None
        self.tool_calls = tuple(_ToolCall(t) for t in spec.tool_calls or ())
        self.from_schema = spec.json_ == "from_schema"
        self.json = Value(spec.json_) if spec.json_ is not None and not self.from_schema else None
        self.finish_reason = spec.finish_reason or finish_reason
        self.trip = _trip(spec.content_filter) or trip

    def build(self, conversation: Conversation, names: dict[str, Any], index: int) -> Choice:
        return _tripped(self._build(conversation, names, index), self.trip)

    def _build(self, conversation: Conversation, names: dict[str, Any], index: int) -> Choice:
        names["choice"] = index
        finish = self.finish_reason
        if self.text is not None:
            return Choice(content=self.text.render(names), finish_reason=finish)
        if self.refusal is not None:
            return Choice(refusal=self.refusal.render(names), finish_reason=finish)
        if self.tool_calls:
            first = index * _CALLS_PER_CHOICE
            calls = tuple(c.build(conversation, names, first + k) for k, c in enumerate(self.tool_calls))
            return Choice(tool_calls=calls, finish_reason=finish)
        if self.from_schema:
            fmt = conversation.response_format or {}
            schema = (fmt.get("json_schema") or {}).get("schema")
            value = instance(schema, conversation.rng(index))
        else:
            value = self.json.render(names) if self.json is not None else None
        return Choice(content=orjson.dumps(value, default=str).decode(), finish_reason=finish)


# -- errors -----------------------------------------------------------------------------------------


# The operations a rate_limit preset's message names by their own id (the registry's); any other is named
# as chat. Kept as it was before the registry: fault plans (behaviour/fault_build.py) name every operation
# by its own id, images.edits and responses included, and this list may well be meant to do the same.
_OWN_ID = (CHAT, COMPLETIONS, EMBEDDINGS, IMAGES_GENERATIONS, AUDIO_TRANSCRIPTIONS, AUDIO_TRANSLATIONS, AUDIO_SPEECH)
_OPERATION_IDS = {name: by_name(name).operation_id for name in _OWN_ID}
_SUPPORT = (
    "You can retry your request, or contact us through an Azure support request at: "
    "https://go.microsoft.com/fwlink/?linkid=2213926 if the error persists. "
    "(Please include the request ID {request_id} in your message.)"
)
_SAFE = {"filtered": False, "severity": "safe"}
_PRESETS: dict[str, dict[str, Any]] = {
    "rate_limit": {"status": 429, "gateway": True, "code": "429", "type": None},
    "server_error": {
        "status": 500,
        "type": "server_error",
        "message": "The server had an error while processing your request. Sorry about that! " + _SUPPORT,
    },
    "overloaded": {
        "status": 503,
        "type": "server_error",
        "message": "That model is currently overloaded with other requests. " + _SUPPORT,
    },
    "content_filter": {
        "status": 400,
        "code": "content_filter",
        "param": "prompt",
        "type": None,
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management "
        "policy. Please modify your prompt and retry. To learn more about our content filtering policies please "
        "read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766",
        "inner": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": _SAFE,
                "jailbreak": {"filtered": False, "detected": False},
                "self_harm": _SAFE,
                "sexual": _SAFE,
                "violence": {"filtered": True, "severity": "medium"},
            },
        },
    },
}


def _rate_limit_message(view: RequestView, headers: dict[str, str]) -> str:
    seconds = headers.get("retry-after", "1")
    unit = "second" if seconds == "1" else "seconds"
    operation = _OPERATION_IDS.get(view.operation, "ChatCompletions_Create")
    return (
        f"Requests to the {operation} Operation under Azure OpenAI API version {view.api_version} have exceeded "
        f"call rate limit of your current OpenAI S0 pricing tier. Please retry after {seconds} {unit}. Please go "
        "here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."
    )


class _Error:
    def __init__(self, spec: ErrorSpec) -> None:
        given = {k: getattr(spec, k) for k in spec.model_fields_set - {"preset", "message", "headers"}}
        self.fields: dict[str, Any] = {**_PRESETS.get(spec.preset or "", {}), **given}
        self.fields.setdefault("status", 400)
        self.fields.setdefault("type", "server_error" if self.fields["status"] >= 500 else "invalid_request_error")
        self.headers = dict(spec.headers)
        if spec.preset == "rate_limit":
            seconds = self.headers.setdefault("retry-after", "1")
            self.headers.setdefault("retry-after-ms", str(int(float(seconds) * 1000)) if seconds.isdigit() else "1000")
        self.message = Text(spec.message) if spec.message is not None else None
        self.preset = spec.preset

    def build(self, names: dict[str, Any], view: RequestView, seed: int) -> ScriptedError:
        fields = dict(self.fields)
        if self.message is not None:
            message = self.message.render(names)
        elif self.preset == "rate_limit":
            message = _rate_limit_message(view, self.headers)
        else:
            request_id = "%08x-%04x-%04x-%04x-%012x" % _id_parts(seed)
            message = str(fields.get("message", "")).format(request_id=request_id)
        fields.pop("message", None)
        return ScriptedError(message, headers=dict(self.headers), **fields)


def _id_parts(seed: int) -> tuple[int, ...]:
    bits = (seed * 0x9E3779B97F4A7C15) & ((1 << 128) - 1)
    return (bits >> 96, (bits >> 80) & 0xFFFF, (bits >> 64) & 0xFFFF, (bits >> 48) & 0xFFFF, bits & (1 << 48) - 1)


# -- replies ----------------------------------------------------------------------------------------


class CompiledReply:
    """One reply of a rule (or a scenario's default), ready to build answers."""

    def __init__(self, spec: ReplySpec, base_dir: Path | None = None, where: str = "reply") -> None:
        self.spec = spec
        self.usage = UsageOverride(**spec.usage.model_dump()) if spec.usage is not None else None
        self.finish_reason = spec.finish_reason
        self.trip = _trip(spec.content_filter)
        self.single = _Choice(spec, None) if spec.choices is None and _is_choice(spec) else None
        self.choices = tuple(_Choice(c, spec.finish_reason, self.trip) for c in spec.choices or ())
        self.error = _Error(spec.error) if spec.error is not None else None
        self.delegate: Responder | None = None
        if spec.responder is not None:
            self.delegate = responders.create(spec.responder, spec.options)
        self.fixed = load_reply(_fixture(spec.fixture, base_dir, where)) if spec.fixture is not None else None
        self.vectors = _vectors(spec, base_dir, where)

    @property
    def responder_name(self) -> str | None:
        return self.spec.responder

    def build(self, conversation: Conversation, ctx: Context, bindings: Bindings) -> Reply:
        names = variables(conversation, ctx, bindings)
        if self.error is not None:
            raise self.error.build(names, bindings.view, conversation.seed)
        if self.single is not None:
            n = max(1, conversation.n)
            return Reply(tuple(self.single.build(conversation, names, i) for i in range(n)), usage=self.usage)
        if self.choices:
            built = tuple(c.build(conversation, names, i) for i, c in enumerate(self.choices))
            return Reply(built, usage=self.usage)
        if self.vectors is not None:
            return Reply((Choice(content=""),), usage=self.usage, embeddings=_embeddings(self.vectors, conversation))
        if self.fixed is not None:
            return self._overridden(self.fixed)
        assert self.delegate is not None  # the last kind: a responder
        return self._overridden(self.delegate.respond(conversation, ctx))

    def _overridden(self, reply: Reply) -> Reply:
        choices = reply.choices
        if self.finish_reason is not None:
            finish = self.finish_reason
            choices = tuple(dataclasses.replace(c, finish_reason=c.finish_reason or finish) for c in choices)
        if self.trip is not None:
            choices = tuple(_tripped(c, self.trip) for c in choices)
        return Reply(choices, usage=self.usage or reply.usage, embeddings=reply.embeddings)


def _is_choice(spec: ReplySpec) -> bool:
    return any(v is not None for v in (spec.text, spec.refusal, spec.tool_calls, spec.json_))


def _fixture(name: str, base_dir: Path | None, where: str) -> Path:
    found = find_fixture(name, base_dir)
    if found is None:
        raise ScenarioError([Problem("<scenario>", None, where, f"fixture {name!r} not found in the fixture folders")])
    return found


def _vectors(spec: ReplySpec, base_dir: Path | None, where: str) -> VectorFixture | None:
    if spec.embeddings is None:
        return None
    if spec.embeddings.vectors is not None:
        return VectorFixture(in_turn=tuple(tuple(v) for v in spec.embeddings.vectors))
    return read_vectors(_fixture(str(spec.embeddings.fixture), base_dir, f"{where}.embeddings"))


def _embeddings(fixture: VectorFixture, conversation: Conversation) -> tuple[tuple[float, ...], ...]:
    """One vector per input: by its text, else in turn; an input the fixture lacks gets the built-in vector."""
    texts = [m.text for m in conversation.messages if m.role == "user"] or [""]
    if fixture.in_turn:
        return tuple(fixture.in_turn[i % len(fixture.in_turn)] for i in range(len(texts)))
    dims = len(next(iter(fixture.by_input.values())))
    return tuple(fixture.by_input.get(t) or tuple(vector(t, dims)) for t in texts)
