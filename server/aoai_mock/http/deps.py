"""What every Azure route checks first, in the service's order: the key, the api-version, the deployment."""

from __future__ import annotations

from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.types import Receive

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import (
    AccessDenied,
    ApiVersionNotSupported,
    DeploymentNotFound,
    ModelNeedsNewerApiVersion,
    OperationNotSupported,
    RequestTooLarge,
    ResourceNotFound,
    UnsupportedMediaType,
)
from aoai_mock.wire import api_versions as av

__all__ = [
    "runtime_of",
    "authenticate",
    "query_value",
    "api_version",
    "deployment_for",
    "check_json_request",
    "receive_body",
    "OPERATION_NAMES",
]

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
    av.RESPONSES: "responses",
}


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def authenticate(api_key: str | None, authorization: str | None, keys: tuple[str, ...]) -> None:
    """``api-key`` or ``Authorization: Bearer``; any non-empty one when no keys are configured."""
    presented = api_key
    if not presented:
        scheme, _, token = (authorization or "").partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else ""
    if not presented or (keys and presented not in keys):
        raise AccessDenied()


def query_value(query: bytes, name: bytes) -> str | None:
    """One query parameter, read straight from the raw query string (the hot path skips a full parse)."""
    for pair in query.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == name:
            return unquote_plus(value.decode("latin-1"))
    return None


_CHECKED: dict[tuple[bytes, str], str] = {}  # query strings already found good: clients repeat theirs


def api_version(query: bytes, operation: str, required: bool = True) -> str:
    """The ``api-version`` of a raw query string, checked against what the version offers."""
    known = _CHECKED.get((query, operation))
    if known is not None:
        return known
    value = _api_version(query, operation, required)
    if value and len(_CHECKED) < 1024:
        _CHECKED[(query, operation)] = value
    return value


def _api_version(query: bytes, operation: str, required: bool) -> str:
    value = query_value(query, b"api-version")
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


def deployment_for(
    runtime: Runtime, name: str, operation: str, version: str, scenario: str | None = None
) -> Deployment:
    deployment = runtime.deployment(name, scenario)
    if deployment is None:
        raise DeploymentNotFound()
    if operation not in deployment.operations:
        raise OperationNotSupported(OPERATION_NAMES.get(operation, operation), deployment.model)
    if deployment.min_api_version and version and not av.is_at_least(version, deployment.min_api_version):
        raise ModelNeedsNewerApiVersion(deployment.min_api_version)
    return deployment


_JSON_TYPES = ("application/json", "text/json")


def check_json_request(content_type: str | None, content_length: str | None, limit: int) -> None:
    """Refuse a body that is not JSON, or that says it is larger than ``limit``, before reading it."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and media not in _JSON_TYPES and not media.endswith("+json"):
        raise UnsupportedMediaType(media)
    if content_length and content_length.isdigit() and int(content_length) > limit:
        raise RequestTooLarge(limit)


async def receive_body(receive: Receive, limit: int) -> bytes:
    """The whole body, refused as soon as it grows past ``limit``."""
    message = await receive()
    body = message.get("body", b"")
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        body += message.get("body", b"")
        if len(body) > limit:
            raise RequestTooLarge(limit)
    if len(body) > limit:
        raise RequestTooLarge(limit)
    return body
