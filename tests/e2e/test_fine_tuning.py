"""Fine-tuning with the real openai SDK against a live server: upload training data, a job run to success on a
clock the test moves (events, checkpoints, the result file), then chat completions to the fine-tuned model;
bad data failing a job, cancelling, bad requests; every object checked against the authoring spec."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA, KEY
from tests.e2e.resource_support import (  # noqa: F401 - fixtures
    FakeClock,
    check,
    clock,
    fresh_state,
    jsonl,
    raw,
    sdk,
    serve,
)

V = f"?api-version={GA}"
SPAN = 40.0  # fine_tuning_seconds: 10 s pending, then 3 epochs of 10 s
MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture(scope="module")
def server(clock: FakeClock) -> Iterator[LiveServer]:
    yield from serve(clock, fine_tuning_seconds=SPAN)


def examples(count: int) -> bytes:
    return jsonl([
        {"messages": [
            {"role": "system", "content": "Clippy is a factual chatbot that is also sarcastic."},
            {"role": "user", "content": f"What is {i} + {i}?"},
            {"role": "assistant", "content": f"{2 * i}, obviously."},
        ]}
        for i in range(count)
    ])  # fmt: skip


def upload(sdk: AzureOpenAI, data: bytes, name: str = "training_set.jsonl") -> str:
    return sdk.files.create(file=(name, b"\xef\xbb\xbf" + data), purpose="fine-tune").id  # Azure asks for a BOM


def job_body(raw: httpx.Client, job_id: str) -> dict[str, Any]:
    body = raw.get(f"/openai/fine_tuning/jobs/{job_id}{V}").json()
    check(body, "FineTuningJob")
    return body


def test_a_job_to_success_and_a_chat_with_its_model(
    sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock, spec_check: Callable[[Any, str], None]
) -> None:
    training, validation = upload(sdk, examples(20)), upload(sdk, examples(4), "validation_set.jsonl")
    created = sdk.fine_tuning.jobs.with_raw_response.create(
        model=MODEL, training_file=training, validation_file=validation, seed=105, hyperparameters={"n_epochs": 2}
    )
    assert created.status_code == 201
    job = created.parse()
    check(json.loads(created.content), "FineTuningJob")
    assert (job.status, job.model, job.seed, job.hyperparameters.n_epochs) == ("pending", MODEL, 105, 2)
    assert job.fine_tuned_model is None and job.id.startswith("ftjob-")
    clock.advance(SPAN / 4)
    assert job_body(raw, job.id)["status"] == "running"
    clock.advance((SPAN - SPAN / 4) / 2)  # the first of two epochs has ended
    [checkpoint] = sdk.fine_tuning.jobs.checkpoints.list(job.id).data
    assert checkpoint.step_number == 20 and checkpoint.metrics.valid_loss is not None
    clock.advance(SPAN)
    done = job_body(raw, job.id)
    hex_id = job.id.removeprefix("ftjob-")
    assert done["status"] == "succeeded" and done["fine_tuned_model"] == f"{MODEL}.ft-{hex_id}"
    assert done["finished_at"] == done["created_at"] + 40 and done["trained_tokens"] > 0 and done["error"] is None
    results = sdk.files.content(done["result_files"][0]).text.splitlines()
    assert results[0].startswith("step,train_loss,train_mean_token_accuracy") and len(results) == 1 + 40
    events = raw.get(f"/openai/fine_tuning/jobs/{job.id}/events{V}&limit=100").json()
    check(events, "FineTuningJobEventList")
    messages = [e["message"] for e in events["data"]]
    assert messages[0] == "Job enqueued. Waiting for jobs ahead to complete." and messages[-1] == "Job succeeded."
    assert [e["type"] for e in events["data"]].count("metrics") == 2
    checkpoints = raw.get(f"/openai/fine_tuning/jobs/{job.id}/checkpoints{V}").json()
    check(checkpoints, "FineTuningJobCheckpointList")
    assert [c["fine_tuned_model_checkpoint"] for c in checkpoints["data"]] == [
        f"{MODEL}.ft-{hex_id}:ckpt-step-20", f"{MODEL}.ft-{hex_id}:ckpt-step-40"]  # fmt: skip
    answer = sdk.chat.completions.with_raw_response.create(
        model=done["fine_tuned_model"], messages=[{"role": "user", "content": "What is 2 + 2?"}]
    )
    spec_check(json.loads(answer.content), "createChatCompletionResponse")
    reply = answer.parse()
    assert reply.model == done["fine_tuned_model"] and reply.choices[0].message.content == "What is 2 + 2?"


def test_events_and_jobs_page(sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock) -> None:
    training = upload(sdk, examples(10))
    made = [sdk.fine_tuning.jobs.create(model="gpt-35-turbo-0125", training_file=training).id for _ in range(5)]
    assert [j.id for j in sdk.fine_tuning.jobs.list(limit=2)] == made[::-1]
    listed = raw.get(f"/openai/fine_tuning/jobs{V}&limit=2").json()
    check(listed, "FineTuningJobList")
    assert listed["has_more"] is True
    clock.advance(SPAN)
    events = list(sdk.fine_tuning.jobs.list_events(made[0], limit=3))  # the SDK pages through them all
    assert len(events) == 10 and events[-1].message == "Job succeeded." and len({e.id for e in events}) == 10


def test_bad_training_data_fails_the_job(sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock) -> None:
    too_few = sdk.fine_tuning.jobs.create(model=MODEL, training_file=upload(sdk, examples(3)))
    no_answers = upload(sdk, jsonl([{"messages": [{"role": "user", "content": f"q{i}"}]} for i in range(12)]))
    unanswered = sdk.fine_tuning.jobs.create(model=MODEL, training_file=no_answers)
    clock.advance(SPAN / 4)
    for job_id, says in ((too_few.id, "at least 10"), (unanswered.id, "no assistant message")):
        failed = job_body(raw, job_id)
        assert failed["status"] == "failed" and failed["fine_tuned_model"] is None
        assert failed["error"]["code"] == "invalidTrainingFile" and failed["error"]["param"] == "training_file"
        assert says in failed["error"]["message"]
    assert sdk.fine_tuning.jobs.list_events(too_few.id).data[-1].level == "error"


def test_cancel_a_job(sdk: AzureOpenAI, raw: httpx.Client, clock: FakeClock) -> None:
    job = sdk.fine_tuning.jobs.create(model=MODEL, training_file=upload(sdk, examples(10)))
    clock.advance(SPAN / 2)
    assert sdk.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    clock.advance(SPAN)
    assert job_body(raw, job.id)["status"] == "cancelled"
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.fine_tuning.jobs.cancel(job.id)
    assert caught.value.body["code"] == "unexpectedEntityState"


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"model": "dall-e-3"}, "does not support fine-tuning"),
        ({"training_file": "file-missing"}, "not found"),
        ({"hyperparameters": {"n_epochs": 500}}, "n_epochs"),
        ({"suffix": "far too long a suffix for any fine tuned model"}, "suffix"),
    ],
)
def test_bad_create_requests(sdk: AzureOpenAI, raw: httpx.Client, change: dict[str, Any], says: str) -> None:
    body = {"model": MODEL, "training_file": upload(sdk, examples(10)), **change}
    answer = raw.post(f"/openai/fine_tuning/jobs{V}", json=body)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalidPayload"
    assert says in answer.json()["error"]["message"]


def test_a_batch_file_is_not_training_data(sdk: AzureOpenAI) -> None:
    batch_file = sdk.files.create(file=("b.jsonl", examples(10)), purpose="batch")
    with pytest.raises(openai.BadRequestError, match="purpose 'fine-tune'"):
        sdk.fine_tuning.jobs.create(model=MODEL, training_file=batch_file.id)


def test_unknown_jobs(raw: httpx.Client) -> None:
    for path in ("", "/events", "/checkpoints"):
        answer = raw.get(f"/openai/fine_tuning/jobs/ftjob-nope{path}{V}")
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "notFound"


def test_state_reset_needs_the_admin_key() -> None:
    with LiveServer(resolve({"port": 0, "admin_key": "adm1n"}, env={})) as guarded:
        url = guarded.url + "/_mock/state/reset"
        assert httpx.post(url, headers={"api-key": KEY}).status_code == 401
        assert httpx.post(url, headers={"x-aoai-mock-admin-key": "adm1n"}).json()["reset"] is True


# -- as recorded: fine_tuning/net-CreateCancelDelete-2025-04-01-preview.json -----------------------------------------
P04 = "?api-version=2025-04-01-preview"
CHARSET = "application/json; charset=utf-8"


def test_the_recorded_create_cancel_delete(raw: httpx.Client, clock: FakeClock) -> None:
    """Upload (pending, then processed), create with ``method`` (201), cancel (finished_at), delete (204, no
    body), then the job is gone; the Files and fine-tuning answers carry charset and api-supported-versions."""
    form = (b'--b0undary\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n--b0undary\r\n'
            b'Content-Disposition: form-data; name="file"; filename="fine_tuning.jsonl"\r\nContent-Type: text/plain\r\n\r\n'
            + examples(10) + b"\r\n--b0undary--\r\n")  # fmt: skip
    uploaded = raw.post(f"/openai/files{P04}", content=form, headers={"content-type": "multipart/form-data; boundary=b0undary"})
    assert uploaded.status_code == 201 and uploaded.json()["status"] == "pending"
    assert uploaded.headers["content-type"] == CHARSET and "api-supported-versions" in uploaded.headers
    file_id = uploaded.json()["id"]
    clock.advance(SPAN / 4)
    assert raw.get(f"/openai/files/{file_id}{P04}").json()["status"] == "processed"
    body = {"model": "gpt-4o-mini", "training_file": file_id, "method": {"type": "supervised", "supervised": {"hyperparameters": {}}}}
    created = raw.post(f"/openai/fine_tuning/jobs{P04}", json=body)
    assert created.status_code == 201 and created.headers["content-type"] == CHARSET
    assert "api-supported-versions" in created.headers and "location" in created.headers
    job = created.json()
    assert job["hyperparameters"] == {"n_epochs": -1, "batch_size": -1, "learning_rate_multiplier": 1}
    assert job["method"] == {"type": "supervised"} and job["estimated_finish"] > job["created_at"]
    assert None not in job.values() and "result_files" not in job
    clock.advance(1)
    cancelled = raw.post(f"/openai/fine_tuning/jobs/{job['id']}/cancel{P04}")
    assert cancelled.status_code == 200 and cancelled.headers["content-type"] == CHARSET
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["finished_at"] == job["created_at"] + 1
    deleted = raw.delete(f"/openai/fine_tuning/jobs/{job['id']}{P04}")
    assert deleted.status_code == 204 and deleted.content == b"" and "api-supported-versions" in deleted.headers
    assert raw.get(f"/openai/fine_tuning/jobs/{job['id']}{P04}").status_code == 404


def test_delete_is_not_offered_before_the_recording(sdk: AzureOpenAI, raw: httpx.Client) -> None:
    job = sdk.fine_tuning.jobs.create(model=MODEL, training_file=upload(sdk, examples(10)))
    answer = raw.delete(f"/openai/fine_tuning/jobs/{job.id}{V}")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "404"
    assert job_body(raw, job.id)["id"] == job.id  # still there
