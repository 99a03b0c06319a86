"""What a finished request's telemetry says, read from its :class:`~aoai_mock.state.record.Record`: the span's
name, the HTTP and GenAI attributes, the answer's id, model and finish reasons, and the error it ended with.

Pure reading, no OpenTelemetry (:mod:`aoai_mock.http.telemetry` turns these into spans and metric points), so
it runs and is tested without the SDK. It runs on the telemetry thread, never on the request path: the answer's
body (the first ``BODY_LIMIT`` bytes a record keeps) is parsed here, once per request.

``error.type`` (docs/opentelemetry.md lists them): for a GenAI operation, any answer of status 400 or more is an
error, named by Azure's error code in the body (``DeploymentNotFound``, ``429``, ``content_filter`` ...) or else
by the status; for other requests (HTTP server conventions) only 5xx answers are. A response that went wrong
in transport is named by the record's outcome (``reset``, ``closed``, ``hung``, ``cut``, ``client_closed`` ...),
or by the code of the error event a stream ended with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from aoai_mock.settings import Settings
from aoai_mock.state.record import SENT, Record
from aoai_mock.wire.operations import by_name

__all__ = ["Facts", "facts", "route", "answer", "Answer", "server_of", "GENAI_OPERATIONS", "PROVIDER"]

PROVIDER = "azure.ai.openai"  # gen_ai.provider.name (and the older gen_ai.system) for Azure OpenAI
# The mock's operations that are GenAI operations, by the conventions' well-known names. A Responses answer is a
# chat turn (the conventions have no name of their own for it).
GENAI_OPERATIONS = {"chat.completions": "chat", "completions": "text_completion", "embeddings": "embeddings",
                    "responses": "chat"}  # fmt: skip


@dataclass(slots=True)
class Answer:
    """What the answer's body says, where it says it."""

    id: str | None = None
    model: str | None = None
    finish_reasons: dict[int, str] = field(default_factory=dict)  # by choice index
    error_code: str | None = None


@dataclass(slots=True)
class Facts:
    """One request's telemetry, ready to be attributes."""

    span_name: str
    http: dict[str, Any]  # http.request.method, http.response.status_code, http.route: span and HTTP metric
    server: dict[str, Any]  # server.address, server.port (the Host the client asked for)
    genai: dict[str, Any]  # operation, provider, request and response model, server: {} for other requests
    user_agent: str | None = None
    response_id: str | None = None
    finish_reasons: list[str] = field(default_factory=list)
    error_type: str | None = None  # the span's error.type (and the GenAI duration's)
    http_error_type: str | None = None  # the HTTP duration's error.type: 5xx and transport failures only

    @property
    def failed(self) -> bool:
        """The span's status is an error: a GenAI operation that failed, or a 5xx or transport failure."""
        return self.error_type is not None and (bool(self.genai) or self.http_error_type is not None)


def facts(record: Record, settings: Settings) -> Facts:
    """Everything the span and the metric points of this request say."""
    method = record.method
    template = route(record)
    http: dict[str, Any] = {"http.request.method": method}
    if record.status is not None:
        http["http.response.status_code"] = record.status
    if template is not None:
        http["http.route"] = template
    host, user_agent = _headers(record)
    server = server_of(host, settings)
    operation = GENAI_OPERATIONS.get(record.operation or "") if method == "POST" else None
    if operation is not None and record.operation == "responses" and template is None:
        operation = None  # GET, DELETE or a sub-resource of a stored response: not a generation
    said = answer(record) if operation is not None or record.status is None or record.status >= 400 else Answer()
    failure = _failure(record, said)
    found = Facts(
        span_name=f"{method} {template}" if template else method, http=http, server=server, genai={},
        user_agent=user_agent, error_type=failure, http_error_type=_http_failure(record, failure),
    )  # fmt: skip
    if operation is not None:
        _genai(found, record, operation, said, settings)
    return found


def _genai(found: Facts, record: Record, operation: str, said: Answer, settings: Settings) -> None:
    model = record.deployment  # what a request to Azure names: the deployment (the path's, or the v1 body's model)
    genai: dict[str, Any] = {"gen_ai.operation.name": operation, "gen_ai.provider.name": PROVIDER}
    if model:
        genai["gen_ai.request.model"] = model
        found.span_name = f"{operation} {model}"
    else:
        found.span_name = operation
    answered = (said.model or _configured_model(model, settings)) if found.error_type is None else said.model
    if answered:
        genai["gen_ai.response.model"] = answered
    genai.update(found.server)
    found.genai = genai
    found.response_id = said.id or None
    found.finish_reasons = [said.finish_reasons[index] for index in sorted(said.finish_reasons)]


def _configured_model(deployment: str | None, settings: Settings) -> str | None:
    """What the deployment's answers name as their model, when the body kept does not say (a long embeddings
    answer): the configured deployments only (a scenario's own are not known here)."""
    found = settings.config.deployment(deployment) if deployment else None
    return (found.response_model or found.model) if found is not None else None


def route(record: Record) -> str | None:
    """The path template the request matched (``/openai/deployments/{deployment}/chat/completions``), when the
    operation registry has one that is the whole path; None for a resource's sub-paths (a file's content)."""
    operation = by_name(record.operation) if record.operation else None
    if operation is None:
        return None
    deployment = record.deployment or ""
    for template in (*operation.paths, *operation.v1_paths):
        if template == record.path or (deployment and template.replace("{deployment}", deployment) == record.path):
            return template
    return None


def _headers(record: Record) -> tuple[str | None, str | None]:
    host = user_agent = None
    for name, value in record.headers:
        if name == b"host":
            host = value.decode("latin-1")
        elif name == b"user-agent":
            user_agent = value.decode("latin-1")
    return host, user_agent


def server_of(host: str | None, settings: Settings) -> dict[str, Any]:
    """``server.address`` and ``server.port`` from the Host header, else the address the mock is bound to."""
    if not host:
        return {"server.address": settings.host, "server.port": settings.port}
    name, colon, port = host.rpartition(":")
    if not colon or "]" in port or not port.isdigit():  # no port: http's own
        return {"server.address": host.strip("[]"), "server.port": 80}
    return {"server.address": name.strip("[]"), "server.port": int(port)}


def _failure(record: Record, said: Answer) -> str | None:
    if record.status is None:
        return record.outcome  # nothing was sent: hung, closed, reset, client_closed
    if record.status >= 400:
        return said.error_code or str(record.status)
    if record.outcome != SENT:
        return said.error_code or record.outcome  # a stream cut short, or ended by an error event
    return None


def _http_failure(record: Record, failure: str | None) -> str | None:
    if failure is None or (record.status is not None and 400 <= record.status < 500):
        return None
    return failure if record.status is None or record.status < 500 else str(record.status)


def answer(record: Record) -> Answer:
    """The id, model, finish reasons or error code the answer's body carries: a JSON body read whole when the
    record kept all of it, an event stream event by event (as much of it as the record kept)."""
    body = record.response_body
    said = Answer()
    if not body:
        return said
    if record.stream:
        for event in body.split(b"\n\n"):
            _event(said, event)
    elif record.response_size <= len(body):
        _read(said, _json(body))
    return said


def _event(said: Answer, event: bytes) -> None:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            data = line[5:].strip()
            if data and data != b"[DONE]":
                _read(said, _json(data))


def _json(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _read(said: Answer, data: Any) -> None:
    if not isinstance(data, dict):
        return
    if data.get("type") == "error":  # a Responses stream's error event
        _error_code(said, data)
        return
    inner = data.get("response")  # a Responses stream's events carry the response
    if isinstance(inner, dict):
        data = inner
    error = data.get("error")
    if isinstance(error, dict):  # an error body, a chat stream's error event, a failed response
        _error_code(said, error)
        return
    if said.id is None and isinstance(data.get("id"), str) and data["id"]:
        said.id = data["id"]
    if said.model is None and isinstance(data.get("model"), str) and data["model"]:
        said.model = data["model"]
    for position, choice in enumerate(data.get("choices") or ()):
        if isinstance(choice, dict) and isinstance(choice.get("finish_reason"), str):
            index = choice.get("index")
            said.finish_reasons[index if isinstance(index, int) else position] = choice["finish_reason"]


def _error_code(said: Answer, error: dict[str, Any]) -> None:
    code = error.get("code")
    if code is not None and code != "":
        said.error_code = str(code)
