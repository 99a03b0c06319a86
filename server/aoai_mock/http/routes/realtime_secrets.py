"""The routes that mint ephemeral realtime keys, for clients that must not hold the resource's key:
``POST /openai/v1/realtime/client_secrets`` (GA: ``{"session": {...}, "expires_after": {...}}`` in,
``{"value", "expires_at", "session"}`` out) and the preview's ``POST /openai/realtimeapi/sessions`` (also
``/openai/realtime/sessions``, where the SDK's beta ``sessions.create`` posts: the session's fields in, the
session with its ``client_secret`` out) [documented: the openai SDK's ``client_secrets.create`` and
``beta.realtime.sessions.create``, and Azure's realtime how-to for the ``realtimeapi/sessions`` path]."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response

from aoai_mock.behaviour.realtime.events import GA, PREVIEW, Era
from aoai_mock.behaviour.realtime.secrets import PREFIX, ClientSecrets, Minted
from aoai_mock.behaviour.realtime.session import EventError, configured, configured_by, session_object
from aoai_mock.errors import InvalidJson, InvalidRequest
from aoai_mock.http.deps import deployment_for
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import azure_call
from aoai_mock.wire.operations import REALTIME

__all__ = ["router", "secrets_of"]

router = APIRouter()

_GA_DEFAULT_S, _GA_MIN_S, _GA_MAX_S = 600, 10, 7200
_PREVIEW_S = 60


def secrets_of(state: Any) -> ClientSecrets:
    """The application's minted keys (made with the first one)."""
    found = getattr(state, "realtime_secrets", None)
    if found is None:
        found = state.realtime_secrets = ClientSecrets()
    return found  # type: ignore[no-any-return]


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError:
        raise InvalidJson() from None
    if not isinstance(body, dict):
        raise InvalidJson()
    return body


def _minted(request: Request, fields: Any, era: Era, seconds: int) -> tuple[str, Minted, dict[str, Any]]:
    """A new key for the session ``fields`` describe: the key, its grant, and the session as shown."""
    call = azure_call(request, REALTIME, version_required=False)
    runtime = call.runtime
    if not isinstance(fields, dict) or not isinstance(fields.get("model"), str):
        raise InvalidRequest("Missing required parameter: 'session.model'.", code="missing_required_parameter",
                             param="session.model")  # fmt: skip
    deployment = deployment_for(runtime, fields["model"], REALTIME, "")
    try:
        config = configured_by(configured(deployment.model, era), fields, era)
    except EventError as exc:
        raise InvalidRequest(exc.message, code=exc.code, param=exc.param) from None
    expires_at = runtime.clock.created() + seconds
    value = runtime.ids.object_id(PREFIX, orjson.dumps(fields), 32)
    minted = Minted(deployment.name, config, expires_at)
    secrets_of(request.app.state).mint(value, minted)
    shown = session_object(config, era, runtime.ids.object_id("sess_", value.encode(), 21), expires_at)
    return value, minted, shown


@router.post("/openai/v1/realtime/client_secrets")
async def client_secret(request: Request) -> Response:
    body = await _body(request)
    after = body.get("expires_after") or {}
    seconds = after.get("seconds", _GA_DEFAULT_S) if isinstance(after, dict) else _GA_DEFAULT_S
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not _GA_MIN_S <= seconds <= _GA_MAX_S:
        raise InvalidRequest(f"Invalid 'expires_after.seconds': expected an integer from {_GA_MIN_S} to {_GA_MAX_S}.",
                             param="expires_after.seconds")  # fmt: skip
    session = body.get("session")
    value, minted, shown = _minted(request, session, GA, seconds)
    return json_response({"value": value, "expires_at": minted.expires_at, "session": shown})


@router.post("/openai/realtimeapi/sessions")
@router.post("/openai/realtime/sessions")
async def preview_session(request: Request) -> Response:
    body = await _body(request)
    value, minted, shown = _minted(request, body, PREVIEW, _PREVIEW_S)
    return json_response({**shown, "client_secret": {"value": value, "expires_at": minted.expires_at}})
