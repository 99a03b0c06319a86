"""Batches without HTTP: input checks line by line, the lifecycle on a clock the test moves, request counts,
output and error files, cancelling; lines answered by a stand-in for the engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aoai_mock.behaviour import files
from aoai_mock.behaviour.batch_input import endpoint_key, read_input
from aoai_mock.behaviour.batches import Batches, LineReply
from aoai_mock.behaviour.objects import ListQuery
from aoai_mock.errors import (
    InvalidResourceRequest,
    ObjectNotFound,
    UnexpectedEntityState,
)

from tests.behaviour.resource_helpers import (
    FakeClock,
    chat_line,
    jsonl,
    runtime_on,
    upload,
)

GA = "2024-10-21"
SPAN = 30.0  # batch_seconds: 10 s validating, 10 s in progress, 10 s finalizing


class Engine:
    """Answers like the mock would: 200 with an echo, or 400 for a message that says "fail"."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    async def __call__(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> LineReply:
        self.calls.append((path, body, headers))
        if body["messages"][0]["content"] == "fail":
            return LineReply(400, {"error": {"code": "bad", "message": "no"}}, f"req-{len(self.calls)}")
        if body["messages"][0]["content"] == "explode":
            raise ConnectionError("dropped")
        return LineReply(200, {"object": "chat.completion", "echo": body["messages"][0]["content"]}, f"req-{len(self.calls)}")


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


async def setup(clock: FakeClock, rows: list[Any], **settings: Any) -> tuple[Batches, Engine, str]:
    runtime = runtime_on(clock, batch_seconds=SPAN, **settings)
    engine = Engine()
    return Batches(runtime, engine), engine, await upload(runtime, jsonl(rows), "batch")


async def create(batches: Batches, file_id: str, **body: Any) -> dict[str, Any]:
    request = {"input_file_id": file_id, "endpoint": "/chat/completions", "completion_window": "24h", **body}
    return await batches.create(request, GA, {"x-aoai-mock-responder": "echo"})


async def test_lifecycle_counts_and_files(clock: FakeClock) -> None:
    rows = [chat_line(f"task-{i}", "fail" if i == 3 else f"q{i}") for i in range(10)]
    batches, engine, file_id = await setup(clock, rows)
    created = await create(batches, file_id, metadata={"team": "qa"})
    assert created["status"] == "validating" and created["request_counts"] == {"total": 0, "completed": 0, "failed": 0}
    assert created["id"].startswith("batch_") and created["metadata"] == {"team": "qa"}
    clock.advance(9)
    assert (await batches.retrieve(created["id"]))["status"] == "validating" and not engine.calls
    clock.advance(6)  # half way through in_progress: the first 5 lines are done
    now = await batches.retrieve(created["id"])
    assert now["status"] == "in_progress" and now["in_progress_at"] == created["created_at"] + 10
    assert now["request_counts"] == {"total": 10, "completed": 4, "failed": 1}
    assert len(engine.calls) == 10  # every line was answered once, in file order
    path, body, headers = engine.calls[0]
    assert path == "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
    assert body["messages"][0]["content"] == "q0" and headers == {"x-aoai-mock-responder": "echo"}
    clock.advance(10)
    assert (await batches.retrieve(created["id"]))["status"] == "finalizing"
    clock.advance(5)
    done = await batches.retrieve(created["id"])
    assert done["status"] == "completed" and done["request_counts"] == {"total": 10, "completed": 9, "failed": 1}
    assert done["completed_at"] == created["created_at"] + 30 and done["errors"] is None
    output = await _lines(batches, done["output_file_id"])
    assert [line["custom_id"] for line in output] == [f"task-{i}" for i in range(10) if i != 3]
    assert output[0] == {"custom_id": "task-0", "response": {"status_code": 200, "request_id": "req-1",
                         "body": {"object": "chat.completion", "echo": "q0"}}, "error": None}  # fmt: skip
    errors = await _lines(batches, done["error_file_id"])
    assert [(e["custom_id"], e["response"]["status_code"]) for e in errors] == [("task-3", 400)]
    output_file = await files.retrieve(batches.runtime, done["output_file_id"])
    assert output_file["purpose"] == "batch_output" and output_file["id"].count("-") == 5  # file-<uuid>
    assert len(engine.calls) == 10  # nothing ran twice


async def _lines(batches: Batches, file_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (await files.content(batches.runtime, file_id)).splitlines()]


async def test_an_all_good_batch_still_has_an_empty_error_file(clock: FakeClock) -> None:
    batches, _, file_id = await setup(clock, [chat_line("a"), chat_line("b")])
    batch = await create(batches, file_id)
    clock.advance(SPAN)
    done = await batches.retrieve(batch["id"])
    assert (await files.retrieve(batches.runtime, done["error_file_id"]))["bytes"] == 0
    assert len(await _lines(batches, done["output_file_id"])) == 2


async def test_a_line_without_an_answer_is_an_error_line(clock: FakeClock) -> None:
    batches, _, file_id = await setup(clock, [chat_line("a"), chat_line("b", "explode")])
    batch = await create(batches, file_id)
    clock.advance(SPAN)
    done = await batches.retrieve(batch["id"])
    [line] = await _lines(batches, done["error_file_id"])
    assert line["custom_id"] == "b" and line["response"] is None and line["error"]["code"] == "server_error"


async def test_zero_seconds_finishes_at_the_first_read(clock: FakeClock) -> None:
    runtime = runtime_on(clock, batch_seconds=0)
    batches = Batches(runtime, Engine())
    batch = await create(batches, await upload(runtime, jsonl([chat_line("a")]), "batch"))
    assert batch["status"] == "validating"  # the create answer, as the service sends it
    assert (await batches.retrieve(batch["id"]))["status"] == "completed"


@pytest.mark.parametrize(
    ("rows", "code", "line", "param"),
    [
        ([chat_line("a"), "not json"], "invalid_json_line", 2, None),
        ([chat_line("a"), ["a list"]], "invalid_json_line", 2, None),
        ([chat_line("a"), chat_line("a")], "duplicate_custom_id", 2, "custom_id"),
        ([chat_line("a", model="no-such-deployment")], "model_not_found", 1, "body.model"),
        ([chat_line("a"), chat_line("b", model="gpt-4o-mini")], "model_mismatch", 2, "body.model"),
        ([chat_line("a", url="/embeddings")], "url_mismatch", 1, "url"),
        ([chat_line("a", method="GET")], "invalid_request", 1, "method"),
        ([{"method": "POST", "url": "/chat/completions", "body": {"model": "gpt-4o"}}], "invalid_request", 1, "custom_id"),
        ([chat_line("a", body={"messages": []})], "invalid_request", 1, "body.model"),
    ],
)
async def test_bad_lines_fail_the_batch_after_validating(
    clock: FakeClock, rows: list[Any], code: str, line: int, param: str | None
) -> None:
    raw = b"".join((row if isinstance(row, str) else json.dumps(row)).encode() + b"\n" for row in rows)
    runtime = runtime_on(clock, batch_seconds=SPAN)
    engine = Engine()
    batches = Batches(runtime, engine)
    batch = await create(batches, await upload(runtime, raw, "batch"))
    clock.advance(SPAN / 3)
    failed = await batches.retrieve(batch["id"])
    assert failed["status"] == "failed" and failed["failed_at"] == batch["created_at"] + 10
    assert failed["errors"]["object"] == "list"
    assert [(e["code"], e["line"], e["param"]) for e in failed["errors"]["data"]] == [(code, line, param)]
    assert failed["request_counts"]["total"] == len(rows) and not engine.calls
    assert failed["output_file_id"] is None


def test_input_file_checks() -> None:
    assert read_input(b"\n\n", "/chat/completions", lambda _: True).errors[0]["code"] == "empty_file"
    assert [endpoint_key(u) for u in ("/v1/chat/completions", "chat/completions", "/images")] == [
        "/chat/completions", "/chat/completions", None]  # fmt: skip


async def test_completion_window_other_than_24h_fails(clock: FakeClock) -> None:
    batches, _, file_id = await setup(clock, [chat_line("a")])
    batch = await create(batches, file_id, completion_window="48h")
    clock.advance(SPAN)
    failed = await batches.retrieve(batch["id"])
    assert failed["status"] == "failed" and failed["errors"]["data"][0]["param"] == "completion_window"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"endpoint": "/images/generations"}, "not supported"),
        ({"input_file_id": "file-missing"}, "not found"),
        ({"completion_window": None}, "completion_window"),
        ({"metadata": {"k": 1}}, "metadata"),
    ],
)
async def test_bad_create_requests(clock: FakeClock, body: dict[str, Any], says: str) -> None:
    batches, _, file_id = await setup(clock, [chat_line("a")])
    with pytest.raises(InvalidResourceRequest, match=says):
        await create(batches, file_id, **body)


async def test_the_input_file_must_be_a_batch_file(clock: FakeClock) -> None:
    batches, _, _ = await setup(clock, [chat_line("a")])
    other = await upload(batches.runtime, b"text", "assistants", "a.txt")
    with pytest.raises(InvalidResourceRequest, match="purpose 'batch'"):
        await create(batches, other)


async def test_cancel_keeps_the_work_done(clock: FakeClock) -> None:
    batches, engine, file_id = await setup(clock, [chat_line(f"t{i}") for i in range(10)])
    batch = await create(batches, file_id)
    clock.advance(13)  # 30 % through in_progress
    cancelling = await batches.cancel(batch["id"])
    assert cancelling["status"] == "cancelling" and cancelling["cancelling_at"] == batch["created_at"] + 13
    clock.advance(9)
    assert (await batches.retrieve(batch["id"]))["status"] == "cancelling"
    clock.advance(1)
    cancelled = await batches.retrieve(batch["id"])
    assert cancelled["status"] == "cancelled" and cancelled["request_counts"] == {"total": 10, "completed": 3, "failed": 0}
    assert [line["custom_id"] for line in await _lines(batches, cancelled["output_file_id"])] == ["t0", "t1", "t2"]
    with pytest.raises(UnexpectedEntityState):
        await batches.cancel(batch["id"])


async def test_cancel_while_validating_runs_nothing(clock: FakeClock) -> None:
    batches, engine, file_id = await setup(clock, [chat_line("a")])
    batch = await create(batches, file_id)
    await batches.cancel(batch["id"])
    clock.advance(SPAN)
    cancelled = await batches.retrieve(batch["id"])
    assert cancelled["status"] == "cancelled" and cancelled["in_progress_at"] is None and not engine.calls


async def test_list_and_unknown_ids(clock: FakeClock) -> None:
    batches, _, file_id = await setup(clock, [chat_line("a")])
    made = [(await create(batches, file_id))["id"] for _ in range(5)]
    page = await batches.list(ListQuery(limit=3))
    assert [b["id"] for b in page.data] == made[::-1][:3] and page.has_more
    with pytest.raises(ObjectNotFound):
        await batches.retrieve("batch_nope")


async def test_private_keys_never_show(clock: FakeClock) -> None:
    batches, _, file_id = await setup(clock, [chat_line("a")])
    batch = await create(batches, file_id)
    clock.advance(SPAN)
    for view in (batch, await batches.retrieve(batch["id"]), (await batches.list(ListQuery())).data[0]):
        assert not [key for key in view if key.startswith("_")]


# -- as recorded: batches/net-CanCancelBatch-2025-04-01-preview.json ---------------------------------------------------
PREVIEW = "2025-04-01-preview"


async def test_the_2025_04_batch_while_underway(clock: FakeClock) -> None:
    """Exchange 1: ``/v1/chat/completions`` echoed as ``/chat/completions``; file ids ``""`` until it ends."""
    batches, _, file_id = await setup(clock, [chat_line("a"), chat_line("b")])
    request = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch = await batches.create(request, PREVIEW, {})
    assert batch["endpoint"] == "/chat/completions"
    assert (batch["output_file_id"], batch["error_file_id"]) == ("", "")
    clock.advance(SPAN / 2)
    underway = await batches.retrieve(batch["id"])
    assert underway["status"] == "in_progress" and underway["output_file_id"] == ""
    clock.advance(SPAN)
    done = await batches.retrieve(batch["id"])
    assert done["status"] == "completed" and done["output_file_id"].startswith("file-") and done["error_file_id"]
    old = await batches.create(request, GA, {})  # before the recording: as before
    assert old["endpoint"] == "/v1/chat/completions" and old["output_file_id"] is None


async def test_a_2025_04_batch_cancelled_with_nothing_done_has_no_files(clock: FakeClock) -> None:
    """Exchanges 2-4: cancelling (total 2, ids ``""``), then cancelled with both ids null."""
    batches, engine, file_id = await setup(clock, [chat_line("a"), chat_line("b")])
    request = {"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h"}
    batch = await batches.create(request, PREVIEW, {})
    clock.advance(1)
    cancelling = await batches.cancel(batch["id"])
    assert cancelling["status"] == "cancelling" and cancelling["request_counts"] == {"total": 2, "completed": 0, "failed": 0}
    assert (cancelling["output_file_id"], cancelling["error_file_id"]) == ("", "")
    clock.advance(SPAN)
    cancelled = await batches.retrieve(batch["id"])
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None
    assert (cancelled["output_file_id"], cancelled["error_file_id"]) == (None, None) and not engine.calls
    assert [d["purpose"] for d in (await files.list_files(batches.runtime, ListQuery())).data] == ["batch"]
