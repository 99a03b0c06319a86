"""The ``match`` half of the scenario format: what a request must look like for a rule to answer.

Shorthands keep files short: ``message: "weather"`` means ``{contains: "weather", where: last_user}``,
``body: {temperature: 0}`` means ``{equals: 0}``, ``call: 2`` means ``{in: [2]}``, ``tools: [a, b]`` means
``{names: [a, b]}``. Regular expressions and JSON paths are checked here, so a broken one is a load error.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from aoai_mock.wire.operations import OPERATIONS

__all__ = [
    "OPERATION_ALIASES",
    "StrictModel",
    "exactly_one",
    "ValueMatch",
    "TextMatch",
    "ToolsMatch",
    "ToolResultMatch",
    "ResponseFormatMatch",
    "CallMatch",
    "Match",
]

# The operation names a file may use: the registry's names and their aliases (``chat``).
OPERATION_ALIASES: dict[str, str] = {alias: op.name for op in OPERATIONS.values() for alias in op.aliases}
Operation = Literal[tuple(sorted({*OPERATIONS, *OPERATION_ALIASES}))]  # type: ignore[valid-type]
WHERE = re.compile(r"^(last_user|last|system|any|role:[a-z_]+|index:-?\d+)$")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


def _scalar_text(value: Any) -> Any:
    """YAML reads 2024-10-21 as a date and 0125 as a number; a name is meant."""
    if isinstance(value, date | int | float) and not isinstance(value, bool):
        return value.isoformat() if isinstance(value, date) else str(value)
    return value


def _one_or_many(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    return [_scalar_text(v) for v in items]


Names = Annotated[list[str], BeforeValidator(_one_or_many, json_schema_input_type=str | list[str])]
Operations = Annotated[
    list[Operation], BeforeValidator(_one_or_many, json_schema_input_type=Operation | list[Operation])
]


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


def _json_path(path: str) -> str:
    try:
        _json_path(path)
    except Exception as exc:  # jsonpath-ng raises several kinds, some of them plain Exception
        raise ValueError(f"invalid JSON path {path!r}: {exc}") from None
    return path


JsonPath = Annotated[str, AfterValidator(_json_path)]
Pattern = Annotated[str, AfterValidator(_regex)]


def exactly_one(model: BaseModel, names: tuple[str, ...], what: str) -> None:
    given = [n for n in names if getattr(model, n) is not None]
    if len(given) != 1:
        shown = ", ".join(n.rstrip("_") for n in names)
        found = f"got {', '.join(g.rstrip('_') for g in given)}" if given else "got none"
        raise ValueError(f"{what} needs exactly one of: {shown} ({found})")


# -- matching ---------------------------------------------------------------------------------------


class ValueMatch(StrictModel):
    """A test on one value. A plain value (not a mapping) is short for ``{equals: value}``."""

    equals: Any = Field(None, description="The value, exactly (compare mappings this way too).")
    one_of: list[Any] | None = Field(None, alias="in", description="Any of these values.")
    contains: str | None = Field(None, description="The value, as text, contains this.")
    regex: Pattern | None = Field(None, description="The value, as text, matches this regular expression (search).")
    exists: bool | None = Field(None, description="true: the value is present; false: it is absent.")
    gt: float | None = Field(None, description="A number greater than this.")
    gte: float | None = Field(None, description="A number greater than or equal to this.")
    lt: float | None = Field(None, description="A number less than this.")
    lte: float | None = Field(None, description="A number less than or equal to this.")
    ignore_case: bool = Field(False, description="Compare text without regard to case.")

    @model_validator(mode="after")
    def _check(self) -> "ValueMatch":
        tests = self.model_fields_set - {"ignore_case"}
        if not tests:
            raise ValueError("a value test needs one of: equals, in, contains, regex, exists, gt, gte, lt, lte")
        return self


ValueTest = Annotated[
    ValueMatch,
    BeforeValidator(
        lambda v: v if isinstance(v, dict) else {"equals": v},
        json_schema_input_type=ValueMatch | str | float | bool | None | list[Any],
    ),
]


class TextMatch(StrictModel):
    """A test on message text. A plain string is short for ``{contains: string}``."""

    exact: str | None = Field(None, description="The whole text equals this (surrounding blanks ignored).")
    contains: str | None = Field(None, description="The text contains this.")
    regex: Pattern | None = Field(
        None, description="The text matches this regular expression (search); groups are kept for templates as `match`."
    )
    ignore_case: bool = Field(False, description="Compare without regard to case.")
    where: str = Field(
        "last_user",
        description="Which message: last_user, last, system (system and developer messages), any, "
        "role:<role> (any message of that role), index:<i> (the i-th message; negative counts from the end).",
        json_schema_extra={
            "pattern": WHERE.pattern,
            "examples": ["last_user", "system", "any", "role:assistant", "index:0"],
        },
    )


    @field_validator("where")
    @classmethod
    def _where(cls, value: str) -> str:
        if not WHERE.match(value):
            raise ValueError(f"where must be last_user, last, system, any, role:<role> or index:<i>, not {value!r}")
        return value

    @model_validator(mode="after")
    def _check(self) -> "TextMatch":
        exactly_one(self, ("exact", "contains", "regex"), "a message test")
        return self


def _text_tests(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    return [{"contains": v} if isinstance(v, str) else v for v in items]


TextTests = Annotated[
    list[TextMatch],
    BeforeValidator(_text_tests, json_schema_input_type=str | TextMatch | list[str | TextMatch]),
]


class ToolsMatch(StrictModel):
    """The tools a request offers. ``true``/``false`` is short for ``{present: ...}``, a list for ``{names: ...}``."""

    present: bool | None = Field(None, description="true: the request offers tools; false: it offers none.")
    names: Names | None = Field(None, description="The request offers every one of these tools (by function name).")
    choice: str | None = Field(
        None, description="The request's tool_choice: auto, none, required, or the name of the forced function."
    )



class ToolResultMatch(StrictModel):
    """Tool results in the request: ``role: tool`` messages after the last user message (or anywhere).

    ``true`` is short for ``{present: true}``, ``false`` for ``{present: false}``, a string for ``{name: ...}``.
    """

    present: bool = Field(True, description="true: such a result is there; false: none is.")
    name: str | None = Field(None, description="The result answers a call of this function.")
    tool_call_id: str | None = Field(None, description="The result answers the tool call with this id.")
    anywhere: bool = Field(False, description="Look at the whole conversation, not only after the last user message.")



class ResponseFormatMatch(StrictModel):
    """The request's ``response_format``. A string is short for ``{type: ...}``."""

    type: Literal["text", "json_object", "json_schema"] = Field(description="The response_format type.")
    name: str | None = Field(None, description="For json_schema: the schema's name.")



class CallMatch(StrictModel):
    """The request's number in the scenario (1 for the first since loading or reset).

    A number is short for ``{in: [number]}``, a list for ``{in: list}``.
    """

    one_of: list[Annotated[int, Field(ge=1)]] | None = Field(None, alias="in", description="One of these numbers.")
    min: int | None = Field(None, ge=1, description="At least this number.")
    max: int | None = Field(None, ge=1, description="At most this number.")
    every: int | None = Field(None, ge=1, description="A multiple of this number (every 3rd call: 3).")



def _tools(value: Any) -> Any:
    if isinstance(value, bool):
        return {"present": value}
    return {"names": value} if isinstance(value, str | list) else value


def _tool_result(value: Any) -> Any:
    if isinstance(value, bool):
        return {"present": value}
    return {"name": value} if isinstance(value, str) else value


def _response_format(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


def _call(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return {"in": [value]}
    return {"in": value} if isinstance(value, list) else value


ToolsTest = Annotated[ToolsMatch, BeforeValidator(_tools, json_schema_input_type=ToolsMatch | bool | str | list[str])]
ToolResultTest = Annotated[
    ToolResultMatch, BeforeValidator(_tool_result, json_schema_input_type=ToolResultMatch | bool | str)
]
ResponseFormatTest = Annotated[
    ResponseFormatMatch,
    BeforeValidator(
        _response_format,
        json_schema_input_type=ResponseFormatMatch | Literal["text", "json_object", "json_schema"],
    ),
]
CallTest = Annotated[CallMatch, BeforeValidator(_call, json_schema_input_type=CallMatch | int | list[int])]


class Match(StrictModel):
    """What a request must look like for the rule to answer. Every test given must hold; none given: any request."""

    operation: Operations | None = Field(
        None, description="The operation(s): chat (chat.completions), completions, embeddings, ..."
    )
    deployment: Names | None = Field(None, description="The deployment name(s), as in the URL.")
    api_version: Names | None = Field(None, description="The api-version value(s).")
    headers: dict[str, ValueTest] | None = Field(
        None, description="Request headers by name (any case) and their tests."
    )
    message: TextTests | None = Field(None, description="Tests on message text; a list means all of them.")
    tools: ToolsTest | None = Field(None, description="The tools the request offers.")
    tool_result: ToolResultTest | None = Field(None, description="A tool result in the conversation.")
    response_format: ResponseFormatTest | None = Field(None, description="The requested response format.")
    body: dict[JsonPath, ValueTest] | None = Field(
        None, description="Any body field by JSON path (`temperature`, `$.messages[0].role`, `tools[*].function.name`)."
    )
    call: CallTest | None = Field(None, description="The request's number in the scenario (for sequences by count).")

    @field_validator("headers")
    @classmethod
    def _lower(cls, value: dict[str, ValueMatch] | None) -> dict[str, ValueMatch] | None:
        return {k.lower(): v for k, v in value.items()} if value else value


def _json_path(path: str) -> Any:
    """A parsed JSONPath (jsonpath-ng, imported with the first rule that has one)."""
    from jsonpath_ng.ext import parse

    return parse(path)
