"""The front door, as pure ASGI (it never buffers a stream), outermost in the application.

* ``//openai/...`` is served as ``/openai/...`` (the legacy SDK with a trailing-slash base sends it);
* every response, errors and streams included, carries Azure's headers: request ids, region and the
  security headers; routes add their own (rate-limit figures) to :class:`Exchange.headers`;
* the inference routes, most of the traffic, are dispatched here directly: they need none of the
  framework's middleware, routing or dependency injection, which would cost more than the work itself.
  Everything else goes on to the FastAPI application.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import AzureError, ServerError
from aoai_mock.state.journal import Journal
from aoai_mock.state.metrics import Metrics

__all__ = ["AzureFront", "Exchange", "JsonReply", "FastRoute", "error_reply", "add_response_headers"]

log = logging.getLogger("aoai_mock")
requests_log = logging.getLogger("aoai_mock.requests")  # --log-format json: one line per request

_STATIC = (
    (b"x-content-type-options", b"nosniff"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains; preload"),
)
_CACHE = (b"cache-control", b"no-cache, must-revalidate")
_JSON = (b"content-type", b"application/json")


@dataclass(slots=True)
class Exchange:
    """One request as the fast routes see it: the raw scope, its headers by name, and what to add."""

    runtime: Runtime
    scope: Scope
    receive: Receive
    headers: dict[bytes, bytes]  # lower-case names; a repeated header keeps its last value
    deployment: str
    request_id: str
    operation: str | None = None
    body: bytes = b""  # as received, for the journal
    body_read: bool = False  # whether the route consumed the body (then never read it again)
    scenario: str | None = None  # the scenario and rule that answered, for the journal
    rule: str | None = None
    tokens: tuple[int, int] | None = None  # prompt and completion tokens, for the metrics
    fault: str | None = None  # the kind of fault injected, for the metrics
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None


class JsonReply:
    """A complete JSON response: one start message, one body message."""

    __slots__ = ("body", "status", "headers")

    def __init__(self, body: bytes, status: int = 200, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        self.body = body
        self.status = status
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        length = (b"content-length", str(len(self.body)).encode())
        await send({"type": "http.response.start", "status": self.status, "headers": [length, _JSON, *self.headers]})
        await send({"type": "http.response.body", "body": self.body})


def error_reply(error: AzureError) -> JsonReply:
    headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items())
    return JsonReply(error.verbatim or orjson.dumps(error.body()), error.status, headers)


def add_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    """Headers a framework route wants on its response, whatever the response turns out to be."""
    scope.setdefault("state", {}).setdefault("azure_headers", {}).update(headers)


# A fast route: the exchange in, an ASGI app (the reply) out.
FastRoute = Callable[[Exchange], Awaitable[ASGIApp]]
# Answers a framework route's request in its place when a fault says so (None: the route answers).
ResourceFaults = Callable[[Runtime, Scope, Receive, dict[bytes, bytes], str], Awaitable["ASGIApp | None"]]
# Finds the fast route for a method and path, with the deployment name it names.
Router = Callable[[str, str], "tuple[FastRoute, str] | None"]


_JOURNAL_SKIPS = ("/_mock/", "/metrics")  # the mock's own API is not traffic under test


class AzureFront:
    def __init__(
        self,
        app: ASGIApp,
        runtime: Runtime,
        fast_routes: Router,
        journal: Journal,
        metrics: Metrics,
        resource_faults: ResourceFaults | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.journal = journal
        self.metrics = metrics
        self.resource_faults = resource_faults  # faults for the framework's routes (http/resource_faults.py)
        self.log_json = runtime.settings.log_format == "json"
        self.ids = runtime.ids
        self.region = runtime.settings.region.encode()
        self.fast_routes = fast_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
            scope = dict(scope, path=path, raw_path=path.encode())
        request_id = self.ids.request_id()
        rid = request_id.encode()
        headers = dict(scope["headers"])
        extra = [
            (b"apim-request-id", rid),
            (b"x-request-id", rid),
            (b"x-ms-client-request-id", headers.get(b"x-ms-client-request-id") or rid),
            (b"x-ms-region", self.region),
            (b"azureml-model-session", b"d" + rid[:8]),
            *_STATIC,
        ]
        found = self.fast_routes(scope["method"], path)
        if found is None:
            await self._framework(scope, receive, send, request_id, extra, headers)
            return
        route, deployment = found
        start = time.monotonic()
        exchange = Exchange(self.runtime, scope, receive, headers, deployment, request_id)
        try:
            reply = await route(exchange)
        except AzureError as exc:
            reply = error_reply(exc)
            if not exchange.body_read:
                exchange.body = await _body_for_journal(receive, headers, self.runtime.settings.config.max_body_bytes)
        except Exception as exc:  # a bug of ours: the service's 500, and the server goes on
            log.exception("unexpected error while serving %s %s: %r", scope["method"], path, exc)
            reply = error_reply(ServerError(request_id))
        added = exchange.response_headers
        sent: list[Any] = [500, False, None]  # status, stream, headers the journal keeps
        try:
            if type(reply) is JsonReply:  # most answers: sent here, without a wrapped send
                await self._send_json(reply, send, extra, added, sent)
            else:
                await reply(scope, receive, self._wrapped_send(send, extra, added, sent))
        finally:
            end = time.monotonic()
            self.metrics.observe(exchange.deployment or None, exchange.operation, sent[0], end - start,
                                 exchange.tokens, exchange.fault)
            if self.log_json:
                _log_line(request_id, "POST", path, sent[0], end - start, exchange.deployment or None,
                          exchange.operation, sent[1], exchange.scenario, exchange.rule, exchange.fault, exchange.tokens)
            self.journal.record(
                start, end, scope["method"], path, scope["query_string"], scope["headers"], exchange.body,
                sent[0], sent[1], request_id, exchange.deployment or None, exchange.operation, exchange.scenario, exchange.rule,
                sent[2],
            )

    @staticmethod
    async def _send_json(
        reply: JsonReply, send: Send, extra: list[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]], sent: list[Any]
    ) -> None:
        own = reply.headers
        if own and added:  # a reply's own headers (a 429's quota figures, say) win over the route's
            names = {name for name, _ in own}
            added = [header for header in added if header[0] not in names]
        body = reply.body
        status = sent[0] = reply.status
        headers = [(b"content-length", str(len(body)).encode()), _JSON, *own, *extra, *added, _CACHE]
        if status >= 400:
            sent[2] = _kept(headers)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _wrapped_send(
        send: Send, extra: list[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]], sent: list[Any]
    ) -> Send:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent[0] = status = message["status"]
                sent[1] = True
                message = _with_headers(message, extra, added)
                if status >= 400:
                    sent[2] = _kept(message["headers"])
            await send(message)

        return send_with_headers

    async def _framework(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        request_id: str,
        extra: list[tuple[bytes, bytes]],
        headers: dict[bytes, bytes],
    ) -> None:
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        if scope["path"].startswith(_JOURNAL_SKIPS):
            await self.app(scope, receive, lambda m: _send_with_headers(send, m, extra, state))
            return
        start = time.monotonic()
        chunks: list[bytes] = []
        sent: list[Any] = [500, False, None]

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent[0] = message["status"]
                sent[1] = any(n == b"content-type" and v.startswith(b"text/event-stream") for n, v in message.get("headers", ()))
                if message["status"] >= 400:
                    sent[2] = _kept(message.get("headers", ()))
            await _send_with_headers(send, message, extra, state)

        try:
            early = None
            if self.resource_faults is not None and scope["path"].startswith("/openai/"):
                early = await self.resource_faults(self.runtime, scope, receive_and_keep, headers, request_id)
            await (early or self.app)(scope, receive_and_keep, send_and_note)
        finally:
            end = time.monotonic()
            self.metrics.observe(state.get("deployment"), state.get("operation"), sent[0], end - start)
            if self.log_json:
                _log_line(request_id, scope["method"], scope["path"], sent[0], end - start, state.get("deployment"),
                          state.get("operation"), sent[1])
            self.journal.record(
                start, end, scope["method"], scope["path"], scope["query_string"], scope["headers"],
                b"".join(chunks), sent[0], sent[1], request_id,
                deployment=state.get("deployment"), operation=state.get("operation"), response_headers=sent[2],
            )


async def _send_with_headers(send: Send, message: Message, extra: list[tuple[bytes, bytes]], state: dict) -> None:
    if message["type"] == "http.response.start":
        added = [(k.encode(), v.encode()) for k, v in state.get("azure_headers", {}).items()]
        message = _with_headers(message, extra, added)
    await send(message)


async def _body_for_journal(receive: Receive, headers: dict[bytes, bytes], limit: int) -> bytes:
    """The body of a request refused before it was read (a wrong key, say), when it is small enough."""
    declared = headers.get(b"content-length", b"")
    if not declared.isdigit() or not 0 < int(declared) <= limit:
        return b""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return b"".join(chunks)


def _log_line(
    request_id: str,
    method: str,
    path: str,
    status: int,
    seconds: float,
    deployment: str | None,
    operation: str | None,
    stream: bool,
    scenario: str | None = None,
    rule: str | None = None,
    fault: str | None = None,
    tokens: tuple[int, int] | None = None,
) -> None:
    """One JSON line for one request: what happened, never a header value (so never a key or token)."""
    line = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": "request",
        "request_id": request_id,
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 3),
        "deployment": deployment,
        "operation": operation,
        "stream": stream,
        "scenario": scenario,
        "rule": rule,
        "fault": fault,
        "prompt_tokens": tokens[0] if tokens else None,
        "completion_tokens": tokens[1] if tokens else None,
    }
    requests_log.info(orjson.dumps(line).decode())


_KEPT = (b"retry-after", b"x-should-retry", b"x-ratelimit-", b"policy-id")


def _kept(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers of an error response a retry test asks about."""
    return [(name, value) for name, value in headers if name.lower().startswith(_KEPT)]


def _with_headers(
    message: Message, extra: list[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]]
) -> Message:
    own = message.get("headers", ())
    if added and len(own) > 2:  # a reply's own headers (a 429's quota figures, say) win over the route's
        names = {name for name, _ in own}
        added = [header for header in added if header[0] not in names]
    headers = [*own, *extra, *added]
    if not any(name.lower() == b"cache-control" for name, _ in own):  # extra and added never carry it
        headers.append(_CACHE)
    message["headers"] = headers  # each start message is built for this one response
    return message
