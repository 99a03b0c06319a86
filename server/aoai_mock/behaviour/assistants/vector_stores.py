"""Vector stores: the objects, their files' processing, and search.

A file attached to a store is ``in_progress`` until the next time anything looks at the store (a retrieve, a
listing, a search, a run that uses it): then it is read from the Files API's store (doc kind ``"file"``, bytes
by ``get_blob``), chunked, embedded and ``completed`` (or ``failed`` with ``last_error``). So the SDK's
``create_and_poll`` helpers return at their first poll. That is an immediate move of :data:`FILE_LIFECYCLE`
(:mod:`aoai_mock.behaviour.lifecycle`), whose chooser does the processing. The store's ``status`` and
``file_counts`` follow from its files; ``expires_after`` counts from ``last_active_at``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from aoai_mock.behaviour.assistants import search as chunks
from aoai_mock.behaviour.assistants.common import (
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
    CreateVectorStore,
    SearchVectorStore,
    UpdateVectorStore,
)
from aoai_mock.behaviour.lifecycle import Lifecycle, Move, State
from aoai_mock.behaviour.objects import each_looked
from aoai_mock.behaviour.runtime import Runtime

__all__ = [
    "STORE",
    "FILE",
    "CHUNKS",
    "FILE_LIFECYCLE",
    "create_store",
    "retrieve_store",
    "modify_store",
    "delete_store",
    "list_stores",
    "settle",
    "search_stores",
    "search_page",
    "file_counts",
    "store_files",
    "attach",
    "render_file",
]

log = logging.getLogger("aoai_mock")
STORE = "vector_store"
FILE = "vector_store.file"  # doc id "<vector store id>/<file id>"
CHUNKS = "vector_store.chunks"  # same doc id: {"chunks": [{"text", "vector"}]}
_DAY = 86400


async def _render(runtime: Runtime, doc: Doc) -> Doc:
    files = await store_files(runtime, doc["id"])
    counts = file_counts(files)
    out = public(doc)
    out["usage_bytes"] = sum(int(f.get("usage_bytes", 0)) for f in files)
    out["file_counts"] = counts
    days = (doc.get("expires_after") or {}).get("days")
    out["expires_at"] = int(doc["last_active_at"]) + days * _DAY if days else None
    expired = out["expires_at"] is not None and now(runtime) >= out["expires_at"]
    out["status"] = "expired" if expired else "in_progress" if counts["in_progress"] else "completed"
    return out


def file_counts(files: Iterable[Doc]) -> Doc:
    counts = {"in_progress": 0, "completed": 0, "failed": 0, "cancelled": 0, "total": 0}
    for f in files:
        counts[f["status"]] += 1
        counts["total"] += 1
    return counts


async def store_files(runtime: Runtime, vs_id: str) -> list[Doc]:
    return [d for d in await runtime.store.all(FILE) if d.get("vector_store_id") == vs_id]


async def attach(
    runtime: Runtime,
    vs_id: str,
    file_id: str,
    strategy: Doc,
    attributes: dict[str, Any] | None,
    batch_id: str | None = None,
) -> Doc:
    """Add a file to a store (again: it starts over), ``in_progress`` until the store is next looked at."""
    doc: Doc = {
        "id": f"{vs_id}/{file_id}",
        "_file_id": file_id,
        "_batch_id": batch_id,
        "object": "vector_store.file",
        "usage_bytes": 0,
        "created_at": now(runtime),
        "vector_store_id": vs_id,
        "status": "in_progress",
        "last_error": None,
        "chunking_strategy": strategy,
        "attributes": attributes or {},
    }
    await FILE_LIFECYCLE.start(runtime, doc, runtime.clock.now())
    await runtime.store.delete(CHUNKS, doc["id"])
    await runtime.store.put(FILE, doc)
    return doc


def render_file(doc: Doc) -> Doc:
    """A vector store file as the API shows it: its id is the file's."""
    return public(doc) | {"id": doc["_file_id"]}


async def create_store(runtime: Runtime, request: CreateVectorStore) -> Doc:
    check_metadata(request.metadata)
    strategy = chunks.chunking_strategy(request.chunking_strategy)
    for file_id in request.file_ids or ():
        await require(runtime, "file", file_id, "file")
    created = now(runtime)
    doc: Doc = {
        "id": await new_id(runtime, "vs_"),
        "object": "vector_store",
        "created_at": created,
        "name": request.name or "",
        "last_active_at": created,
        "metadata": request.metadata or {},
    }
    if request.expires_after is not None:
        doc["expires_after"] = request.expires_after.model_dump()
    await runtime.store.put(STORE, doc)
    for file_id in request.file_ids or ():
        await attach(runtime, doc["id"], file_id, strategy, None)
    return await _render(runtime, doc)


async def retrieve_store(runtime: Runtime, vs_id: str) -> Doc:
    await settle(runtime, vs_id)
    return await _render(runtime, await require(runtime, STORE, vs_id, "vector store"))


async def modify_store(runtime: Runtime, vs_id: str, request: UpdateVectorStore) -> Doc:
    doc = await require(runtime, STORE, vs_id, "vector store")
    check_metadata(request.metadata)
    given = request.model_fields_set
    if "name" in given:
        doc["name"] = request.name or ""
    if "metadata" in given:
        doc["metadata"] = request.metadata or {}
    if "expires_after" in given:
        if request.expires_after is None:
            doc.pop("expires_after", None)
        else:
            doc["expires_after"] = request.expires_after.model_dump()
    await runtime.store.put(STORE, doc)
    return await retrieve_store(runtime, vs_id)


async def delete_store(runtime: Runtime, vs_id: str) -> Doc:
    await require(runtime, STORE, vs_id, "vector store")
    for f in await store_files(runtime, vs_id):
        await runtime.store.delete(FILE, f["id"])
        await runtime.store.delete(CHUNKS, f["id"])
    await runtime.store.delete(STORE, vs_id)
    return deleted(vs_id, "vector_store.deleted")


async def list_stores(runtime: Runtime, query: ListQuery) -> Doc:
    async def looked(doc: Doc) -> Doc:
        await settle(runtime, doc["id"])
        return await _render(runtime, doc)

    return list_body(await each_looked(await runtime.store.all(STORE), looked), query)


# -- processing -------------------------------------------------------------------------------------


async def settle(runtime: Runtime, vs_id: str) -> None:
    """Process every file of the store still ``in_progress`` (a look at each file)."""
    for f in await store_files(runtime, vs_id):
        if await FILE_LIFECYCLE.advance(runtime, f, runtime.clock.now()):
            await runtime.store.put(FILE, f)


async def _process(runtime: Runtime, f: Doc) -> Move:
    """Read, chunk and embed the file (its chunks stored): ``completed``, or ``failed`` with ``last_error``
    (``server_error`` when the mock itself could not: the file never stays ``in_progress`` for good)."""
    try:
        return await _processed(runtime, f)
    except Exception as exc:  # noqa: BLE001 -- logged; the file fails, its store goes on
        log.error("vector store file %r cannot be processed: it fails", f.get("id"), exc_info=exc)
        return Move("failed", {"last_error": {"code": "server_error", "message": "The file could not be processed."}})


async def _processed(runtime: Runtime, f: Doc) -> Move:
    file_id = f["_file_id"]
    data = await runtime.store.get_blob(file_id)
    problem = None
    if await runtime.store.get("file", file_id) is None or data is None:
        problem = ("invalid_file", f"The file {file_id} could not be found.")
    elif b"\x00" in data[:4096]:
        problem = ("unsupported_file", "The file type is not supported: it holds no text.")
    elif not data.strip():
        problem = ("invalid_file", "The file is empty.")
    if problem is not None:
        return Move("failed", {"last_error": {"code": problem[0], "message": problem[1]}})
    static = f["chunking_strategy"]["static"]
    pieces = chunks.chunk_text(
        data.decode("utf-8", errors="replace"), static["max_chunk_size_tokens"], static["chunk_overlap_tokens"]
    )
    await runtime.store.put(CHUNKS, {"id": f["id"], "chunks": [{"text": t, "vector": chunks.embed(t)} for t in pieces]})
    return Move("completed", {"last_error": None, "usage_bytes": len(data)})


# Processed at the first look after it was attached; a file batch's cancel stops one not yet processed.
FILE_LIFECYCLE: Lifecycle[Runtime] = Lifecycle(
    State("in_progress", then=_process, manual=("cancelled",)),
    State("completed"),
    State("failed"),
    State("cancelled"),
)


# -- search -----------------------------------------------------------------------------------------


async def search_stores(
    runtime: Runtime,
    vs_ids: Sequence[str],
    query: str,
    limit: int,
    threshold: float = 0.0,
    filters: dict[str, Any] | None = None,
) -> list[chunks.Hit]:
    """The best ``limit`` chunks of the stores' completed files, best first (ties: file, then chunk order)."""
    wanted = chunks.embed(query)
    scored: list[tuple[float, int, chunks.Hit]] = []
    for vs_id in vs_ids:
        await settle(runtime, vs_id)
        await _touch(runtime, vs_id)
        for f in await store_files(runtime, vs_id):
            attributes = f.get("attributes") or {}
            if f["status"] != "completed" or not chunks.passes(filters, attributes):
                continue
            found = await runtime.store.get(CHUNKS, f["id"]) or {"chunks": []}
            file_doc = await runtime.store.get("file", f["_file_id"]) or {}
            for chunk in found["chunks"]:
                value = chunks.score(wanted, chunk["vector"])
                if value >= threshold:
                    hit = chunks.Hit(f["_file_id"], str(file_doc.get("filename", "")), value, chunk["text"], attributes)
                    scored.append((-value, len(scored), hit))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [hit for _, _, hit in scored[:limit]]


async def _touch(runtime: Runtime, vs_id: str) -> None:
    doc = await runtime.store.get(STORE, vs_id)
    if doc is not None:
        doc["last_active_at"] = now(runtime)
        await runtime.store.put(STORE, doc)


async def search_page(runtime: Runtime, vs_id: str, request: SearchVectorStore) -> Doc:
    """``POST /vector_stores/{id}/search``: scored chunks, one result per chunk."""
    await require(runtime, STORE, vs_id, "vector store")
    if request.filters is not None:
        chunks.check_filter(request.filters)
    queries = [request.query] if isinstance(request.query, str) else list(request.query)
    threshold = (request.ranking_options.score_threshold if request.ranking_options else None) or 0.0
    hits = await search_stores(runtime, [vs_id], " ".join(queries), request.max_num_results, threshold, request.filters)
    return {
        "object": "vector_store.search_results.page",
        "search_query": queries,
        "data": [
            {
                "file_id": h.file_id,
                "filename": h.filename,
                "score": h.score,
                "attributes": dict(h.attributes),
                "content": [{"type": "text", "text": h.text}],
            }
            for h in hits
        ],
        "has_more": False,
        "next_page": None,
    }
