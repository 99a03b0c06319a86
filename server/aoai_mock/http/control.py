"""The mock's own API under ``/_mock/``: health now; scenarios, journal and faults as they arrive."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.http.render import json_response

__all__ = ["router"]

router = APIRouter(prefix="/_mock")


@router.get("/health")
async def health(request: Request) -> Response:
    runtime = request.app.state.runtime
    return json_response({"status": "ok", "deployments": len(runtime.settings.config.deployments)})
