"""Render :class:`~aoai_mock.errors.AzureError` as Azure's body and status; map every other failure to one."""

from __future__ import annotations

import logging

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.errors import AzureError, ResourceNotFound, ServerError

__all__ = ["render_error", "install_error_handlers"]

log = logging.getLogger("aoai_mock")


def render_error(error: AzureError) -> Response:
    return Response(
        error.verbatim or orjson.dumps(error.body()),
        status_code=error.status,
        media_type="application/json",
        headers=error.headers,
    )


async def _azure_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AzureError)
    return render_error(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    # Unknown routes and wrong methods: the gateway's 404, as Azure answers them.
    return render_error(ResourceNotFound())


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("unexpected error while serving %s %s: %r", request.method, request.url.path, exc)
    request_id = getattr(request.state, "request_id", "") if hasattr(request, "state") else ""
    return render_error(ServerError(request_id))


def install_error_handlers(app: object) -> None:
    add = app.add_exception_handler  # type: ignore[attr-defined]
    add(AzureError, _azure_error)
    add(HTTPException, _http_error)
    add(Exception, _unexpected)
