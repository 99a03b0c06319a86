"""Files and batches with the real openai SDK against a live server: upload, list (paging across many
files), retrieve, content, delete; bad uploads answered as Azure does; a batch from upload to output file,
its statuses on a clock the test moves, lines answered by the same engine as live requests (faults and
responders included), bad lines failing the batch; every object checked against the authoring spec."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA
from tests.e2e.resource_support import (  # noqa: F401 - fixtures
    FakeClock,
    chat_line,
    check,
    clock,
    fresh_state,
    jsonl,
    raw,
    sdk,
    serve,
)

V = f"?api-version={GA}"
SPAN = 30.0  # batch_seconds: 10 s validating, 10 s in progress, 10 s finalizing
FILE_LIMIT = 200_000
BATCH_LIMIT = 100_000


@pytest.fixture(scope="module")
def server(clock: FakeClock) -> Iterator[LiveServer]:
    yield from serve(clock, batch_seconds=SPAN, max_file_bytes=FILE_LIMIT, max_batch_file_bytes=BATCH_LIMIT)


# -- files ----------------------------------------------------------------------------------------------------------
def test_upload_retrieve_content_delete(sdk: AzureOpenAI) -> None:
    data = b'{"note": "kept as sent"}\n\xe2\x9c\x93\n'
    uploaded = sdk.files.with_raw_response.create(file=("notes.jsonl", data), purpose="assistants")
    assert uploaded.status_code == 201 and uploaded.headers["location"].endswith(f"/openai/files/{uploaded.parse().id}")
    created = uploaded.parse()
    body = json.loads(uploaded.content)
    check(body, "File")
    assert body == {
        "id": created.id, "object": "file", "bytes": len(data), "created_at": body["created_at"],
        "filename": "notes.jsonl", "purpose": "assistants", "status": "processed", "status_details": None,
    }  # fmt: skip
    assert sdk.files.retrieve(created.id) == created
    assert sdk.files.content(created.id).content == data
    deleted = sdk.files.with_raw_response.delete(created.id)
    check(json.loads(deleted.content), "FileDelete")
    assert deleted.parse().deleted is True
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.files.retrieve(created.id)
    assert missing.value.body == {"code": "notFound", "message": f"File with id '{created.id}' not found."}
    with pytest.raises(openai.NotFoundError):
        sdk.files.content(created.id)


def test_paging_across_many_files(sdk: AzureOpenAI, raw: httpx.Client) -> None:
    made = [sdk.files.create(file=(f"f{i}.jsonl", b"{}"), purpose="batch" if i % 3 else "assistants").id for i in range(55)]
    pages = sdk.files.list(limit=10)  # the SDK follows has_more / after through all 6 pages
    assert [f.id for f in pages] == made[::-1]
    assert [f.id for f in sdk.files.list(limit=7, order="asc")] == made
    assert [f.id for f in sdk.files.list(purpose="assistants", limit=100)] == [m for i, m in enumerate(made) if i % 3 == 0][::-1]
    first = raw.get(f"/openai/files{V}&limit=20&order=asc").json()
    check(first, "FileList")
    assert (first["first_id"], first["last_id"], first["has_more"]) == (made[0], made[19], True)
    last = raw.get(f"/openai/files{V}&limit=20&order=asc&after={made[39]}").json()
    assert [f["id"] for f in last["data"]] == made[40:] and last["has_more"] is False
    before = raw.get(f"/openai/files{V}&limit=5&order=asc&before={made[30]}").json()
    assert [f["id"] for f in before["data"]] == made[25:30] and before["has_more"] is True


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=many", "order=random", "purpose=everything"])
def test_bad_list_parameters(raw: httpx.Client, query: str) -> None:
    answer = raw.get(f"/openai/files{V}&{query}")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalidPayload"


def _multipart(purpose: str | None, filename: str | None, data: bytes, content_type: str | None) -> bytes:
    parts = []
    if purpose is not None:
        parts.append(f'Content-Disposition: form-data; name="purpose"\r\n\r\n{purpose}'.encode())
    if filename is not None:
        head = f'Content-Disposition: form-data; name="file"; filename="{filename}"'
        head += f"\r\nContent-Type: {content_type}" if content_type else ""
        parts.append(head.encode() + b"\r\n\r\n" + data)
    return b"".join(b"--b0undary\r\n" + part + b"\r\n" for part in parts) + b"--b0undary--\r\n"


MULTIPART = {"content-type": "multipart/form-data; boundary=b0undary"}


@pytest.mark.parametrize(
    ("form", "status", "code", "says"),
    [
        (("nope", "a.jsonl", b"{}", "application/json"), 400, "invalidPayload", "Invalid value for purpose."),
        ((None, "a.jsonl", b"{}", "application/json"), 400, "invalidPayload", "Invalid value for purpose."),
        (("batch", None, b"", None), 400, "invalidPayload", "needs a 'file' part"),
        (("batch", "a.jsonl", b"", "application/json"), 400, "invalidPayload", "The file is empty."),
        (("batch", "a.jsonl", b"{}", None), 400, "invalidPayload", "The file has no or an empty content type specified."),
        (("fine-tune", "train.txt", b"{}", "text/plain"), 400, "invalidPayload", "wrong suffix"),
        (("fine-tune", "train.jsonl", b"{}\n{oops\n", "text/plain"), 400, "jsonlValidationFailed", "line 2"),
        (("batch", "a.jsonl", b"x" * (BATCH_LIMIT + 1), "text/plain"), 413, "invalidPayload", "at most 100000 bytes"),
        (("assistants", "a.bin", b"x" * (FILE_LIMIT + 1), "text/plain"), 413, "invalidPayload", "at most 200000 bytes"),
    ],
)
def test_bad_uploads(raw: httpx.Client, form: tuple[Any, ...], status: int, code: str, says: str) -> None:
    answer = raw.post(f"/openai/files{V}", content=_multipart(*form), headers=MULTIPART)
    assert answer.status_code == status and answer.json()["error"]["code"] == code
    assert says in answer.json()["error"]["message"]
    assert raw.get(f"/openai/files{V}").json()["data"] == []  # nothing was kept


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nno end", MULTIPART),
        (b"not multipart at all", {"content-type": "multipart/form-data"}),
        (b'{"purpose": "batch"}', {"content-type": "application/json"}),
    ],
)
def test_broken_bodies_are_400_not_500(raw: httpx.Client, content: bytes, headers: dict[str, str]) -> None:
    answer = raw.post(f"/openai/files{V}", content=content, headers=headers)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalidPayload"


def test_an_oversized_stream_is_refused_before_it_is_all_read(raw: httpx.Client) -> None:
    def chunks() -> Iterator[bytes]:  # no content-length: the limit is applied while reading
        yield _multipart("assistants", "big.bin", b"", "text/plain")[:-16]
        for _ in range(40):
            yield b"x" * 65536

    answer = raw.post(f"/openai/files{V}", content=chunks(), headers=MULTIPART)
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "invalidPayload"


def test_the_sdk_sees_azure_errors(sdk: AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.files.create(file=("a.jsonl", b"{}"), purpose="bogus")  # type: ignore[arg-type]
    assert caught.value.body == {"code": "invalidPayload", "message": "Invalid value for purpose."}
    with pytest.raises(openai.BadRequestError):
        sdk.files.list(limit=500).data


def test_versions_without_the_family_say_404(raw: httpx.Client) -> None:
    assert raw.get("/openai/batches?api-version=2024-06-01").status_code == 404
    assert raw.get("/openai/files?api-version=2099-01-01").json()["error"]["code"] == "BadRequest"
    assert raw.get("/openai/files").status_code == 404  # no api-version
    assert httpx.get(str(raw.base_url) + f"/openai/files{V}").status_code == 401  # no key


# -- batches ---------------------------------------------------------------------------------------------------------
def _batch(sdk: AzureOpenAI, rows: list[Any], **extra: Any) -> Any:
    input_file = sdk.files.create(file=("requests.jsonl", jsonl(rows)), purpose="batch")
    return sdk.batches.create(input_file_id=input_file.id, endpoint="/chat/completions", completion_window="24h", **extra)


def _raw_batch(raw: httpx.Client, batch_id: str) -> dict[str, Any]:
    body = raw.get(f"/openai/batches/{batch_id}{V}").json()
    check(body, "Batch")
    return body


def test_a_batch_from_upload_to_output_file(
    sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock, spec_check: Callable[[Any, str], None]
) -> None:
    rows = [chat_line(f"task-{i}", f"Question {i}") for i in range(12)]
    rows[5] = chat_line("task-5", "Question 5", max_tokens=-1)  # the engine refuses this one: a 400 line
    batch = _batch(sdk, rows, metadata={"run": "nightly"})
    assert (batch.status, batch.request_counts.total, batch.metadata) == ("validating", 0, {"run": "nightly"})
    seen = [_raw_batch(raw, batch.id)["status"]]
    clock.advance(SPAN / 3 + SPAN / 6)  # half way through in_progress
    halfway = _raw_batch(raw, batch.id)
    assert halfway["status"] == "in_progress" and halfway["request_counts"] == {"total": 12, "completed": 5, "failed": 1}
    clock.advance(SPAN / 6)
    seen.append(_raw_batch(raw, batch.id)["status"])
    clock.advance(SPAN / 3)
    done = sdk.batches.retrieve(batch.id)
    assert seen + [done.status] == ["validating", "finalizing", "completed"]
    assert (done.request_counts.completed, done.request_counts.failed, done.request_counts.total) == (11, 1, 12)
    assert done.completed_at == done.created_at + 30 and done.in_progress_at == done.created_at + 10
    output = [json.loads(line) for line in sdk.files.content(done.output_file_id).text.splitlines()]
    assert [line["custom_id"] for line in output] == [f"task-{i}" for i in range(12) if i != 5]
    for line in output:
        assert line["error"] is None and line["response"]["status_code"] == 200 and line["response"]["request_id"]
        spec_check(line["response"]["body"], "createChatCompletionResponse")
    assert output[0]["response"]["body"]["choices"][0]["message"]["content"] == "Question 0"  # the echo responder
    [failed] = [json.loads(line) for line in sdk.files.content(done.error_file_id).text.splitlines()]
    assert failed["custom_id"] == "task-5" and failed["response"]["status_code"] == 400
    assert failed["response"]["body"]["error"]["param"] == "max_tokens"
    for file_id in (done.output_file_id, done.error_file_id):
        output_file = raw.get(f"/openai/files/{file_id}{V}").json()
        check(output_file, "File")
        assert output_file["purpose"] == "batch_output" and output_file["filename"].startswith(batch.id)


def test_batch_lines_meet_the_same_engine(sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock) -> None:
    """Mock headers on the create request apply to every line: here a fault, then another responder."""
    throttled = _batch(sdk, [chat_line("a"), chat_line("b")], extra_headers={"x-aoai-mock-fault": "429"})
    generated = _batch(sdk, [chat_line("c")], extra_headers={"x-aoai-mock-responder": "generated"})
    clock.advance(SPAN)
    done = sdk.batches.retrieve(throttled.id)
    assert done.request_counts.failed == 2 and sdk.files.retrieve(done.output_file_id).bytes == 0
    errors = [json.loads(line) for line in sdk.files.content(done.error_file_id).text.splitlines()]
    assert {e["response"]["status_code"] for e in errors} == {429}
    assert "exceeded token rate limit" in errors[0]["response"]["body"]["error"]["message"]
    other = sdk.batches.retrieve(generated.id)
    [line] = [json.loads(line) for line in sdk.files.content(other.output_file_id).text.splitlines()]
    assert line["response"]["body"]["choices"][0]["message"]["content"] != "hello"
    journal = raw.get("/_mock/requests", params={"operation": "chat.completions"}).json()["data"]
    assert len([e for e in journal if e["body"]["messages"][0]["content"] == "hello"]) >= 2


@pytest.mark.parametrize(
    ("rows", "code", "line"),
    [
        ([chat_line("a"), "{not json"], "invalid_json_line", 2),
        ([chat_line("a"), chat_line("a")], "duplicate_custom_id", 2),
        ([chat_line("a", model="no-such-deployment")], "model_not_found", 1),
        ([chat_line("a"), chat_line("b", model="gpt-4o-mini")], "model_mismatch", 2),
        ([{**chat_line("a"), "url": "/embeddings"}], "url_mismatch", 1),
        ([{**chat_line("a"), "method": "PUT"}], "invalid_request", 1),
        ([], "empty_file", None),
    ],
)
def test_bad_lines_fail_the_batch(
    sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock, rows: list[Any], code: str, line: int | None
) -> None:
    data = jsonl(rows) or b"\n"
    input_file = sdk.files.create(file=("requests.jsonl", data), purpose="batch")
    batch = sdk.batches.create(input_file_id=input_file.id, endpoint="/chat/completions", completion_window="24h")
    clock.advance(SPAN / 3)
    failed = _raw_batch(raw, batch.id)
    assert failed["status"] == "failed" and failed["failed_at"] == failed["created_at"] + 10
    assert [(e["code"], e["line"]) for e in failed["errors"]["data"]] == [(code, line)]
    assert failed["output_file_id"] is None and failed["error_file_id"] is None
    assert sdk.batches.retrieve(batch.id).errors.data[0].code == code


def test_cancel_a_batch(sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock) -> None:
    batch = _batch(sdk, [chat_line(f"t{i}") for i in range(4)])
    clock.advance(SPAN / 3 + SPAN / 6)
    cancelling = sdk.batches.cancel(batch.id)
    assert cancelling.status == "cancelling"
    clock.advance(SPAN / 3)
    cancelled = _raw_batch(raw, batch.id)
    assert cancelled["status"] == "cancelled" and cancelled["request_counts"] == {"total": 4, "completed": 2, "failed": 0}
    assert len(sdk.files.content(cancelled["output_file_id"]).text.splitlines()) == 2
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.batches.cancel(batch.id)
    assert caught.value.body["code"] == "unexpectedEntityState"


def test_list_batches_across_pages(sdk: AzureOpenAI, raw: httpx.Client) -> None:
    made = [_batch(sdk, [chat_line("a")]).id for _ in range(7)]
    assert [b.id for b in sdk.batches.list(limit=3)] == made[::-1]
    page = raw.get(f"/openai/batches{V}&limit=3").json()
    check(page, "BatchesList")
    assert page["has_more"] is True and page["first_id"] == made[-1]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"input_file_id": "file-missing", "endpoint": "/chat/completions", "completion_window": "24h"}, 400, "not found"),
        ({"endpoint": "/chat/completions", "completion_window": "24h"}, 400, "input_file_id"),
        ({"input_file_id": "x", "endpoint": "/audio/speech", "completion_window": "24h"}, 400, "not supported"),
    ],
)
def test_bad_batch_requests(raw: httpx.Client, body: dict[str, Any], status: int, says: str) -> None:
    answer = raw.post(f"/openai/batches{V}", json=body)
    assert answer.status_code == status and says in answer.json()["error"]["message"]


def test_unknown_batches_and_bad_json(raw: httpx.Client) -> None:
    assert raw.get(f"/openai/batches/batch_nope{V}").json()["error"]["code"] == "notFound"
    assert raw.post(f"/openai/batches/batch_nope/cancel{V}").status_code == 404
    answer = raw.post(f"/openai/batches{V}", content=b"{oops", headers={"content-type": "application/json"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalidPayload"


def test_reset_state_is_admin_and_reset_keeps_objects(sdk: AzureOpenAI, raw: httpx.Client) -> None:
    kept = sdk.files.create(file=("a.jsonl", b"{}"), purpose="batch")
    assert raw.post("/_mock/reset").status_code == 200  # counters and quotas only
    assert sdk.files.retrieve(kept.id).id == kept.id
    assert raw.post("/_mock/state/reset").json() == {"reset": True, "state": "memory"}
    with pytest.raises(openai.NotFoundError):
        sdk.files.retrieve(kept.id)


# -- as recorded (../shared/recordings/files, batches); the tests above keep 2024-10-21's answers ----------------------
P03 = "?api-version=2025-03-01-preview"  # files/net-CanUploadAndDeleteFiles-2025-03-01-preview.json
P04 = "?api-version=2025-04-01-preview"  # batches/net-CanCancelBatch-2025-04-01-preview.json
CHARSET = "application/json; charset=utf-8"


def _upload(raw: httpx.Client, version: str, purpose: str, name: str, data: bytes) -> httpx.Response:
    return raw.post(f"/openai/files{version}", content=_multipart(purpose, name, data, "text/plain"), headers=MULTIPART)


def test_recorded_uploads_and_deletes(raw: httpx.Client) -> None:
    """files/net-CanUploadAndDeleteFiles: assistants 200 (plain JSON, no Location), batch 201 with Location,
    api-supported-versions and charset, a second delete of the assistants file 404 in its service's words."""
    assistants = _upload(raw, P03, "assistants", "test_file_delete_me.txt", b"x" * 13)
    assert assistants.status_code == 200 and assistants.headers["content-type"] == "application/json"
    assert "location" not in assistants.headers and "api-supported-versions" not in assistants.headers
    kept = assistants.json()
    assert kept["id"].startswith("assistant-") and kept["status_details"] is None
    batch = _upload(raw, P03, "batch", "test_file_delete_me.jsonl", b"{}\n" * 8)
    assert batch.status_code == 201 and batch.headers["content-type"] == CHARSET
    body = batch.json()
    assert body["id"].startswith("file-") and len(body["id"]) == 37 and "status_details" not in body
    assert batch.headers["location"].endswith(f"/openai/files/{body['id']}")
    versions = batch.headers["api-supported-versions"].split(",")
    assert {"2022-12-01", "2024-10-21", "2025-03-01-preview"} <= set(versions) and versions == sorted(versions)
    deleted = raw.delete(f"/openai/files/{kept['id']}{P03}")
    assert deleted.json() == {"id": kept["id"], "object": "file", "deleted": True}
    again = raw.delete(f"/openai/files/{kept['id']}{P03}")
    assert again.status_code == 404 and again.json() == {"error": {
        "message": f"No such File object: {kept['id']}", "type": "invalid_request_error", "param": "id", "code": None}}
    gone = raw.delete(f"/openai/files/{body['id']}{P03}")
    assert gone.json()["deleted"] is True and gone.headers["content-type"] == CHARSET
    assert "api-supported-versions" in gone.headers


def test_recorded_second_delete_is_deleted_false(raw: httpx.Client) -> None:
    """fine_tuning/net-CreateCancelDelete exchanges 6-7: the same file- id deleted twice, 200 both times."""
    file_id = _upload(raw, P04, "batch", "a.jsonl", b"{}\n").json()["id"]
    assert raw.delete(f"/openai/files/{file_id}{P04}").json()["deleted"] is True
    again = raw.delete(f"/openai/files/{file_id}{P04}")
    assert again.status_code == 200 and again.json() == {"id": file_id, "object": "file", "deleted": False}


def test_older_versions_keep_plain_json(raw: httpx.Client) -> None:
    answer = raw.get(f"/openai/files{V}")
    assert answer.headers["content-type"] == "application/json" and "api-supported-versions" not in answer.headers


def test_recorded_batch_cancelled_while_validating(raw: httpx.Client, clock: FakeClock) -> None:
    """batches/net-CanCancelBatch: endpoint without /v1, file ids "" until the end, null after a cancel that
    came before any line was done; every answer application/json; charset=utf-8."""
    input_id = _upload(raw, P04, "batch", "temp-test-batch-input.jsonl", jsonl([chat_line("a"), chat_line("b")])).json()["id"]
    body = {"input_file_id": input_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    created = raw.post(f"/openai/batches{P04}", json=body)
    assert created.status_code == 200 and created.headers["content-type"] == CHARSET
    batch = created.json()
    assert batch["endpoint"] == "/chat/completions" and (batch["output_file_id"], batch["error_file_id"]) == ("", "")
    check(batch, "Batch")
    cancelling = raw.post(f"/openai/batches/{batch['id']}/cancel{P04}")
    assert cancelling.headers["content-type"] == CHARSET and cancelling.json()["status"] == "cancelling"
    assert cancelling.json()["output_file_id"] == "" and cancelling.json()["request_counts"]["total"] == 2
    clock.advance(SPAN)
    cancelled = raw.get(f"/openai/batches/{batch['id']}{P04}")
    assert cancelled.headers["content-type"] == CHARSET
    assert cancelled.json()["status"] == "cancelled"
    assert (cancelled.json()["output_file_id"], cancelled.json()["error_file_id"]) == (None, None)
