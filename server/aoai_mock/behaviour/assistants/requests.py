"""Request bodies of the assistants, threads, runs and vector stores APIs, as pydantic models.

Unknown fields are refused (``Unrecognized request argument supplied: x``) and wrong types or values get the
service's wording, through :func:`aoai_mock.wire.validation.validate`. The shapes follow the 2024-05-01-preview
and 2025-03-01-preview specs, plus what the openai SDK sends (content parts, ``parallel_tool_calls``, ...).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from aoai_mock.wire.requests import JsonObjectFormat, JsonSchemaResponseFormat, TextFormat

__all__ = [
    "Strict",
    "choice_wire",
    "Tool",
    "FunctionTool",
    "ToolResources",
    "CreateAssistant",
    "ModifyAssistant",
    "CreateMessage",
    "ModifyMessage",
    "CreateThread",
    "ModifyThread",
    "RunOptions",
    "CreateRun",
    "CreateThreadAndRun",
    "SubmitToolOutputs",
    "ModifyRun",
    "Chunking",
    "CreateVectorStore",
    "UpdateVectorStore",
    "CreateVectorStoreFile",
    "UpdateVectorStoreFile",
    "CreateFileBatch",
    "SearchVectorStore",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, defer_build=True)  # JSON types as JSON has them: "1" is not 1


Metadata = dict[str, Any] | None  # checked by objects.check_metadata, in the service's words


# -- tools ------------------------------------------------------------------------------------------


class CodeInterpreterTool(Strict):
    type: Literal["code_interpreter"]


class FileSearchOptions(Strict):
    max_num_results: int | None = Field(None, ge=1, le=50)
    ranking_options: dict[str, Any] | None = None


class FileSearchTool(Strict):
    type: Literal["file_search"]
    file_search: FileSearchOptions | None = None


class FunctionDefinition(Strict):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class FunctionTool(Strict):
    type: Literal["function"]
    function: FunctionDefinition


Tool = Annotated[CodeInterpreterTool | FileSearchTool | FunctionTool, Field(discriminator="type")]


class CodeInterpreterResources(Strict):
    file_ids: list[str] = Field(default_factory=list, max_length=20)


class NewVectorStore(Strict):
    """``tool_resources.file_search.vector_stores[0]``: a vector store made on the spot."""

    file_ids: list[str] = Field(default_factory=list, max_length=10000)
    metadata: Metadata = None
    chunking_strategy: Chunking | None = None


class FileSearchResources(Strict):
    vector_store_ids: list[str] | None = Field(None, max_length=1)
    vector_stores: list[NewVectorStore] | None = Field(None, max_length=1)


class ToolResources(Strict):
    code_interpreter: CodeInterpreterResources | None = None
    file_search: FileSearchResources | None = None


_BARE = ("auto", "none", "required")  # the choices a string names


def _named(value: Any) -> Any:
    """A bare string is the object of that type (``"auto"`` is ``{"type": "auto"}``): one shape, plain errors."""
    return {"type": value} if isinstance(value, str) else value


def choice_wire(value: BaseModel) -> Any:
    """A response format or tool choice as the API shows it: ``"auto"``, ``"none"``, ``"required"`` as strings."""
    data = value.model_dump(exclude_none=True, by_alias=True)  # json_schema's `schema`, not `schema_`
    return data["type"] if set(data) == {"type"} and data["type"] in _BARE else data


class AutoFormat(Strict):
    type: Literal["auto"]


# chat's text, json_object and json_schema formats (json_schema needs its `json_schema`, named, schema an object)
ResponseFormat = Annotated[
    AutoFormat | TextFormat | JsonObjectFormat | JsonSchemaResponseFormat,
    Field(discriminator="type"),
    BeforeValidator(_named),
]


class NamedFunction(Strict):
    name: str


class NamedToolChoice(Strict):
    type: Literal["none", "auto", "required", "function", "code_interpreter", "file_search"]
    function: NamedFunction | None = None


ToolChoice = Annotated[NamedToolChoice, BeforeValidator(_named)]


class Truncation(Strict):
    type: Literal["auto", "last_messages"]
    last_messages: int | None = Field(None, ge=1)


# -- assistants -------------------------------------------------------------------------------------


class _AssistantFields(Strict):
    name: str | None = Field(None, max_length=256)
    description: str | None = Field(None, max_length=512)
    instructions: str | None = Field(None, max_length=256000)
    tools: list[Tool] | None = Field(None, max_length=128)
    tool_resources: ToolResources | None = None
    metadata: Metadata = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    response_format: ResponseFormat | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None


class CreateAssistant(_AssistantFields):
    model: str


class ModifyAssistant(_AssistantFields):
    model: str | None = None


# -- threads and messages ---------------------------------------------------------------------------


class TextPart(Strict):
    type: Literal["text"]
    text: str


class ImageFileRef(Strict):
    file_id: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageFilePart(Strict):
    type: Literal["image_file"]
    image_file: ImageFileRef


class ImageUrlRef(Strict):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImageUrlPart(Strict):
    type: Literal["image_url"]
    image_url: ImageUrlRef


ContentPart = Annotated[TextPart | ImageFilePart | ImageUrlPart, Field(discriminator="type")]


class FileSearchTypeOnly(Strict):
    type: Literal["file_search"]


AttachmentTool = Annotated[CodeInterpreterTool | FileSearchTypeOnly, Field(discriminator="type")]


class Attachment(Strict):
    file_id: str
    tools: list[AttachmentTool] = Field(default_factory=list)


class CreateMessage(Strict):
    role: Literal["user", "assistant"]
    content: str | list[ContentPart]
    attachments: list[Attachment] | None = None
    metadata: Metadata = None


class ModifyMessage(Strict):
    metadata: Metadata = None


class CreateThread(Strict):
    messages: list[CreateMessage] | None = None
    tool_resources: ToolResources | None = None
    metadata: Metadata = None


class ModifyThread(Strict):
    tool_resources: ToolResources | None = None
    metadata: Metadata = None


# -- runs -------------------------------------------------------------------------------------------


class RunOptions(Strict):
    model: str | None = None
    instructions: str | None = None
    tools: list[Tool] | None = Field(None, max_length=128)
    metadata: Metadata = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    stream: bool | None = None
    max_prompt_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    truncation_strategy: Truncation | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    reasoning_effort: Literal["low", "medium", "high"] | None = None


class CreateRun(RunOptions):
    assistant_id: str
    additional_instructions: str | None = None
    additional_messages: list[CreateMessage] | None = None


class CreateThreadAndRun(RunOptions):
    assistant_id: str
    thread: CreateThread | None = None
    tool_resources: ToolResources | None = None
    stream_options: dict[str, Any] | None = None


class ToolOutput(Strict):
    tool_call_id: str | None = None
    output: str | None = None


class SubmitToolOutputs(Strict):
    tool_outputs: list[ToolOutput]
    stream: bool | None = None


class ModifyRun(Strict):
    metadata: Metadata = None


# -- vector stores ----------------------------------------------------------------------------------


class StaticChunkingSizes(Strict):
    max_chunk_size_tokens: int = Field(ge=100, le=4096)
    chunk_overlap_tokens: int = Field(ge=0)


class AutoChunking(Strict):
    type: Literal["auto"]


class StaticChunking(Strict):
    type: Literal["static"]
    static: StaticChunkingSizes


Chunking = Annotated[AutoChunking | StaticChunking, Field(discriminator="type")]


class ExpiresAfter(Strict):
    anchor: Literal["last_active_at"]
    days: int = Field(ge=1, le=365)


class CreateVectorStore(Strict):
    file_ids: list[str] | None = Field(None, max_length=500)
    name: str | None = None
    expires_after: ExpiresAfter | None = None
    chunking_strategy: Chunking | None = None
    metadata: Metadata = None


class UpdateVectorStore(Strict):
    name: str | None = None
    expires_after: ExpiresAfter | None = None
    metadata: Metadata = None


Attributes = dict[str, str | float | bool] | None


class CreateVectorStoreFile(Strict):
    file_id: str
    chunking_strategy: Chunking | None = None
    attributes: Attributes = None


class UpdateVectorStoreFile(Strict):
    attributes: Attributes


class CreateFileBatch(Strict):
    file_ids: list[str] = Field(min_length=1, max_length=500)
    chunking_strategy: Chunking | None = None
    attributes: Attributes = None


class RankingOptions(Strict):
    ranker: Literal["auto", "default-2024-11-15"] | None = None
    score_threshold: float | None = Field(None, ge=0, le=1)


class SearchVectorStore(Strict):
    query: str | list[str]
    rewrite_query: bool | None = None
    max_num_results: int = Field(10, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: RankingOptions | None = None


NewVectorStore.model_rebuild()
