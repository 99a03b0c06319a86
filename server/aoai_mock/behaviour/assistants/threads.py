"""Threads and their messages: create (a thread with its first messages), retrieve, modify, delete, list.

A message's content is text (a string, or text parts) and images (``image_file``, ``image_url``). Attachments
name uploaded files; one for ``file_search`` goes into the thread's vector store (made on first need, expiring
7 days after last use, as the service's are), so a run can cite it.
"""

from __future__ import annotations

from typing import Any

from aoai_mock.behaviour.assistants import search as chunks
from aoai_mock.behaviour.assistants.common import (
    MESSAGE,
    RUN,
    STEP,
    THREAD,
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
from aoai_mock.behaviour.assistants.objects import resources_wire
from aoai_mock.behaviour.assistants.requests import (
    CreateMessage,
    CreateThread,
    CreateVectorStore,
    ExpiresAfter,
    ModifyMessage,
    ModifyThread,
)
from aoai_mock.behaviour.assistants.shapes import message_wire
from aoai_mock.behaviour.assistants.vector_stores import attach, create_store
from aoai_mock.behaviour.objects import each_shown
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import AssistantsObjectNotFound, InvalidRequest

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "text_content",
    "message_text",
    "create_thread",
    "retrieve_thread",
    "modify_thread",
    "delete_thread",
    "create_message",
    "add_message",
    "retrieve_message",
    "modify_message",
    "delete_message",
    "list_messages",
    "thread_messages",
]

ACTIVE_RUN_STATUSES = ("queued", "in_progress", "requires_action", "cancelling")


def text_content(value: str, annotations: list[Doc] | None = None) -> Doc:
    return {"type": "text", "text": {"value": value, "annotations": annotations or []}}


def _content(content: Any) -> list[Doc]:
    if isinstance(content, str):
        if not content:
            raise InvalidRequest(
                "Invalid 'content': empty string. Expected a string with minimum length 1, but got an empty "
                "string instead.",
                param="content",
                code="empty_string",
            )
        return [text_content(content)]
    if not content:
        raise InvalidRequest(
            "Invalid 'content': empty array. Expected an array with minimum length 1, but got an empty array "
            "instead.",
            param="content",
            code="empty_array",
        )
    out = []
    for part in content:
        if part.type == "text":
            out.append(text_content(part.text))
        else:
            out.append(part.model_dump(exclude_none=True))
    return out


def message_text(message: Doc) -> str:
    """The text of a message's content (images left out)."""
    return "".join(part["text"]["value"] for part in message["content"] if part.get("type") == "text")


# -- threads ----------------------------------------------------------------------------------------


async def create_thread(runtime: Runtime, request: CreateThread) -> Doc:
    check_metadata(request.metadata)
    for message in request.messages or ():
        check_metadata(message.metadata)
    doc: Doc = {
        "id": await new_id(runtime, "thread_"),
        "object": "thread",
        "created_at": now(runtime),
        "metadata": request.metadata or {},
        "tool_resources": await resources_wire(runtime, request.tool_resources),
    }
    await runtime.store.put(THREAD, doc)
    for message in request.messages or ():
        await add_message(runtime, doc["id"], message)
    return public(await runtime.store.get(THREAD, doc["id"]) or doc)


async def retrieve_thread(runtime: Runtime, thread_id: str) -> Doc:
    return public(await require(runtime, THREAD, thread_id, "thread"))


async def modify_thread(runtime: Runtime, thread_id: str, request: ModifyThread) -> Doc:
    doc = await require(runtime, THREAD, thread_id, "thread")
    check_metadata(request.metadata)
    if "metadata" in request.model_fields_set:
        doc["metadata"] = request.metadata or {}
    if "tool_resources" in request.model_fields_set:
        doc["tool_resources"] = await resources_wire(runtime, request.tool_resources, doc.get("tool_resources"))
    await runtime.store.put(THREAD, doc)
    return public(doc)


async def delete_thread(runtime: Runtime, thread_id: str) -> Doc:
    """The thread goes with its messages, runs and run steps."""
    await require(runtime, THREAD, thread_id, "thread")
    store = runtime.store
    for kind in (MESSAGE, RUN, STEP):
        for doc in await store.all(kind):
            if doc.get("thread_id") == thread_id:
                await store.delete(kind, doc["id"])
    await store.delete(THREAD, thread_id)
    return deleted(thread_id, "thread.deleted")


# -- messages ---------------------------------------------------------------------------------------


async def _active_run(runtime: Runtime, thread_id: str) -> Doc | None:
    runs = await runtime.store.all(RUN)
    return next((r for r in runs if r.get("thread_id") == thread_id and r.get("status") in ACTIVE_RUN_STATUSES), None)


async def create_message(runtime: Runtime, thread_id: str, request: CreateMessage) -> Doc:
    """``POST /threads/{id}/messages``: refused while a run of the thread is active, as the service does."""
    await require(runtime, THREAD, thread_id, "thread")
    active = await _active_run(runtime, thread_id)
    if active is not None:
        raise InvalidRequest(
            f"Can't add messages to {thread_id} while a run {active['id']} is active.", param=None, code=None
        )
    check_metadata(request.metadata)
    return message_wire(await add_message(runtime, thread_id, request))


async def add_message(runtime: Runtime, thread_id: str, request: CreateMessage) -> Doc:
    """A user's (or scripted assistant's) message, its file_search attachments indexed for the thread."""
    attachments = []
    for attachment in request.attachments or ():
        await require(runtime, "file", attachment.file_id, "file")
        attachments.append({"file_id": attachment.file_id, "tools": [t.model_dump() for t in attachment.tools]})
        if any(t.type == "file_search" for t in attachment.tools):
            await _index_for_thread(runtime, thread_id, attachment.file_id)
    doc: Doc = {
        "id": await new_id(runtime, "msg_"),
        "object": "thread.message",
        "created_at": now(runtime),
        "assistant_id": None,
        "thread_id": thread_id,
        "run_id": None,
        "role": request.role,
        "content": _content(request.content),
        "attachments": attachments,
        "metadata": request.metadata or {},
        "status": "completed",
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
    }
    await runtime.store.put(MESSAGE, doc)
    return doc


async def _index_for_thread(runtime: Runtime, thread_id: str, file_id: str) -> None:
    thread = await require(runtime, THREAD, thread_id, "thread")
    resources = thread.setdefault("tool_resources", {})
    ids = (resources.get("file_search") or {}).get("vector_store_ids") or []
    if not ids:
        expiry = ExpiresAfter(anchor="last_active_at", days=7)
        request = CreateVectorStore(name=f"vector store for {thread_id}", expires_after=expiry)
        made = await create_store(runtime, request)
        ids = [made["id"]]
        resources["file_search"] = {"vector_store_ids": ids}
        await runtime.store.put(THREAD, thread)
    await attach(runtime, ids[0], file_id, chunks.chunking_strategy(None), None)


async def _message(runtime: Runtime, thread_id: str, message_id: str) -> Doc:
    await require(runtime, THREAD, thread_id, "thread")
    found = await runtime.store.get(MESSAGE, message_id)
    if found is None or found["thread_id"] != thread_id:
        raise AssistantsObjectNotFound("message", message_id)
    return found


async def retrieve_message(runtime: Runtime, thread_id: str, message_id: str) -> Doc:
    return message_wire(await _message(runtime, thread_id, message_id))


async def modify_message(runtime: Runtime, thread_id: str, message_id: str, request: ModifyMessage) -> Doc:
    doc = await _message(runtime, thread_id, message_id)
    check_metadata(request.metadata)
    if "metadata" in request.model_fields_set:
        doc["metadata"] = request.metadata or {}
    await runtime.store.put(MESSAGE, doc)
    return message_wire(doc)


async def delete_message(runtime: Runtime, thread_id: str, message_id: str) -> Doc:
    doc = await _message(runtime, thread_id, message_id)
    await runtime.store.delete(MESSAGE, doc["id"])
    return deleted(message_id, "thread.message.deleted")


async def thread_messages(runtime: Runtime, thread_id: str) -> list[Doc]:
    """The thread's messages in the order they were made."""
    return [m for m in await runtime.store.all(MESSAGE) if m.get("thread_id") == thread_id]


async def list_messages(runtime: Runtime, thread_id: str, query: ListQuery, run_id: str | None = None) -> Doc:
    await require(runtime, THREAD, thread_id, "thread")
    wanted = [m for m in await thread_messages(runtime, thread_id) if run_id is None or m.get("run_id") == run_id]
    return list_body(each_shown(wanted, message_wire), query)
