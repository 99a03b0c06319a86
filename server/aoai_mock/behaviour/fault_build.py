"""From a fault spec and a request to the concrete :class:`Fault`: typed effects the HTTP layer carries out.

Status kinds become ``AzureError`` instances with Azure's bodies and throttling headers; a stream error
gets its ``{"error": {...}}`` object (each family's stream says it its own way); defaults are filled in,
so the transport reads plain numbers. Bodies [captured] or [inferred] as ``errors.py`` says for each class.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aoai_mock.behaviour.delivery import (
    Cut,
    Delay,
    DeliveryPlan,
    Drop,
    Effect,
    ErrorEvent,
    Hang,
    Malformed,
    Refuse,
    Stall,
)
from aoai_mock.behaviour.ratelimit import operation_id
from aoai_mock.behaviour.scenarios.fault_schema import (
    STATUS_KINDS,
    FaultSpec,
    HeaderSwitches,
)
from aoai_mock.behaviour.scenarios.request_facts import RequestView
from aoai_mock.errors import (
    AzureError,
    BadGateway,
    GatewayTimeout,
    ModelOverloaded,
    RateLimited,
    RequestTimedOut,
    ServerError,
)

__all__ = [
    "Fault",
    "build_fault",
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
_NO_REQUEST_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True, slots=True)
class Fault:
    """The fault to apply to one request, every default resolved, as typed effects
    (:mod:`aoai_mock.behaviour.delivery`): a delay first when the spec has one, then the kind's own effect
    (a status kind refuses with its AzureError; ``delay`` has no other; ``hang``, ``close``, ``reset``,
    ``cut``, ``stall``, ``malformed`` and ``stream_error`` each have theirs). ``record`` is the fault's
    number in the book's log: the HTTP layer reports delivery with ``FaultBook.delivered(record, ...)``.
    """

    kind: str  # as specified: "429", "503", "delay", "cut", ...
    entry: str  # the id of the entry that fired; "header" for x-aoai-mock-fault
    source: str  # "header", "control", "scenario:<name>", ...
    record: int
    stream: bool  # the request asked for a stream
    effects: tuple[Effect, ...] = ()

    @property
    def error(self) -> AzureError | None:
        """The error a status kind answers with (its headers may take a deployment's quota figures)."""
        return next((e.error for e in self.effects if isinstance(e, Refuse)), None)

    def apply(self, plan: DeliveryPlan) -> DeliveryPlan:
        """Shape ``plan`` by every effect; the plan then names this fault and what it does."""
        for effect in self.effects:
            effect.apply(plan)
        plan.fault = self.record
        plan.effects = "; ".join(effect.describe() for effect in self.effects) or "none"
        return plan


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
    effects: list[Effect] = [Delay(delay_ms / 1000)] if delay_ms else []
    main = _effect(spec, view, request_id)
    if main is not None:
        effects.append(main)
    return Fault(kind=kind, entry=entry, source=source, record=record, stream=stream, effects=tuple(effects))


def _effect(spec: FaultSpec, view: RequestView, request_id: str | None) -> Effect | None:
    """The kind's own effect (``delay`` has none beyond its wait)."""
    kind = spec.kind
    after = spec.after_chunks if spec.after_chunks is not None else DEFAULT_AFTER_CHUNKS
    if kind in STATUS_KINDS:
        return Refuse(status_error(spec, view, request_id))
    if kind == "hang":
        return Hang(spec.seconds)
    if kind in ("close", "reset"):
        return Drop(reset=kind == "reset")
    if kind == "cut":
        return Cut(after, bool(spec.graceful))
    if kind == "stall":
        return Stall(after, spec.seconds if spec.seconds is not None else DEFAULT_STALL_S)
    if kind == "malformed":
        return Malformed(after)
    if kind == "stream_error":
        return ErrorEvent(after, stream_error_event(spec, request_id))
    return None
