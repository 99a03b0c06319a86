"""A fine-tuning job's run, as pure functions of the job and the seconds since it was created.

Timeline, ``F = settings.fine_tuning_seconds``: ``pending`` for ``F/4`` (the files are checked and the job
waits in the queue), then ``failed`` (a bad training or validation file) or ``running``, with ``n_epochs``
epochs ending at even intervals up to ``F``, then ``succeeded``. A cancel is immediate. Events, checkpoints
(one per epoch, the last three kept [docs: "the three most recent versions"]) and the metrics in them derive
from the job alone, so the same job always tells the same story.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.lifecycle import entered
from aoai_mock.behaviour.objects import Doc, derived_hex, offset_time, parse_jsonl

__all__ = [
    "TrainingCheck",
    "check_training",
    "cancelled_at",
    "until",
    "epoch_end",
    "events",
    "checkpoints",
    "results_csv",
    "MIN_EXAMPLES",
    "epochs",
]

MIN_EXAMPLES = 10  # [docs: "Fine tuning jobs will not proceed without at least 10 training examples"]
KEPT_CHECKPOINTS = 3
_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_CSV_HEADER = (
    "step,train_loss,train_mean_token_accuracy,valid_loss,validation_mean_token_accuracy,full_valid_loss,"
    "full_valid_mean_token_accuracy\n"
)


@dataclass(frozen=True, slots=True)
class TrainingCheck:
    examples: int
    tokens: int
    problem: str | None  # why the file cannot train a model; None when it can


def check_training(data: bytes, model: str, minimum: int = MIN_EXAMPLES) -> TrainingCheck:
    """Whether ``data`` is a chat-format training (or validation) file: ``{"messages": [...]}`` per line."""
    encoding = tokens.encoding_name_for(model)
    total = 0
    lines = parse_jsonl(data)
    for line in lines:
        problem = _example_problem(line.value) if line.error is None else "is not valid JSON"
        if problem is not None:
            return TrainingCheck(len(lines), total, f"Line {line.number} {problem}.")
        total += _tokens(line.value["messages"], encoding)
    if len(lines) < minimum:
        return TrainingCheck(len(lines), total, f"The file has {len(lines)} examples; at least {minimum} are needed.")
    return TrainingCheck(len(lines), total, None)


def _example_problem(value: Any) -> str | None:
    messages = value.get("messages") if isinstance(value, dict) else None
    if not isinstance(messages, list) or not messages:
        return "needs a 'messages' list of chat messages"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            return f"has a message ({index}) without a valid role"
        if message.get("content") is None and not message.get("tool_calls") and not message.get("function_call"):
            return f"has a message ({index}) without content"
    if not any(message["role"] == "assistant" for message in messages):
        return "has no assistant message to learn from"
    return None


def _tokens(messages: Sequence[Mapping[str, Any]], encoding: str) -> int:
    try:
        return tokens.count_chat(messages, encoding)
    except Exception:  # odd content shapes: an estimate is enough for trained_tokens
        return sum(len(str(message.get("content", ""))) // 4 + 3 for message in messages)


# -- the timeline (the states themselves: fine_tuning.LIFECYCLE) ---------------------------------------------------
def _hyper(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The hyperparameters the run uses: ``_hyper`` (the shown ones may be ``-1``), else the shown ones."""
    return doc.get("_hyper") or doc["hyperparameters"]


def epochs(doc: Mapping[str, Any]) -> int:
    return int(_hyper(doc)["n_epochs"])


def cancelled_at(doc: Mapping[str, Any]) -> float | None:
    """When (seconds since creation) the job was cancelled, from its lifecycle record; None if it was not."""
    return entered(doc, "cancelled")


def until(doc: Mapping[str, Any], at: float) -> float:
    """How far the job got: ``at``, or the moment it was cancelled."""
    cancel_at = cancelled_at(doc)
    return at if cancel_at is None else min(at, cancel_at)


def epoch_end(doc: Mapping[str, Any], epoch: int, span: float) -> float:
    queued = span / 4
    return queued + (span - queued) * epoch / epochs(doc)


def _steps_per_epoch(doc: Mapping[str, Any]) -> int:
    return max(1, math.ceil(int(doc["_examples"]) / int(_hyper(doc)["batch_size"])))


def _metrics(doc: Mapping[str, Any], step: int) -> dict[str, float]:
    """Falling loss, rising accuracy, with a little noise derived from the job and the step."""
    total = _steps_per_epoch(doc) * epochs(doc)
    fall = math.exp(-3.0 * step / total)
    noise = int(derived_hex(doc["id"], f"step-{step}", 8), 16) / 0xFFFFFFFF
    found = {
        "step": float(step),
        "train_loss": round(0.2 + 1.6 * fall + 0.05 * noise, 4),
        "train_mean_token_accuracy": round(min(0.99, 0.55 + 0.4 * (1 - fall) + 0.02 * noise), 4),
    }
    if doc.get("validation_file"):
        found["valid_loss"] = round(0.25 + 1.7 * fall + 0.08 * noise, 4)
        found["valid_mean_token_accuracy"] = round(min(0.99, 0.5 + 0.4 * (1 - fall) + 0.03 * noise), 4)
    return found


def _event(doc: Mapping[str, Any], index: int, seconds: float, message: str, **extra: Any) -> Doc:
    event: Doc = {
        "object": "fine_tuning.job.event",
        "id": "ftevent-" + derived_hex(doc["id"], f"event-{index}"),
        "created_at": offset_time(doc, seconds),
        "level": extra.pop("level", "info"),
        "message": message,
        "type": "metrics" if "data" in extra else "message",
    }
    event.update(extra)
    return event


def events(doc: Mapping[str, Any], at: float, span: float) -> list[Doc]:
    """The job's events up to now, oldest first [docs: the messages of Azure's example]."""
    reached = until(doc, at)
    found = [_event(doc, 0, 0, "Job enqueued. Waiting for jobs ahead to complete.")]
    if reached >= span / 4 and doc.get("_problem"):
        found.append(_event(doc, 1, span / 4, doc["_problem"]["message"], level="error"))
        found.append(_event(doc, 2, span / 4, "Job failed.", level="error"))
    elif reached >= span / 4:
        found.append(_event(doc, 1, span / 4, "Job started."))
        found.extend(_epoch_events(doc, reached, span))
        if reached >= span:
            for file_id in doc.get("result_files") or ():
                found.append(_event(doc, 9_000, span, f"Completed results file: {file_id}"))
            found.append(_event(doc, 9_001, span, "Job succeeded."))
    cancel_at = cancelled_at(doc)
    if cancel_at is not None:
        found.append(_event(doc, 9_002, cancel_at, "Job cancelled."))
    return found


def _epoch_events(doc: Mapping[str, Any], reached: float, span: float) -> list[Doc]:
    found = []
    per_epoch = _steps_per_epoch(doc)
    total = per_epoch * epochs(doc)
    for epoch in range(1, epochs(doc) + 1):
        ends = epoch_end(doc, epoch, span)
        if ends > reached:
            break
        step = epoch * per_epoch
        metrics = _metrics(doc, step)
        message = f"Step {step}/{total}: training loss={metrics['train_loss']:.4f}"
        found.append(_event(doc, 10 + 2 * epoch, ends, message, data=metrics))
        if epoch > epochs(doc) - KEPT_CHECKPOINTS:
            found.append(_event(doc, 11 + 2 * epoch, ends, f"Checkpoint created at step {step}."))
    return found


def checkpoints(doc: Mapping[str, Any], at: float, span: float) -> list[Doc]:
    """One checkpoint per finished epoch, the last three epochs only, oldest first."""
    if doc.get("_problem"):
        return []
    reached = until(doc, at)
    count = epochs(doc)
    per_epoch = _steps_per_epoch(doc)
    found = []
    for epoch in range(max(1, count - KEPT_CHECKPOINTS + 1), count + 1):
        ends = epoch_end(doc, epoch, span)
        if ends > reached:
            break
        step = epoch * per_epoch
        found.append({
            "object": "fine_tuning.job.checkpoint",
            "id": "ftckpt_" + derived_hex(doc["id"], f"checkpoint-{epoch}", 24),
            "created_at": offset_time(doc, ends),
            "fine_tuned_model_checkpoint": f"{doc['_model_name']}:ckpt-step-{step}",
            "step_number": step,
            "metrics": _metrics(doc, step),
            "fine_tuning_job_id": doc["id"],
        })  # fmt: skip
    return found


def results_csv(doc: Mapping[str, Any]) -> bytes:
    """``results.csv``: one row per training step [docs: the result file's columns]."""
    per_epoch = _steps_per_epoch(doc)
    total = per_epoch * epochs(doc)
    rows = [_CSV_HEADER]
    for step in range(1, total + 1):
        metrics = _metrics(doc, step)
        full = step % per_epoch == 0 and "valid_loss" in metrics
        cells = [
            str(step),
            f"{metrics['train_loss']}",
            f"{metrics['train_mean_token_accuracy']}",
            f"{metrics.get('valid_loss', '')}",
            f"{metrics.get('valid_mean_token_accuracy', '')}",
            f"{metrics['valid_loss']}" if full else "",
            f"{metrics['valid_mean_token_accuracy']}" if full else "",
        ]
        rows.append(",".join(cells) + "\n")
    return "".join(rows).encode("utf-8")
