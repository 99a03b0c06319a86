"""Provisioned throughput (PTU) deployments: their utilization, the immediate 429 when they are full, and
which requests spill over to a standard deployment (docs/provisioned.md).

The model, as a user sees it
----------------------------
A provisioned deployment has a capacity: its ``ptu`` times the input tokens a minute one PTU serves
(``provisioned.input_tpm_per_ptu``, by default Azure's figure for the model, :data:`THROUGHPUT`). Work is
counted in input tokens; an output token weighs ``output_to_input_ratio`` of them (4 for gpt-4o, 8 for gpt-5).

Utilization is a leaky bucket [documented: "a variation of the leaky bucket algorithm"]. Each admitted
request adds its estimated work, its prompt tokens plus the ratio times its ``max_tokens`` (or the deployment's
``rate_limit.default_max_tokens_estimate``) for each choice [documented]. While its response is under way
(a paced one takes its time) the estimate stays; once it has ended, the difference between its actual work (its
prompt, and the ratio times the tokens it generated) and the estimate is added or taken back [documented]. The
bucket drains continuously, a sixtieth of the capacity a second [documented: "decremented at a continuous rate
based on the number of PTU"]. 100% is one minute of capacity in the bucket [inferred: Azure
measures utilization over one-minute increments].

A request arriving while utilization is at or above 100% is refused at once with a 429 whose
``retry-after-ms`` is the time until utilization is below 100% again, and ``retry-after`` that in whole
seconds, rounded up [documented]. A request admitted below 100% may take it above (Azure's "bursts just over
100%"). Every answer of a provisioned deployment, and its errors, carry ``azure-openai-deployment-utilization``
(``"37.5%"``) [captured: the header and its form by Microsoft's benchmarking tool; inferred: one decimal].

Guarantee (tested): after a refusal saying ``retry-after-ms: N``, the same request sent N ms later is
admitted, provided nothing else was admitted in between.

Spillover: a provisioned deployment's ``spillover_to``, else the request's ``x-ms-spillover-deployment``
header (the deployment's setting wins [documented]), names the standard deployment that answers a request
the provisioned one would answer with a 429, a 500 or a 503, or a 400 for a too long context [documented].
``behaviour/inference.py`` does the re-dispatch; this module decides, meters and names.

The meter is per process, on an injected clock (``time.monotonic`` by default): with shared state each process
meters its own utilization (docs/shared-state.md).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aoai_mock.config import Deployment
from aoai_mock.errors import AzureError, CapacityExceeded
from aoai_mock.state.record import Record
from aoai_mock.wire.headers import family_headers, fast_kind

__all__ = [
    "ProvisionedMeter", "Decision", "THROUGHPUT", "DEFAULT_THROUGHPUT", "throughput", "capacity", "work",
    "refusal", "percent", "finished", "spillover_target", "spilled_headers", "spills", "UTILIZATION",
    "SPILLOVER_REQUEST", "SPILLOVER_FROM", "SPILLOVER_ERROR", "DEPLOYMENT_NAME",
]

UTILIZATION = b"azure-openai-deployment-utilization"
SPILLOVER_REQUEST = b"x-ms-spillover-deployment"  # the request names its standard deployment
SPILLOVER_FROM = b"x-ms-spillover-from-deployment"  # a spilled answer names the provisioned deployment
DEPLOYMENT_NAME = b"x-ms-deployment-name"  # ... and the deployment that answered
SPILLOVER_ERROR = "x-ms-spillover-error"  # the provisioned deployment's answer, when the standard one failed too

# Input tokens a minute per PTU, and how many input tokens one output token weighs, by model [documented:
# "Determine PTU sizing for a workload", deployment parameters tables, May 2026].
THROUGHPUT: Mapping[str, tuple[int, float]] = {
    "gpt-5.5": (1_200, 6), "gpt-5.4": (2_400, 6), "gpt-5.3-codex": (3_400, 8), "gpt-5.2": (3_400, 8),
    "gpt-5.2-codex": (3_400, 8), "gpt-5.1": (4_750, 8), "gpt-5.1-codex": (4_750, 8), "gpt-5": (4_750, 8),
    "gpt-5-mini": (23_750, 8), "gpt-4.1": (3_000, 4), "gpt-4.1-mini": (14_900, 4), "gpt-4.1-nano": (59_400, 4),
    "o3": (3_000, 4), "o4-mini": (5_400, 4), "gpt-4o": (2_500, 4), "gpt-4o-mini": (37_000, 4),
    "o3-mini": (2_500, 4), "o1": (230, 4),
}  # fmt: skip
DEFAULT_THROUGHPUT = THROUGHPUT["gpt-4o"]  # a model the tables do not list [inferred]

_WINDOW_S = 60.0  # 100% utilization: one minute of capacity
_SPILLS = frozenset({429, 500, 503})


def throughput(deployment: Deployment) -> tuple[int, float]:
    """The deployment's input tokens a minute per PTU and output-to-input ratio: its own, else its model's."""
    tpm, ratio = THROUGHPUT.get(deployment.model, DEFAULT_THROUGHPUT)
    spec = deployment.provisioned
    return spec.input_tpm_per_ptu or tpm, spec.output_to_input_ratio or ratio


def capacity(deployment: Deployment) -> float:
    """Input tokens a minute the deployment serves at 100% utilization."""
    return (deployment.ptu or 0) * throughput(deployment)[0]


def work(prompt_tokens: int, output_tokens: int, ratio: float, choices: int = 1) -> float:
    """A request's work in input tokens: its prompt, and each choice's output weighed by ``ratio``."""
    return max(0, prompt_tokens) + ratio * max(0, output_tokens) * max(1, choices)


def percent(utilization: float) -> bytes:
    """The utilization header's value: ``b"37.5%"``."""
    return f"{utilization:.1f}%".encode()


@dataclass(frozen=True, slots=True)
class Decision:
    """One request's admission: admitted or not, the utilization after it (percent), the wait if refused."""

    allowed: bool
    utilization: float
    retry_after_ms: int = 0


@dataclass(slots=True)
class _Bucket:
    """The work in hand (input tokens), draining at ``rate`` a second; full is ``size``."""

    settings: tuple[int | None, int, float]
    size: float
    rate: float
    level: float = 0.0
    stamp: float = 0.0

    def level_at(self, when: float) -> float:
        return max(0.0, self.level - max(0.0, when - self.stamp) * self.rate)

    def update(self, now: float) -> float:
        self.level, self.stamp = self.level_at(now), max(self.stamp, now)
        return self.level

    def percent(self, now: float) -> float:
        return 100.0 * self.level_at(now) / self.size

    def wait_ms(self, now: float) -> int:
        """Whole milliseconds until the level is below ``size`` (the first whole one past the exact time), checked
        with the arithmetic a retry uses."""
        ms = math.floor((self.level_at(now) - self.size) / self.rate * 1000) + 1
        while self.level_at(now + ms / 1000) >= self.size:
            ms += 1
        return ms


class ProvisionedMeter:
    """The utilization of every provisioned deployment a process serves; ``clock`` is injected so that tests
    move time by hand. Its methods never await and hold a lock, so worker threads and the loop agree."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def admit(self, deployment: Deployment, estimate: float) -> Decision:
        """Admit a request estimated at ``estimate`` input tokens of work, unless utilization is at 100%."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(deployment, now)
            if bucket.update(now) >= bucket.size:
                return Decision(False, bucket.percent(now), bucket.wait_ms(now))
            bucket.level += max(0.0, estimate)
            return Decision(True, bucket.percent(now))

    def settle(self, deployment: Deployment, estimate: float, actual: float) -> float:
        """Correct an admitted request's estimate by its actual work; the utilization after, in percent."""
        with self._lock:
            now = self._clock()
            bucket = self._bucket(deployment, now)
            bucket.level = max(0.0, bucket.update(now) + actual - estimate)
            return bucket.percent(now)

    def utilization(self, deployment: Deployment) -> float:
        """The utilization now, in percent (reading changes nothing)."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(deployment.name)
            return bucket.percent(now) if bucket is not None and bucket.settings == _settings(deployment) else 0.0

    def state(self, deployment: Deployment) -> dict[str, Any] | None:
        """What ``GET /_mock/deployments`` shows of a provisioned deployment; None for any other."""
        if deployment.ptu is None:
            return None
        tpm, ratio = throughput(deployment)
        utilization = self.utilization(deployment)
        size = capacity(deployment)
        return {"ptu": deployment.ptu, "input_tpm_per_ptu": tpm, "output_to_input_ratio": ratio,
                "capacity_tokens_per_minute": size, "utilization": round(utilization, 1),
                "below_100_in_s": round(max(0.0, utilization - 100) / 100 * _WINDOW_S, 3)}

    def reset(self, deployment: str | None = None) -> None:
        """Empty every bucket (or ``deployment``'s): utilization 0%, as if nothing had been served."""
        with self._lock:
            if deployment is None:
                self._buckets.clear()
            else:
                self._buckets.pop(deployment, None)

    def _bucket(self, deployment: Deployment, now: float) -> _Bucket:
        settings = _settings(deployment)
        bucket = self._buckets.get(deployment.name)
        if bucket is None or bucket.settings != settings:  # new, or resized: empty
            size = capacity(deployment) * _WINDOW_S / 60
            bucket = self._buckets[deployment.name] = _Bucket(settings, size, size / _WINDOW_S, 0.0, now)
        return bucket


def _settings(deployment: Deployment) -> tuple[int | None, int, float]:
    return (deployment.ptu, *throughput(deployment))


def refusal(deployment: Deployment, decision: Decision, operation_id: str, api_version: str) -> CapacityExceeded:
    """The 429 of a refused request, with its wait and the deployment's utilization."""
    seconds = -(-decision.retry_after_ms // 1000)
    headers = {
        "retry-after": str(seconds),
        "retry-after-ms": str(decision.retry_after_ms),
        UTILIZATION.decode(): percent(decision.utilization).decode(),
    }
    return CapacityExceeded(operation_id, api_version, seconds, headers)


def finished(meter: ProvisionedMeter, deployment: Deployment, record: Record) -> None:
    """A request to a provisioned deployment has ended: if the deployment admitted it, its estimate is replaced
    by its actual work, its prompt and its output weighed by the ratio (none, when another deployment answered
    it in the end)."""
    quota = record.quota
    if quota is None or not quota.get("admitted"):
        return
    actual = 0.0
    if "spillover" not in quota:
        actual = work(record.tokens_in or 0, record.tokens_out or 0, throughput(deployment)[1])
    meter.settle(deployment, quota["cost"], actual)


def spillover_target(deployment: Deployment, headers: Mapping[bytes, bytes]) -> str | None:
    """The standard deployment a provisioned deployment's request spills over to, if any: the deployment's
    ``spillover_to``, else the request's ``x-ms-spillover-deployment``."""
    if deployment.spillover_to is not None:
        return deployment.spillover_to
    named = headers.get(SPILLOVER_REQUEST)
    if named is None:
        return None
    return named.decode("latin-1").strip() or None


def spilled_headers(
    origin: Deployment, standard: Deployment, operation: str, api_version: str, stream: bool
) -> list[tuple[bytes, bytes]]:
    """What a spilled answer says of it: the provisioned deployment, and the standard one that answered (unless
    the answers of this operation and api-version name their deployment anyway: the front door adds it)."""
    headers = [(SPILLOVER_FROM, origin.name.encode("latin-1"))]
    kind = fast_kind(operation, standard.reasoning)
    facts = family_headers(operation, api_version, False, kind, stream)[1]
    if all(name != DEPLOYMENT_NAME for name, _ in facts):
        headers.append((DEPLOYMENT_NAME, standard.name.encode("latin-1")))
    return headers


def spills(error: AzureError) -> bool:
    """Whether this answer of a provisioned deployment spills over: a 429, 500 or 503, or a 400 for a context
    longer than the deployment takes [documented]."""
    return error.status in _SPILLS or (error.status == 400 and error.code == "context_length_exceeded")
