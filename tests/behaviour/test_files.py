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


async def test_upload_stores_the_wire_object_and_the_bytes() -> None:
    runtime = runtime_on(FakeClock(), seed=3)
    doc = await files.upload(runtime, given("assistants", "notes.txt", b"some text"), GA)
    assert doc == {
        "id": doc["id"], "object": "file", "bytes": 9, "created_at": 1_735_689_600, "filename": "notes.txt",
        "purpose": "assistants", "status": "processed", "status_details": None,
    }  # fmt: skip
    assert doc["id"].startswith("file-") and len(doc["id"]) == 5 + 32
    # The contract other families rely on: the doc is the wire object, the bytes a blob of the same id.
    assert await runtime.store.get("file", doc["id"]) == doc
    assert await runtime.store.get_blob(doc["id"]) == b"some text"
    assert await files.content(runtime, doc["id"]) == b"some text"


async def test_seeded_ids_repeat_across_runs_and_differ_within_one() -> None:
    first = [await upload(runtime_on(FakeClock(), seed=7), b"x", "assistants", "a.txt") for _ in range(2)]
    runtime = runtime_on(FakeClock(), seed=7)
    again = [await upload(runtime, b"x", "assistants", "a.txt") for _ in range(2)]
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
async def test_bad_uploads(upload_: files.Upload, error: type[AzureError], says: str) -> None:
    with pytest.raises(error) as caught:
        await files.upload(runtime_on(FakeClock()), upload_, GA)
    assert says in caught.value.message and caught.value.status == 400


async def test_batch_purpose_needs_a_version_with_batches() -> None:
    with pytest.raises(InvalidResourceRequest, match="purpose"):
        await files.upload(runtime_on(FakeClock()), given("batch"), "2024-06-01")


async def test_size_limits_per_purpose() -> None:
    runtime = runtime_on(FakeClock(), max_file_bytes=100, max_batch_file_bytes=10)
    with pytest.raises(FileTooLarge) as caught:
        await files.upload(runtime, given("batch", data=b"x" * 11), GA)
    assert caught.value.status == 413 and caught.value.limit == 10
    await files.upload(runtime, given("assistants", data=b"x" * 100), GA)
    with pytest.raises(FileTooLarge):
        await files.upload(runtime, given("assistants", data=b"x" * 101), GA)


async def test_fine_tune_files_may_start_with_a_byte_order_mark() -> None:
    runtime = runtime_on(FakeClock())
    await upload(runtime, b"\xef\xbb\xbf" + jsonl([example(1), example(2)]), "fine-tune", "train.jsonl")


async def test_expiry_is_reported() -> None:
    runtime = runtime_on(FakeClock(), seed=1)
    doc = await files.upload(runtime, given("batch", expires_after={"seconds": "1209600", "anchor": "created_at"}), GA)
    assert doc["expires_at"] == doc["created_at"] + 1_209_600


async def test_list_filters_and_pages() -> None:
    runtime = runtime_on(FakeClock())
    ids = [await upload(runtime, b"x", "assistants" if i % 2 else "batch", f"f{i}.jsonl") for i in range(30)]
    page = await files.list_files(runtime, ListQuery(limit=10, order="asc"))
    assert [d["id"] for d in page.data] == ids[:10] and page.has_more and page.first_id == ids[0]
    rest = await files.list_files(runtime, ListQuery(limit=100, order="asc", after=page.last_id))
    assert [d["id"] for d in rest.data] == ids[10:] and not rest.has_more
    batch_only = await files.list_files(runtime, ListQuery(limit=100), purpose="batch")
    assert len(batch_only.data) == 15 and {d["purpose"] for d in batch_only.data} == {"batch"}
    with pytest.raises(InvalidResourceRequest):
        await files.list_files(runtime, ListQuery(), purpose="bogus")


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "ten"}, {"order": "sideways"}])
def test_bad_list_parameters(params: dict[str, str]) -> None:
    with pytest.raises(InvalidResourceRequest):
        ListQuery.parse(params)


async def test_delete_removes_object_and_bytes() -> None:
    runtime = runtime_on(FakeClock())
    file_id = await upload(runtime, b"bytes", "assistants", "a.txt")
    assert await files.delete(runtime, file_id) == {"id": file_id, "object": "file", "deleted": True}
    assert await runtime.store.get_blob(file_id) is None
    for action in (files.retrieve, files.content, files.delete):
        with pytest.raises(ObjectNotFound):
            await action(runtime, file_id)


# -- as recorded (../shared/recordings/files, fine_tuning); the shapes above stay for older versions ----------------
PREVIEW_03 = "2025-03-01-preview"  # files/net-CanUploadAndDeleteFiles-2025-03-01-preview.json
PREVIEW_04 = "2025-04-01-preview"  # fine_tuning/net-CreateCancelDelete-2025-04-01-preview.json


async def test_assistants_uploads_get_assistant_ids_from_2025_03() -> None:
    """files/net-CanUploadAndDeleteFiles, exchange 0: ``assistant-VkGLbxfGJdAwXPD5BMGjLj``, status_details null."""
    runtime = runtime_on(FakeClock(), seed=3)
    doc = await files.upload(runtime, given("assistants", "test_file_delete_me.txt", b"x" * 13), PREVIEW_03)
    assert doc["id"].startswith("assistant-") and len(doc["id"]) == len("assistant-") + 22
    assert doc["id"][len("assistant-"):].isalnum() and files.assistants_service(doc)
    assert doc["status"] == "processed" and "status_details" in doc and doc["status_details"] is None


@pytest.mark.parametrize("purpose", ["batch", "fine-tune"])
async def test_files_service_uploads_have_no_status_details_from_2025_03(purpose: str) -> None:
    """files/net-CanUploadAndDeleteFiles exchange 2 (batch), fine_tuning/net-CreateCancelDelete exchange 0."""
    runtime = runtime_on(FakeClock(), seed=3)
    doc = await files.upload(runtime, given(purpose, "in.jsonl", b"{}\n"), PREVIEW_03)
    assert doc["id"].startswith("file-") and len(doc["id"]) == 5 + 32 and int(doc["id"][5:], 16) >= 0
    assert set(doc) == {"id", "object", "bytes", "created_at", "filename", "purpose", "status"}
    assert not files.assistants_service(doc)


async def test_fine_tune_uploads_are_pending_then_processed() -> None:
    """fine_tuning/net-CreateCancelDelete: ``pending`` at upload, ``processed`` at a GET 6 s later."""
    clock = FakeClock()
    runtime = runtime_on(clock, fine_tuning_seconds=8)
    doc = await files.upload(runtime, given("fine-tune", "train.jsonl", b"{}\n"), PREVIEW_04)
    assert doc["status"] == "pending" and not [key for key in doc if key.startswith("_")]
    clock.advance(1)
    assert (await files.retrieve(runtime, doc["id"]))["status"] == "pending"
    clock.advance(1)  # a quarter of fine_tuning_seconds
    assert (await files.retrieve(runtime, doc["id"]))["status"] == "processed"
    assert (await files.list_files(runtime, ListQuery())).data[0]["status"] == "processed"
    batch = await files.upload(runtime, given("batch"), PREVIEW_04)
    assert batch["status"] == "processed"  # files/net-CanUploadAndDeleteFiles exchange 2: processed at once


async def test_a_second_delete_of_a_files_service_file_is_deleted_false() -> None:
    """fine_tuning/net-CreateCancelDelete exchanges 6-7: 200 ``deleted: true``, then 200 ``deleted: false``."""
    runtime = runtime_on(FakeClock())
    file_id = (await files.upload(runtime, given("fine-tune", "t.jsonl"), PREVIEW_04))["id"]
    assert (await files.delete(runtime, file_id, PREVIEW_04))["deleted"] is True
    assert await files.delete(runtime, file_id, PREVIEW_04) == {"id": file_id, "object": "file", "deleted": False}
    with pytest.raises(ObjectNotFound):  # before the recording's version: the mock's 404, as before
        await files.delete(runtime, file_id, GA)
    with pytest.raises(ObjectNotFound):
        await files.retrieve(runtime, file_id)


async def test_a_second_delete_of_an_assistants_file_is_its_404() -> None:
    """files/net-CanUploadAndDeleteFiles exchange 3: 404 ``No such File object: <id>``, param id, code null."""
    runtime = runtime_on(FakeClock())
    file_id = (await files.upload(runtime, given("assistants", "a.txt"), PREVIEW_03))["id"]
    assert (await files.delete(runtime, file_id, PREVIEW_03))["deleted"] is True
    with pytest.raises(AzureError) as caught:
        await files.delete(runtime, file_id, PREVIEW_03)
    assert caught.value.status == 404 and caught.value.body() == {"error": {
        "message": f"No such File object: {file_id}", "type": "invalid_request_error", "param": "id", "code": None}}
