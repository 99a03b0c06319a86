"""Request bodies of the inference operations, as strict pydantic models.

Strict types and ``extra="forbid"`` mirror the service: a string where a number belongs is an error, and
so is an argument it does not know ("Unrecognized request argument supplied"). Bounds follow the
2024-10-21 spec.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ChatRequest",
    "ChatMessage",
    "CompletionRequest",
    "EmbeddingRequest",
    "Tool",
    "FunctionDef",
    "StreamOptions",
]


Seed = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]  # a 64-bit signed integer, as the service takes it


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, defer_build=True)


class _Loose(BaseModel):
    """Nested objects whose extra keys the service passes over."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True, defer_build=True)


# -- message content parts -------------------------------------------------------------------------


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageUrl(_Strict):
    url: str
    detail: Literal["auto", "low", "high"] = "auto"


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageUrl


class InputAudio(_Strict):
    data: str
    format: Literal["wav", "mp3"]


class AudioPart(_Strict):
    type: Literal["input_audio"]
    input_audio: InputAudio


class FilePart(_Loose):
    type: Literal["file"]
    file: dict[str, Any]


class RefusalPart(_Strict):
    type: Literal["refusal"]
    refusal: str


UserPart = Annotated[Union[TextPart, ImagePart, AudioPart, FilePart], Field(discriminator="type")]
AssistantPart = Annotated[Union[TextPart, RefusalPart], Field(discriminator="type")]


# -- messages --------------------------------------------------------------------------------------


class FunctionCall(_Strict):
    name: str
    arguments: str


class ToolCall(_Strict):
    id: str
    type: Literal["function"]
    function: FunctionCall


class SystemMessage(_Strict):
    role: Literal["system"]
    content: str | list[TextPart]
    name: str | None = None


class DeveloperMessage(_Strict):
    role: Literal["developer"]
    content: str | list[TextPart]
    name: str | None = None


class UserMessage(_Strict):
    role: Literal["user"]
    content: str | list[UserPart]
    name: str | None = None


class AssistantMessage(_Strict):
    role: Literal["assistant"]
    content: str | list[AssistantPart] | None = None
    name: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None
    function_call: FunctionCall | None = None
    audio: dict[str, Any] | None = None
    context: dict[str, Any] | None = None  # Azure On Your Data citations sent back


class ToolMessage(_Strict):
    role: Literal["tool"]
    content: str | list[TextPart]
    tool_call_id: str
    name: str | None = None  # not in the spec, but OpenAI's own cookbook sends it and the service accepts it


class FunctionMessage(_Strict):
    role: Literal["function"]
    content: str | None
    name: str


ChatMessage = Annotated[
    Union[SystemMessage, DeveloperMessage, UserMessage, AssistantMessage, ToolMessage, FunctionMessage],
    Field(discriminator="role"),
]


# -- tools and formats -----------------------------------------------------------------------------


class FunctionDef(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(_Strict):
    type: Literal["function"]
    function: FunctionDef


class NamedFunction(_Strict):
    name: str


class NamedToolChoice(_Strict):
    type: Literal["function"]
    function: NamedFunction


class JsonSchemaFormat(_Strict):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")]
    description: str | None = None
    schema_: Annotated[dict[str, Any] | None, Field(alias="schema")] = None
    strict: bool | None = None


class TextFormat(_Strict):
    type: Literal["text"]


class JsonObjectFormat(_Strict):
    type: Literal["json_object"]


class JsonSchemaResponseFormat(_Strict):
    type: Literal["json_schema"]
    json_schema: JsonSchemaFormat


ResponseFormat = Annotated[
    Union[TextFormat, JsonObjectFormat, JsonSchemaResponseFormat], Field(discriminator="type")
]


class StreamOptions(_Strict):
    include_usage: bool | None = None
    include_obfuscation: bool | None = None


Stop = str | Annotated[list[str], Field(max_length=4)] | None
Temperature = Annotated[float, Field(ge=0, le=2)] | None
TopP = Annotated[float, Field(ge=0, le=1)] | None
Penalty = Annotated[float, Field(ge=-2, le=2)] | None
N = Annotated[int, Field(ge=1, le=128)] | None
MaxTokens = Annotated[int, Field(ge=1)] | None


# -- operations ------------------------------------------------------------------------------------


class ChatRequest(_Strict):
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    model: str | None = None
    temperature: Temperature = None
    top_p: TopP = None
    n: N = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    stop: Stop = None
    max_tokens: MaxTokens = None
    max_completion_tokens: MaxTokens = None
    presence_penalty: Penalty = None
    frequency_penalty: Penalty = None
    logit_bias: dict[str, int] | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20)] | None = None
    user: str | None = None
    seed: Seed | None = None
    tools: Annotated[list[Tool], Field(max_length=128)] | None = None
    tool_choice: Literal["none", "auto", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None
    functions: Annotated[list[FunctionDef], Field(max_length=128)] | None = None  # Azure documents 128, as tools
    function_call: Literal["none", "auto"] | NamedFunction | None = None
    response_format: ResponseFormat | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    reasoning_effort: Literal["minimal", "low", "medium", "high"] | None = None
    service_tier: str | None = None
    modalities: list[Literal["text", "audio"]] | None = None
    audio: dict[str, Any] | None = None
    prediction: dict[str, Any] | None = None
    data_sources: list[dict[str, Any]] | None = None
    user_security_context: dict[str, Any] | None = None
    web_search_options: dict[str, Any] | None = None
    verbosity: Literal["low", "medium", "high"] | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None


PromptInput = str | list[str] | list[int] | list[list[int]]


class CompletionRequest(_Strict):
    prompt: PromptInput = "<|endoftext|>"
    model: str | None = None
    max_tokens: Annotated[int, Field(ge=0)] | None = 16
    temperature: Temperature = None
    top_p: TopP = None
    n: N = None
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    logprobs: Annotated[int, Field(ge=0, le=5)] | None = None
    suffix: str | None = None
    echo: bool | None = None
    stop: Stop = None
    presence_penalty: Penalty = None
    frequency_penalty: Penalty = None
    best_of: Annotated[int, Field(ge=0, le=20)] | None = None
    logit_bias: dict[str, int] | None = None
    user: str | None = None
    seed: Seed | None = None


class EmbeddingRequest(_Strict):
    input: str | list[str] | list[int] | list[list[int]]
    model: str | None = None
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Field(ge=1)] | None = None
    user: str | None = None
    input_type: str | None = None
