"""What the mock serves (its deployments, as configured and as the control API changed them): ``GET /openai/models``,
``/openai/deployments`` and ``/openai/v1/models``.

* ``/openai/models?api-version=...``: Azure's model list, one entry per distinct model version the
  deployments run, with ``capabilities`` derived from the deployments' kinds;
* ``/openai/deployments?api-version=...``: the deployments, in the shape of Azure's (data-plane)
  deployment list;
* ``/openai/v1/models`` (api-version optional): OpenAI's model list whose ids are the deployment names,
  since that is what ``model`` must name in a v1 request; ``/openai/v1/models/{id}`` one of them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.config import Deployment, Kind
from aoai_mock.errors import ApiVersionNotSupported, ResourceNotFound
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import AzureCall, azure_call
from aoai_mock.settings import FROZEN_CREATED
from aoai_mock.wire import api_versions as av

__all__ = ["router"]

router = APIRouter()

_CAPABILITIES: dict[Kind, dict[str, bool]] = {
    Kind.chat: {"chat_completion": True, "completion": False, "embeddings": False, "inference": True},
    Kind.completions: {"chat_completion": False, "completion": True, "embeddings": False, "inference": True},
    Kind.embeddings: {"chat_completion": False, "completion": False, "embeddings": True, "inference": True},
    Kind.image: {"chat_completion": False, "completion": False, "embeddings": False, "inference": True},
    Kind.audio: {"chat_completion": False, "completion": False, "embeddings": False, "inference": True},
    Kind.speech: {"chat_completion": False, "completion": False, "embeddings": False, "inference": True},
    Kind.realtime: {"chat_completion": False, "completion": False, "embeddings": False, "inference": True},
}


def _deployments(call: AzureCall) -> list[Deployment]:
    return list(call.runtime.deployments)  # as configured, and as the control API changed them


def _capabilities(deployment: Deployment) -> dict[str, bool]:
    found = dict(_CAPABILITIES[deployment.kind])
    found["fine_tune"] = False
    if av.COMPLETIONS in deployment.operations:
        found["completion"] = True
    if av.CHAT in deployment.operations:
        found["chat_completion"] = True
    return found


@router.get("/openai/models")
async def azure_models(request: Request) -> Response:
    call = azure_call(request, av.MODELS)
    seen: dict[str, dict[str, Any]] = {}
    for deployment in _deployments(call):
        model_id = deployment.response_model
        seen.setdefault(
            model_id,
            {
                "id": model_id,
                "object": "model",
                "status": "succeeded",
                "created_at": FROZEN_CREATED,
                "capabilities": _capabilities(deployment),
                "lifecycle_status": "generally-available",
                "deprecation": {"inference": FROZEN_CREATED + 3 * 365 * 86400},
            },
        )
    return json_response({"object": "list", "data": list(seen.values())})


@router.get("/openai/deployments")
async def azure_deployments(request: Request) -> Response:
    call = azure_call(request, av.MODELS)
    data = [
        {
            "id": d.name,
            "object": "deployment",
            "model": d.response_model,
            "owner": "organization-owner",
            "status": "succeeded",
            "scale_settings": {"scale_type": "standard"},
            "created_at": FROZEN_CREATED,
            "updated_at": FROZEN_CREATED,
        }
        for d in _deployments(call)
    ]
    return json_response({"object": "list", "data": data})


def _v1_call(request: Request) -> AzureCall:
    call = azure_call(request, av.MODELS, version_required=False)
    if call.api_version and call.api_version not in av.V1_FAMILY:
        raise ApiVersionNotSupported()
    return call


def _openai_model(deployment: Deployment) -> dict[str, Any]:
    return {"id": deployment.name, "object": "model", "created": FROZEN_CREATED, "owned_by": "system"}


@router.get("/openai/v1/models")
async def v1_models(request: Request) -> Response:
    call = _v1_call(request)
    return json_response({"object": "list", "data": [_openai_model(d) for d in _deployments(call)]})


@router.get("/openai/v1/models/{model_id}")
async def v1_model(request: Request, model_id: str) -> Response:
    call = _v1_call(request)
    found = call.runtime.deployment(model_id)
    if found is None:
        raise ResourceNotFound()
    return json_response(_openai_model(found))
