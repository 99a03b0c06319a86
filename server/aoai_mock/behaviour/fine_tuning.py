"""Fine-tuning jobs (``/openai/fine_tuning/jobs``): create, retrieve, list, cancel, events, checkpoints.

A job is created from uploaded files (purpose ``fine-tune``): the base ``model`` must be a chat model the
mock serves (``gpt-4o-mini-2024-07-18``, ``gpt-35-turbo-0125``, a deployment name, or an earlier job's
fine-tuned model), the files must exist and have that purpose; those are 400s at once. Whether the files are
really chat-format training data (``{"messages": [...]}`` per line, at least 10 examples) is found out while
the job is ``pending``: a bad file makes the job ``failed`` with an ``error`` naming the file's parameter.

The run follows :mod:`aoai_mock.behaviour.fine_tuning_run`; its states are declared in :data:`LIFECYCLE`
(:mod:`aoai_mock.behaviour.lifecycle`) and moved on whenever a job is read. When a job enters ``succeeded``
it gets its ``fine_tuned_model`` (``<model>.ft-<job hex>``, Azure's form [docs]), ``trained_tokens``, a
``results.csv`` result file, and the model becomes a deployment: ``runtime.extra_deployments`` maps the name
to the base model's deployment under that name, so chat completions to it are served (also after a restart
with ``--state``: :func:`restore_deployments`).

The dated (2024-10-21) job object [spec: authoring ``FineTuningJob``; statuses pending, running, succeeded,
failed, cancelled]. Azure's newer ``validating_files`` / ``queued`` statuses belong to the v1 API.

From 2025-04-01-preview, as recorded [captured: fine_tuning/net-CreateCancelDelete-2025-04-01-preview.json],
a job (its shape follows the api-version it was created with) omits its null keys and empty
``result_files``, has ``method: {"type": "supervised"}`` and ``estimated_finish`` from the start, and shows
the hyperparameters as asked: ``-1`` for an ``n_epochs`` / ``batch_size`` not given (or ``"auto"``), ``1``
for ``learning_rate_multiplier`` (the values the run uses are kept privately, ``_hyper``). A cancel sets
``finished_at`` and keeps ``estimated_finish``. Hyperparameters may come as ``method.supervised
.hyperparameters``; a job may be deleted (:func:`delete`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from aoai_mock.behaviour import files
from aoai_mock.behaviour import fine_tuning_run as run
from aoai_mock.behaviour.lifecycle import Entry, Lifecycle, State, until
from aoai_mock.behaviour.objects import (
    Doc,
    ListQuery,
    each_looked,
    elapsed,
    mint_hex,
    offset_time,
    public,
)
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment, Kind
from aoai_mock.errors import (
    InvalidResourceRequest,
    ObjectNotFound,
    ServerError,
    UnexpectedEntityState,
)
from aoai_mock.state.store import Page
from aoai_mock.wire import api_versions as av

__all__ = [
    "create", "retrieve", "list_jobs", "cancel", "delete", "list_events", "list_checkpoints",
    "restore_deployments", "base_deployment", "KIND", "LIFECYCLE", "ERA_2025_04",
]  # fmt: skip

ERA_2025_04 = "2025-04-01-preview"  # fine_tuning/net-CreateCancelDelete-2025-04-01-preview.json

KIND = "fine_tuning.job"
_SUFFIX = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_LIMITS = {"n_epochs": (1, 50), "batch_size": (1, 256)}


async def create(runtime: Runtime, body: Mapping[str, Any], api_version: str = av.LATEST_GA) -> Doc:
    model = _text(body, "model")
    base = base_deployment(runtime, model)
    if base is None:
        raise InvalidResourceRequest(f"The base model '{model}' does not support fine-tuning.")
    training_file = _text(body, "training_file")
    training = await _file_data(runtime, training_file, "training_file")
    validation_file = body.get("validation_file") or None
    validation = await _file_data(runtime, validation_file, "validation_file") if validation_file else None
    suffix = _suffix(body.get("suffix"))
    checked = run.check_training(training, base.model)
    problem = _problem(checked.problem, "training_file")
    if validation is not None and problem is None:
        problem = _problem(run.check_training(validation, base.model, minimum=1).problem, "validation_file")
    asked = _asked_hyperparameters(body)
    hyper = _hyperparameters(asked, checked.examples)
    seed = _seed(body.get("seed"))
    job_hex = await mint_hex(runtime, "ftjob")  # once every check passed: a refused job uses up no id
    doc = _new(runtime, job_hex, model, training_file, validation_file, suffix, hyper, seed)
    root = model.split(".ft-", 1)[0]
    doc.update(
        _examples=max(1, checked.examples), _tokens=checked.tokens, _problem=problem, _hyper=hyper,
        _model_name=f"{root}.ft-{job_hex}" + (f"-{suffix}" if suffix else ""), _api_version=api_version,
    )  # fmt: skip
    if _newer(doc):
        doc.update(hyperparameters=_shown_hyperparameters(asked), method={"type": "supervised"})
        doc["estimated_finish"] = offset_time(doc, _span(runtime))
    await LIFECYCLE.start(runtime, doc, runtime.clock.now())
    await runtime.store.put(KIND, doc)
    return _wire(doc)


async def retrieve(runtime: Runtime, job_id: str) -> Doc:
    return await _advance(runtime, await _get(runtime, job_id))


async def list_jobs(runtime: Runtime, query: ListQuery) -> Page:
    return query.page(await each_looked(await runtime.store.all(KIND), lambda doc: _advance(runtime, doc)))


async def cancel(runtime: Runtime, job_id: str) -> Doc:
    """A pending or running job is ``cancelled`` at once (from 2025-04-01-preview with ``finished_at``)."""
    view = await _advance(runtime, await _get(runtime, job_id))
    doc = await _get(runtime, job_id)
    if not LIFECYCLE.allows(doc, "cancelled"):
        raise UnexpectedEntityState(f"The fine-tuning job cannot be cancelled because it is {view['status']}.")
    await LIFECYCLE.move(runtime, doc, "cancelled", runtime.clock.now())
    await runtime.store.put(KIND, doc)
    return await _advance(runtime, doc)


async def delete(runtime: Runtime, job_id: str) -> None:
    """Forget a job, in any state [captured: a cancelled job's delete, 204; other states inferred]. A model
    it made stays served (the deployment is a separate resource on Azure)."""
    await _get(runtime, job_id)
    await runtime.store.delete(KIND, job_id)


async def list_events(runtime: Runtime, job_id: str, query: ListQuery) -> Page:
    await _advance(runtime, await _get(runtime, job_id))
    doc = await _get(runtime, job_id)
    return query.page(run.events(doc, elapsed(runtime, doc), runtime.settings.fine_tuning_seconds))


async def list_checkpoints(runtime: Runtime, job_id: str, query: ListQuery) -> Page:
    doc = await _get(runtime, job_id)
    return query.page(run.checkpoints(doc, elapsed(runtime, doc), runtime.settings.fine_tuning_seconds))


async def restore_deployments(runtime: Runtime) -> int:
    """Serve the models of every succeeded job in the store (a ``--state`` file, or Redis); how many there are.
    A Redis out of reach at start restores none (the store logs the outage): the server starts all the same."""
    try:
        jobs = await runtime.store.all(KIND)
    except ServerError:
        return 0
    count = 0
    for doc in jobs:
        if doc.get("status") == "succeeded" and doc.get("fine_tuned_model"):
            count += _register(runtime, doc)
    return count


def base_deployment(runtime: Runtime, model: str) -> Deployment | None:
    """The chat deployment a base model name means: ``gpt-4o-mini-2024-07-18``, ``gpt-4o-mini`` or a name."""
    extra = runtime.extra_deployments.get(model)
    if extra is not None:
        return extra
    for deployment in runtime.deployments:
        if deployment.kind is Kind.chat and model in _names(deployment):
            return deployment
    return None


def _names(deployment: Deployment) -> tuple[str, ...]:
    return (deployment.name, deployment.model, f"{deployment.model}-{deployment.version}")


# -- pieces ----------------------------------------------------------------------------------------------------
async def _get(runtime: Runtime, job_id: str) -> Doc:
    found = await runtime.store.get(KIND, job_id)
    if found is None:
        raise ObjectNotFound("Fine-tuning job", job_id)
    return found


async def _advance(runtime: Runtime, doc: Doc) -> Doc:
    """The job as of now: moved on as far as the clock lets it; stored back when it changed."""
    moved = await LIFECYCLE.advance(runtime, doc, runtime.clock.now())
    if not moved and doc.get("fine_tuned_model") and doc["fine_tuned_model"] not in runtime.extra_deployments:
        _register(runtime, doc)  # succeeded in another process sharing the store (Redis)
    view = public(doc)
    active = view["status"] in ("pending", "running")
    if active or not (_newer(doc) and view["status"] == "cancelled"):  # a cancelled job keeps it [captured]
        view["estimated_finish"] = offset_time(doc, _span(runtime)) if active else None
    if moved or view != public(doc):
        await runtime.store.put(KIND, {**doc, **view})
    return _wire({**doc, **view})


def _newer(doc: Mapping[str, Any]) -> bool:
    """Whether the job was created at 2025-04-01-preview or later (the recorded shape)."""
    version = str(doc.get("_api_version") or "")
    return bool(version) and version not in av.V1_FAMILY and av.is_at_least(version, ERA_2025_04)


def _wire(doc: Mapping[str, Any]) -> Doc:
    """The job as sent: from 2025-04-01-preview without null keys and without empty ``result_files``."""
    view = public(doc)
    if not _newer(doc):
        return view
    return {key: value for key, value in view.items() if value is not None and value != []}


# -- the lifecycle ---------------------------------------------------------------------------------------------
async def _checked(_runtime: Runtime, doc: Doc) -> str:
    """Where a job goes once its files are checked: ``failed`` for a bad file, else ``running``."""
    return "failed" if doc.get("_problem") else "running"


async def _cancel(_runtime: Runtime, doc: Doc, entry: Entry) -> None:
    """On ``cancelled``: from 2025-04-01-preview the job is finished then [captured]."""
    if _newer(doc):
        doc["finished_at"] = offset_time(doc, entry.at)


async def _fail(_runtime: Runtime, doc: Doc, entry: Entry) -> None:
    """On ``failed``: the bad file's problem is the job's ``error``, finished when the check ended."""
    doc.update(error=doc["_problem"], finished_at=offset_time(doc, entry.at))


async def _succeed(runtime: Runtime, doc: Doc, entry: Entry) -> None:
    """On ``succeeded``: the fine-tuned model's name, trained tokens, ``results.csv``, and its deployment."""
    finished = offset_time(doc, entry.at)
    data = run.results_csv(doc)
    result = await files.write_file(runtime, "results.csv", "fine-tune-results", data, created_at=finished)
    epochs = run.epochs(doc)
    doc.update(
        fine_tuned_model=doc["_model_name"], finished_at=finished, trained_tokens=int(doc["_tokens"]) * epochs,
        result_files=[result["id"]],
    )  # fmt: skip
    _register(runtime, doc)


def _span(runtime: Runtime, _doc: Doc | None = None) -> float:
    return runtime.settings.fine_tuning_seconds


# ``F = settings.fine_tuning_seconds``: queued for F/4, then failed or running until F (fine_tuning_run).
LIFECYCLE: Lifecycle[Runtime] = Lifecycle(
    State("pending", then=_checked, ends=until(lambda rt, _: _span(rt) / 4), manual=("cancelled",)),
    State("running", then="succeeded", ends=until(_span), manual=("cancelled",)),
    State("succeeded", on_enter=_succeed),
    State("failed", on_enter=_fail),
    State("cancelled", on_enter=_cancel),
)


def _register(runtime: Runtime, doc: Mapping[str, Any]) -> int:
    base = base_deployment(runtime, doc["model"])
    if base is None:  # the base model is no longer configured
        return 0
    name = doc["fine_tuned_model"]
    runtime.extra_deployments[name] = base.model_copy(update={"name": name, "response_model": name})
    return 1


def _new(
    runtime: Runtime, job_hex: str, model: str, training: str, validation: str | None, suffix: str | None,
    hyper: dict[str, Any], seed: int | None,
) -> Doc:  # fmt: skip
    return {
        "id": f"ftjob-{job_hex}",
        "object": "fine_tuning.job",
        "created_at": runtime.clock.created(),
        "status": "pending",
        "model": model,
        "fine_tuned_model": None,
        "training_file": training,
        "validation_file": validation,
        "result_files": [],
        "finished_at": None,
        "trained_tokens": None,
        "error": None,
        "estimated_finish": None,
        "hyperparameters": hyper,
        "suffix": suffix,
        "seed": seed if seed is not None else int(job_hex[:8], 16) % 2**31,
    }


def _seed(seed: Any) -> int | None:
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31):
        raise InvalidResourceRequest("seed must be a whole number from 0 to 2147483647.")
    return seed  # type: ignore[no-any-return]


async def _file_data(runtime: Runtime, file_id: Any, param: str) -> bytes:
    if not isinstance(file_id, str) or not file_id:
        raise InvalidResourceRequest(f"'{param}' must be a file id.")
    found = await runtime.store.get(files.KIND, file_id)
    if found is None:
        raise InvalidResourceRequest(f"The {param.replace('_', ' ')} '{file_id}' was not found.")
    if found.get("purpose") != "fine-tune":
        purpose = found.get("purpose")
        raise InvalidResourceRequest(f"The {param.replace('_', ' ')} must have purpose 'fine-tune', not '{purpose}'.")
    return await runtime.store.get_blob(file_id) or b""


def _problem(message: str | None, param: str) -> dict[str, Any] | None:
    if message is None:
        return None
    code = "invalidTrainingFile" if param == "training_file" else "invalidValidationFile"
    which = "training" if param == "training_file" else "validation"
    return {"code": code, "message": f"The {which} file is not valid chat-format data: {message}", "param": param}


def _asked_hyperparameters(body: Mapping[str, Any]) -> dict[str, Any]:
    """``hyperparameters``, or ``method.supervised.hyperparameters`` (the newer form) [captured request]."""
    method = body.get("method")
    given = body.get("hyperparameters")
    if method is not None:
        if not isinstance(method, dict) or method.get("type", "supervised") != "supervised":
            raise InvalidResourceRequest("method.type must be 'supervised': the mock models supervised fine-tuning.")
        supervised = method.get("supervised") or {}
        if not isinstance(supervised, dict):
            raise InvalidResourceRequest("method.supervised must be an object.")
        given = supervised.get("hyperparameters", given)
    if given is not None and not isinstance(given, dict):
        raise InvalidResourceRequest("hyperparameters must be an object.")
    return dict(given or {})


def _shown_hyperparameters(asked: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters as the 2025-04-01-preview job shows them: as asked, ``-1`` / ``1`` when not [captured]."""
    shown: dict[str, Any] = {"n_epochs": -1, "batch_size": -1, "learning_rate_multiplier": 1}
    shown.update({key: value for key, value in asked.items() if key in shown and value != "auto"})
    return shown


def _hyperparameters(given: dict[str, Any], examples: int) -> dict[str, Any]:
    found: dict[str, Any] = {"n_epochs": 3, "batch_size": max(1, min(32, math.ceil(examples * 0.002))),
                             "learning_rate_multiplier": 1.0}  # fmt: skip
    for key, (low, high) in _LIMITS.items():
        value = given.get(key, "auto")
        if value != "auto":
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidResourceRequest(
                    f"hyperparameters.{key} must be 'auto' or a whole number from {low} to {high}."
                )
            found[key] = value
    rate = given.get("learning_rate_multiplier", "auto")
    if rate != "auto":
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= 10:
            raise InvalidResourceRequest("hyperparameters.learning_rate_multiplier must be 'auto' or a number above 0.")
        found["learning_rate_multiplier"] = float(rate)
    return found


def _suffix(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _SUFFIX.match(value):
        raise InvalidResourceRequest("suffix may have up to 40 characters: a-z, A-Z, 0-9, - and _.")
    return value


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidResourceRequest(f"'{key}' is required and must be a non-empty string.")
    return value
