"""The recording proxy: a small pure-ASGI app between a client and a real Azure OpenAI resource.

Every request under ``/openai/`` goes to the upstream with the upstream's key (whatever key the client
sent is dropped), or, with ``pass_bearer`` (an Entra ID upstream), with the client's own ``Authorization:
Bearer`` token; the answer comes back to the client unchanged (status, headers less hop-by-hop ones,
body; an SSE stream passed on chunk by chunk as it arrives), and the exchange is written to a fixture
file (:mod:`aoai_mock.record.fixtures`) with the key, and every token passed on, scrubbed from every
byte. ``/_mock/health`` is answered here; anything else is a 404.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.types import Receive, Scope, Send

from aoai_mock.record.fixtures import (
    RecordedResponse,
    Recording,
    event_entry,
    normalise,
    response_headers_kept,
    split_events,
)

__all__ = ["DEFAULT_KEY_ENV", "DEFAULT_OUT", "RecordOptions", "RecordingProxy"]

log = logging.getLogger("aoai_mock.record")

DEFAULT_OUT = Path("fixtures/recorded")
DEFAULT_KEY_ENV = "AZURE_OPENAI_API_KEY"

_HOP_BY_HOP = frozenset(
    {
        b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te", b"trailer",
        b"trailers", b"transfer-encoding", b"upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {b"host", b"content-length", b"api-key", b"authorization", b"accept-encoding"}


@dataclass(frozen=True, slots=True)
class RecordOptions:
    upstream: str  # https://<resource>.openai.azure.com
    api_key: str  # may be empty with pass_bearer
    out: Path = DEFAULT_OUT
    timeout: float = 600.0
    pass_bearer: bool = False  # send the client's Authorization: Bearer on (preferred to the key when sent)

    def __repr__(self) -> str:  # the key never reaches a log
        return f"RecordOptions(upstream={self.upstream!r}, out={str(self.out)!r}, api_key='***')"


class RecordingProxy:
    """``RecordingProxy(options)``: the ASGI app ``aoai-mock record`` serves."""

    def __init__(self, options: RecordOptions, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.options = options
        self.upstream = options.upstream.rstrip("/")
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._session: dict[str, Recording] = {}  # fingerprint -> what this run recorded (repeats append)
        self._lock = threading.Lock()
        self._tokens: set[str] = set()  # clients' Bearer tokens passed on (pass_bearer): masked wherever written
        self.written: list[Path] = []

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport, timeout=httpx.Timeout(self.options.timeout, connect=30.0)
            )
        return self._client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == "/_mock/health":
            await _json(send, 200, {"status": "ok", "mode": "record", "upstream": self.upstream})
            return
        if not path.lstrip("/").startswith("openai/"):
            await _json(send, 404, {"error": {"code": "404", "message": "Resource not found (aoai-mock record "
                                              "forwards only /openai/... requests)"}})
            return
        await self._forward(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._client is not None:
                    await self._client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await _read_body(receive)
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _NOT_FORWARDED]
        token = _bearer(scope["headers"]) if self.options.pass_bearer else None
        if token:
            headers.append((b"authorization", b"Bearer " + token.encode("latin-1")))
            with self._lock:
                self._tokens.add(token)
        elif self.options.api_key:
            headers.append((b"api-key", self.options.api_key.encode()))
        headers.append((b"accept-encoding", b"identity"))
        query = scope["query_string"]
        url = self.upstream + scope["path"] + ("?" + query.decode("latin-1") if query else "")
        request = normalise(scope["method"], scope["path"], query, scope["headers"], body)
        client = self._http()
        started = time.monotonic()
        try:
            upstream = await client.send(
                client.build_request(scope["method"], url, headers=headers, content=body), stream=True
            )
        except httpx.HTTPError as exc:
            log.warning("upstream unreachable for %s %s: %s", scope["method"], scope["path"], type(exc).__name__)
            await _json(send, 502, {"error": {"code": "BadGateway", "message": "aoai-mock record: the upstream "
                                              f"did not answer ({type(exc).__name__})"}})
            return
        await self._relay(upstream, request, started, send)

    async def _relay(self, upstream: httpx.Response, request: Any, started: float, send: Send) -> None:
        answered = time.monotonic()
        latency_ms = round((answered - started) * 1000)
        raw_headers = [(k, v) for k, v in upstream.headers.raw if k.lower() not in _HOP_BY_HOP]
        kept = response_headers_kept((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers)
        streamed = upstream.headers.get("content-type", "").startswith("text/event-stream")
        chunks: list[bytes] = []
        events: list[dict[str, Any]] = []
        pending = b""
        try:
            await send({"type": "http.response.start", "status": upstream.status_code, "headers": raw_headers})
            async for chunk in upstream.aiter_raw():
                chunks.append(chunk)
                if streamed:
                    done, pending = split_events(pending + chunk)
                    ms = round((time.monotonic() - answered) * 1000)
                    events.extend(event_entry(event, ms) for event in done)
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await upstream.aclose()
            if streamed:
                recorded = RecordedResponse(upstream.status_code, kept, latency_ms, events=events)
                recorded.tail = pending.decode("utf-8", "replace") or None
            else:
                recorded = RecordedResponse.complete(upstream.status_code, kept, latency_ms, b"".join(chunks))
            self._write(request, recorded)

    def _write(self, request: Any, response: RecordedResponse) -> None:
        with self._lock:
            recording = self._session.get(request.fingerprint)
            if recording is None:
                recording = self._session[request.fingerprint] = Recording(request, [])
            recording.responses.append(response)
            self.options.out.mkdir(parents=True, exist_ok=True)
            path = self.options.out / request.file_name()
            # every token this run has seen: a file written again still holds earlier answers
            path.write_bytes(recording.to_bytes((self.options.api_key, *self._tokens)))
            self.written.append(path)
        log.info("recorded %s %s -> %s (%s)", request.method, request.path, response.status, path.name)


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of the client's ``Authorization: Bearer``, if it sent one."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _json(send: Send, status: int, body: Any) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
