"""Pacing: how long a deployment takes to answer, for demos and client-timeout tests.

The model, as a user sees it
----------------------------
A deployment's ``pacing`` gives a time to first token and a generation speed. Token ``i`` of an answer
(counting from 0) is ready ``time_to_first_token_ms`` after the request, plus ``i / tokens_per_second``:

* a stream sends its first content chunk after :attr:`PaceSchedule.first_delay` and waits
  :meth:`PaceSchedule.delay` ``(i)`` before content chunk ``i`` (the chunks before the content, prompt
  annotations and the role, need not wait);
* a non-streaming response waits :attr:`PaceSchedule.total`, the moment its last token is ready.

With ``jitter`` (a fraction: 0.2 is +-20%) every delay is stretched or shrunk by its own factor, drawn
uniformly from ``[1 - jitter, 1 + jitter]``. The factors derive from the request's seed, so the same
request gets the same timings in every run. Everything zero, the default, means no waiting at all (CI
wants speed): :attr:`Pace.enabled` is then False and every schedule is all zeros.

This module only computes times. It never sleeps: the HTTP layer awaits an injectable sleep with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from aoai_mock.config import Deployment, PacingSpec

__all__ = ["Pace", "PaceSchedule", "pace_for"]

_MASK = (1 << 64) - 1


def _unit(seed: int, index: int) -> float:
    """A uniform number in [0, 1) from ``seed`` and ``index`` (splitmix64): same inputs, same number."""
    x = (seed * 0x9E3779B97F4A7C15 + (index + 1) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return (x >> 11) / (1 << 53)


@dataclass(slots=True, frozen=True)
class PaceSchedule:
    """The delays of one answer of ``token_count`` tokens, in seconds.

    ``delay(0)`` is ``first_delay``; ``delay(i)`` for ``i >= 1`` is the gap between token ``i - 1`` and
    token ``i``; ``at(i)`` is when token ``i`` is ready, counted from the request; ``total`` is
    ``at(token_count - 1)`` (``first_delay`` for an empty answer). Chunks past ``token_count`` still get
    delays, at the same pace, so a stream that sends a few more chunks than counted is paced too.
    """

    token_count: int
    first_delay: float
    total: float
    interval: float  # the gap between tokens before jitter
    jitter: float
    seed: int
    gaps: tuple[float, ...] = ()  # jittered delays of tokens 0 .. token_count - 1; empty without jitter
    offsets: tuple[float, ...] = ()  # running sums of ``gaps``

    def delay(self, i: int) -> float:
        """Seconds to wait before content chunk (token) ``i``."""
        if i < 0:
            raise IndexError(f"chunk index must be at least 0, not {i}")
        if i < len(self.gaps):
            return self.gaps[i]
        if i == 0:
            return self.first_delay
        return self.interval * _factor(self.jitter, self.seed, i)

    def at(self, i: int) -> float:
        """Seconds from the request until token ``i`` is ready: the sum of ``delay(0)`` .. ``delay(i)``."""
        if i < 0:
            raise IndexError(f"chunk index must be at least 0, not {i}")
        if i < len(self.offsets):
            return self.offsets[i]
        if not self.jitter:
            return self.first_delay + i * self.interval
        start = len(self.offsets)
        base = self.offsets[-1] if self.offsets else 0.0
        return base + sum(self.delay(k) for k in range(start, i + 1))


def _factor(jitter: float, seed: int, index: int) -> float:
    if not jitter:
        return 1.0
    return 1.0 + jitter * (2.0 * _unit(seed, index) - 1.0)


@dataclass(slots=True, frozen=True)
class Pace:
    """A deployment's pace: ``first_token`` and ``interval`` in seconds, ``jitter`` a fraction."""

    first_token: float = 0.0
    interval: float = 0.0
    jitter: float = 0.0

    @classmethod
    def from_spec(cls, spec: PacingSpec) -> Pace:
        interval = 1.0 / spec.tokens_per_second if spec.tokens_per_second > 0 else 0.0
        return cls(spec.time_to_first_token_ms / 1000.0, interval, spec.jitter)

    @property
    def enabled(self) -> bool:
        """Whether any answer waits at all; when False every schedule is zeros and may be skipped."""
        return self.first_token > 0 or self.interval > 0

    def schedule(self, seed: int, token_count: int) -> PaceSchedule:
        """The delays for an answer of ``token_count`` tokens to a request whose seed is ``seed``."""
        count = max(0, token_count)
        seed &= _MASK
        jitter = self.jitter if self.enabled else 0.0
        if not jitter:
            total = self.first_token + max(0, count - 1) * self.interval
            return PaceSchedule(count, self.first_token, total, self.interval, 0.0, seed)
        gaps = tuple(
            (self.first_token if i == 0 else self.interval) * _factor(jitter, seed, i) for i in range(count)
        )
        offsets = tuple(accumulate(gaps))
        first = gaps[0] if gaps else self.first_token * _factor(jitter, seed, 0)
        total = offsets[-1] if offsets else first
        return PaceSchedule(count, first, total, self.interval, jitter, seed, gaps, offsets)


@lru_cache(maxsize=256)
def _pace_of(spec: PacingSpec) -> Pace:
    return Pace.from_spec(spec)


def pace_for(deployment: Deployment) -> Pace:
    """The pace of a deployment's ``pacing`` settings (built once per distinct settings)."""
    return _pace_of(deployment.pacing)
