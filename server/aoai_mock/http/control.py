"""The mock's own API under ``/_mock/``: health, the request journal; scenarios and faults as they arrive.

``GET /_mock/health`` is always open (Docker health checks call it). Every other control route goes on
``_admin``, which asks for the admin key when the mock was started with one (``--admin-key``): in the
``x-aoai-mock-admin-key`` header, or as ``Authorization: Bearer <admin key>``. An Azure API key never
grants access. A missing or wrong key gets a 401 :class:`~aoai_mock.errors.AdminKeyRequired`.

``GET /_mock/requests``: ``{"object": "list", "data": [entry, ...]}`` in order of arrival, filtered by the
query (``deployment``, ``operation``, ``status``, ``scenario``, ``since``, ``limit``; see
:mod:`aoai_mock.state.journal` for the entry shape and each filter). An unknown filter or a bad value is
a 400 :class:`~aoai_mock.errors.InvalidRequest` whose ``param`` names it.

``DELETE /_mock/requests``: forgets every entry and answers ``200 {"deleted": n}``; sequence numbers
carry on, so a client polling with ``since=<seq>`` is not confused by a clear.

With shared state (``--state redis://...``) both act on the journal every process writes
(:mod:`aoai_mock.state.shared_journal`); while Redis cannot be reached they answer Azure's 500.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.errors import AdminKeyRequired, InvalidRequest, RequestTooLarge
from aoai_mock.http.health import health as health_response
from aoai_mock.http.render import json_response
from aoai_mock.state.journal import FilterError, Filters, Journal
from aoai_mock.wire.headers import ADMIN_KEY

__all__ = ["router", "journal_of", "require_admin_key", "control_body", "ADMIN_KEY_HEADER", "Journal"]

ADMIN_KEY_HEADER = ADMIN_KEY


def journal_of(request: Request) -> Journal:
    return request.app.state.journal  # type: ignore[no-any-return]


def _presented_admin_key(request: Request) -> bytes | None:
    headers = request.headers
    given = headers.get(ADMIN_KEY_HEADER)
    if given is None:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        given = token.strip()
    return given.encode("latin-1")  # the bytes as sent: Starlette decodes header values as latin-1


async def require_admin_key(request: Request) -> None:
    """Let the request through when no admin key is configured, or when it presents that key."""
    expected: str | None = request.app.state.runtime.settings.admin_key
    if not expected:
        return
    presented = _presented_admin_key(request)
    if presented is None or not hmac.compare_digest(presented, expected.encode("utf-8")):
        raise AdminKeyRequired()


async def control_body(request: Request) -> bytes:
    """The body of a control request, refused (413) as soon as it grows past the configured limit."""
    limit = request.app.state.runtime.settings.config.max_body_bytes
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise RequestTooLarge(limit)
    return bytes(body)


router = APIRouter(prefix="/_mock")
_admin = APIRouter(dependencies=[Depends(require_admin_key)])


@router.get("/health")
async def health(request: Request) -> Response:  # GET is answered before the framework: http/health.py
    return health_response(request.app.state.runtime)


@_admin.get("/requests")
async def list_requests(request: Request) -> Response:
    try:
        filters = Filters.parse(request.query_params.multi_items())
    except FilterError as exc:
        raise InvalidRequest(str(exc), param=exc.param, code="invalid_filter") from None
    return json_response({"object": "list", "data": await journal_of(request).read(filters)})


@_admin.delete("/requests")
async def clear_requests(request: Request) -> Response:
    return json_response({"deleted": await journal_of(request).clear_all()})


# Last, once every admin route is declared: including copies the routes.
router.include_router(_admin)
