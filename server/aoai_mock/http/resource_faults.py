"""Faults for the routes served through the framework (images, audio, files, batches, fine-tuning,
assistants, vector stores, responses): the ``x-aoai-mock-fault`` header and installed plans apply to them
as to chat, before the route runs.

What can happen there: an Azure error with its headers, a delay, a hang, a connection closed or reset
before any byte. Stream faults (cut, stall, malformed, error events) need a streaming answer the front
door builds, so on these routes they are not injected. Plans scope such requests by operation and
deployment (when the path names one); the body is not read for matching, since a route may stream or
parse it (multipart) itself. The header on a batch's create request is the exception: a batch passes
its ``x-aoai-mock-*`` headers on to every line, so the fault reaches the lines, not the create.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope

from aoai_mock.behaviour.matching import RequestView
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import AzureError
from aoai_mock.http.delivery import before_answer
from aoai_mock.http.front import Exchange, error_reply
from aoai_mock.wire import api_versions as av

__all__ = ["resource_fault", "operation_of"]

FAULT_HEADER = b"x-aoai-mock-fault"
_DEPLOYMENT_OPERATIONS = {
    "images/generations": av.IMAGES_GENERATIONS,
    "images/edits": av.IMAGES_EDITS,
    "audio/speech": av.AUDIO_SPEECH,
    "audio/transcriptions": av.AUDIO_TRANSCRIPTIONS,
    "audio/translations": av.AUDIO_TRANSLATIONS,
}
_RESOURCE_OPERATIONS = (  # the first path word after /openai/ (or /openai/v1/)
    ("assistants", av.ASSISTANTS),
    ("threads", av.ASSISTANTS),
    ("vector_stores", av.VECTOR_STORES),
    ("files", av.FILES),
    ("batches", av.BATCHES),
    ("fine_tuning", av.FINE_TUNING),
    ("responses", av.RESPONSES),
    ("models", av.MODELS),
)


def operation_of(path: str) -> tuple[str | None, str | None]:
    """(operation, deployment) of a path the framework serves; (None, None) for anything else."""
    if path.startswith("/openai/deployments/"):
        name, _, rest = path[len("/openai/deployments/") :].partition("/")
        return _DEPLOYMENT_OPERATIONS.get(rest), name or None
    rest = path[len("/openai/v1/") :] if path.startswith("/openai/v1/") else path[len("/openai/") :]
    first = rest.split("/", 1)[0]
    return next((op for word, op in _RESOURCE_OPERATIONS if word == first), None), None


async def resource_fault(
    runtime: Runtime, scope: Scope, receive: Receive, headers: dict[bytes, bytes], request_id: str
) -> ASGIApp | None:
    """The reply a fault gives in place of the route's (an error, a dead connection), or None: the route
    answers (after the fault's delay, if it had one)."""
    faults = runtime.faults
    if faults.idle and FAULT_HEADER not in headers:
        return None
    operation, deployment = operation_of(scope["path"])
    if operation is None or (operation == av.BATCHES and scope["method"] == "POST" and FAULT_HEADER in headers):
        return None  # a batch passes its x-aoai-mock-* headers on to every line (docs/files-batches-...)
    named = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
    exchange = Exchange(runtime, scope, receive, headers, deployment or "", request_id)
    try:
        fault = faults.decide(RequestView(operation, deployment or "", "", named, {}), request_id=request_id, stream=False)
        if fault is None or fault.action in ("cut", "stall", "malformed", "stream_error"):
            return None
        found = runtime.deployment(deployment) if deployment else None
        return await before_answer(exchange, found, fault)
    except AzureError as exc:
        return error_reply(exc)
