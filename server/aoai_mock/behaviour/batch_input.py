"""A batch's input file, checked line by line the way Azure's global batch checks it.

Each line is ``{"custom_id": "task-0", "method": "POST", "url": "/chat/completions", "body": {"model":
"<deployment>", "messages": [...]}}`` [docs]. Every line must name the same deployment in ``body.model``
and use the batch's endpoint. The error codes and their wording are the service's [docs: the batch how-to's
error code table, and the ``empty_file`` example]; every error carries the 1-based ``line`` it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aoai_mock.behaviour.objects import parse_jsonl
from aoai_mock.wire.operations import OPERATIONS

__all__ = ["ENDPOINTS", "MAX_TASKS", "Task", "BatchInput", "endpoint_key", "read_input", "batch_error"]

# The batch endpoints and the operation each one runs (the registry's ``batch_url``).
ENDPOINTS: dict[str, str] = {op.batch_url: op.name for op in OPERATIONS.values() if op.batch_url}
MAX_TASKS = 100_000  # [docs: global batch limits]
MAX_ERRORS = 1_000  # errors reported per batch; the rest are dropped

MESSAGES = {
    "empty_file": "The input file is empty. Please ensure that the batch contains at least one request.",
    "invalid_json_line": "A line (or multiple) in your input file wasn't able to be parsed as valid json. Please "
    "ensure no typos, proper opening and closing brackets, and quotes as per JSON standard, and resubmit the request.",
    "too_many_tasks": "The number of requests in the input file exceeds the maximum allowed value of 100,000. "
    "Please ensure your total requests are under 100,000 and resubmit the job.",
    "url_mismatch": "Either a row in your input file has a URL that doesn't match the rest of the rows, or the URL "
    "specified in the input file doesn't match the expected endpoint URL. Please ensure all request URLs are the "
    "same, and that they match the endpoint URL associated with your Azure OpenAI deployment.",
    "model_not_found": "The Azure OpenAI model deployment name that was specified in the model property of the "
    "input file wasn't found. Please ensure this name points to a valid Azure OpenAI model deployment.",
    "duplicate_custom_id": "The custom ID for this request is a duplicate of the custom ID in another request.",
    "model_mismatch": "The Azure OpenAI model deployment name that was specified in the model property of this "
    "request in the input file doesn't match the rest of the file. Please ensure that all requests in the batch "
    "point to the same AOAI model deployment in the model property of the request.",
    "invalid_request": "The schema of the input line is invalid or the deployment SKU is invalid. Please ensure the "
    "properties of the request in your input file match the expected input properties, and that the Azure OpenAI "
    "deployment SKU is globalbatch for batch API requests.",
}


def batch_error(
    code: str, line: int | None = None, param: str | None = None, message: str | None = None
) -> dict[str, Any]:
    """One entry of a failed batch's ``errors.data``."""
    return {"code": code, "message": message or MESSAGES[code], "param": param, "line": line}


def endpoint_key(url: str) -> str | None:
    """``/chat/completions`` for ``/chat/completions``, ``/v1/chat/completions`` or ``chat/completions``."""
    path = "/" + url.strip().lstrip("/")
    if path.startswith("/v1/"):
        path = path[3:]
    return path if path in ENDPOINTS else None


@dataclass(frozen=True, slots=True)
class Task:
    line: int
    custom_id: str
    body: dict[str, Any]


@dataclass(slots=True)
class BatchInput:
    tasks: list[Task] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    deployment: str | None = None
    lines: int = 0  # non-blank lines: the batch's request total

    def fail(self, code: str, line: int | None = None, param: str | None = None) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(batch_error(code, line, param))


def read_input(data: bytes, endpoint: str, deployment_exists: Callable[[str], bool]) -> BatchInput:
    """The tasks of an input file for ``endpoint`` (an :data:`ENDPOINTS` key), or every problem it has."""
    found = BatchInput()
    lines = parse_jsonl(data)
    found.lines = len(lines)
    if not lines:
        found.fail("empty_file")
        return found
    if len(lines) > MAX_TASKS:
        found.fail("too_many_tasks")
        return found
    seen: set[str] = set()
    for line in lines:
        task = _task(found, line.number, line.value if line.error is None else None, endpoint, deployment_exists)
        if task is None:
            continue
        if task.custom_id in seen:
            found.fail("duplicate_custom_id", line.number, "custom_id")
            continue
        seen.add(task.custom_id)
        found.tasks.append(task)
    return found


def _task(
    found: BatchInput, number: int, value: Any, endpoint: str, deployment_exists: Callable[[str], bool]
) -> Task | None:
    if not isinstance(value, dict):
        found.fail("invalid_json_line", number)
        return None
    problem = _shape_problem(value)
    if problem is not None:
        found.fail("invalid_request", number, problem)
        return None
    if endpoint_key(value["url"]) != endpoint:
        found.fail("url_mismatch", number, "url")
        return None
    model = value["body"]["model"]
    if not deployment_exists(model):
        found.fail("model_not_found", number, "body.model")
        return None
    if found.deployment is None:
        found.deployment = model
    elif model != found.deployment:
        found.fail("model_mismatch", number, "body.model")
        return None
    return Task(number, value["custom_id"], value["body"])


def _shape_problem(value: dict[str, Any]) -> str | None:
    """The field of a line that does not have the request's shape, or None."""
    if not isinstance(value.get("custom_id"), str) or not value["custom_id"]:
        return "custom_id"
    if str(value.get("method", "")).upper() != "POST":
        return "method"
    if not isinstance(value.get("url"), str):
        return "url"
    body = value.get("body")
    if not isinstance(body, dict):
        return "body"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "body.model"
    if body.get("stream"):
        return "body.stream"
    return None
