"""Replay of recorded exchanges (``aoai-mock serve --replay DIR``), as the front door's router.

With replay on, :func:`replay_router` stands in for the inference router: every ``/openai/...`` request
comes here first. Its normalised request (:func:`aoai_mock.record.fixtures.normalise`) is looked up among
the recordings; a match is answered with the recorded status, headers and body bytes (a stream with its
events at the recorded offsets, scaled by ``--replay-speed`` and waited through ``runtime.sleep``), while
the front door adds the mock's own request ids as for every answer. A request recorded more than once gets
the recorded answers in turn, the last one repeating. With replay off the router is the inference router
itself, so the hot path costs nothing more.

A miss is a 400 ``replay_no_match`` naming the nearest recordings and how they differ, or, with
``--replay-miss responder:NAME``, the mock's normal handling: the inference routes with that responder,
the other routes as always.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aoai_mock.behaviour import responders
from aoai_mock.errors import InvalidRequest
from aoai_mock.http.deps import authenticate, receive_body, replayed
from aoai_mock.http.front import Exchange, FastRoute, Router
from aoai_mock.record.fixtures import (
    NormalisedRequest,
    RecordedResponse,
    Recording,
    differences,
    load_dir,
    normalise,
)
from aoai_mock.wire import headers as names

__all__ = ["NEAREST", "ReplayBook", "parse_miss", "replay_router"]

NEAREST = 3  # recordings a miss names
_PREFIX = "/openai/"


def parse_miss(value: str) -> str | None:
    """``error`` -> None; ``responder:NAME`` -> NAME (a registered responder). ValueError otherwise."""
    if value == "error":
        return None
    kind, _, name = value.partition(":")
    if kind != "responder" or not name:
        raise ValueError(f"--replay-miss must be 'error' or 'responder:NAME', not {value!r}")
    if name not in responders.names():
        raise ValueError(f"--replay-miss names an unknown responder {name!r}; known: {', '.join(responders.names())}")
    return name


@dataclass
class ReplayBook:
    """The recordings of one folder, and how many times each was asked for."""

    recordings: dict[str, Recording]
    speed: float = 1.0
    miss_responder: str | None = None
    calls: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path, speed: float = 1.0, miss: str = "error") -> ReplayBook:
        responder = parse_miss(miss)
        return cls(load_dir(folder), speed, responder)

    def answer(self, request: NormalisedRequest) -> RecordedResponse | None:
        recording = self.recordings.get(request.fingerprint)
        if recording is None:
            return None
        call = self.calls[request.fingerprint] = self.calls.get(request.fingerprint, 0) + 1
        return recording.responses[min(call, len(recording.responses)) - 1]

    def reset(self) -> None:
        self.calls.clear()

    def miss_message(self, request: NormalisedRequest) -> str:
        head = f"aoai-mock: no recorded exchange matches {request.method} {request.path}"
        if not self.recordings:
            return head + "; the replay folder holds no recordings."
        ranked = sorted(
            (len(found), recording.source.name if recording.source else key, found)
            for key, recording in self.recordings.items()
            for found in [differences(request, recording.request, limit=99)]
        )
        parts = [f"{name} differs: {'; '.join(found[:3])}" for _, name, found in ranked[:NEAREST]]
        return f"{head}. Nearest recordings: " + " | ".join(parts) + "."


def replay_router(book: ReplayBook, fallback: Router, framework: ASGIApp) -> Router:
    """The front door's router while replaying: every ``/openai/`` request is looked up first."""

    def route(method: str, path: str) -> tuple[FastRoute, str] | None:
        if not path.startswith(_PREFIX):
            return fallback(method, path)
        found = fallback(method, path)
        deployment = found[1] if found else ""
        return _replay_route(book, found[0] if found else None, framework), deployment

    return route


def _replay_route(book: ReplayBook, inner: FastRoute | None, framework: ASGIApp) -> FastRoute:
    async def replay(exchange: Exchange) -> ASGIApp:
        scope = exchange.scope
        key = exchange.header(b"api-key")
        authenticate(key, None if key else exchange.header(b"authorization"), exchange.runtime)
        body = await receive_body(exchange.receive, exchange.runtime.settings.config.max_body_bytes)
        exchange.record.keep_body(body)
        exchange.body_read = True
        request = normalise(scope["method"], scope["path"], scope["query_string"], scope["headers"], body)
        recorded = book.answer(request)
        if recorded is not None:
            exchange.record.rule = recorded_name(book, request)
            return _Recorded(recorded, book.speed, exchange.runtime.sleep)
        if book.miss_responder is None:
            raise InvalidRequest(book.miss_message(request), code="replay_no_match")
        exchange.receive = replayed(body, exchange.receive)
        if inner is not None:
            exchange.headers.setdefault(names.RESPONDER_B, book.miss_responder.encode())
            return await inner(exchange)
        return _Framework(framework, body, exchange.request_id)

    return replay


def recorded_name(book: ReplayBook, request: NormalisedRequest) -> str:
    source = book.recordings[request.fingerprint].source
    return "replay:" + (source.name if source else request.fingerprint)


class _Recorded:
    """A recorded answer, sent as it was received."""

    def __init__(self, recorded: RecordedResponse, speed: float, sleep: Callable) -> None:
        self.recorded = recorded
        self.speed = speed
        self.sleep = sleep

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        recorded = self.recorded
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in recorded.headers.items()]
        if not recorded.is_stream:
            body = recorded.payload()
            headers.insert(0, (b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": recorded.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": recorded.status, "headers": headers})
        previous = 0
        for ms, data in recorded.event_bytes():
            if self.speed > 0 and ms > previous:
                await self.sleep((ms - previous) / 1000 / self.speed)
            previous = max(previous, ms)
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


class _Framework:
    """A miss on a framework route, with a fall-through responder: the application serves it as always."""

    def __init__(self, app: ASGIApp, body: bytes, request_id: str) -> None:
        self.app = app
        self.body = body
        self.request_id = request_id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.setdefault("state", {})
        state["request_id"] = self.request_id

        async def send_with_state(message: Message) -> None:
            if message["type"] == "http.response.start":
                added = [(k.encode(), v.encode()) for k, v in state.get("azure_headers", {}).items()]
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, replayed(self.body, receive), send_with_state)
