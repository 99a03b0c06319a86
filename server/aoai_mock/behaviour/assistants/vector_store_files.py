"""A vector store's files and file batches: attach, look, update attributes, detach, list, cancel.

Detaching a file leaves the file itself alone (the Files API owns it). A batch's status and counts follow
from its files; cancelling a batch cancels the files still ``in_progress``.
"""

from __future__ import annotations

from aoai_mock.behaviour.assistants import search as chunks
from aoai_mock.behaviour.assistants.common import (
    Doc,
    ListQuery,
    deleted,
    list_body,
    new_id,
    now,
    public,
    require,
)
from aoai_mock.behaviour.assistants.requests import (
    CreateFileBatch,
    CreateVectorStoreFile,
    UpdateVectorStoreFile,
)
from aoai_mock.behaviour.assistants.vector_stores import (
    CHUNKS,
    FILE,
    FILE_LIFECYCLE,
    STORE,
    attach,
    file_counts,
    render_file,
    settle,
    store_files,
)
from aoai_mock.behaviour.objects import each_shown
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import AssistantsObjectNotFound, InvalidRequest

__all__ = [
    "BATCH",
    "FILE_STATUSES",
    "create_file",
    "retrieve_file",
    "update_file",
    "delete_file",
    "file_content",
    "list_files",
    "create_batch",
    "retrieve_batch",
    "cancel_batch",
    "list_batch_files",
]

BATCH = "vector_store.file_batch"
FILE_STATUSES = ("in_progress", "completed", "failed", "cancelled")


async def _store(runtime: Runtime, vs_id: str) -> Doc:
    return await require(runtime, STORE, vs_id, "vector store")


async def _file(runtime: Runtime, vs_id: str, file_id: str) -> Doc:
    await _store(runtime, vs_id)
    await settle(runtime, vs_id)
    found = await runtime.store.get(FILE, f"{vs_id}/{file_id}")
    if found is None:
        raise AssistantsObjectNotFound("file", file_id)
    return found


async def create_file(runtime: Runtime, vs_id: str, request: CreateVectorStoreFile) -> Doc:
    await _store(runtime, vs_id)
    strategy = chunks.chunking_strategy(request.chunking_strategy)
    await require(runtime, "file", request.file_id, "file")
    return render_file(await attach(runtime, vs_id, request.file_id, strategy, request.attributes))


async def retrieve_file(runtime: Runtime, vs_id: str, file_id: str) -> Doc:
    return render_file(await _file(runtime, vs_id, file_id))


async def update_file(runtime: Runtime, vs_id: str, file_id: str, request: UpdateVectorStoreFile) -> Doc:
    doc = await _file(runtime, vs_id, file_id)
    if request.attributes is not None and len(request.attributes) > 16:
        raise InvalidRequest(
            "Invalid 'attributes': too many properties. Expected an object with at most 16 properties, but got an "
            f"object with {len(request.attributes)} properties instead.",
            param="attributes",
            code="object_above_max_properties",
        )
    doc["attributes"] = request.attributes or {}
    await runtime.store.put(FILE, doc)
    return render_file(doc)


async def delete_file(runtime: Runtime, vs_id: str, file_id: str) -> Doc:
    doc = await _file(runtime, vs_id, file_id)
    await runtime.store.delete(FILE, doc["id"])
    await runtime.store.delete(CHUNKS, doc["id"])
    return deleted(file_id, "vector_store.file.deleted")


async def file_content(runtime: Runtime, vs_id: str, file_id: str) -> Doc:
    """The parsed text of a file, chunk by chunk (``vector_store.file_content.page``)."""
    doc = await _file(runtime, vs_id, file_id)
    found = await runtime.store.get(CHUNKS, doc["id"]) or {"chunks": []}
    data = [{"type": "text", "text": c["text"]} for c in found["chunks"]]
    return {"object": "vector_store.file_content.page", "data": data, "has_more": False, "next_page": None}


def check_status_filter(value: str | None) -> None:
    if value is not None and value not in FILE_STATUSES:
        raise InvalidRequest(
            f"Invalid value: '{value}'. Supported values are: 'in_progress', 'completed', 'failed', and 'cancelled'.",
            param="filter",
            code="invalid_value",
        )


async def list_files(
    runtime: Runtime, vs_id: str, query: ListQuery, status: str | None = None, batch_id: str | None = None
) -> Doc:
    await _store(runtime, vs_id)
    check_status_filter(status)
    await settle(runtime, vs_id)
    files = [
        f
        for f in await store_files(runtime, vs_id)
        if (status is None or f.get("status") == status) and (batch_id is None or f.get("_batch_id") == batch_id)
    ]
    return list_body(each_shown(files, render_file), query)


# -- batches ----------------------------------------------------------------------------------------


async def _render_batch(runtime: Runtime, doc: Doc) -> Doc:
    files = [f for f in await store_files(runtime, doc["vector_store_id"]) if f.get("_batch_id") == doc["id"]]
    counts = file_counts(files)
    out = public(doc)
    out["file_counts"] = counts
    if doc.get("_cancelled"):
        out["status"] = "cancelled"
    elif counts["in_progress"]:
        out["status"] = "in_progress"
    elif counts["total"] and counts["failed"] == counts["total"]:
        out["status"] = "failed"
    else:
        out["status"] = "completed"
    return out


async def _batch(runtime: Runtime, vs_id: str, batch_id: str) -> Doc:
    await _store(runtime, vs_id)
    found = await runtime.store.get(BATCH, batch_id)
    if found is None or found["vector_store_id"] != vs_id:
        raise AssistantsObjectNotFound("file batch", batch_id)
    return found


async def create_batch(runtime: Runtime, vs_id: str, request: CreateFileBatch) -> Doc:
    await _store(runtime, vs_id)
    strategy = chunks.chunking_strategy(request.chunking_strategy)
    for file_id in request.file_ids:
        await require(runtime, "file", file_id, "file")
    doc: Doc = {
        "id": await new_id(runtime, "vsfb_"),
        "object": "vector_store.files_batch",
        "created_at": now(runtime),
        "vector_store_id": vs_id,
    }
    await runtime.store.put(BATCH, doc)
    for file_id in dict.fromkeys(request.file_ids):
        await attach(runtime, vs_id, file_id, strategy, request.attributes, batch_id=doc["id"])
    return await _render_batch(runtime, doc)


async def retrieve_batch(runtime: Runtime, vs_id: str, batch_id: str) -> Doc:
    doc = await _batch(runtime, vs_id, batch_id)
    await settle(runtime, vs_id)
    return await _render_batch(runtime, doc)


async def cancel_batch(runtime: Runtime, vs_id: str, batch_id: str) -> Doc:
    """Files not yet processed are cancelled; a batch already finished cannot be."""
    doc = await _batch(runtime, vs_id, batch_id)
    rendered = await _render_batch(runtime, doc)
    if rendered["status"] != "in_progress":
        raise InvalidRequest(f"Cannot cancel a batch with status '{rendered['status']}'.", code="invalid_state")
    for f in await store_files(runtime, vs_id):
        if f.get("_batch_id") == batch_id and FILE_LIFECYCLE.allows(f, "cancelled"):
            await FILE_LIFECYCLE.move(runtime, f, "cancelled", runtime.clock.now())
            await runtime.store.put(FILE, f)
    doc["_cancelled"] = True
    await runtime.store.put(BATCH, doc)
    return await _render_batch(runtime, doc)


async def list_batch_files(
    runtime: Runtime, vs_id: str, batch_id: str, query: ListQuery, status: str | None = None
) -> Doc:
    await _batch(runtime, vs_id, batch_id)
    return await list_files(runtime, vs_id, query, status, batch_id)
