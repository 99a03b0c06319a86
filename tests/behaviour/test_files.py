"""Files without HTTP: the upload checks in the service's order, the stored object and bytes, listing,
deleting, and ids that a seed makes repeatable."""

from __future__ import annotations

import pytest
from aoai_mock.behaviour import files
from aoai_mock.behaviour.objects import ListQuery
from aoai_mock.errors import (
    AzureError,
    FileTooLarge,
    InvalidResourceRequest,
    JsonlValidationFailed,
    ObjectNotFound,
)

from tests.behaviour.resource_helpers import (
    FakeClock,
    example,
    jsonl,
    runtime_on,
    upload,
)

GA = "2024-10-21"


def given(purpose: str | None = "batch", name: str | None = "in.jsonl", data: bytes = b"{}\n", **kw: object) -> files.Upload:
    return files.Upload(purpose, name, kw.pop("content_type", "application/octet-stream"), data, **kw)  # type: ignore[arg-type]


def test_upload_stores_the_wire_object_and_the_bytes() -> None:
    runtime = runtime_on(FakeClock(), seed=3)
    doc = files.upload(runtime, given("assistants", "notes.txt", b"some text"), GA)
    assert doc == {
        "id": doc["id"], "object": "file", "bytes": 9, "created_at": 1_735_689_600, "filename": "notes.txt",
        "purpose": "assistants", "status": "processed", "status_details": None,
    }  # fmt: skip
    assert doc["id"].startswith("file-") and len(doc["id"]) == 5 + 32
    # The contract other families rely on: the doc is the wire object, the bytes a blob of the same id.
    assert runtime.store.get("file", doc["id"]) == doc
    assert runtime.store.get_blob(doc["id"]) == b"some text"
    assert files.content(runtime, doc["id"]) == b"some text"


def test_seeded_ids_repeat_across_runs_and_differ_within_one() -> None:
    first = [upload(runtime_on(FakeClock(), seed=7), b"x", "assistants", "a.txt") for _ in range(2)]
    runtime = runtime_on(FakeClock(), seed=7)
    again = [upload(runtime, b"x", "assistants", "a.txt") for _ in range(2)]
    assert first[0] == again[0] and again[0] != again[1]


@pytest.mark.parametrize(
    ("upload_", "error", "says"),
    [
        (given("nope"), InvalidResourceRequest, "Invalid value for purpose."),
        (given(None), InvalidResourceRequest, "Invalid value for purpose."),
        (given("fine-tune-results"), InvalidResourceRequest, "Invalid value for purpose."),
        (given("batch", None), InvalidResourceRequest, "needs a 'file' part"),
        (given("batch", content_type=None), InvalidResourceRequest, "no or an empty content type"),
        (given("batch", data=b""), InvalidResourceRequest, "The file is empty."),
        (given("fine-tune", "train.csv"), InvalidResourceRequest, "wrong suffix"),
        (given("fine-tune", data=b"{}\nnot json\n"), JsonlValidationFailed, "line 2"),
        (given("fine-tune", data=b"[1, 2]\n"), JsonlValidationFailed, "line 1"),
        (given("assistants", expires_after={"seconds": "60", "anchor": "created_at"}), InvalidResourceRequest, "14 to 30"),
    ],
)
def test_bad_uploads(upload_: files.Upload, error: type[AzureError], says: str) -> None:
    with pytest.raises(error) as caught:
        files.upload(runtime_on(FakeClock()), upload_, GA)
    assert says in caught.value.message and caught.value.status == 400


def test_batch_purpose_needs_a_version_with_batches() -> None:
    with pytest.raises(InvalidResourceRequest, match="purpose"):
        files.upload(runtime_on(FakeClock()), given("batch"), "2024-06-01")


def test_size_limits_per_purpose() -> None:
    runtime = runtime_on(FakeClock(), max_file_bytes=100, max_batch_file_bytes=10)
    with pytest.raises(FileTooLarge) as caught:
        files.upload(runtime, given("batch", data=b"x" * 11), GA)
    assert caught.value.status == 413 and caught.value.limit == 10
    files.upload(runtime, given("assistants", data=b"x" * 100), GA)
    with pytest.raises(FileTooLarge):
        files.upload(runtime, given("assistants", data=b"x" * 101), GA)


def test_fine_tune_files_may_start_with_a_byte_order_mark() -> None:
    runtime = runtime_on(FakeClock())
    upload(runtime, b"\xef\xbb\xbf" + jsonl([example(1), example(2)]), "fine-tune", "train.jsonl")


def test_expiry_is_reported() -> None:
    runtime = runtime_on(FakeClock(), seed=1)
    doc = files.upload(runtime, given("batch", expires_after={"seconds": "1209600", "anchor": "created_at"}), GA)
    assert doc["expires_at"] == doc["created_at"] + 1_209_600


def test_list_filters_and_pages() -> None:
    runtime = runtime_on(FakeClock())
    ids = [upload(runtime, b"x", "assistants" if i % 2 else "batch", f"f{i}.jsonl") for i in range(30)]
    page = files.list_files(runtime, ListQuery(limit=10, order="asc"))
    assert [d["id"] for d in page.data] == ids[:10] and page.has_more and page.first_id == ids[0]
    rest = files.list_files(runtime, ListQuery(limit=100, order="asc", after=page.last_id))
    assert [d["id"] for d in rest.data] == ids[10:] and not rest.has_more
    batch_only = files.list_files(runtime, ListQuery(limit=100), purpose="batch")
    assert len(batch_only.data) == 15 and {d["purpose"] for d in batch_only.data} == {"batch"}
    with pytest.raises(InvalidResourceRequest):
        files.list_files(runtime, ListQuery(), purpose="bogus")


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"order": "sideways"}])
def test_bad_list_parameters(params: dict[str, str]) -> None:
    with pytest.raises(InvalidResourceRequest):
        ListQuery.parse(params)


def test_delete_removes_object_and_bytes() -> None:
    runtime = runtime_on(FakeClock())
    file_id = upload(runtime, b"bytes", "assistants", "a.txt")
    assert files.delete(runtime, file_id) == {"id": file_id, "object": "file", "deleted": True}
    assert runtime.store.get_blob(file_id) is None
    for action in (files.retrieve, files.content, files.delete):
        with pytest.raises(ObjectNotFound):
            action(runtime, file_id)
