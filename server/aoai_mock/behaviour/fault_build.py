"""From a fault spec and a request to the concrete :class:`Fault` the HTTP layer carries out.

Status kinds become ``AzureError`` instances with Azure's bodies and throttling headers; stream kinds get
their event (an ``{"error": {...}}`` object, or the exact bytes of a broken event); defaults are filled in,
so the transport reads plain numbers. Bodies [captured] or [inferred] as ``errors.py`` says for each class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aoai_mock.behaviour.ratelimit import operation_id
from aoai_mock.behaviour.request_facts import RequestView
from aoai_mock.errors import (
    AzureError,
    BadGateway,
    GatewayTimeout,
    ModelOverloaded,
    RateLimited,
    RequestTimedOut,
    ServerError,
)
from aoai_mock.scenarios.fault_schema import (
    STATUS_KINDS,
    STREAM_KINDS,
    FaultSpec,
    HeaderSwitches,
)

__all__ = [
    "Fault",
    "build_fault",
    "MALFORMED_EVENT",
    "DEFAULT_DELAY_MS",
    "DEFAULT_RETRY_AFTER_MS",
    "DEFAULT_STALL_S",
    "DEFAULT_AFTER_CHUNKS",
    "RATELIMIT_LIMITS",
]

DEFAULT_DELAY_MS = 1000
DEFAULT_RETRY_AFTER_MS = 1000
DEFAULT_STALL_S = 5.0
DEFAULT_AFTER_CHUNKS = 1
# x-ratelimit-limit-* of an injected 429 [inferred values]: 10K tokens a minute and, by Azure's rule
# (requests per minute = tokens per minute / 1000 * 6), 60 requests.
RATELIMIT_LIMITS = {"tokens": 10_000, "requests": 60}
# One SSE event whose JSON stops in the middle of a string: a parser fails on it, a line reader does not.
MALFORMED_EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"the chunk stops here\n\n'
_NO_REQUEST_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class Fault:
    """The fault to apply to one request, every default resolved.

    Whatever the action, wait ``delay_s`` first. Then, by ``action``:

    * ``error``: answer ``error`` (its ``status``, ``body()``, ``headers``) as any AzureError.
    * ``delay``: answer normally.
    * ``hang``: send nothing; after ``seconds`` (if not None) close the connection; stop when the client goes.
    * ``close`` / ``reset``: close the connection (FIN) / reset it (RST, SO_LINGER 0) before any byte.
    * ``cut``: streaming: send ``after_chunks`` SSE events, then drop the connection mid-body (incomplete
      chunked encoding), or with ``graceful`` end the body properly; never ``[DONE]``. Not streaming: the
      status line, headers (full Content-Length) and the first half of the body, then drop the connection.
    * ``stall``: after ``after_chunks`` events pause ``seconds``, then go on as normal.
    * ``malformed``: after ``after_chunks`` events write ``raw`` as is, then go on as normal.
    * ``stream_error``: after ``after_chunks`` events send ``event`` as one ``data:`` event, then end the
      body properly without ``[DONE]``.

    A stream with fewer events than ``after_chunks`` has the fault where ``[DONE]`` would be. ``record`` is
    the fault's number in the book's log: report delivery with ``FaultBook.delivered(record, ...)``.
    """

    kind: str  # as specified: "429", "503", "delay", "cut", ...
    entry: str  # the id of the entry that fired; "header" for x-aoai-mock-fault
    source: str  # "header", "control", "scenario:<name>", ...
    record: int
    stream: bool  # the request asked for a stream
    delay_s: float = 0.0
    seconds: float | None = None  # hang: close after this (None: wait until the client goes); stall: the pause
    after_chunks: int = 0  # stream kinds: SSE events to send before the fault
    graceful: bool = False  # cut: end the body properly (only no [DONE]) instead of dropping the connection
    error: AzureError | None = None  # status kinds
    event: Mapping[str, Any] | None = None  # stream_error: the event's JSON object, {"error": {...}}
    raw: bytes | None = None  # malformed: the exact bytes to write, "data: ..." and the blank line

    @property
    def action(self) -> str:
        return "error" if self.kind in STATUS_KINDS else self.kind


def _on(switch: bool | None, default: bool) -> bool:
    return default if switch is None else switch


def throttle_headers(spec: FaultSpec) -> dict[str, str]:
    """retry-after, retry-after-ms, x-ratelimit-*, policy-id and x-should-retry, as the spec switches them."""
    switches = spec.headers or HeaderSwitches()
    explicit = spec.retry_after_ms is not None
    ms = spec.retry_after_ms if spec.retry_after_ms is not None else DEFAULT_RETRY_AFTER_MS
    seconds = str(math.ceil(ms / 1000))
    throttled = spec.kind == "429"
    headers: dict[str, str] = {}
    if _on(switches.retry_after, throttled or explicit):
        headers["retry-after"] = seconds
    if _on(switches.retry_after_ms, throttled or explicit):
        headers["retry-after-ms"] = str(ms)
    if _on(switches.ratelimit_headers, throttled):
        for what, limit in RATELIMIT_LIMITS.items():
            headers[f"x-ratelimit-limit-{what}"] = str(limit)
            headers[f"x-ratelimit-remaining-{what}"] = "0"
            headers[f"x-ratelimit-reset-{what}"] = seconds  # whole seconds, as behaviour/ratelimit.py sends
        headers["policy-id"] = "DeploymentRatelimit-Call" if spec.limit == "call" else "DeploymentRatelimit-Token"
    if switches.should_retry is not None:
        headers["x-should-retry"] = "true" if switches.should_retry else "false"
    return headers


def status_error(spec: FaultSpec, view: RequestView, request_id: str | None) -> AzureError:
    """The AzureError of a status kind: Azure's body for the request's operation and api-version.

    ``error.headers`` is a plain dict: the HTTP layer may put a deployment's real quota figures in it.
    """
    headers = throttle_headers(spec)
    rid = request_id or _NO_REQUEST_ID
    kind, message = spec.kind, spec.message
    if kind == "429":
        ms = spec.retry_after_ms if spec.retry_after_ms is not None else DEFAULT_RETRY_AFTER_MS
        error: AzureError = RateLimited(
            operation_id(view.operation), view.api_version or "v1", math.ceil(ms / 1000), spec.limit or "token", headers
        )
        if message is not None:
            error.message = message
        return error
    if kind == "408":
        return RequestTimedOut(message, headers)
    if kind == "500":
        error = ServerError(rid)
        error.headers = headers
        if message is not None:
            error.message = message
        return error
    if kind == "502":
        return BadGateway(message, headers)
    if kind == "503":
        return ModelOverloaded(rid, message, headers)
    return GatewayTimeout(message, headers)


def stream_error_event(spec: FaultSpec, request_id: str | None) -> dict[str, Any]:
    """The ``{"error": {...}}`` object of a stream_error event: the model service's 500 body."""
    error = ServerError(request_id or _NO_REQUEST_ID)
    if spec.message is not None:
        error.message = spec.message
    return error.body()


def build_fault(
    spec: FaultSpec,
    view: RequestView,
    *,
    entry: str,
    source: str,
    record: int,
    stream: bool,
    request_id: str | None = None,
) -> Fault:
    """The concrete fault of ``spec`` for this request."""
    kind = spec.kind
    delay_ms = spec.delay_ms if spec.delay_ms is not None else (DEFAULT_DELAY_MS if kind == "delay" else 0)
    seconds = spec.seconds if spec.seconds is not None else (DEFAULT_STALL_S if kind == "stall" else None)
    after = spec.after_chunks if spec.after_chunks is not None else DEFAULT_AFTER_CHUNKS
    return Fault(
        kind=kind,
        entry=entry,
        source=source,
        record=record,
        stream=stream,
        delay_s=delay_ms / 1000,
        seconds=seconds,
        after_chunks=after if kind in STREAM_KINDS else 0,
        graceful=bool(spec.graceful),
        error=status_error(spec, view, request_id) if kind in STATUS_KINDS else None,
        event=stream_error_event(spec, request_id) if kind == "stream_error" else None,
        raw=MALFORMED_EVENT if kind == "malformed" else None,
    )
