"""What every Azure route checks first, in the service's order: the key, the api-version, the deployment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.types import Message, Receive, Scope

from aoai_mock.behaviour import entra
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import (
    AccessDenied,
    ApiVersionNotSupported,
    DeploymentNotFound,
    InvalidJson,
    KeyAuthDisabled,
    ModelNeedsNewerApiVersion,
    OperationNotSupported,
    RequestTooLarge,
    ResourceNotFound,
    UnsupportedMediaType,
)
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.operations import OPERATIONS
from aoai_mock.wire.validation import load_json

__all__ = [
    "runtime_of",
    "authenticate",
    "authenticate_scope",
    "query_value",
    "api_version",
    "deployment_for",
    "check_json_request",
    "receive_body",
    "rate_headers_early",
    "replayed",
    "json_body",
    "OPERATION_NAMES",
]

# How the service names an operation in OperationNotSupported (the registry's ``unsupported_name``).
OPERATION_NAMES: dict[str, str] = {op.name: op.unsupported_name for op in OPERATIONS.values() if op.unsupported_name}


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def authenticate(api_key: str | None, authorization: str | None, runtime: Runtime, operation: str = "") -> None:
    """``api-key`` or ``Authorization: Bearer`` (docs/entra-id.md). A Bearer that is a JWT is an Entra ID token,
    judged on the runtime's clock for ``operation``; any other Bearer is a key, as the v1 routes take one. A key
    is any non-empty one when no keys are configured, and Azure's 403 when local auth is disabled."""
    settings = runtime.settings
    presented = api_key
    if not presented:
        scheme, _, token = (authorization or "").partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else ""
        if presented.startswith("eyJ") and entra.looks_like_jwt(presented):
            entra.check(presented, settings.entra, runtime.clock.now(), operation)
            return
    if not presented:
        raise AccessDenied()
    if settings.disable_local_auth:
        raise KeyAuthDisabled()
    if settings.api_keys and presented not in settings.api_keys:
        raise AccessDenied()


def authenticate_scope(scope: Scope, runtime: Runtime, operation: str) -> None:
    """:func:`authenticate` for a raw ASGI scope (a WebSocket's, say): the ``api-key`` header, else the
    ``api-key`` query parameter (browsers cannot set headers on a WebSocket), else ``Authorization``."""
    headers = dict(scope.get("headers") or ())
    key = headers.get(b"api-key")
    text = key.decode("latin-1") if key else query_value(scope.get("query_string", b""), b"api-key")
    authorization = headers.get(b"authorization")
    authenticate(text, authorization.decode("latin-1") if authorization else None, runtime, operation)


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
    if operation not in deployment.operations and not _answers(deployment, operation):
        raise OperationNotSupported(OPERATION_NAMES.get(operation, operation), deployment.model)
    if deployment.min_api_version and version and not av.is_at_least(version, deployment.min_api_version):
        raise ModelNeedsNewerApiVersion(deployment.min_api_version)
    return deployment


def _answers(deployment: Deployment, operation: str) -> bool:
    """Chat deployments answer Responses too: the configuration's kinds predate the operation."""
    offered = deployment.operations
    return operation in offered or (operation == av.RESPONSES and av.CHAT in offered)


def rate_headers_early(
    runtime: Runtime, deployment: Deployment, operation: str, version: str, into: list[tuple[bytes, bytes]]
) -> None:
    """A deployment without an enforced quota shows its full quota on every answer, errors included."""
    if not deployment.rate_limit.enforce:
        into.extend(runtime.limiter.admit(deployment, 0, operation, version).headers)


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
    if not message.get("more_body", False):  # most bodies: one message
        if len(body) > limit:
            raise RequestTooLarge(limit)
        return body
    pieces, size = [body], len(body)
    while message.get("more_body", False):
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        piece = message.get("body", b"")
        pieces.append(piece)
        size += len(piece)
        if size > limit:
            raise RequestTooLarge(limit)
    return b"".join(pieces)


def replayed(body: bytes, then: Receive) -> Receive:
    """The body already read, once; after it, the connection's own messages (a disconnect, in time)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await then()

    return receive


async def json_body(
    receive: Receive,
    content_type: str | None,
    content_length: str | None,
    limit: int,
    *,
    empty_ok: bool = False,
    keep: Callable[[bytes], object] | None = None,
) -> tuple[bytes, Any]:
    """The one JSON body reader: ``(raw bytes, parsed value)``. A body that is not JSON by its content type
    is a 415, one larger than ``limit`` a 413 (refused as soon as it grows past it), bad JSON the
    service's 400, an empty one the 400 too unless ``empty_ok`` (then ``{}``). ``keep`` sees the bytes as
    soon as they are read, before they are judged (the request's record keeps them)."""
    check_json_request(content_type, content_length, limit)
    raw = await receive_body(receive, limit)
    if keep is not None:
        keep(raw)
    if not raw.strip():
        if empty_ok:
            return raw, {}
        raise InvalidJson()
    return raw, load_json(raw)
