"""What every Azure route checks first, in the service's order: the key, the api-version, the deployment."""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette.requests import Request

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import (
    AccessDenied,
    ApiVersionNotSupported,
    DeploymentNotFound,
    InvalidJson,
    ModelNeedsNewerApiVersion,
    OperationNotSupported,
    RequestTooLarge,
    ResourceNotFound,
    UnsupportedMediaType,
)
from aoai_mock.wire import api_versions as av

__all__ = ["runtime_of", "authenticate", "api_version", "deployment_for", "read_json_body", "OPERATION_NAMES"]

# How the service names an operation in OperationNotSupported.
OPERATION_NAMES = {
    av.CHAT: "chatCompletion",
    av.COMPLETIONS: "completion",
    av.EMBEDDINGS: "embeddings",
    av.IMAGES_GENERATIONS: "imageGeneration",
    av.IMAGES_EDITS: "imageEdit",
    av.AUDIO_TRANSCRIPTIONS: "audioTranscription",
    av.AUDIO_TRANSLATIONS: "audioTranslation",
    av.AUDIO_SPEECH: "audioSpeech",
}


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def authenticate(request: Request, keys: tuple[str, ...]) -> None:
    """``api-key`` or ``Authorization: Bearer``; any non-empty one when no keys are configured."""
    headers = request.headers
    presented = headers.get("api-key")
    if not presented:
        auth = headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else ""
    if not presented or (keys and presented not in keys):
        raise AccessDenied()


def _query_value(query: bytes, name: bytes) -> str | None:
    """One query parameter, read straight from the raw query string (the hot path skips a full parse)."""
    for pair in query.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == name:
            return unquote_plus(value.decode("latin-1"))
    return None


def api_version(request: Request, operation: str, required: bool = True) -> str:
    value = _query_value(request.scope.get("query_string", b""), b"api-version")
    if not value:
        if required:
            raise ResourceNotFound()
        return ""
    version = av.lookup(value)
    if version is None:
        raise ApiVersionNotSupported()
    if not version.offers(operation):
        raise ResourceNotFound()
    return value


def deployment_for(runtime: Runtime, name: str, operation: str, version: str) -> Deployment:
    deployment = runtime.deployment(name)
    if deployment is None:
        raise DeploymentNotFound()
    if operation not in deployment.operations:
        raise OperationNotSupported(OPERATION_NAMES.get(operation, operation), deployment.model)
    if deployment.min_api_version and version and not av.is_at_least(version, deployment.min_api_version):
        raise ModelNeedsNewerApiVersion(deployment.min_api_version)
    return deployment


_JSON_TYPES = ("application/json", "text/json")


async def _receive_all(request: Request) -> bytes:
    """The whole body of a request whose declared length is within the limit."""
    message = await request.receive()
    body = message.get("body", b"")
    while message.get("more_body", False):
        message = await request.receive()
        body += message.get("body", b"")
    return body


async def read_json_body(request: Request, limit: int) -> bytes:
    """The raw body of a JSON request, refused when it is too large or not JSON at all."""
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise UnsupportedMediaType(media)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit():
        if int(declared) > limit:
            raise RequestTooLarge(limit)
        body = await _receive_all(request)
        if not body.strip():
            raise InvalidJson()
        return body
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise InvalidJson()
    return body
