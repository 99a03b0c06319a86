"""The shared quota's Lua script against the in-process buckets: the same requests at the same clock readings
get the same decisions, headers and retry-after-ms, on a real redis-server."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aoai_mock.behaviour.ratelimit import Admission, RateLimiter
from aoai_mock.config import Deployment
from aoai_mock.state.redis_state import RedisState, RedisUnavailable

from tests.redis_server import RedisServer

GA = "2024-10-21"
pytestmark = pytest.mark.asyncio(loop_scope="session")  # the loop the client fixture was made in


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def deployment(tpm: int, name: str = "limited", rpm: int | None = None, **rate_limit: Any) -> Deployment:
    spec = {"enforce": True, "limit_headers": True, "reset_headers": True, **rate_limit}
    if rpm is not None:
        spec["requests_per_minute"] = rpm
    return Deployment(name=name, model="gpt-4o", kind="chat", tokens_per_minute=tpm, rate_limit=spec)


@pytest.fixture()
async def shared(redis_url: str) -> AsyncIterator[RedisState]:
    state = RedisState.from_url(redis_url)
    yield state
    await state.close()


def limiters(shared: RedisState, clock: FakeClock) -> tuple[RateLimiter, RateLimiter]:
    local, remote = RateLimiter(clock), RateLimiter(clock)
    remote.share(shared)
    return local, remote


def seen(admission: Admission) -> tuple[Any, ...]:
    body = admission.error.body() if admission.error is not None else None
    return admission.allowed, admission.headers, admission.retry_after_ms, body


QUOTAS = [
    deployment(1000),  # a minute of tokens, requests in ten-second shares
    deployment(1000, rpm=12),  # the request quota runs out first
    deployment(600, token_window_seconds=10),  # big requests take the bucket below zero
    deployment(100_000, rpm=6000, token_window_seconds=1, request_window_seconds=1),
]


@pytest.mark.parametrize("quota", QUOTAS, ids=["minute", "few-requests", "ten-second-tokens", "one-second"])
async def test_the_script_decides_as_the_in_process_buckets_do(shared: RedisState, quota: Deployment) -> None:
    clock = FakeClock()
    local, remote = limiters(shared, clock)
    draw = random.Random(f"quota-{quota.tokens_per_minute}-{quota.rate_limit.request_window_seconds}")
    refused = admitted = 0
    for _ in range(400):
        cost = draw.choice([0, 1, 7, 50, 99, 100, 250, quota.tokens_per_minute // 2, quota.tokens_per_minute,
                            quota.tokens_per_minute + 1])
        expected = local.admit(quota, cost, "chat.completions", GA)
        got = await remote.admit_shared(quota, cost, "chat.completions", GA)
        assert seen(got) == seen(expected), (clock.now, cost)
        admitted += expected.allowed
        refused += not expected.allowed
        if not expected.allowed and draw.random() < 0.5:
            clock.now += expected.retry_after_ms / 1000 - draw.choice([0.0, 0.001])  # right on time, or 1 ms early
        else:
            clock.now += draw.choice([0.0, 0.0, 0.001, 0.013, 0.25, 1.0, 3.7])
    assert admitted > 20 and refused > 20  # the sequence exercised both answers
    assert remote.state(quota) == local.state(quota)  # the last figures this process saw, as GET /_mock/deployments


async def test_concurrent_admissions_share_round_trips_and_decide_in_the_order_asked(shared: RedisState) -> None:
    clock = FakeClock()
    local, remote = limiters(shared, clock)
    quotas = [deployment(1000, rpm=600), deployment(500, name="other", rpm=60)]
    asked = [(quotas[i % 3 == 0], 10 + (i * 37) % 190) for i in range(300)]
    trips = 0
    script = remote._script

    def counted(**kwargs: Any) -> Any:
        nonlocal trips
        trips += 1
        return script(**kwargs)

    remote._script = counted
    for _ in range(2):  # the second round: buckets as the first left them, a little later
        expected = [seen(local.admit(quota, cost, "chat.completions", GA)) for quota, cost in asked]
        got = await asyncio.gather(*(remote.admit_shared(q, c, "chat.completions", GA) for q, c in asked))
        assert [seen(admission) for admission in got] == expected
        clock.now += 2.5
    assert 2 <= trips <= 10  # a round trip for the first, one for the rest asked meanwhile (256 at most a trip)


async def test_retry_after_ms_is_exact_in_redis(shared: RedisState) -> None:
    clock = FakeClock()
    quota = deployment(600)
    _, remote = limiters(shared, clock)
    while (admission := await remote.admit_shared(quota, 100, "chat.completions", GA)).allowed:
        pass
    wait_ms = admission.retry_after_ms
    assert wait_ms > 0
    clock.now += (wait_ms - 1) / 1000
    assert not (await remote.admit_shared(quota, 100, "chat.completions", GA)).allowed
    clock.now += 0.001
    assert (await remote.admit_shared(quota, 100, "chat.completions", GA)).allowed


async def test_two_limiters_on_one_redis_share_one_quota(shared: RedisState, redis_url: str) -> None:
    clock = FakeClock()
    quota = deployment(1000, rpm=600)
    other_state = RedisState.from_url(redis_url)
    first, second = RateLimiter(clock), RateLimiter(clock)
    first.share(shared)
    second.share(other_state)
    try:
        answers = []
        for i in range(12):  # 100 tokens each: ten fit in 1000, whichever process asks
            limiter = first if i % 2 else second
            answers.append((await limiter.admit_shared(quota, 100, "chat.completions", GA)).allowed)
        assert answers == [True] * 10 + [False] * 2
    finally:
        await other_state.close()


async def test_a_changed_quota_starts_full_and_reset_clears_every_bucket(shared: RedisState) -> None:
    clock = FakeClock()
    _, remote = limiters(shared, clock)
    small, other = deployment(200), deployment(200, name="other")
    for quota in (small, other):
        assert (await remote.admit_shared(quota, 200, "chat.completions", GA)).allowed
        assert not (await remote.admit_shared(quota, 1, "chat.completions", GA)).allowed
    bigger = deployment(400)
    assert (await remote.admit_shared(bigger, 400, "chat.completions", GA)).allowed  # new settings: full
    assert await shared.client.exists(shared.key("quota", "limited"), shared.key("quota", "other")) == 2
    await remote.reset_shared()
    assert await shared.client.keys(shared.key("quota", "*")) == []
    assert (await remote.admit_shared(other, 200, "chat.completions", GA)).allowed


async def test_the_bucket_hash_expires(shared: RedisState) -> None:
    _, remote = limiters(shared, FakeClock())
    await remote.admit_shared(deployment(1000), 10, "chat.completions", GA)
    ttl = await shared.client.pttl(shared.key("quota", "limited"))
    assert 0 < ttl <= 3_600_000


async def test_an_unenforced_quota_never_asks_redis(redis_server: RedisServer) -> None:
    state = RedisState.from_url("redis://127.0.0.1:1/0")  # nothing listens there
    remote = RateLimiter(FakeClock())
    remote.share(state)
    free = Deployment(name="free", model="gpt-4o", kind="chat", tokens_per_minute=1000)
    assert (await remote.admit_shared(free, 10**9, "chat.completions", GA)).allowed
    with pytest.raises(RedisUnavailable) as caught:
        await remote.admit_shared(deployment(1000), 10, "chat.completions", GA, "req-1")
    assert "Redis at redis://127.0.0.1:1/0 is unavailable" in str(caught.value)
    assert caught.value.status == 500 and "req-1" in caught.value.body()["error"]["message"]
    await state.close()
