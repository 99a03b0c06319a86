"""The Realtime API over WebSocket: ``/openai/realtime?api-version=...&deployment=NAME`` (the preview, and the
GA api-version ``2025-08-28``) and ``/openai/v1/realtime?model=NAME`` (GA).

The handshake is checked as a request is: the key (the ``api-key`` header, the ``api-key`` query parameter,
or ``Authorization: Bearer``), the api-version, the deployment; a refusal is Azure's HTTP error (401, 404,
400 ...) instead of the upgrade. An accepted socket gets ``session.created``, then answers each client event
(:class:`~aoai_mock.behaviour.realtime.conversation.RealtimeSession`); a response is delivered under its fault
plan (:mod:`aoai_mock.http.routes.realtime_delivery`).

Which events' spelling a session speaks: GA's on ``/openai/v1/realtime`` and with api-version ``2025-08-28``;
the preview's with a dated preview api-version, or when the client says ``OpenAI-Beta: realtime=v1`` (the
SDK's beta client does) [inferred from the SDK: its beta client sends that header, its GA client does not].

The journal gets one record for the session (``GET``, status 101, the events it sent) and one for each
response (method ``WS``, status 200 or the error's, its events); metrics count both under operation
``realtime``.
"""

from __future__ import annotations

import logging
import time

import orjson
from fastapi import APIRouter, WebSocket
from starlette.responses import Response
from starlette.websockets import WebSocketDisconnect, WebSocketState

from aoai_mock.behaviour.realtime.conversation import RealtimeSession, Turn
from aoai_mock.behaviour.realtime.events import GA, PREVIEW, Era
from aoai_mock.behaviour.realtime.secrets import PREFIX, Minted
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import AzureError, ResourceNotFound, ServerError
from aoai_mock.http.deps import api_version, authenticate_scope, deployment_for, query_value
from aoai_mock.http.routes.realtime_delivery import Finish, deliver_turn, journal_text
from aoai_mock.http.routes.realtime_secrets import router as secrets_router
from aoai_mock.http.routes.realtime_secrets import secrets_of
from aoai_mock.state.record import CLIENT_CLOSED, Record
from aoai_mock.wire import headers as names
from aoai_mock.wire.operations import REALTIME

__all__ = ["router", "GA_VERSIONS"]

router = APIRouter()
router.include_router(secrets_router)  # the ephemeral keys the sockets take
log = logging.getLogger("aoai_mock")

# The realtime route's GA api-version [documented: Azure's realtime quickstart, "use the generally available
# API version 2025-08-28"]; the dated inference table does not know it, being the realtime route's alone.
GA_VERSIONS = frozenset({"2025-08-28"})
_BETA = b"realtime=v1"


@router.websocket("/openai/realtime")
async def realtime_dated(websocket: WebSocket) -> None:
    await _serve(websocket, v1=False)


@router.websocket("/openai/v1/realtime")
async def realtime_v1(websocket: WebSocket) -> None:
    await _serve(websocket, v1=True)


def _era_and_version(query: bytes, v1: bool, beta: bool) -> tuple[Era, str]:
    """The session's era and the api-version its turns go through the seam with."""
    given = query_value(query, b"api-version") or ""
    if given in GA_VERSIONS:
        return (PREVIEW if beta else GA), given
    if v1:
        version = api_version(query, REALTIME, required=False) or "v1"
        return (PREVIEW if beta else GA), version
    return PREVIEW, api_version(query, REALTIME)


def _granted(scope: dict, state: object, runtime: Runtime) -> Minted | None:
    """The grant of an ephemeral key (``ek_...``, as ``api-key`` or Bearer) this server minted, if one is
    presented; None: judge the key as any other."""
    headers = dict(scope.get("headers") or ())
    presented = (headers.get(b"api-key") or b"").decode("latin-1") or query_value(scope.get("query_string", b""), b"api-key")
    if not presented:
        scheme, _, token = (headers.get(b"authorization") or b"").decode("latin-1").partition(" ")
        presented = token.strip() if scheme.lower() == "bearer" else ""
    if not presented or not presented.startswith(PREFIX):
        return None
    return secrets_of(state).find(presented, runtime.clock.created())  # the clock that stamped its expiry


def _deployment(runtime: Runtime, query: bytes, version: str, scenario: str | None, granted: Minted | None) -> Deployment:
    name = query_value(query, b"deployment") or query_value(query, b"model") or (granted.deployment if granted else None)
    if not name:
        raise ResourceNotFound()
    return deployment_for(runtime, name, REALTIME, "" if version in GA_VERSIONS else version, scenario)


async def _serve(websocket: WebSocket, v1: bool) -> None:
    state = websocket.app.state
    runtime: Runtime = state.runtime
    scope = websocket.scope
    query, headers = scope.get("query_string", b""), list(scope.get("headers") or ())
    named = dict(headers)
    record = Record(runtime.ids.request_id(), "GET", scope["path"], query, headers, time.monotonic())
    record.operation, record.stream = REALTIME, True
    sent = journal_text()
    finish = Finish(state)
    try:
        granted = _granted(scope, state, runtime)
        if granted is None:
            authenticate_scope(scope, runtime, REALTIME)
        era, version = _era_and_version(query, v1, named.get(b"openai-beta") == _BETA)
        scenario = named.get(names.SCENARIO_B)
        deployment = _deployment(runtime, query, version, scenario.decode("latin-1") if scenario else None, granted)
    except AzureError as exc:
        await _refuse(websocket, exc, record)
        finish(record)
        return
    record.deployment, record.api_version = deployment.name, version
    config = granted.config if granted is not None and granted.deployment == deployment.name else None
    session_id = runtime.ids.object_id("sess_", record.request_id.encode(), 21)  # with --seed: the n-th session's
    session = RealtimeSession(runtime, deployment, era, version, scope["path"], query, headers, session_id, config)
    await websocket.accept(headers=_azure_headers(record, runtime))
    record.status = 101
    record.first_byte = time.monotonic()
    try:
        await _converse(websocket, session, record, sent, finish)
    except (WebSocketDisconnect, OSError):  # the client went away while the mock was sending
        record.outcome = CLIENT_CLOSED
    finally:
        record.response_body, record.response_size = sent.body(), sent.size
        finish(record)


async def _converse(websocket: WebSocket, session: RealtimeSession, record: Record, sent: journal_text,
                    finish: Finish) -> None:  # fmt: skip
    """Answer client events until the client closes (or a fault closes the socket)."""
    record.events = 0
    await _send(websocket, session.created(), record, sent)
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text") if message.get("text") is not None else message.get("bytes", b"")
        try:
            outgoing = await session.handle(raw)
        except Exception:  # a bug of ours: the service's server_error event, and the session goes on
            log.exception("unexpected error in a realtime session")
            outgoing = list(session.refused(ServerError(record.request_id), None))
        for part in outgoing:
            if isinstance(part, Turn):
                going_on = await deliver_turn(websocket, part, session.runtime, finish)
                record.events += part.record.events or 0
                sent.add_all(part.record.response_body)
                if not going_on:
                    return
            else:
                await _send(websocket, part, record, sent)


async def _send(websocket: WebSocket, event: dict, record: Record, sent: journal_text) -> None:
    data = orjson.dumps(event)
    await websocket.send_text(data.decode())
    sent.add(data)
    record.events = (record.events or 0) + 1


def _azure_headers(record: Record, runtime: Runtime) -> list[tuple[bytes, bytes]]:
    rid = record.request_id.encode()
    return [(b"apim-request-id", rid), (b"x-request-id", rid), (b"x-ms-region", runtime.settings.region.encode())]


async def _refuse(websocket: WebSocket, error: AzureError, record: Record) -> None:
    """Azure's HTTP error instead of the upgrade (a server without the denial extension closes with 1008)."""
    body = error.verbatim or orjson.dumps(error.body())
    record.status = error.status
    record.response_body = body
    record.response_size = len(body)
    headers = {k: v for k, v in error.headers.items()}
    headers["apim-request-id"] = record.request_id
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(Response(body, error.status, headers, media_type="application/json"))
    elif websocket.client_state is WebSocketState.CONNECTING:
        await websocket.close(code=1008, reason=error.message[:120])
