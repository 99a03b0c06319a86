"""Fine-tuning jobs without HTTP: create checks, the run on a clock the test moves (events, checkpoints,
success), bad training data failing the job, cancelling, and the fine-tuned model served as a deployment."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_mock.behaviour import files, fine_tuning
from aoai_mock.behaviour.fine_tuning_run import check_training
from aoai_mock.behaviour.objects import ListQuery
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import (
    InvalidResourceRequest,
    ObjectNotFound,
    UnexpectedEntityState,
)

from tests.behaviour.resource_helpers import (
    FakeClock,
    example,
    jsonl,
    runtime_on,
    upload,
)

SPAN = 40.0  # fine_tuning_seconds: 10 s pending, then 3 epochs of 10 s
MODEL = "gpt-4o-mini-2024-07-18"


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def runtime(clock: FakeClock) -> Runtime:
    return runtime_on(clock, fine_tuning_seconds=SPAN)


async def training(runtime: Runtime, count: int = 12, rows: list[Any] | None = None) -> str:
    return await upload(runtime, jsonl(rows if rows is not None else [example(i) for i in range(count)]), "fine-tune")


async def test_a_job_runs_to_success(runtime: Runtime, clock: FakeClock) -> None:
    job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime), "seed": 42})
    assert job["status"] == "pending" and job["id"].startswith("ftjob-") and job["seed"] == 42
    assert job["hyperparameters"] == {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.0}
    assert job["fine_tuned_model"] is None and job["estimated_finish"] is None
    clock.advance(10)
    running = await fine_tuning.retrieve(runtime, job["id"])
    assert running["status"] == "running" and running["estimated_finish"] == job["created_at"] + 40
    assert (await fine_tuning.list_checkpoints(runtime, job["id"], ListQuery(order="asc"))).data == []
    clock.advance(10)
    [first] = (await fine_tuning.list_checkpoints(runtime, job["id"], ListQuery(order="asc"))).data
    assert first["step_number"] == 12 and first["object"] == "fine_tuning.job.checkpoint"
    assert first["fine_tuned_model_checkpoint"] == f"{MODEL}.ft-{job['id'][6:]}:ckpt-step-12"
    assert set(first["metrics"]) == {"step", "train_loss", "train_mean_token_accuracy"}
    assert MODEL + ".ft-" + job["id"][6:] not in runtime.extra_deployments
    clock.advance(20)
    done = await fine_tuning.retrieve(runtime, job["id"])
    assert done["status"] == "succeeded" and done["fine_tuned_model"] == f"{MODEL}.ft-{job['id'][6:]}"
    assert done["finished_at"] == job["created_at"] + 40 and done["trained_tokens"] > 0
    [result] = done["result_files"]
    csv = (await files.content(runtime, result)).decode().splitlines()
    assert csv[0].startswith("step,train_loss") and len(csv) == 1 + 36
    assert (await files.retrieve(runtime, result))["purpose"] == "fine-tune-results"
    deployment = runtime.deployment(done["fine_tuned_model"])
    assert deployment is not None and deployment.model == "gpt-4o-mini" and deployment.response_model == done["fine_tuned_model"]
    messages = [
        e["message"]
        for e in (await fine_tuning.list_events(runtime, job["id"], ListQuery(order="asc", limit=100))).data
    ]
    assert messages[:2] == ["Job enqueued. Waiting for jobs ahead to complete.", "Job started."]
    assert messages[-1] == "Job succeeded." and f"Completed results file: {result}" in messages
    assert sum(m.startswith("Step ") for m in messages) == 3


async def test_the_same_job_tells_the_same_story(clock: FakeClock) -> None:
    stories = []
    for _ in range(2):
        runtime = runtime_on(FakeClock(), fine_tuning_seconds=0, seed=5)
        job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime)})
        done = await fine_tuning.retrieve(runtime, job["id"])
        stories.append((done, (await fine_tuning.list_events(runtime, job["id"], ListQuery(limit=100))).data))
    assert stories[0] == stories[1]


async def test_validation_file_adds_validation_metrics(runtime: Runtime, clock: FakeClock) -> None:
    job = await fine_tuning.create(
        runtime,
        {"model": MODEL, "training_file": await training(runtime), "validation_file": await training(runtime, 2)},
    )
    clock.advance(SPAN)
    checkpoints = (await fine_tuning.list_checkpoints(runtime, job["id"], ListQuery(order="asc"))).data
    assert len(checkpoints) == 3 and "valid_loss" in checkpoints[-1]["metrics"]


@pytest.mark.parametrize(
    ("rows", "says"),
    [
        ([example(i) for i in range(9)], "9 examples; at least 10"),
        ([{"prompt": "p", "completion": "c"}] * 12, "needs a 'messages' list"),
        ([{"messages": [{"role": "user", "content": "only a question"}]}] * 12, "no assistant message"),
        ([{"messages": [{"role": "wizard", "content": "x"}]}] * 12, "without a valid role"),
    ],
)
async def test_bad_training_data_fails_the_job(runtime: Runtime, clock: FakeClock, rows: list[Any], says: str) -> None:
    job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime, rows=rows)})
    assert job["status"] == "pending"
    clock.advance(10)
    failed = await fine_tuning.retrieve(runtime, job["id"])
    assert failed["status"] == "failed" and failed["error"]["param"] == "training_file"
    assert failed["error"]["code"] == "invalidTrainingFile" and says in failed["error"]["message"]
    assert failed["fine_tuned_model"] is None and failed["finished_at"] == job["created_at"] + 10
    assert (await fine_tuning.list_checkpoints(runtime, job["id"], ListQuery())).data == []
    levels = [e["level"] for e in (await fine_tuning.list_events(runtime, job["id"], ListQuery(order="asc"))).data]
    assert levels[-1] == "error"


async def test_a_bad_validation_file_names_its_parameter(runtime: Runtime, clock: FakeClock) -> None:
    bad = await training(runtime, rows=[{"messages": "nope"}])
    job = await fine_tuning.create(
        runtime, {"model": MODEL, "training_file": await training(runtime), "validation_file": bad}
    )
    clock.advance(SPAN)
    assert (await fine_tuning.retrieve(runtime, job["id"]))["error"]["param"] == "validation_file"


async def test_cancel(runtime: Runtime, clock: FakeClock) -> None:
    job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime)})
    clock.advance(21)
    cancelled = await fine_tuning.cancel(runtime, job["id"])
    assert cancelled["status"] == "cancelled"
    clock.advance(100)
    assert (await fine_tuning.retrieve(runtime, job["id"]))["status"] == "cancelled"
    assert len((await fine_tuning.list_checkpoints(runtime, job["id"], ListQuery())).data) == 1
    assert (await fine_tuning.list_events(runtime, job["id"], ListQuery(order="asc"))).data[-1][
        "message"
    ] == "Job cancelled."
    with pytest.raises(UnexpectedEntityState):
        await fine_tuning.cancel(runtime, job["id"])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"model": "no-such-model"}, "does not support fine-tuning"),
        ({"model": "text-embedding-3-small"}, "does not support fine-tuning"),
        ({"training_file": "file-missing"}, "not found"),
        ({"training_file": None}, "training_file"),
        ({"validation_file": "file-missing"}, "not found"),
        ({"hyperparameters": {"n_epochs": 0}}, "n_epochs"),
        ({"hyperparameters": {"batch_size": "big"}}, "batch_size"),
        ({"hyperparameters": {"learning_rate_multiplier": -1}}, "learning_rate_multiplier"),
        ({"suffix": "no spaces please"}, "suffix"),
        ({"seed": "seven"}, "seed"),
    ],
)
async def test_bad_create_requests(runtime: Runtime, body: dict[str, Any], says: str) -> None:
    request = {"model": MODEL, "training_file": await training(runtime), **body}
    with pytest.raises(InvalidResourceRequest, match=says):
        await fine_tuning.create(runtime, request)


async def test_the_training_file_must_have_purpose_fine_tune(runtime: Runtime) -> None:
    other = await upload(runtime, jsonl([example(i) for i in range(12)]), "assistants")
    with pytest.raises(InvalidResourceRequest, match="purpose 'fine-tune'"):
        await fine_tuning.create(runtime, {"model": MODEL, "training_file": other})


async def test_base_model_names_and_continued_fine_tuning(runtime: Runtime, clock: FakeClock) -> None:
    for name in ("gpt-4o-mini", "gpt-35-turbo-0125", "gpt-4o"):
        assert fine_tuning.base_deployment(runtime, name) is not None
    first = await fine_tuning.create(
        runtime, {"model": "gpt-35-turbo-0125", "training_file": await training(runtime), "suffix": "v1"}
    )
    clock.advance(SPAN)
    model = (await fine_tuning.retrieve(runtime, first["id"]))["fine_tuned_model"]
    assert model == f"gpt-35-turbo-0125.ft-{first['id'][6:]}-v1"
    second = await fine_tuning.create(runtime, {"model": model, "training_file": await training(runtime)})
    clock.advance(SPAN)
    again = (await fine_tuning.retrieve(runtime, second["id"]))["fine_tuned_model"]
    assert again == f"gpt-35-turbo-0125.ft-{second['id'][6:]}" and runtime.deployment(again) is not None


async def test_restore_deployments_from_the_store(runtime: Runtime, clock: FakeClock) -> None:
    job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime)})
    clock.advance(SPAN)
    name = (await fine_tuning.retrieve(runtime, job["id"]))["fine_tuned_model"]
    runtime.extra_deployments.clear()  # as after a restart
    assert runtime.deployment(name) is None
    assert await fine_tuning.restore_deployments(runtime) == 1 and runtime.deployment(name) is not None


async def test_list_and_unknown_ids(runtime: Runtime) -> None:
    file_id = await training(runtime)
    made = [(await fine_tuning.create(runtime, {"model": MODEL, "training_file": file_id}))["id"] for _ in range(4)]
    page = await fine_tuning.list_jobs(runtime, ListQuery(limit=3))
    assert [j["id"] for j in page.data] == made[::-1][:3] and page.has_more
    for action in (fine_tuning.retrieve, fine_tuning.cancel):
        with pytest.raises(ObjectNotFound):
            await action(runtime, "ftjob-nope")


def test_check_training_counts_examples_and_tokens() -> None:
    found = check_training(jsonl([example(i) for i in range(10)]), MODEL)
    assert found.examples == 10 and found.tokens > 100 and found.problem is None


# -- as recorded: fine_tuning/net-CreateCancelDelete-2025-04-01-preview.json -----------------------------------------
PREVIEW = "2025-04-01-preview"


async def test_the_2025_04_job_object(runtime: Runtime) -> None:
    """Exchange 2: no null keys, ``method``, ``estimated_finish``, hyperparameters -1 / -1 / 1 when not given."""
    body = {
        "model": MODEL,
        "training_file": await training(runtime),
        "method": {"type": "supervised", "supervised": {"hyperparameters": {}}},
    }
    job = await fine_tuning.create(runtime, body, PREVIEW)
    assert set(job) == {"hyperparameters", "seed", "method", "status", "model", "training_file", "estimated_finish",
                        "id", "created_at", "object"}  # fmt: skip
    assert job["hyperparameters"] == {"n_epochs": -1, "batch_size": -1, "learning_rate_multiplier": 1}
    assert isinstance(job["hyperparameters"]["learning_rate_multiplier"], int)
    assert job["method"] == {"type": "supervised"} and job["estimated_finish"] == job["created_at"] + SPAN
    assert await fine_tuning.retrieve(runtime, job["id"]) == job
    asked = await fine_tuning.create(
        runtime, {**body, "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}}}, PREVIEW
    )
    assert asked["hyperparameters"] == {"n_epochs": 2, "batch_size": -1, "learning_rate_multiplier": 1}
    old = await fine_tuning.create(
        runtime, {"model": MODEL, "training_file": await training(runtime)}
    )  # 2024-10-21: as before
    assert old["hyperparameters"]["n_epochs"] == 3 and old["fine_tuned_model"] is None and "method" not in old
    with pytest.raises(InvalidResourceRequest, match="supervised"):
        await fine_tuning.create(runtime, {**body, "method": {"type": "dpo"}}, PREVIEW)


async def test_a_2025_04_job_runs_its_real_epochs(runtime: Runtime, clock: FakeClock) -> None:
    """The shown -1 is not what the run uses: three epochs by default, as before."""
    job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime)}, PREVIEW)
    clock.advance(SPAN)
    done = await fine_tuning.retrieve(runtime, job["id"])
    assert done["status"] == "succeeded" and done["hyperparameters"]["n_epochs"] == -1
    assert len((await fine_tuning.list_checkpoints(runtime, job["id"], ListQuery())).data) == 3
    assert "estimated_finish" not in done and done["result_files"]


async def test_a_2025_04_cancel_sets_finished_at(runtime: Runtime, clock: FakeClock) -> None:
    """Exchange 3: ``cancelled`` with ``finished_at``, ``estimated_finish`` kept."""
    job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime)}, PREVIEW)
    clock.advance(1)
    cancelled = await fine_tuning.cancel(runtime, job["id"])
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"] == job["created_at"] + 1
    assert cancelled["estimated_finish"] == job["estimated_finish"] and None not in cancelled.values()
    clock.advance(100)
    assert await fine_tuning.retrieve(runtime, job["id"]) == cancelled


async def test_delete_forgets_the_job(runtime: Runtime) -> None:
    """Exchange 4: DELETE answers 204 (the route); the job is gone."""
    job = await fine_tuning.create(runtime, {"model": MODEL, "training_file": await training(runtime)}, PREVIEW)
    await fine_tuning.delete(runtime, job["id"])
    for action in (fine_tuning.retrieve, fine_tuning.delete):
        with pytest.raises(ObjectNotFound):
            await action(runtime, job["id"])


async def test_a_pending_training_file_can_be_used(runtime: Runtime) -> None:
    """The upload is ``pending`` for a while (exchange 0); a job may use it at once, as before."""
    file_id = await training(runtime)
    assert (await files.retrieve(runtime, file_id))["status"] == "pending"
    assert (await fine_tuning.create(runtime, {"model": MODEL, "training_file": file_id}, PREVIEW))[
        "status"
    ] == "pending"
