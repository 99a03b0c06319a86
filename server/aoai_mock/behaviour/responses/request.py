"""The body of ``POST /responses`` as strict pydantic models, in the service's terms.

Strict types and ``extra="forbid"``, as for chat: a string where a number belongs, or an argument the
service does not know, is the 400 ``wire/validation.py`` words ("Unrecognized request argument supplied").
Input messages may leave out ``type`` (the SDK's "easy input message"); it is filled in as ``message``
before validation so every item is told apart by ``type``.

Only function tools are modelled: the mock cannot run web search, file search, code or a computer, and
says so (``Invalid value: 'web_search_preview'. Supported values are: 'function'.``) rather than pretend.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "ResponsesRequest",
    "MessageItem",
    "FunctionCallItem",
    "FunctionCallOutputItem",
    "ReasoningItem",
    "ItemReference",
    "InputItem",
    "FunctionTool",
    "FunctionChoice",
    "JsonSchemaFormat",
]

Status = Literal["in_progress", "completed", "incomplete"]


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True, defer_build=True)


class _Loose(BaseModel):
    """Objects the SDK hands back as they came (output parts, reasoning items): extra keys pass."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, defer_build=True)


# -- content parts ------------------------------------------------------------------------------------


class InputText(_Strict):
    type: Literal["input_text"]
    text: str


class InputImage(_Strict):
    type: Literal["input_image"]
    image_url: str | None = None
    file_id: str | None = None
    detail: Literal["low", "high", "auto"] = "auto"


class InputFile(_Strict):
    type: Literal["input_file"]
    file_id: str | None = None
    file_data: str | None = None
    file_url: str | None = None
    filename: str | None = None


class OutputText(_Loose):
    type: Literal["output_text"]
    text: str
    annotations: list[Any] = Field(default_factory=list)


class RefusalPart(_Strict):
    type: Literal["refusal"]
    refusal: str


Part = Annotated[
    InputText | InputImage | InputFile | OutputText | RefusalPart, Field(discriminator="type")
]

# -- input items --------------------------------------------------------------------------------------


class MessageItem(_Strict):
    type: Literal["message"]
    role: Literal["user", "assistant", "system", "developer"]
    content: str | list[Part]
    id: str | None = None
    status: Status | None = None


class FunctionCallItem(_Strict):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: Status | None = None


class FunctionCallOutputItem(_Strict):
    type: Literal["function_call_output"]
    call_id: str
    output: str
    id: str | None = None
    status: Status | None = None


class ReasoningItem(_Loose):
    """A reasoning item handed back (``input += response.output``): kept, never shown to the responder."""

    type: Literal["reasoning"]
    id: str
    summary: list[Any] = Field(default_factory=list)


class ItemReference(_Strict):
    """An item the service keeps (an earlier stored response's input or output item), named by its id: what the
    AI SDK sends for earlier reasoning, calls and messages when ``store`` is on."""

    type: Literal["item_reference"]
    id: str


InputItem = Annotated[
    MessageItem | FunctionCallItem | FunctionCallOutputItem | ReasoningItem | ItemReference,
    Field(discriminator="type"),
]

# -- tools and formats --------------------------------------------------------------------------------

Name = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]


class FunctionTool(_Strict):
    type: Literal["function"]
    name: Name
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionChoice(_Strict):
    type: Literal["function"]
    name: str


class TextFormat(_Strict):
    type: Literal["text"]


class JsonObjectFormat(_Strict):
    type: Literal["json_object"]


class JsonSchemaFormat(_Strict):
    type: Literal["json_schema"]
    name: Name
    schema_: Annotated[dict[str, Any], Field(alias="schema")]
    description: str | None = None
    strict: bool | None = None


class TextConfig(_Strict):
    format: Annotated[TextFormat | JsonObjectFormat | JsonSchemaFormat, Field(discriminator="type")] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None


class ReasoningConfig(_Strict):
    effort: Literal["minimal", "low", "medium", "high"] | None = None
    summary: Literal["auto", "concise", "detailed"] | None = None
    generate_summary: Literal["auto", "concise", "detailed"] | None = None


class StreamOptions(_Strict):
    include_obfuscation: bool | None = None


# -- the request --------------------------------------------------------------------------------------


class ResponsesRequest(_Strict):
    model: str
    input: str | list[InputItem]
    instructions: str | None = None
    previous_response_id: str | None = None
    store: bool | None = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    tools: list[FunctionTool] | None = None
    tool_choice: Literal["none", "auto", "required"] | FunctionChoice | None = None
    parallel_tool_calls: bool | None = None
    max_output_tokens: Annotated[int, Field(ge=16)] | None = None
    max_tool_calls: Annotated[int, Field(ge=1)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    text: TextConfig | None = None
    reasoning: ReasoningConfig | None = None
    truncation: Literal["auto", "disabled"] | None = None
    metadata: Annotated[dict[str, Annotated[str, Field(max_length=512)]], Field(max_length=16)] | None = None
    include: list[str] | None = None
    user: str | None = None
    background: bool | None = None
    service_tier: Literal["auto", "default", "flex", "priority"] | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _message_type(cls, data: Any) -> Any:
        """Items with a ``role`` and no ``type`` are messages (the SDK's easy input messages)."""
        items = data.get("input") if isinstance(data, Mapping) else None
        if not isinstance(items, list) or not any(_untyped_message(i) for i in items):
            return data
        filled = [{**i, "type": "message"} if _untyped_message(i) else i for i in items]
        return {**data, "input": filled}


def _untyped_message(item: Any) -> bool:
    return isinstance(item, Mapping) and "type" not in item and "role" in item
