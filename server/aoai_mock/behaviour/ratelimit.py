"""Azure's rate limits per deployment: a token quota and a request quota, both as refilling buckets.

The model, as a user sees it
----------------------------
Every deployment has two buckets. The **token bucket** holds ``token_window_seconds`` worth of the
deployment's ``tokens_per_minute`` (60 s by default: the whole per-minute quota) and refills continuously
at ``tokens_per_minute / 60`` a second. The **request bucket** holds ``request_window_seconds`` worth of
the request quota (10 s by default: ``requests_per_minute / 6``) and refills at ``requests_per_minute / 60``
a second. A request is admitted when both buckets hold enough; it then takes its cost from the token
bucket and one from the request bucket. A refused request takes nothing.

Why these windows: Azure's documentation says the token count is a running count over the minute, and
that requests are evaluated over short periods ("typically 1 or 10 seconds"), so a burst of requests trips
the limit before the minute is out; captured headers agree (a 480-RPM deployment reported 79 requests
remaining after one request: the 10-second share, 80, less one). Set both windows to 10 for the stricter
reading in which tokens are also metered in 10-second shares.

A request's cost is Azure's estimate, made before any work: its prompt tokens plus its ``max_tokens``
(or the deployment's ``default_max_tokens_estimate``), see :func:`estimate_cost`.

Big requests. A request may cost more than the token bucket holds (possible when the token window is
shorter than a minute): it is admitted once the bucket is full, and the bucket then goes below zero, so
later requests wait until it has refilled. A request costing more than the whole ``tokens_per_minute``
is never served: Azure answers those with "Please retry after 86400 seconds" (reports from users whose
request was larger than their deployment's quota), and so does the mock.

Guarantees (tested):

* **retry-after is right.** After a refusal saying ``retry-after-ms: N``, the same request sent N ms later
  is admitted, provided nothing else was admitted in between and it costs at most ``tokens_per_minute``.
  ``retry-after`` is the same wait in whole seconds, rounded up.
* **remaining is honest.** After any response, a next request costing at most
  ``x-ratelimit-remaining-tokens`` (with ``x-ratelimit-remaining-requests`` at least 1) is admitted.

With ``enforce: false`` (the default) nothing is metered: :meth:`RateLimiter.admit` always admits, with the
headers of a deployment whose whole quota is left.

Shared quotas (``--state redis://``, docs/shared-state.md). Once :meth:`RateLimiter.share` gave the limiter a
Redis, :meth:`RateLimiter.admit_shared` meters every process on that Redis against one pair of buckets per
deployment: one Lua script (:data:`ADMIT_SCRIPT`) brings them up to date, admits or refuses, takes the cost and
works out ``retry-after-ms``, atomically, with the arithmetic of :class:`_Bucket` on the same doubles (state
travels as exact decimal strings), so it decides as one process would. The time is the caller's clock: the
wall clock where none was injected (processes on several hosts then agree, as far as their clocks do). An
unenforced quota never reaches Redis.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aoai_mock.config import Deployment, RateLimitSpec
from aoai_mock.errors import RateLimited
from aoai_mock.wire.operations import OPERATIONS

if TYPE_CHECKING:
    from aoai_mock.state.redis_state import RedisState

__all__ = [
    "Admission", "RateLimiter", "estimate_cost", "operation_id", "OPERATION_IDS", "NEVER_SECONDS", "ADMIT_SCRIPT",
]

Headers = tuple[tuple[bytes, bytes], ...]

NEVER_SECONDS = 86_400  # what Azure tells a request larger than the whole per-minute quota
_TOLERANCE = 1e-9  # relative to a bucket's capacity: float noise never turns an admission into a 429

# Azure's operation ids, as its 429 messages name them: the registry's ``operation_id`` (wire/operations.py
# says where each comes from). An operation not listed here is used as given, so a caller may pass an exact
# id such as "Create_Thread_And_Run".
OPERATION_IDS: dict[str, str] = {op.name: op.operation_id for op in OPERATIONS.values()}


def operation_id(operation: str) -> str:
    """Azure's name for an operation (``chat.completions`` -> ``ChatCompletions_Create``)."""
    return OPERATION_IDS.get(operation, operation)


def estimate_cost(prompt_tokens: int, max_tokens: int | None, default_estimate: int, *, choices: int = 1) -> int:
    """What Azure charges a request against the token quota before serving it.

    The prompt's tokens plus the most it may generate: ``max_tokens`` (or ``max_completion_tokens``), or
    ``default_estimate`` when the request sets neither, times ``choices`` (``n`` / ``best_of``). Embeddings
    generate nothing: pass ``max_tokens=None, default_estimate=0``.
    """
    completion = default_estimate if max_tokens is None else max_tokens
    return max(0, prompt_tokens) + max(0, completion) * max(1, choices)


@dataclass(slots=True, frozen=True)
class Admission:
    """The answer to one request: admitted or not, the headers to send, and the 429 to raise if not.

    ``headers`` are lower-case ``(name, value)`` byte pairs ready for ASGI. On a refusal they are the 429's
    headers, which ``error.headers`` also carries, so raising ``error`` renders them; ``retry_after_ms`` is
    the wait they announce (0 when admitted).
    """

    allowed: bool
    headers: Headers
    error: RateLimited | None = None
    retry_after_ms: int = 0


@dataclass(slots=True)
class _Bucket:
    """A level that refills at ``rate`` a second up to ``capacity``; it may be below zero after a big request."""

    capacity: float
    rate: float
    level: float
    stamp: float  # when ``level`` was last brought up to date

    def level_at(self, when: float) -> float:
        if when <= self.stamp:
            return self.level
        return min(self.capacity, self.level + (when - self.stamp) * self.rate)

    def refill(self, now: float) -> None:
        self.level = self.level_at(now)
        self.stamp = max(self.stamp, now)

    def holds(self, need: float, when: float) -> bool:
        return self.level_at(when) + _TOLERANCE * self.capacity >= need

    def wait(self, need: float, now: float) -> float:
        """Seconds from ``now`` until the bucket holds ``need``; infinite when it never will."""
        if self.holds(need, now):
            return 0.0
        if self.rate <= 0 or need > self.capacity:
            return math.inf
        return max(0.0, self.stamp + (need - self.level) / self.rate - now)

    def to_full(self, now: float) -> float:
        return 0.0 if self.rate <= 0 else max(0.0, (self.capacity - self.level_at(now)) / self.rate)

    def remaining(self) -> int:
        return max(0, math.floor(self.level + _TOLERANCE * self.capacity))


@dataclass(slots=True)
class _Quota:
    """One deployment's buckets, and the settings they were built from."""

    settings: tuple[int, int, float, float]
    tokens: _Bucket
    requests: _Bucket


@dataclass(slots=True)
class _Asked:
    """One shared admission waiting for its round trip: the fresh quota's figures go out, the reply comes back."""

    key: str
    quota: _Quota
    now: float
    cost: int
    tokens_per_minute: int
    request_id: str
    answer: asyncio.Future[bytes]


def _settle(answer: asyncio.Future[bytes], reply: bytes = b"", error: BaseException | None = None) -> None:
    if answer.done():  # its request went away meanwhile
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(reply)


def _settings(deployment: Deployment) -> tuple[int, int, float, float]:
    spec = deployment.rate_limit
    return (deployment.tokens_per_minute, deployment.requests_per_minute, spec.token_window_seconds,
            spec.request_window_seconds)


def _new_quota(deployment: Deployment, now: float) -> _Quota:
    tpm, rpm, token_window, request_window = settings = _settings(deployment)
    tokens = tpm * token_window / 60
    requests = rpm * request_window / 60
    return _Quota(settings, _Bucket(tokens, tpm / 60, tokens, now), _Bucket(requests, rpm / 60, requests, now))


class RateLimiter:
    """Per-deployment quota state, shared by every request a worker serves.

    ``clock`` is a monotonic clock in seconds, injected so that tests move time by hand instead of sleeping.
    :meth:`admit` never awaits and holds a lock while it reads and updates a deployment's buckets, so
    concurrent asyncio requests and the control API's threads see consistent state.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._quotas: dict[str, _Quota] = {}
        self._idle: dict[str, tuple[Deployment, Admission]] = {}
        self.shared: RedisState | None = None  # set by :meth:`share`: enforced quotas live in Redis
        self._script: Any = None
        self._asked: list[_Asked] = []  # admissions waiting for the next round trip
        self._sender: asyncio.Task[None] | None = None  # the task making round trips while any is asked

    def share(self, shared: RedisState) -> None:
        """Keep enforced quotas in ``shared`` (no I/O here): callers use :meth:`admit_shared` from now on.
        The default monotonic clock becomes the wall clock, which other processes and hosts read too."""
        self.shared = shared
        self._script = shared.script(ADMIT_SCRIPT)
        if self._clock is time.monotonic:
            self._clock = time.time

    def admit(self, deployment: Deployment, cost_tokens: int, operation: str, api_version: str) -> Admission:
        """Admit or refuse one request costing ``cost_tokens`` (see :func:`estimate_cost`).

        ``operation`` is an operation of :mod:`aoai_mock.wire.api_versions` (or an Azure operation id) and
        ``api_version`` the request's; both only shape the 429's message.
        """
        if not deployment.rate_limit.enforce:
            return self._unenforced(deployment)
        cost = max(0, cost_tokens)
        with self._lock:
            now = self._clock()
            quota = self._quota(deployment, now)
            quota.tokens.refill(now)
            quota.requests.refill(now)
            if cost > deployment.tokens_per_minute:
                return self._refuse(deployment, quota, now, NEVER_SECONDS * 1000, "token", operation, api_version)
            need_tokens = min(float(cost), quota.tokens.capacity)
            need_requests = min(1.0, quota.requests.capacity)
            token_wait = quota.tokens.wait(need_tokens, now)
            request_wait = quota.requests.wait(need_requests, now)
            if token_wait == 0 and request_wait == 0:
                quota.tokens.level -= cost
                quota.requests.level -= 1
                return Admission(True, _headers(deployment, quota, now))
            limit = "token" if token_wait >= request_wait else "call"
            wait_ms = _retry_ms(quota, now, max(token_wait, request_wait), need_tokens, need_requests)
            return self._refuse(deployment, quota, now, wait_ms, limit, operation, api_version)

    async def admit_shared(
        self, deployment: Deployment, cost_tokens: int, operation: str, api_version: str, request_id: str = ""
    ) -> Admission:
        """:meth:`admit`, against the buckets in Redis that every process sharing it meters: at most one round
        trip when the quota is enforced (requests asked while one is under way share the next), none
        otherwise. A Redis out of reach raises :class:`~aoai_mock.state.redis_state.RedisUnavailable`, the
        500 of ``request_id``."""
        if not deployment.rate_limit.enforce:
            return self._unenforced(deployment)
        shared = self.shared
        assert shared is not None, "share() gives the limiter its Redis first"
        now = self._clock()
        quota = _new_quota(deployment, now)
        loop = asyncio.get_running_loop()
        asked = _Asked(shared.key("quota", deployment.name), quota, now, max(0, cost_tokens),
                       deployment.tokens_per_minute, request_id, loop.create_future())
        self._asked.append(asked)
        if self._sender is None:
            self._sender = loop.create_task(self._send(shared))
        reply = await asked.answer
        allowed, limit, wait_ms, token_level, token_stamp, request_level, request_stamp = reply.split(b",")
        tokens, requests = quota.tokens, quota.requests
        tokens.level, tokens.stamp = float(token_level), float(token_stamp)
        requests.level, requests.stamp = float(request_level), float(request_stamp)
        with self._lock:
            self._quotas[deployment.name] = quota  # what this process saw last: :meth:`state` reads it
        if allowed == b"1":
            return Admission(True, _headers(deployment, quota, now))
        return self._refuse(deployment, quota, now, int(wait_ms), limit.decode(), operation, api_version)

    async def _send(self, shared: RedisState) -> None:
        """Send the admissions asked, in order, a batch a round trip, until none is left."""
        try:
            while self._asked:
                batch, self._asked = self._asked[:_BATCH], self._asked[_BATCH:]
                await self._round_trip(shared, batch)
        finally:
            self._sender = None

    async def _round_trip(self, shared: RedisState, batch: list[_Asked]) -> None:
        """One script call decides ``batch``; each waiting request gets its answer, or the error."""
        from aoai_mock.state.redis_state import RedisUnavailable  # (loaded already: there is a Redis)

        keys: dict[str, int] = {}
        args: list[object] = [_KEEP_MS]
        for asked in batch:
            tokens, requests = asked.quota.tokens, asked.quota.requests
            args += (keys.setdefault(asked.key, len(keys) + 1), _settings_text(asked.quota.settings), repr(asked.now),
                     asked.cost, asked.tokens_per_minute, repr(tokens.capacity), repr(tokens.rate),
                     repr(requests.capacity), repr(requests.rate))
        try:
            reply = await shared.call(self._script(keys=list(keys), args=args), request_id=batch[0].request_id)
        except RedisUnavailable as exc:
            for asked in batch:
                _settle(asked.answer, error=exc.for_request(asked.request_id))
        except BaseException as exc:
            for asked in batch:
                _settle(asked.answer, error=exc)
            if not isinstance(exc, Exception):
                raise
        else:
            for asked, answer in zip(batch, reply.split(b";"), strict=True):
                _settle(asked.answer, answer)

    async def reset_shared(self, deployment: str | None = None) -> None:
        """:meth:`reset`, and the buckets in Redis too (every process's, when shared)."""
        self.reset(deployment)
        shared = self.shared
        if shared is None:
            return
        if deployment is not None:
            await shared.call(shared.client.delete(shared.key("quota", deployment)))
            return
        pattern, cursor = shared.key("quota", "*"), 0
        while True:
            cursor, keys = await shared.call(shared.client.scan(cursor, match=pattern, count=1000))
            if keys:
                await shared.call(shared.client.unlink(*keys))
            if not cursor:
                return

    def state(self, deployment: Deployment) -> dict[str, dict[str, float]] | None:
        """What an enforced quota holds now, per bucket (for ``GET /_mock/deployments``); None when nothing is
        metered. Reading changes nothing: a deployment no request has reached yet reads full. With a shared
        quota it is what this process's last request saw in Redis, refilled to now: others' requests since
        then are not counted."""
        if not deployment.rate_limit.enforce:
            return None
        with self._lock:
            now = self._clock()
            quota = self._quotas.get(deployment.name)
            if quota is None or quota.settings != _settings(deployment):
                quota = _new_quota(deployment, now)
            return {"tokens": _bucket_state(quota.tokens, now), "requests": _bucket_state(quota.requests, now)}

    def reset(self, deployment: str | None = None) -> None:
        """Fill every bucket again (or only ``deployment``'s), as if no request had been served."""
        with self._lock:
            if deployment is None:
                self._quotas.clear()
            else:
                self._quotas.pop(deployment, None)

    def _quota(self, deployment: Deployment, now: float) -> _Quota:
        quota = self._quotas.get(deployment.name)
        if quota is None or quota.settings != _settings(deployment):
            quota = self._quotas[deployment.name] = _new_quota(deployment, now)  # new quota: full buckets
        return quota

    def _unenforced(self, deployment: Deployment) -> Admission:
        cached = self._idle.get(deployment.name)
        if cached is not None and cached[0] is deployment:
            return cached[1]
        admission = Admission(True, _full_headers(deployment))
        self._idle[deployment.name] = (deployment, admission)
        return admission

    def _refuse(
        self, deployment: Deployment, quota: _Quota, now: float, wait_ms: int, limit: str, operation: str,
        api_version: str,
    ) -> Admission:
        seconds = -(-wait_ms // 1000)
        headers = _refusal_headers(deployment.rate_limit, wait_ms, seconds, limit, _headers(deployment, quota, now))
        error = RateLimited(operation_id(operation), api_version, seconds, limit,
                            {k.decode("latin-1"): v.decode("latin-1") for k, v in headers})
        return Admission(False, headers, error, wait_ms)


def _settings_text(settings: tuple[int, int, float, float]) -> str:
    tpm, rpm, token_window, request_window = settings
    return f"{tpm}:{rpm}:{token_window!r}:{request_window!r}"


_KEEP_MS = 3_600_000  # a bucket untouched this long is full again (any refills within two minutes): Redis drops it
_BATCH = 256  # admissions one script call decides at most

# The shared admission: :meth:`RateLimiter.admit` in Lua, for a batch of requests in the order asked. Each
# deployment's buckets are one hash (fields: s, the settings the buckets were built from; tl, ts, rl, rs: the
# token and request levels and stamps, as exact decimal strings). ARGV[1]: the hashes' expiry in ms; then
# nine values a request: its key's index in KEYS, settings, now, cost, tokens_per_minute, token capacity,
# token rate, request capacity, request rate. Returns, a request each, joined by ";": "allowed,limit,ms,tl,ts,
# rl,rs": 1 or 0, "token" or "call", retry-after-ms (0 when admitted), the buckets after the decision.
ADMIT_SCRIPT = """
local TOLERANCE = 1e-9
local NEVER_MS = 86400000
local buckets, out = {}, {}

local function level_at(level, stamp, cap, rate, when)
  if when <= stamp then return level end
  return math.min(cap, level + (when - stamp) * rate)
end
local function holds(level, stamp, cap, rate, need, when)
  return level_at(level, stamp, cap, rate, when) + TOLERANCE * cap >= need
end
local function wait(level, stamp, cap, rate, need, now)
  if holds(level, stamp, cap, rate, need, now) then return 0 end
  if rate <= 0 or need > cap then return math.huge end
  return math.max(0, stamp + (need - level) / rate - now)
end
local function text(x) return string.format('%.17g', x) end

for i = 2, #ARGV, 9 do
  local k, settings = tonumber(ARGV[i]), ARGV[i + 1]
  local now, cost, tpm = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  local tcap, trate = tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6])
  local rcap, rrate = tonumber(ARGV[i + 7]), tonumber(ARGV[i + 8])
  local b = buckets[k]
  if b == nil then
    local saved = redis.call('HMGET', KEYS[k], 's', 'tl', 'ts', 'rl', 'rs')
    b = {saved[1], tonumber(saved[2]), tonumber(saved[3]), tonumber(saved[4]), tonumber(saved[5])}
    buckets[k] = b
  end
  if b[1] ~= settings then
    b[1], b[2], b[3], b[4], b[5] = settings, tcap, now, rcap, now
  end
  local tl, ts = level_at(b[2], b[3], tcap, trate, now), math.max(b[3], now)
  local rl, rs = level_at(b[4], b[5], rcap, rrate, now), math.max(b[5], now)
  local allowed, limit, ms = 0, 'token', 0
  if cost > tpm then
    ms = NEVER_MS
  else
    local need_t, need_r = math.min(cost, tcap), math.min(1, rcap)
    local wait_t, wait_r = wait(tl, ts, tcap, trate, need_t, now), wait(rl, rs, rcap, rrate, need_r, now)
    if wait_t == 0 and wait_r == 0 then
      allowed, tl, rl = 1, tl - cost, rl - 1
    else
      if wait_t < wait_r then limit = 'call' end
      local longest = math.max(wait_t, wait_r)
      if longest == math.huge then
        ms = NEVER_MS
      else
        ms = math.max(1, math.ceil(longest * 1000 - 1e-6))
        while not (holds(tl, ts, tcap, trate, need_t, now + ms / 1000)
                   and holds(rl, rs, rcap, rrate, need_r, now + ms / 1000)) do
          ms = ms + 1
        end
      end
    end
  end
  b[2], b[3], b[4], b[5] = tl, ts, rl, rs
  out[#out + 1] = table.concat({allowed, limit, ms, text(tl), text(ts), text(rl), text(rs)}, ',')
end
for k, b in pairs(buckets) do
  redis.call('HSET', KEYS[k], 's', b[1], 'tl', text(b[2]), 'ts', text(b[3]), 'rl', text(b[4]), 'rs', text(b[5]))
  redis.call('PEXPIRE', KEYS[k], ARGV[1])
end
return table.concat(out, ';')
"""


def _bucket_state(bucket: _Bucket, now: float) -> dict[str, float]:
    level = bucket.level_at(now)
    return {"remaining": max(0, math.floor(level + _TOLERANCE * bucket.capacity)), "capacity": bucket.capacity,
            "full_in_s": round(bucket.to_full(now), 3)}


def _retry_ms(quota: _Quota, now: float, wait: float, need_tokens: float, need_requests: float) -> int:
    """The wait in whole milliseconds, checked with the very arithmetic a retry at ``now + ms / 1000`` uses."""
    if math.isinf(wait):
        return NEVER_SECONDS * 1000
    ms = max(1, math.ceil(wait * 1000 - 1e-6))  # 6.000000000000001 s is 6000 ms: the loop below checks it
    while not (quota.tokens.holds(need_tokens, now + ms / 1000)
               and quota.requests.holds(need_requests, now + ms / 1000)):
        ms += 1
    return ms


def _figures(
    spec: RateLimitSpec, remaining: tuple[int, int], limits: tuple[int, int], resets: tuple[int, int]
) -> Headers:
    """The ``x-ratelimit-*`` headers the deployment's switches ask for: remaining, then limit, then reset."""
    out: list[tuple[bytes, bytes]] = []
    for enabled, kind, (requests, tokens) in (
        (spec.remaining_headers, b"remaining", remaining),
        (spec.limit_headers, b"limit", limits),
        (spec.reset_headers, b"reset", resets),
    ):
        if enabled:
            out.append((b"x-ratelimit-" + kind + b"-requests", str(requests).encode()))
            out.append((b"x-ratelimit-" + kind + b"-tokens", str(tokens).encode()))
    return tuple(out)


def _headers(deployment: Deployment, quota: _Quota, now: float) -> Headers:
    """The figures of an enforced quota: what is left now, the quota, and whole seconds until it is full."""
    resets = (math.ceil(quota.requests.to_full(now)), math.ceil(quota.tokens.to_full(now)))
    remaining = (quota.requests.remaining(), quota.tokens.remaining())
    limits = (deployment.requests_per_minute, deployment.tokens_per_minute)
    return _figures(deployment.rate_limit, remaining, limits, resets)


def _full_headers(deployment: Deployment) -> Headers:
    """The figures of a quota nobody meters: the same as ``Deployment.rate_headers`` with the default switches."""
    rpm, tpm = deployment.requests_per_minute, deployment.tokens_per_minute
    return _figures(deployment.rate_limit, (rpm - 1, tpm), (rpm, tpm), (0, 0))


def _refusal_headers(spec: RateLimitSpec, wait_ms: int, seconds: int, limit: str, figures: Headers) -> Headers:
    out: list[tuple[bytes, bytes]] = []
    if spec.retry_after:
        out.append((b"retry-after", str(seconds).encode()))
    if spec.retry_after_ms:
        out.append((b"retry-after-ms", str(wait_ms).encode()))
    out.extend(figures)
    if spec.policy_id:
        out.append((b"policy-id", b"DeploymentRatelimit-Token" if limit == "token" else b"DeploymentRatelimit-Call"))
    return tuple(out)
