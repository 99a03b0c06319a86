"""Reading and writing for the resource routes (files, batches, fine-tuning): JSON bodies, multipart
uploads, list queries, and the in-process client that sends a batch's lines through the whole application.

Bad input never becomes a 500: a body that is not JSON, a multipart body that does not parse, an upload over
the limit, each answers Azure's 400 or 413 (``errors.InvalidResourceRequest``, ``errors.FileTooLarge``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive

from aoai_mock.behaviour.batches import LineReply, Send
from aoai_mock.behaviour.files import Upload
from aoai_mock.behaviour.objects import ListQuery
from aoai_mock.errors import FileTooLarge, InvalidResourceRequest, RequestTooLarge
from aoai_mock.http.render import json_bytes, list_bytes
from aoai_mock.state.store import Order, Page
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.headers import FORWARDED
from aoai_mock.wire.json_depth import too_deep

__all__ = [
    "json_body", "read_upload", "list_query", "page_response", "created", "mock_headers", "engine_sender",
    "resource_json", "supported_versions", "CHARSET_JSON", "FILES_ERA", "JOBS_ERA",
]  # fmt: skip

CHARSET_JSON = "application/json; charset=utf-8"  # files, batches, fine-tuning [captured, 2025-03/04 previews]
_PLAIN_JSON = "application/json"
FILES_ERA = "2025-03-01-preview"  # files/net-CanUploadAndDeleteFiles-2025-03-01-preview.json
JOBS_ERA = "2025-04-01-preview"  # batches/net-CanCancelBatch, fine_tuning/net-CreateCancelDelete (2025-04-01-preview)

_MULTIPART_SLACK = 1024 * 1024  # boundaries and the other fields, on top of the file itself


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; Azure's 400 for anything else, 413 past the configured body limit."""
    limit = request.app.state.runtime.settings.config.max_body_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(limit)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestTooLarge(limit)
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidResourceRequest("The request body is not valid JSON.") from None
    if too_deep(body, value):
        raise InvalidResourceRequest("The request body is not valid JSON.")
    if not isinstance(value, dict):
        raise InvalidResourceRequest("The request body must be a JSON object.")
    return value


def _limited(receive: Receive, limit: int) -> Receive:
    """``receive`` that refuses (413) a body growing past ``limit`` bytes, before it is all read."""
    seen = 0

    async def receive_some() -> Message:
        nonlocal seen
        message = await receive()
        seen += len(message.get("body", b""))
        if seen > limit + _MULTIPART_SLACK:
            raise FileTooLarge(limit)
        return message

    return receive_some


async def read_upload(request: Request, limit: int) -> Upload:
    """The fields of a ``multipart/form-data`` file upload; refused early when the body is over ``limit``."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "multipart/form-data":
        raise InvalidResourceRequest("The request must be multipart/form-data with a 'file' and a 'purpose'.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
        raise FileTooLarge(limit)
    limited = Request(request.scope, _limited(request.receive, limit))
    try:
        form = await limited.form(max_files=8, max_fields=64)
    except (HTTPException, MultiPartException):
        raise InvalidResourceRequest("The request body is not valid multipart/form-data.") from None
    try:
        part = form.get("file")
        purpose = form.get("purpose")
        fields = {key: f"expires_after[{key}]" for key in ("seconds", "anchor")}
        expires = {key: str(form[name]) for key, name in fields.items() if name in form}
        if isinstance(part, UploadFile):
            data = await part.read()
            return Upload(_text(purpose), part.filename or "", part.headers.get("content-type"), data, expires)
        return Upload(_text(purpose), None, None, b"", expires)
    finally:
        await form.close()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def list_query(request: Request, default_order: Order = "desc", default_limit: int = 20) -> ListQuery:
    return ListQuery.parse(request.query_params, default_order, default_limit)


def _recorded_era(api_version: str, since: str) -> bool:
    return bool(api_version) and api_version not in av.V1_FAMILY and av.is_at_least(api_version, since)


def supported_versions(operation: str) -> str:
    """``api-supported-versions``: the dated versions that offer ``operation``, oldest first [captured]."""
    dated = [v for v in av.API_VERSIONS.values() if not v.v1_family and v.offers(operation)]
    return ",".join(v.name for v in sorted(dated, key=lambda v: (v.released, not v.preview)))


def resource_json(
    body: Mapping[str, Any] | None, api_version: str, *, status: int = 200, versions_of: str | None = None,
    plain: bool = False, headers: Mapping[str, str] | None = None, since: str = FILES_ERA, listed: bool = False,
) -> Response:  # fmt: skip
    """A files / batches / fine-tuning answer. From the family's recording (``since``) on: ``content-type:
    application/json; charset=utf-8`` (``plain``: the assistants file service's ``application/json``) and,
    for the Files and fine-tuning services (``versions_of``), ``api-supported-versions``. ``body`` None: no
    body at all (a 204). ``listed``: a list, which leaves out an object it cannot write."""
    newer = _recorded_era(api_version, since)
    sent = dict(headers or {})
    if newer and versions_of is not None:
        sent["api-supported-versions"] = supported_versions(versions_of)
    if body is None:
        return Response(status_code=status, headers=sent)
    media = CHARSET_JSON if newer and not plain else _PLAIN_JSON
    written = list_bytes(body) if listed else json_bytes(body)
    return Response(written, status_code=status, media_type=media, headers=sent)


def page_response(page: Page, api_version: str = "", since: str = FILES_ERA) -> Response:
    return resource_json(page.body(), api_version, since=since, listed=True)


def created(
    request: Request, body: Mapping[str, Any], where: str, status: int = 201, *, api_version: str = "",
    versions_of: str | None = None, since: str = FILES_ERA,
) -> Response:  # fmt: skip
    """A new object, with the ``Location`` the service sends for it."""
    location = str(request.base_url).rstrip("/") + where
    where_ = {"location": location}
    return resource_json(body, api_version, status=status, versions_of=versions_of, headers=where_, since=since)


def mock_headers(request: Request) -> dict[str, str]:
    """The mock's own request headers a batch passes on to each of its lines (scenario, responder, fault)."""
    return {name: request.headers[name] for name in FORWARDED if name in request.headers}


def engine_sender(app: ASGIApp, api_key: str) -> Send:
    """How a batch line reaches the engine: a POST through the whole application (front door, routes,
    faults, journal), in process. The client goes away as soon as the request is sent, as a batch worker
    would: a fault that drops the connection or hangs ends the line at once, with no answer."""

    async def send_line(path: str, body: dict[str, Any], headers: dict[str, str]) -> LineReply:
        payload = orjson.dumps(body)
        scope = _scope(path, payload, {"api-key": api_key, "content-type": "application/json", **headers})
        pending: list[Message] = [{"type": "http.request", "body": payload, "more_body": False}]
        answer: dict[str, Any] = {"status": None, "headers": [], "body": []}

        async def receive() -> Message:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"], answer["headers"] = message["status"], message.get("headers", [])
            elif message["type"] == "http.response.body":
                answer["body"].append(message.get("body", b""))

        await app(scope, receive, send)
        if answer["status"] is None:
            raise ConnectionError("the connection was closed without an answer")
        return _line_reply(answer["status"], answer["headers"], b"".join(answer["body"]))

    return send_line


def _scope(path: str, payload: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    route, _, query = path.partition("?")
    sent = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
    sent += [(b"host", b"aoai-mock.batch"), (b"content-length", str(len(payload)).encode())]
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(), "root_path": "",
        "headers": sent, "client": ("127.0.0.1", 0), "server": ("aoai-mock.batch", 80), "extensions": {},
    }  # fmt: skip


def _line_reply(status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> LineReply:
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = body.decode("utf-8", "replace")
    request_id = next((value.decode("latin-1") for name, value in headers if name.lower() == b"x-request-id"), "")
    return LineReply(status, parsed, request_id)
