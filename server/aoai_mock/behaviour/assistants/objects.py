"""Assistants: create, retrieve, modify, delete, list; and the tools and tool resources they (and threads) carry.

An assistant's ``model`` is a deployment name, as on Azure: it must name a chat deployment the mock serves
(configured, or declared by the active scenario), else the service's 400. ``tool_resources.file_search
.vector_stores`` makes a vector store on the spot, as the API's helper does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aoai_mock.behaviour.assistants.common import (
    ASSISTANT,
    Doc,
    ListQuery,
    check_metadata,
    deleted,
    list_body,
    new_id,
    now,
    public,
    require,
)
from aoai_mock.behaviour.assistants.requests import (
    CreateAssistant,
    CreateVectorStore,
    ModifyAssistant,
    Tool,
    ToolResources,
    choice_wire,
)
from aoai_mock.behaviour.assistants.vector_stores import STORE, create_store
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire import api_versions as av

__all__ = [
    "tools_wire",
    "resources_wire",
    "model_deployment",
    "create_assistant",
    "retrieve_assistant",
    "modify_assistant",
    "delete_assistant",
    "list_assistants",
]


def tools_wire(tools: Sequence[Tool] | None) -> list[Doc]:
    return [tool.model_dump(exclude_none=True) for tool in tools or ()]


async def resources_wire(runtime: Runtime, given: ToolResources | None, current: Doc | None = None) -> Doc:
    """``tool_resources`` as stored: the parts given replace the current ones; new vector stores are made."""
    out: Doc = dict(current or {})
    if given is None:
        return out
    if given.code_interpreter is not None:
        for file_id in given.code_interpreter.file_ids:
            await require(runtime, "file", file_id, "file")
        out["code_interpreter"] = {"file_ids": list(given.code_interpreter.file_ids)}
    search = given.file_search
    if search is not None:
        if search.vector_store_ids is not None and search.vector_stores is not None:
            raise InvalidRequest(
                "Invalid 'tool_resources.file_search': give either 'vector_store_ids' or 'vector_stores', not both.",
                param="tool_resources.file_search",
                code="invalid_value",
            )
        ids = list(search.vector_store_ids or ())
        for vs_id in ids:
            await require(runtime, STORE, vs_id, "vector store")
        for new in search.vector_stores or ():
            made = await create_store(runtime, CreateVectorStore(**new.model_dump(exclude_none=True)))
            ids.append(made["id"])
        out["file_search"] = {"vector_store_ids": ids}
    return out


def model_deployment(runtime: Runtime, name: str, scenario: str | None = None) -> Deployment:
    """The chat deployment an assistant or run names as its model, or the service's 400."""
    found = runtime.deployment(name, scenario)
    if found is None or av.CHAT not in found.operations:
        raise InvalidRequest(f"The requested model '{name}' does not exist.", param="model", code="model_not_found")
    return found


def _response_format(value: Any) -> Any:
    return "auto" if value is None else choice_wire(value)


async def create_assistant(runtime: Runtime, request: CreateAssistant, scenario: str | None = None) -> Doc:
    check_metadata(request.metadata)
    model_deployment(runtime, request.model, scenario)
    doc: Doc = {
        "id": await new_id(runtime, "asst_"),
        "object": "assistant",
        "created_at": now(runtime),
        "name": request.name,
        "description": request.description,
        "model": request.model,
        "instructions": request.instructions,
        "tools": tools_wire(request.tools),
        "tool_resources": await resources_wire(runtime, request.tool_resources),
        "metadata": request.metadata or {},
        "top_p": 1.0 if request.top_p is None else request.top_p,
        "temperature": 1.0 if request.temperature is None else request.temperature,
        "response_format": _response_format(request.response_format),
    }
    if request.reasoning_effort is not None:
        doc["reasoning_effort"] = request.reasoning_effort
    await runtime.store.put(ASSISTANT, doc)
    return public(doc)


async def retrieve_assistant(runtime: Runtime, assistant_id: str) -> Doc:
    return public(await require(runtime, ASSISTANT, assistant_id, "assistant"))


async def modify_assistant(
    runtime: Runtime, assistant_id: str, request: ModifyAssistant, scenario: str | None = None
) -> Doc:
    """The fields given replace the assistant's (``tool_resources`` part by part)."""
    doc = await require(runtime, ASSISTANT, assistant_id, "assistant")
    check_metadata(request.metadata)
    given = request.model_fields_set
    if request.model is not None:
        model_deployment(runtime, request.model, scenario)
        doc["model"] = request.model
    for name in ("name", "description", "instructions", "reasoning_effort"):
        if name in given:
            doc[name] = getattr(request, name)
    if "tools" in given:
        doc["tools"] = tools_wire(request.tools)
    if "tool_resources" in given:
        doc["tool_resources"] = await resources_wire(runtime, request.tool_resources, doc.get("tool_resources"))
    if "metadata" in given:
        doc["metadata"] = request.metadata or {}
    if "temperature" in given:
        doc["temperature"] = 1.0 if request.temperature is None else request.temperature
    if "top_p" in given:
        doc["top_p"] = 1.0 if request.top_p is None else request.top_p
    if "response_format" in given:
        doc["response_format"] = _response_format(request.response_format)
    await runtime.store.put(ASSISTANT, doc)
    return public(doc)


async def delete_assistant(runtime: Runtime, assistant_id: str) -> Doc:
    await require(runtime, ASSISTANT, assistant_id, "assistant")
    await runtime.store.delete(ASSISTANT, assistant_id)
    return deleted(assistant_id, "assistant.deleted")


async def list_assistants(runtime: Runtime, query: ListQuery) -> Doc:
    return list_body([public(d) for d in await runtime.store.all(ASSISTANT)], query)
