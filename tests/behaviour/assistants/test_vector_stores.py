"""Vector stores without HTTP: chunking, the files' lifecycle, batches, search scores and filters."""

from __future__ import annotations

import pytest
from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.assistants import search
from aoai_mock.behaviour.assistants import vector_store_files as files
from aoai_mock.behaviour.assistants import vector_stores as stores
from aoai_mock.behaviour.assistants.common import ListQuery
from aoai_mock.behaviour.assistants.requests import (
    CreateFileBatch,
    CreateVectorStore,
    CreateVectorStoreFile,
    SearchVectorStore,
    UpdateVectorStore,
    UpdateVectorStoreFile,
)
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import AssistantsObjectNotFound, InvalidRequest

from tests.behaviour.assistants.conftest import T0, FakeClock, put_file

FRANCE = "Paris is the capital of France. The Eiffel Tower stands in Paris."
ITALY = "Rome is the capital of Italy. The Colosseum stands in Rome."


def test_chunks_are_800_tokens_overlapping_by_400() -> None:
    text = " ".join(f"word{n}" for n in range(1500))
    ids = tokens.encode(text, search.ENCODING)
    chunks = search.chunk_text(text, 800, 400)
    assert [len(tokens.encode(c, search.ENCODING)) for c in chunks][:-1] == [800] * (len(chunks) - 1)
    assert len(chunks) == -(-(len(ids) - 400) // 400)  # windows start every 400 tokens until one reaches the end
    assert tokens.encode(chunks[1], search.ENCODING)[:400] == tokens.encode(chunks[0], search.ENCODING)[400:]
    assert search.chunk_text("", 800, 400) == [] and search.chunk_text("short", 800, 400) == ["short"]


def test_static_chunking_and_its_limit() -> None:
    auto = search.chunking_strategy(None)
    assert auto == {"type": "static", "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400}}
    static = {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101}}
    with pytest.raises(InvalidRequest) as caught:
        search.chunking_strategy(CreateVectorStore.model_validate({"chunking_strategy": static}).chunking_strategy)
    assert caught.value.param == "chunking_strategy.static.chunk_overlap_tokens"


async def test_a_store_processes_its_files_at_the_first_look(runtime: Runtime) -> None:
    await put_file(runtime, "file-fr", FRANCE, "france.txt")
    made = await stores.create_store(
        runtime, CreateVectorStore(name="europe", file_ids=["file-fr"], metadata={"a": "b"})
    )
    assert made["status"] == "in_progress" and made["file_counts"]["in_progress"] == 1
    assert made["id"].startswith("vs_") and made["name"] == "europe" and made["expires_at"] is None
    seen = await stores.retrieve_store(runtime, made["id"])
    assert seen["status"] == "completed" and seen["usage_bytes"] == len(FRANCE)
    assert seen["file_counts"] == {"in_progress": 0, "completed": 1, "failed": 0, "cancelled": 0, "total": 1}
    (listed,) = (await files.list_files(runtime, made["id"], ListQuery()))["data"]
    assert listed["id"] == "file-fr" and listed["object"] == "vector_store.file" and listed["last_error"] is None
    assert listed["chunking_strategy"]["static"]["max_chunk_size_tokens"] == 800


async def test_files_that_cannot_be_read_fail(runtime: Runtime) -> None:
    await put_file(runtime, "file-bin", b"\x00\x01\x02PNG", "image.png")
    await put_file(runtime, "file-empty", b"   ", "empty.txt")
    made = await stores.create_store(runtime, CreateVectorStore(file_ids=["file-bin", "file-empty"]))
    binary = await files.retrieve_file(runtime, made["id"], "file-bin")
    assert binary["status"] == "failed" and binary["last_error"]["code"] == "unsupported_file"
    assert (await files.retrieve_file(runtime, made["id"], "file-empty"))["last_error"]["code"] == "invalid_file"
    assert (await stores.retrieve_store(runtime, made["id"]))["file_counts"]["failed"] == 2
    failed = (await files.list_files(runtime, made["id"], ListQuery(), "failed"))["data"]
    assert len(failed) == 2 and (await files.list_files(runtime, made["id"], ListQuery(), "completed"))["data"] == []
    with pytest.raises(InvalidRequest, match="Invalid value: 'done'"):
        await files.list_files(runtime, made["id"], ListQuery(), "done")


async def test_unknown_files_and_stores(runtime: Runtime) -> None:
    with pytest.raises(AssistantsObjectNotFound, match="No file found with id 'file-nope'"):
        await stores.create_store(runtime, CreateVectorStore(file_ids=["file-nope"]))
    with pytest.raises(AssistantsObjectNotFound, match="No vector store found with id 'vs_nope'"):
        await stores.retrieve_store(runtime, "vs_nope")
    made = await stores.create_store(runtime, CreateVectorStore())
    with pytest.raises(AssistantsObjectNotFound):
        await files.retrieve_file(runtime, made["id"], "file-nope")


async def test_modify_expire_and_delete(runtime: Runtime, clock: FakeClock) -> None:
    await put_file(runtime, "file-fr", FRANCE)
    made = await stores.create_store(runtime, CreateVectorStore(file_ids=["file-fr"]))
    changed = await stores.modify_store(runtime, made["id"], UpdateVectorStore(
        name="renamed", expires_after={"anchor": "last_active_at", "days": 1}))  # fmt: skip
    assert changed["name"] == "renamed" and changed["expires_at"] == int(T0) + 86400
    clock.now += 86400
    assert (await stores.retrieve_store(runtime, made["id"]))["status"] == "expired"
    gone = await files.delete_file(runtime, made["id"], "file-fr")
    assert gone == {"id": "file-fr", "object": "vector_store.file.deleted", "deleted": True}
    assert await runtime.store.get("file", "file-fr") is not None  # the file itself stays
    assert (await stores.delete_store(runtime, made["id"]))["object"] == "vector_store.deleted"
    assert (await stores.list_stores(runtime, ListQuery()))["data"] == []


async def test_batches_and_cancel(runtime: Runtime) -> None:
    await put_file(runtime, "file-fr", FRANCE)
    await put_file(runtime, "file-it", ITALY)
    made = await stores.create_store(runtime, CreateVectorStore())
    batch = await files.create_batch(runtime, made["id"], CreateFileBatch(file_ids=["file-fr", "file-it"]))
    assert batch["object"] == "vector_store.files_batch" and batch["status"] == "in_progress"
    assert batch["id"].startswith("vsfb_") and batch["file_counts"]["total"] == 2
    done = await files.retrieve_batch(runtime, made["id"], batch["id"])
    assert done["status"] == "completed" and done["file_counts"]["completed"] == 2
    listed = await files.list_batch_files(runtime, made["id"], batch["id"], ListQuery(order="asc"))
    assert [f["id"] for f in listed["data"]] == ["file-fr", "file-it"]
    with pytest.raises(InvalidRequest, match="Cannot cancel a batch with status 'completed'"):
        await files.cancel_batch(runtime, made["id"], batch["id"])
    second = await files.create_batch(runtime, made["id"], CreateFileBatch(file_ids=["file-it"]))
    cancelled = await files.cancel_batch(runtime, made["id"], second["id"])
    assert cancelled["status"] == "cancelled" and cancelled["file_counts"]["cancelled"] == 1


async def test_search_ranks_chunks_by_cosine_similarity(runtime: Runtime) -> None:
    await put_file(runtime, "file-fr", FRANCE, "france.txt")
    await put_file(runtime, "file-it", ITALY, "italy.txt")
    made = await stores.create_store(runtime, CreateVectorStore(file_ids=["file-fr", "file-it"]))
    page = await stores.search_page(runtime, made["id"], SearchVectorStore(query="Where is the Colosseum in Rome?"))
    assert page["object"] == "vector_store.search_results.page" and page["search_query"] == [
        "Where is the Colosseum in Rome?"
    ]
    best, other = page["data"]
    assert (
        best["file_id"] == "file-it"
        and best["filename"] == "italy.txt"
        and best["content"] == [{"type": "text", "text": ITALY}]
    )
    assert 1 >= best["score"] > other["score"] >= 0
    assert page == await stores.search_page(
        runtime, made["id"], SearchVectorStore(query="Where is the Colosseum in Rome?")
    )
    capped = await stores.search_page(runtime, made["id"], SearchVectorStore(query="capital", max_num_results=1))
    assert len(capped["data"]) == 1 and capped["has_more"] is False and capped["next_page"] is None
    high = await stores.search_page(
        runtime, made["id"], SearchVectorStore(query="Rome", ranking_options={"score_threshold": 0.99})
    )
    assert high["data"] == []


async def test_search_filters_on_attributes(runtime: Runtime) -> None:
    await put_file(runtime, "file-fr", FRANCE)
    await put_file(runtime, "file-it", ITALY)
    made = await stores.create_store(runtime, CreateVectorStore())
    await files.create_file(
        runtime, made["id"], CreateVectorStoreFile(file_id="file-fr", attributes={"country": "fr", "year": 2020})
    )
    await files.create_file(
        runtime, made["id"], CreateVectorStoreFile(file_id="file-it", attributes={"country": "it", "year": 2024})
    )

    async def ids(filters: dict) -> list[str]:
        page = await stores.search_page(runtime, made["id"], SearchVectorStore(query="capital", filters=filters))
        return sorted(r["file_id"] for r in page["data"])

    assert await ids({"type": "eq", "key": "country", "value": "fr"}) == ["file-fr"]
    assert await ids({"type": "gte", "key": "year", "value": 2021}) == ["file-it"]
    assert await ids({"type": "or", "filters": [{"type": "eq", "key": "country", "value": "fr"},
                                          {"type": "lt", "key": "year", "value": 2000}]}) == ["file-fr"]  # fmt: skip
    await files.update_file(runtime, made["id"], "file-it", UpdateVectorStoreFile(attributes={"country": "fr"}))
    assert await ids({"type": "ne", "key": "country", "value": "it"}) == ["file-fr", "file-it"]
    with pytest.raises(InvalidRequest, match="Invalid 'filters'"):
        await ids({"type": "like", "key": "country", "value": "f%"})


async def test_file_content_pages_the_chunks(runtime: Runtime) -> None:
    await put_file(runtime, "file-fr", FRANCE)
    made = await stores.create_store(runtime, CreateVectorStore(file_ids=["file-fr"]))
    assert await files.file_content(runtime, made["id"], "file-fr") == {
        "object": "vector_store.file_content.page", "data": [{"type": "text", "text": FRANCE}],
        "has_more": False, "next_page": None,
    }  # fmt: skip
