"""The front door, as pure ASGI (it never buffers a stream), outermost in the application: one pipeline
for every request.

For every request on every route it:

* serves ``//openai/...`` as ``/openai/...`` (the legacy SDK with a trailing-slash base sends it);
* creates the request's :class:`~aoai_mock.state.record.Record` (labelled with the operation and the
  deployment the path names, from the operation registry), which whatever serves the request fills in,
  and which the journal, the metrics and the JSON log line read when the response has ended;
* puts Azure's headers on every response, errors and streams included: request ids, region and the
  security headers; routes add their own (rate-limit figures) to :attr:`Exchange.response_headers`;
* routes: the answering operations (chat, completions, embeddings, Responses) run straight from here
  through the behaviour seam (:mod:`aoai_mock.behaviour.inference`), without the framework's middleware,
  routing or dependency injection, which would cost more than the work itself (a measured throughput
  target); everything else goes on to the FastAPI application, after the fault it may get
  (:mod:`aoai_mock.http.resource_faults`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aoai_mock.behaviour.provisioned import finished
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import AzureError, ServerError
from aoai_mock.http.observers import observers
from aoai_mock.http.protocol import ARRIVED
from aoai_mock.http.render import JsonPieces
from aoai_mock.state.journal import Journal
from aoai_mock.state.metrics import Metrics
from aoai_mock.state.record import BODY_LIMIT, CURRENT, Record
from aoai_mock.wire.headers import (
    CACHE_HEADER,
    DEPLOYMENT,
    ELAPSED_S,
    JSON_HEADER,
    LIMIT_REQUESTS,
    LIMIT_TOKENS,
    MODEL,
    MODEL_SESSION,
    QUOTA,
    REQUEST_ID,
    Fact,
    family_headers,
    fast_kind,
    kept_headers,
)
from aoai_mock.wire.operations import resolve

__all__ = [
    "AzureFront", "Exchange", "JsonReply", "FastRoute", "error_reply", "add_response_headers", "answer_as", "record_of"
]

log = logging.getLogger("aoai_mock")

_STATIC = (
    (b"x-content-type-options", b"nosniff"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains; preload"),
)


@dataclass(slots=True)
class Exchange:
    """One request as the fast routes see it: the raw scope, its headers by name, its record, what to add."""

    runtime: Runtime
    scope: Scope
    receive: Receive
    headers: dict[bytes, bytes]  # lower-case names; a repeated header keeps its last value
    record: Record
    deployment: str  # the deployment the path names ("" under /openai/v1/: the body's model names it)
    origin: float = 0.0  # the runtime's monotonic clock at arrival: pacing counts from here
    body_read: bool = False  # whether the route consumed the body (then never read it again)
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    target: Deployment | None = None  # the deployment that answers, once found (its family headers read it)

    @property
    def request_id(self) -> str:
        return self.record.request_id

    def header(self, name: bytes) -> str | None:
        value = self.headers.get(name)
        return value.decode("latin-1") if value is not None else None


class JsonReply:
    """A complete JSON response: one start message, one body message."""

    __slots__ = ("body", "status", "headers")

    def __init__(
        self, body: bytes | JsonPieces, status: int = 200, headers: tuple[tuple[bytes, bytes], ...] = ()
    ) -> None:
        self.body = body
        self.status = status
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self.body
        length = (b"content-length", str(len(body)).encode())
        await send({"type": "http.response.start", "status": self.status, "headers": [length, JSON_HEADER, *self.headers]})
        await send_body(send, body)


_PIECE = 1 << 20
_TRIM_AFTER = 8 << 20  # an answer this large (2048 embeddings: 80 MB) leaves freed memory to give back


def _malloc_trim() -> Callable[[], object] | None:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc: nothing to do
        return None


_TRIM = _malloc_trim()


def _give_back_memory() -> None:
    """Return the memory a large answer freed to the system: the C allocator keeps freed pieces of the worker
    threads' heaps otherwise, and the server's RSS would stay hundreds of MiB up after one large request."""
    if _TRIM is not None:
        _TRIM(0)


async def send_body(send: Send, body: bytes | JsonPieces) -> None:
    """A whole body: in one message, or a large one (2048 embeddings are 80 MB) a piece per loop turn as the
    socket takes it, so that no single write holds the loop while it is copied. A body kept in pieces goes out
    as its pieces, gathered to about ``_PIECE`` bytes a message, without being joined first."""
    if type(body) is JsonPieces:
        await _send_pieces(send, body.parts)
        return
    if len(body) <= _PIECE:
        await send({"type": "http.response.body", "body": body})
        return
    view = memoryview(body)
    for start in range(0, len(body), _PIECE):
        more = start + _PIECE < len(body)
        await send({"type": "http.response.body", "body": bytes(view[start : start + _PIECE]), "more_body": more})
        if more:
            await asyncio.sleep(0)


async def _send_pieces(send: Send, parts: list[bytes]) -> None:
    gathered: list[bytes] = []
    size = 0
    for part in parts:
        gathered.append(part)
        size += len(part)
        if size >= _PIECE:
            await send({"type": "http.response.body", "body": b"".join(gathered), "more_body": True})
            await asyncio.sleep(0)
            gathered, size = [], 0
    await send({"type": "http.response.body", "body": b"".join(gathered)})


def error_reply(error: AzureError) -> JsonReply:
    headers = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in error.headers.items())
    return JsonReply(error.verbatim or orjson.dumps(error.body()), error.status, headers)


def add_response_headers(scope: Scope, headers: dict[str, str]) -> None:
    """Headers a framework route wants on its response, whatever the response turns out to be."""
    scope.setdefault("state", {}).setdefault("azure_headers", {}).update(headers)


Value = str | Callable[[], str]  # a per-request header value, or how to work it out should the answer carry it


def answer_as(scope: Scope, kind: str = "", target: Deployment | None = None, **values: Value) -> None:
    """Which of its family's answers a framework route gives (a kind of ``wire.headers``: CREATE, ...), the
    deployment it spends, and the per-request values its family headers need (``audio_seconds``, ...); a
    callable is called only when the answer's era carries the header."""
    scope.setdefault("state", {})["answer_as"] = (kind, target, values)


def record_of(scope: Scope) -> Record:
    """The record the front door made for this request (framework routes fill it in through this)."""
    return scope["state"]["record"]  # type: ignore[no-any-return]


# A fast route: the exchange in, an ASGI app (the reply) out.
FastRoute = Callable[[Exchange], Awaitable[ASGIApp]]
# Answers a framework route's request in its place when a fault says so (None: the route answers).
ResourceFaults = Callable[
    [Runtime, Scope, Receive, dict[bytes, bytes], Record], Awaitable["tuple[ASGIApp | None, Receive]"]
]
# Finds the fast route for a method and path, with the deployment name it names.
Router = Callable[[str, str], "tuple[FastRoute, str] | None"]


_OWN = ("/_mock/", "/metrics")  # the mock's own API is not traffic under test: no record


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
        self.observers = observers(runtime.settings)  # per finished request: log lines, telemetry
        self.ids = runtime.ids
        self.region = runtime.settings.region.encode()
        self.region_slug = runtime.settings.region.lower().replace(" ", "").encode()  # Sweden Central: swedencentral
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
            *_STATIC,
        ]
        if path.startswith(_OWN):
            state = scope.setdefault("state", {})
            state["request_id"] = request_id
            await self.app(scope, receive, lambda m: _send_with_headers(send, m, extra, state))
            return
        arrived = scope.get("extensions", _NO_EXTENSIONS).get(ARRIVED) or time.monotonic()  # set by our protocol
        record = Record(request_id, scope["method"], path, scope["query_string"], scope["headers"], arrived)
        found = self.fast_routes(scope["method"], path)
        if found is None:
            token = CURRENT.set(record)  # the request being served, for behaviour deep inside it
            try:
                await self._framework(scope, receive, send, record, extra, headers)
            finally:
                CURRENT.reset(token)  # a batch's lines come through here inside another request's task
                self._finish(record)
            return
        # The answering routes, most of the traffic: here, without another coroutine in between.
        route, deployment = found
        record.deployment = deployment or None
        runtime = self.runtime
        origin = record.start if runtime.monotonic is time.monotonic else runtime.monotonic()  # tests inject a clock
        exchange = Exchange(runtime, scope, receive, headers, record, deployment, origin)
        try:
            try:
                reply = await route(exchange)
            except AzureError as exc:
                reply = error_reply(exc)
                if not exchange.body_read:
                    limit = self.runtime.settings.config.max_body_bytes
                    record.keep_body(await _body_for_journal(receive, headers, limit))
            except Exception as exc:  # a bug of ours: the service's 500, and the server goes on
                log.exception("unexpected error while serving %s %s: %r", scope["method"], path, exc)
                reply = error_reply(ServerError(request_id))
            added = exchange.response_headers
            if type(reply) is JsonReply:  # most answers: sent here, without a wrapped send
                await _send_json(reply, send, extra, added, record, self, exchange)
            else:
                await reply(scope, receive, _wrapped_send(send, extra, added, record, self, exchange=exchange))
        finally:  # self._finish(record), written out: this is every answer's path
            end = record.end = time.monotonic()
            if record.first_byte is None and record.status is not None:  # a body sent in one piece
                record.first_byte = end
            if record._response_parts:
                record.join_response()
            target = exchange.target
            if target is not None and target.ptu is not None:  # provisioned: the work done replaces the estimate
                finished(runtime.provisioned, target, record)
            self.metrics.observe(record)
            for observe in self.observers:
                observe(record)
            self.journal.add(record)
            if record.response_size is not None and record.response_size > _TRIM_AFTER:
                # Once this request's objects are gone (the answer's pieces are freed as this frame ends).
                loop = asyncio.get_running_loop()
                loop.call_soon(loop.run_in_executor, None, _give_back_memory)

    def _finish(self, record: Record) -> None:
        end = record.end = time.monotonic()
        if record.first_byte is None and record.status is not None:  # a body sent in one piece
            record.first_byte = end
        if record._response_parts:
            record.join_response()
        self.metrics.observe(record)
        for observe in self.observers:
            observe(record)
        self.journal.add(record)

    async def _framework(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        record: Record,
        extra: list[tuple[bytes, bytes]],
        headers: dict[bytes, bytes],
    ) -> None:
        state = scope.setdefault("state", {})
        state["request_id"] = record.request_id
        state["record"] = record
        resolved = resolve(scope["method"], record.path)
        if resolved is not None:
            record.operation, record.deployment = resolved[0].name, resolved[1]
        chunks: list[bytes] = []

        async def receive_and_keep() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        sender = _wrapped_send(send, extra, (), record, self, state)
        reader: Receive = receive_and_keep
        try:
            early = None
            if self.resource_faults is not None and resolved is not None:
                early, reader = await self.resource_faults(self.runtime, scope, reader, headers, record)
            await (early or self.app)(scope, reader, sender)
        except Exception as exc:  # noqa: BLE001 - a bug of ours, already answered with the service's 500
            if record.status is None:  # (the framework answers, logs, then raises it on): answer it here if not
                log.exception("unexpected error while serving %s %s: %r", scope["method"], record.path, exc)
                await error_reply(ServerError(record.request_id))(scope, reader, sender)
            # Not raised further: the server would close the client's keep-alive connection under it.
        finally:
            record.keep_body(b"".join(chunks))


async def _send_json(
    reply: JsonReply, send: Send, extra: list[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]], record: Record,
    front: AzureFront, exchange: Exchange,
) -> None:  # fmt: skip
    own = reply.headers
    if own and added:  # a reply's own headers (a 429's quota figures, say) win over the route's
        names = {name for name, _ in own}
        added = [header for header in added if header[0] not in names]
    body = reply.body
    status = record.status = reply.status
    if status == 401:  # a refused key: the gateway's request id and the content's headers, nothing more [captured:
        # recordings/errors/net-ChatCompletionBadKey-401, net-ImageBadKey-401]
        headers = [(b"content-length", str(len(body)).encode()), JSON_HEADER, extra[0]]
    else:
        headers = [(b"content-length", str(len(body)).encode()), JSON_HEADER, *own, *extra, *added, CACHE_HEADER]
    if status != 401:
        target = exchange.target
        if target is not None and target.ptu is not None:
            target = _answering(front, record, target)
        operation = record.operation
        reasoning = target is not None and target.reasoning
        kind = fast_kind(operation, reasoning) if reasoning or operation == "responses" else ""  # else always ""
        fixed, per_request, absent = family_headers(operation, record.api_version, status >= 400, kind)
        if absent:
            headers = [header for header in headers if header[0] not in absent]
        if fixed:
            headers.extend(fixed)
        if per_request:
            _per_request(headers, record, per_request, front, target, None)
    if status >= 400:
        record.response_headers = kept_headers(headers)
    record.response_size = len(body)
    if type(body) is JsonPieces:
        record.response_body = body.head(BODY_LIMIT)
    else:
        record.response_body = body if len(body) <= BODY_LIMIT else body[:BODY_LIMIT]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if type(body) is bytes and len(body) <= _PIECE:
        await send({"type": "http.response.body", "body": body})  # its first byte: when the record is finished
    else:
        await send_body(send, body)


def _wrapped_send(
    send: Send,
    extra: list[tuple[bytes, bytes]],
    added: list[tuple[bytes, bytes]] | tuple[()],
    record: Record,
    front: AzureFront,
    state: dict[str, Any] | None = None,
    exchange: Exchange | None = None,
) -> Send:
    """``send``, with Azure's headers on the start message and what went out noted in the record."""

    async def send_with_headers(message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            record.status = status = message["status"]
            more = added
            if state is not None and "azure_headers" in state:  # a framework route's own additions
                more = [(k.encode(), v.encode()) for k, v in state["azure_headers"].items()]
            own = message.get("headers", ())
            stream = any(n == b"content-type" and v.startswith(b"text/event-stream") for n, v in own)
            if status == 401:  # a refused key: the request id and the content's headers only (as in _send_json)
                message["headers"] = [*message.get("headers", ()), extra[0]]
            else:
                message = _with_headers(message, extra, more)
                _family(message["headers"], record, status, stream, front, state, exchange)
            if status >= 400:
                record.response_headers = kept_headers(message["headers"])
            if not record.stream:
                record.stream = stream
        elif kind == "http.response.body":
            if record.first_byte is None:
                record.first_byte = time.monotonic()
            record.sent_body(message.get("body", b""))
        await send(message)

    return send_with_headers


_PLAIN: tuple[str, Deployment | None, dict[str, Value]] = ("", None, {})
_NO_EXTENSIONS: dict[str, Any] = {}


def _family(
    headers: list[tuple[bytes, bytes]], record: Record, status: int, stream: bool, front: AzureFront,
    state: dict[str, Any] | None, exchange: Exchange | None,
) -> None:  # fmt: skip
    """Add the headers Azure's answers of this operation carry (``wire.headers.family_headers``): of the kind
    the answering route found (``Exchange.target``) or a framework route said (:func:`answer_as`)."""
    if exchange is not None:
        target, values = exchange.target, None
        if target is not None and target.ptu is not None:
            target = _answering(front, record, target)
        operation = record.operation
        kind = fast_kind(operation, target.reasoning) if target is not None and (target.reasoning or operation == "responses") else ""
    else:
        kind, target, values = state.get("answer_as", _PLAIN) if state is not None else _PLAIN
    fixed, per_request, absent = family_headers(record.operation, record.api_version, status >= 400, kind, stream)
    if absent:  # what the route added (the quota's figures) and this era's answers do not carry
        headers[:] = [header for header in headers if header[0] not in absent]
    if fixed:
        headers.extend(fixed)
    if per_request:
        _per_request(headers, record, per_request, front, target, values)


def _per_request(
    headers: list[tuple[bytes, bytes]], record: Record, per_request: tuple[tuple[bytes, Fact], ...],
    front: AzureFront, target: Deployment | None, values: dict[str, Value] | None,
) -> None:  # fmt: skip
    """Fill in each :class:`~aoai_mock.wire.headers.Fact`; one this request cannot know is left out. The
    common ones first, without a prefix (a 2025 chat answer's: the deployment's name and quota)."""
    for name, fact in per_request:
        if fact is DEPLOYMENT:
            if record.deployment:
                headers.append((name, record.deployment.encode("latin-1")))
        elif fact is LIMIT_REQUESTS or fact is LIMIT_TOKENS:
            limits = _limits(target) if target is not None else None
            if limits is not None:
                headers.append((name, limits[0] if fact is LIMIT_REQUESTS else limits[1]))
        elif fact is REQUEST_ID:
            headers.append((name, record.request_id.encode()))
        elif fact is MODEL_SESSION:
            headers.append((name, b"d" + record.request_id[:8].encode()))
        elif fact is QUOTA:  # the figures of the deployment it spends, when nobody meters it
            if target is not None and not target.rate_limit.enforce and target.ptu is None:
                admitted = front.runtime.limiter.admit(target, 0, record.operation or "", record.api_version or "")
                headers.extend(admitted.headers)
        else:
            value = _fact(fact, record, front, target, values)
            if value is not None:
                headers.append((name, fact.prefix + value.encode("latin-1") + fact.suffix))


_LIMITS: dict[int, tuple[Deployment, tuple[bytes, bytes] | None]] = {}


def _limits(target: Deployment) -> tuple[bytes, bytes] | None:
    """A deployment's request and token quotas a minute, as header values; None when its quota's own figures
    say them already (``rate_limit.limit_headers``). Kept per deployment object."""
    found = _LIMITS.get(id(target))
    if found is None or found[0] is not target:
        limits = None
        if not target.rate_limit.limit_headers and target.ptu is None:  # provisioned: no quota to state
            limits = (str(target.requests_per_minute).encode(), str(target.tokens_per_minute).encode())
        if len(_LIMITS) >= 1024:
            _LIMITS.clear()
        found = _LIMITS[id(target)] = (target, limits)
    return found[1]


def _answering(front: AzureFront, record: Record, target: Deployment) -> Deployment:
    """The deployment that answered a provisioned one's request: the standard one it spilled over to, if any."""
    if not record.deployment or record.deployment == target.name:
        return target
    return front.runtime.deployment(record.deployment) or target


def _fact(
    fact: Fact, record: Record, front: AzureFront, target: Deployment | None, values: dict[str, Value] | None
) -> str | None:
    if fact is ELAPSED_S:
        return f"{time.monotonic() - record.start:.3f}"
    if fact.name == "cluster":
        return front.region_slug.decode()
    if fact is MODEL:
        return target.model if target is not None else None
    value = values.get(fact.name) if values else None
    return value() if callable(value) else value


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


def _with_headers(
    message: Message, extra: list[tuple[bytes, bytes]], added: list[tuple[bytes, bytes]] | tuple[()]
) -> Message:
    own = message.get("headers", ())
    if added and len(own) > 2:  # a reply's own headers (a 429's quota figures, say) win over the route's
        names = {name for name, _ in own}
        added = [header for header in added if header[0] not in names]
    headers = [*own, *extra, *added]
    if not any(name.lower() == b"cache-control" for name, _ in own):  # extra and added never carry it
        headers.append(CACHE_HEADER)
    message["headers"] = headers  # each start message is built for this one response
    return message
