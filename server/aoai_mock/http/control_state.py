"""``POST /_mock/state/reset``: forget every stored object (files, batches, fine-tuning jobs, assistants,
threads, vector stores ...), in memory or in the ``--state`` file, the deployments fine-tuning made, and the
generated images and audio that ``url`` answers point at.

``POST /_mock/reset`` does not do this: it restarts counters and quotas, while stored objects are what users
keep. Admin-key protected like the rest of ``/_mock/`` (:func:`aoai_mock.http.control.require_admin_key`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.http.control import require_admin_key
from aoai_mock.http.render import json_response

__all__ = ["router"]

router = APIRouter(prefix="/_mock", dependencies=[Depends(require_admin_key)])


@router.post("/state/reset")
async def reset_state(request: Request) -> Response:
    runtime = request.app.state.runtime
    await runtime.clear_stored()
    where = runtime.settings.state_path or getattr(runtime.store, "url", None)  # a Redis store: its URL, no password
    return json_response({"reset": True, "state": str(where or "memory")})
