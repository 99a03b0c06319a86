"""The scenario file format, as pydantic models; ``aoai-mock schema`` publishes it as JSON Schema.

A scenario is a YAML file: optional deployments, a default answer, and ordered rules. The first rule
whose ``match`` (see ``match_schema``) fits a request answers it with its ``reply`` (or the next of its
``replies``). Templates are checked here, so a broken one is a load error with a line number.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from aoai_mock.behaviour import responders
from aoai_mock.behaviour.scenarios.fault_schema import (
    FaultEntry,
    FaultSpec,
    HeaderSwitches,
    Window,
    unique_ids,
)
from aoai_mock.behaviour.scenarios.match_schema import (
    OPERATION_ALIASES,
    CallMatch,
    Match,
    ResponseFormatMatch,
    StrictModel,
    TextMatch,
    ToolResultMatch,
    ToolsMatch,
    ValueMatch,
    exactly_one,
)
from aoai_mock.behaviour.scenarios.runs_schema import RunsSpec
from aoai_mock.behaviour.scenarios.templating import check_text, check_value
from aoai_mock.config import Deployment

__all__ = [
    "OPERATION_ALIASES",
    "ValueMatch",
    "TextMatch",
    "ToolsMatch",
    "ToolResultMatch",
    "ResponseFormatMatch",
    "CallMatch",
    "Match",
    "ToolCallSpec",
    "ChoiceSpec",
    "ContentFilterTrip",
    "ErrorSpec",
    "EmbeddingsSpec",
    "UsageSpec",
    "ReplySpec",
    "Rule",
    "Scenario",
    "ERROR_PRESETS",
    "REPLY_KINDS",
    "FaultEntry",
    "FaultSpec",
    "HeaderSwitches",
    "Window",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]
ERROR_PRESETS = ("rate_limit", "server_error", "overloaded", "content_filter")


# -- replies ----------------------------------------------------------------------------------------

Template = Annotated[str, BeforeValidator(lambda v: check_text(v) if isinstance(v, str) else v)]


class ToolCallSpec(StrictModel):
    """One tool call the model makes."""

    name: str = Field(description="The function to call.")
    arguments: Any = Field(
        "generate",
        description="The arguments: a mapping (its strings may be templates), or `generate` for a deterministic "
        "instance of the tool's parameter schema from the request.",
        json_schema_extra={"anyOf": [{"const": "generate"}, {"type": "object"}]},
    )
    id: str | None = Field(None, description="The call id; by default derived from the request.")

    @field_validator("arguments")
    @classmethod
    def _arguments(cls, value: Any) -> Any:
        if value != "generate" and not isinstance(value, dict):
            raise ValueError("arguments must be a mapping or `generate`")
        return check_value(value)


class ContentFilterTrip(StrictModel):
    """The completion trips a content-filter category: cut after its first sentence (at its start when it has
    one sentence only), ``finish_reason: content_filter``, the category marked, when the deployment's filter
    filters it (a harm severity at or over the threshold; a model set to block or off); else only annotated."""

    category: Literal[
        "hate", "self_harm", "sexual", "violence", "profanity", "protected_material_text", "protected_material_code"
    ] = Field(description="The category the completion trips.")
    severity: Literal["low", "medium", "high"] = Field("high", description="For hate, self_harm, sexual, violence.")
    filtered: bool | None = Field(None, description="Filtered or only annotated; by default the deployment decides.")
    citation: dict[str, str] | None = Field(
        None, description="For protected_material_code: `{URL: ..., license: ...}`."
    )


class ChoiceSpec(StrictModel):
    """One answer: exactly one of text, refusal, tool_calls, json."""

    text: Template | None = Field(
        None, description="The answer's text; a Jinja template (`{{ last_user }}`, `{{ match.city }}`, ...)."
    )
    refusal: Template | None = Field(None, description="A refusal (the message's `refusal` field), also a template.")
    tool_calls: list[ToolCallSpec] | None = Field(None, min_length=1, description="Tool calls, in order.")
    json_: Any = Field(
        None,
        alias="json",
        description="A JSON answer: `from_schema` (an instance of the request's json_schema response format) or a "
        "value whose strings may be templates (`\"{{ match.age | int }}\"` keeps the integer).",
    )
    finish_reason: FinishReason | None = Field(None, description="The finish_reason; by default the operation decides.")
    content_filter: ContentFilterTrip | None = Field(
        None, description="The answer trips this content-filter category (cut and marked, or only annotated)."
    )

    _KINDS: ClassVar[tuple[str, ...]] = ("text", "refusal", "tool_calls", "json_")

    @field_validator("json_")
    @classmethod
    def _json(cls, value: Any) -> Any:
        return value if value == "from_schema" else check_value(value)

    @model_validator(mode="after")
    def _check(self) -> "ChoiceSpec":
        exactly_one(self, self._KINDS, "a choice")
        return self


class ErrorSpec(StrictModel):
    """An error response. A preset fills in Azure's usual status, code, message and headers; fields given win."""

    preset: Literal[ERROR_PRESETS] | None = Field(  # type: ignore[valid-type]
        None, description="rate_limit (429, retry-after), server_error (500), overloaded (503), content_filter (400)."
    )
    status: int | None = Field(None, ge=400, le=599, description="The HTTP status (400 unless a preset says).")
    code: str | None = Field(None, description="error.code")
    message: Template | None = Field(None, description="error.message, a template.")
    param: str | None = Field(None, description="error.param")
    type: str | None = Field(None, description="error.type (invalid_request_error for 4xx, server_error for 5xx).")
    inner: dict[str, Any] | None = Field(None, description="error.innererror, e.g. content filter results.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra response headers (retry-after, ...).")
    gateway: bool | None = Field(None, description="The gateway's short body, {code, message} (as for 401, 404, 429).")

    @model_validator(mode="after")
    def _check(self) -> "ErrorSpec":
        if self.preset is None and self.message is None:
            raise ValueError("an error needs a message or a preset")
        return self


class EmbeddingsSpec(StrictModel):
    """Embedding vectors to answer with, one per input (reused in turn when there are more inputs)."""

    fixture: str | None = Field(
        None, description="A JSON file in fixtures/: a vector, a list of vectors, or an embeddings response body."
    )
    vectors: list[list[float]] | None = Field(None, min_length=1, description="The vectors, inline.")

    @model_validator(mode="after")
    def _check(self) -> "EmbeddingsSpec":
        exactly_one(self, ("fixture", "vectors"), "embeddings")
        return self


class UsageSpec(StrictModel):
    """Token counts to report instead of the counted ones; fields left out stay counted."""

    prompt_tokens: int | None = Field(None, ge=0)
    completion_tokens: int | None = Field(None, ge=0)
    reasoning_tokens: int | None = Field(None, ge=0)


class ReplySpec(ChoiceSpec):
    """What a rule answers: exactly one of text, refusal, tool_calls, json, choices, fixture, embeddings, error,
    responder; plus finish_reason and usage."""

    choices: list[ChoiceSpec] | None = Field(None, min_length=1, description="Several choices (for `n`), in order.")
    fixture: str | None = Field(
        None,
        description="A canned answer from fixtures/: .txt text, or .json/.yaml with `choices` (as the fixture "
        "responder).",
    )
    embeddings: EmbeddingsSpec | None = Field(None, description="Vectors for an embeddings request.")
    error: ErrorSpec | None = Field(None, description="Answer with this error instead.")
    responder: str | None = Field(None, description="Let a built-in responder answer: echo, generated, fixture.")
    options: dict[str, Any] = Field(default_factory=dict, description="Options for the responder.")
    usage: UsageSpec | None = Field(None, description="Token counts to report.")

    _KINDS: ClassVar[tuple[str, ...]] = (
        *ChoiceSpec._KINDS, "choices", "fixture", "embeddings", "error", "responder"
    )

    @field_validator("responder")
    @classmethod
    def _responder(cls, value: str | None) -> str | None:
        if value is not None and value not in responders.names():
            raise ValueError(f"unknown responder {value!r}; known: {', '.join(responders.names())}")
        return value

    @model_validator(mode="after")
    def _check(self) -> "ReplySpec":
        exactly_one(self, self._KINDS, "a reply")
        if self.options and self.responder is None:
            raise ValueError("options are for a responder: add `responder: <name>`")
        if self.content_filter is not None and (self.error is not None or self.embeddings is not None):
            raise ValueError("content_filter is for answers with text, not for errors or embeddings")
        return self


# -- rules and scenarios ----------------------------------------------------------------------------


class Rule(StrictModel):
    """A request pattern and what answers it."""

    name: str | None = Field(None, description="A name for logs and near-miss messages (default: `rule <n>`).")
    description: str | None = Field(None, description="What the rule is for.")
    match: Match = Field(default_factory=Match, description="What the request must look like; empty: anything.")
    reply: ReplySpec | None = Field(None, description="The answer.")
    replies: list[ReplySpec] | None = Field(None, min_length=1, description="Answers in turn, one per matching call.")
    then: Literal["repeat_last", "cycle", "fall_through"] = Field(
        "repeat_last",
        description="When `replies` run out: repeat_last, cycle (start again), fall_through (let later rules answer).",
    )
    times: int | None = Field(None, ge=1, description="Answer at most this many times, then let later rules answer.")

    @model_validator(mode="after")
    def _check(self) -> "Rule":
        exactly_one(self, ("reply", "replies"), "a rule")
        return self


class Scenario(StrictModel):
    """A scenario: deployments, a default answer, and rules tried in order (the first match answers)."""

    name: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="The scenario's name (default: the file name)."
    )
    description: str = Field("", description="What the scenario shows or tests.")
    deployments: list[Deployment] = Field(
        default_factory=list, description="Deployments to serve while active; same shape as in the config file."
    )
    default: ReplySpec | None = Field(
        None,
        description="The answer when no rule matches and on_no_match is `default`, e.g. `{responder: echo}` or "
        "`{responder: generated, options: {...}}`. Without one the deployment's own responder answers.",
    )
    on_no_match: Literal["default", "error"] = Field(
        "default", description="error: no rule matched is a 400 that names the nearest rules and why each missed."
    )
    rules: list[Rule] = Field(default_factory=list, description="Tried in order; the first that matches answers.")
    faults: list[FaultEntry] = Field(
        default_factory=list,
        description="A fault plan, installed while the scenario is active: 429s, 5xx, delays, hangs, dropped "
        "connections, cut or broken streams, each with a schedule (next, every, after, window, probability) and a "
        "scope (deployment, operation, stream, match). Faults come before rules: a faulted request uses no reply.",
    )
    runs: RunsSpec | None = Field(
        None,
        description="How assistant runs move through their lifecycle while the scenario is active: after how many "
        "polls or seconds they finish, and how (completed, failed, expired, incomplete); per assistant name too.",
    )

    _source: str | None = PrivateAttr(None)
    _base_dir: Any = PrivateAttr(None)

    @property
    def source(self) -> str | None:
        """The file it was loaded from, if any."""
        return self._source

    @property
    def base_dir(self) -> Any:
        """The folder its fixtures are looked up from (the file's folder), if any."""
        return self._base_dir

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[Rule]) -> list[Rule]:
        names = [r.name for r in rules if r.name]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(doubled)}")
        return rules

    @field_validator("faults")
    @classmethod
    def _unique_faults(cls, faults: list[FaultEntry]) -> list[FaultEntry]:
        return unique_ids(faults)

    @field_validator("deployments")
    @classmethod
    def _unique_deployments(cls, deployments: list[Deployment]) -> list[Deployment]:
        names = [d.name for d in deployments]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"deployment names must be unique; repeated: {', '.join(doubled)}")
        return deployments

    def rule_name(self, index: int) -> str:
        return self.rules[index].name or f"rule {index + 1}"


REPLY_KINDS = ReplySpec._KINDS
