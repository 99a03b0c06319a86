"""Vector stores end to end with the SDK: stores, files and batches polled to completion, search (2025-03-01-preview),
and a file_search run that cites the files it found."""

from __future__ import annotations

import pytest
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI, NotFoundError

from tests.e2e.assistants.support import SPEC_2025, spec_check, undeclared, upload

pytestmark = pytest.mark.filterwarnings("ignore:.*(deprecated|Assistants API).*:DeprecationWarning")

HANDBOOK = (
    "Contoso Electronics employee handbook. Employees get 25 days of paid vacation per year. "
    "Vacation requests go to your manager two weeks in advance."
)
BENEFITS = "Northwind Health Plus covers dental, vision and mental health services. The plan has no deductible."


def test_a_store_and_its_files(client: AzureOpenAI, server: LiveServer) -> None:
    handbook = upload(client, "handbook.txt", HANDBOOK)
    benefits = upload(client, "benefits.txt", BENEFITS)
    store = client.vector_stores.create(name="HR documents", file_ids=[handbook], metadata={"dept": "hr"})
    assert store.status == "in_progress" and store.file_counts.in_progress == 1
    attached = client.vector_stores.files.create_and_poll(vector_store_id=store.id, file_id=benefits)
    assert attached.status == "completed" and attached.usage_bytes == len(BENEFITS)
    seen = client.vector_stores.retrieve(store.id)
    assert seen.status == "completed" and seen.file_counts.completed == 2 and seen.usage_bytes == len(HANDBOOK) + len(BENEFITS)
    body = client.vector_stores.with_raw_response.retrieve(store.id).http_response.json()
    spec_check(body, "vectorStoreObject")
    file_body = client.vector_stores.files.with_raw_response.retrieve(benefits, vector_store_id=store.id).http_response.json()
    spec_check(file_body, "vectorStoreFileObject", SPEC_2025)
    assert undeclared(file_body, "vectorStoreFileObject") == {"attributes"}  # newer previews declare it
    assert {f.id for f in client.vector_stores.files.list(store.id)} == {handbook, benefits}
    assert client.vector_stores.update(store.id, name="HR").name == "HR"
    assert client.vector_stores.files.delete(benefits, vector_store_id=store.id).deleted
    assert [s.id for s in client.vector_stores.list()] == [store.id]
    assert client.vector_stores.delete(store.id).deleted
    with pytest.raises(NotFoundError):
        client.vector_stores.retrieve(store.id)


def test_file_batches(client: AzureOpenAI, server: LiveServer) -> None:
    ids = [upload(client, f"doc{n}.txt", f"Document number {n} about topic {n}.") for n in range(3)]
    store = client.vector_stores.create(name="batch")
    batch = client.vector_stores.file_batches.create_and_poll(vector_store_id=store.id, file_ids=ids)
    assert batch.status == "completed" and batch.file_counts.completed == 3 and batch.object == "vector_store.files_batch"
    spec_check(client.vector_stores.file_batches.with_raw_response.retrieve(batch.id, vector_store_id=store.id)
               .http_response.json(), "vectorStoreFileBatchObject")  # fmt: skip
    listed = client.vector_stores.file_batches.list_files(batch.id, vector_store_id=store.id, filter="completed")
    assert sorted(f.id for f in listed) == sorted(ids)


def test_search_returns_scored_chunks(search_client: AzureOpenAI, server: LiveServer) -> None:
    handbook = upload(search_client, "handbook.txt", HANDBOOK)
    benefits = upload(search_client, "benefits.txt", BENEFITS)
    store = search_client.vector_stores.create(name="HR", file_ids=[handbook, benefits])
    results = search_client.vector_stores.search(store.id, query="How many vacation days do employees get?")
    best, other = results.data
    assert best.file_id == handbook and best.filename == "handbook.txt" and best.content[0].text == HANDBOOK
    assert 1 >= best.score > other.score >= 0
    raw = search_client.vector_stores.with_raw_response.search(store.id, query="dental plan", max_num_results=1)
    page = raw.http_response.json()
    spec_check(page, "VectorStoreSearchResultsPage", SPEC_2025)
    assert [r["file_id"] for r in page["data"]] == [benefits]
    chunks = search_client.vector_stores.files.content(handbook, vector_store_id=store.id)
    assert [c.text for c in chunks] == [HANDBOOK]


def test_search_is_not_in_older_previews(client: AzureOpenAI) -> None:
    store = client.vector_stores.create(name="old")
    with pytest.raises(NotFoundError):
        client.vector_stores.search(store.id, query="anything")


def test_a_file_search_run_cites_the_files(client: AzureOpenAI, server: LiveServer, runtime: Runtime) -> None:
    handbook = upload(client, "handbook.txt", HANDBOOK)
    benefits = upload(client, "benefits.txt", BENEFITS)
    assistant = client.beta.assistants.create(
        model="gpt-4o", instructions="Answer from the HR documents.", tools=[{"type": "file_search"}],
        tool_resources={"file_search": {"vector_stores": [{"file_ids": [handbook, benefits]}]}},
    )  # fmt: skip
    (store_id,) = assistant.tool_resources.file_search.vector_store_ids
    assert client.vector_stores.retrieve(store_id).file_counts.total == 2
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "How many vacation days do I get?"}])
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, include=["step_details.tool_calls[*].file_search.results[*].content"]
    )
    assert run.status == "completed"
    message = client.beta.threads.messages.list(thread.id).data[0]
    text = message.content[0].text
    cited = [a.file_citation.file_id for a in text.annotations]
    assert cited == [handbook, benefits]
    first = text.annotations[0]
    assert text.value[first.start_index : first.end_index] == first.text == "【0:0†handbook.txt】"
    search_step = client.beta.threads.runs.steps.list(
        run.id, thread_id=thread.id, order="asc", include=["step_details.tool_calls[*].file_search.results[*].content"]
    ).data[0]
    results = search_step.step_details.tool_calls[0].file_search.results
    assert results[0].file_id == handbook and results[0].content[0].text == HANDBOOK
    spec_check(client.beta.threads.messages.with_raw_response.retrieve(message.id, thread_id=thread.id)
               .http_response.json(), "messageObject", SPEC_2025)  # fmt: skip
