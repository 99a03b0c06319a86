"""Rate limits: Azure's 429 and headers, and the guarantees the module promises, on a hand-moved clock."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
from typing import Any

import orjson
import pytest
from aoai_mock.behaviour.ratelimit import (
    NEVER_SECONDS,
    Admission,
    RateLimiter,
    estimate_cost,
    operation_id,
)
from aoai_mock.config import Deployment
from aoai_mock.errors import AzureError, RateLimited
from aoai_mock.wire import api_versions as av

GA = "2024-10-21"
CAPTURED_429 = (
    b'{"error":{"code":"429","message":"Requests to the ChatCompletions_Create Operation under Azure OpenAI API '
    b"version 2024-10-21 have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after "
    b'6 seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the '
    b'default rate limit."}}'
)


class FakeClock:
    """A monotonic clock that only moves when a test moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def deployment(tpm: int = 1000, name: str = "limited", **rate_limit: Any) -> Deployment:
    spec = {"enforce": True, **rate_limit}
    return Deployment(name=name, model="gpt-4o", kind="chat", tokens_per_minute=tpm, rate_limit=spec)


def header_map(admission: Admission) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in admission.headers}


def admit(limiter: RateLimiter, d: Deployment, cost: int, operation: str = av.CHAT) -> Admission:
    return limiter.admit(d, cost, operation, GA)


# --- not enforced -----------------------------------------------------------------------------------


def test_unenforced_admits_everything_with_todays_full_quota_headers():
    limiter = RateLimiter(FakeClock())
    d = Deployment(name="gpt-4o", model="gpt-4o", kind="chat")
    for _ in range(10_000):
        admission = admit(limiter, d, 10**9)
        assert admission.allowed and admission.error is None and admission.retry_after_ms == 0
    assert admission.headers == d.rate_headers
    assert header_map(admission) == {"x-ratelimit-remaining-requests": "5999", "x-ratelimit-remaining-tokens": "1000000"}


def test_unenforced_headers_follow_the_switches_and_the_request_override():
    limiter = RateLimiter(FakeClock())
    d = Deployment(
        name="d", model="gpt-4o", kind="chat", tokens_per_minute=30_000,
        rate_limit={"requests_per_minute": 50, "limit_headers": True, "reset_headers": True},
    )
    assert d.requests_per_minute == 50
    assert header_map(admit(limiter, d, 5)) == {
        "x-ratelimit-remaining-requests": "49", "x-ratelimit-remaining-tokens": "30000",
        "x-ratelimit-limit-requests": "50", "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-reset-requests": "0", "x-ratelimit-reset-tokens": "0",
    }
    quiet = Deployment(name="q", model="gpt-4o", kind="chat", rate_limit={"remaining_headers": False})
    assert admit(limiter, quiet, 5).headers == ()


def test_unenforced_admission_is_cached_per_deployment_object():
    limiter = RateLimiter(FakeClock())
    d = Deployment(name="d", model="gpt-4o", kind="chat")
    assert admit(limiter, d, 1) is admit(limiter, d, 2)
    other = Deployment(name="d", model="gpt-4o", kind="chat", tokens_per_minute=5000)
    assert header_map(admit(limiter, other, 1))["x-ratelimit-remaining-tokens"] == "5000"


# --- cost and operation ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "max_tokens", "default", "choices", "expected"),
    [(22, 100, 1000, 1, 122), (22, None, 1000, 1, 1022), (22, None, 0, 1, 22), (10, 50, 1000, 3, 160),
     (10, 0, 1000, 1, 10), (-5, None, 7, 0, 7)],
)
def test_estimate_cost(prompt, max_tokens, default, choices, expected):
    assert estimate_cost(prompt, max_tokens, default, choices=choices) == expected


@pytest.mark.parametrize(
    ("operation", "expected"),
    [(av.CHAT, "ChatCompletions_Create"), (av.COMPLETIONS, "Completions_Create"),
     (av.EMBEDDINGS, "Embeddings_Create"), (av.IMAGES_GENERATIONS, "ImageGenerations_Create"),
     (av.AUDIO_TRANSCRIPTIONS, "Transcriptions_Create"), (av.AUDIO_SPEECH, "Speech_Create"),
     (av.RESPONSES, "Create_Response"), ("Create_Thread_And_Run", "Create_Thread_And_Run")],
)
def test_operation_ids(operation, expected):
    assert operation_id(operation) == expected


def test_every_known_operation_has_an_id():
    for operation in av.ALL_OPERATIONS:
        assert operation_id(operation) != operation


# --- the 429 ---------------------------------------------------------------------------------------


def token_limited() -> tuple[FakeClock, RateLimiter, Deployment]:
    """1000 tokens a minute (16.7 a second), requests plentiful: spending it all then asking 100 waits 6 s."""
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(1000, requests_per_minute=6000)
    assert admit(limiter, d, 1000).allowed
    return clock, limiter, d


def test_token_429_body_is_byte_for_byte_the_captured_one():
    _, limiter, d = token_limited()
    refused = admit(limiter, d, 100)
    assert not refused.allowed
    assert isinstance(refused.error, RateLimited) and isinstance(refused.error, AzureError)
    assert refused.error.status == 429
    assert orjson.dumps(refused.error.body()) == CAPTURED_429
    assert refused.retry_after_ms == 6000


def test_429_headers_in_order_and_carried_by_the_error():
    _, limiter, d = token_limited()
    refused = admit(limiter, d, 100)
    assert refused.headers == (
        (b"retry-after", b"6"), (b"retry-after-ms", b"6000"),
        (b"x-ratelimit-remaining-requests", b"999"), (b"x-ratelimit-remaining-tokens", b"0"),
        (b"policy-id", b"DeploymentRatelimit-Token"),
    )
    assert refused.error is not None and refused.error.headers == header_map(refused)


@pytest.mark.parametrize("switch", ["retry_after", "retry_after_ms", "remaining_headers", "policy_id"])
def test_each_429_header_can_be_switched_off(switch):
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(1000, requests_per_minute=6000, **{switch: False})
    admit(limiter, d, 1000)
    names = set(header_map(admit(limiter, d, 100)))
    dropped = {"retry_after": {"retry-after"}, "retry_after_ms": {"retry-after-ms"}, "policy_id": {"policy-id"},
               "remaining_headers": {"x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens"}}[switch]
    assert not names & dropped and names


def test_limit_and_reset_headers_when_enabled():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(1000, requests_per_minute=60, limit_headers=True, reset_headers=True)
    assert header_map(admit(limiter, d, 250)) == {
        "x-ratelimit-remaining-requests": "9", "x-ratelimit-remaining-tokens": "750",
        "x-ratelimit-limit-requests": "60", "x-ratelimit-limit-tokens": "1000",
        "x-ratelimit-reset-requests": "1", "x-ratelimit-reset-tokens": "15",
    }


def test_request_quota_runs_out_first_gives_call_rate_limit():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(60_000)  # 360 requests a minute: 60 per 10-second window
    assert all(admit(limiter, d, 10, av.EMBEDDINGS).allowed for _ in range(60))
    refused = admit(limiter, d, 10, av.EMBEDDINGS)
    assert not refused.allowed and refused.error is not None
    assert "Embeddings_Create Operation" in refused.error.message
    assert "exceeded call rate limit" in refused.error.message
    assert header_map(refused)["policy-id"] == "DeploymentRatelimit-Call"
    assert refused.retry_after_ms == 167  # one request refills in 60/360 s
    assert "Please retry after 1 second." in refused.error.message


def test_refused_requests_consume_nothing():
    clock, limiter, d = token_limited()
    clock.now += 3  # 50 tokens back
    for _ in range(100):
        assert not admit(limiter, d, 60).allowed
    assert admit(limiter, d, 50).allowed


def test_a_request_larger_than_the_minute_quota_is_never_served():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(1000)
    refused = admit(limiter, d, 1001)
    assert refused.retry_after_ms == NEVER_SECONDS * 1000
    assert refused.error is not None and "Please retry after 86400 seconds." in refused.error.message
    clock.now += NEVER_SECONDS
    assert not admit(limiter, d, 1001).allowed
    assert admit(limiter, d, 1000).allowed


def test_a_request_larger_than_the_window_is_served_once_the_bucket_is_full():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(6000, token_window_seconds=10, requests_per_minute=600)  # bucket holds 1000 tokens
    assert admit(limiter, d, 3000).allowed  # overdraws the bucket to -2000
    refused = admit(limiter, d, 3000)
    assert refused.retry_after_ms == 30_000  # back to full: 3000 tokens at 100 a second
    clock.now = 1000.0 + 29.999
    assert not admit(limiter, d, 3000).allowed
    clock.now = 1000.0 + 30.0
    assert admit(limiter, d, 3000).allowed


def test_requests_default_to_azure_arithmetic_in_ten_second_windows():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(80_000)  # 480 a minute: 80 per 10 s, as a captured 80k deployment reported 79 left
    assert header_map(admit(limiter, d, 1))["x-ratelimit-remaining-requests"] == "79"


def test_small_request_quota_still_serves_at_its_rate():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(1000, requests_per_minute=1)  # the 10-second window holds 1/6 of a request
    assert admit(limiter, d, 1).allowed
    refused = admit(limiter, d, 1)
    assert refused.retry_after_ms == 60_000
    clock.now += 60
    assert admit(limiter, d, 1).allowed


# --- the guarantees, over many random quotas and costs ----------------------------------------------


def random_deployment(rng: random.Random) -> Deployment:
    tpm = rng.choice([1, 7, 1000, 6000, 33_333, 240_000, 1_000_000, rng.randint(1, 5_000_000)])
    spec: dict[str, Any] = {
        "token_window_seconds": rng.choice([1, 10, 60, rng.uniform(0.5, 60)]),
        "request_window_seconds": rng.choice([1, 10, 60, rng.uniform(0.5, 60)]),
    }
    if rng.random() < 0.5:
        spec["requests_per_minute"] = rng.randint(1, 2000)
    return deployment(tpm, **spec)


def test_a_client_that_waits_retry_after_ms_succeeds():
    rng = random.Random(20241021)
    checked = 0
    for _ in range(3000):
        clock = FakeClock(rng.uniform(0, 10**6))
        limiter = RateLimiter(clock)
        d = random_deployment(rng)
        cost = rng.randint(0, d.tokens_per_minute)
        for _ in range(rng.randint(0, 50)):  # some history, with the clock moving now and then
            admit(limiter, d, rng.randint(0, d.tokens_per_minute))
            clock.now += rng.choice([0, 0, rng.uniform(0, 5)])
        while (refused := admit(limiter, d, cost)).allowed:
            pass
        t0, ms = clock.now, refused.retry_after_ms
        assert ms >= 1 and header_map(refused)["retry-after"] == str(-(-ms // 1000))
        clock.now = t0 + (ms - 1) / 1000
        assert not admit(limiter, d, cost).allowed, "retry-after-ms is not the shortest wait"
        clock.now = t0 + ms / 1000
        assert admit(limiter, d, cost).allowed, (d.tokens_per_minute, d.rate_limit, cost, ms)
        checked += 1
    assert checked == 3000


def test_remaining_tokens_is_honest():
    rng = random.Random(7)
    for _ in range(2000):
        clock = FakeClock(rng.uniform(0, 10**5))
        limiter = RateLimiter(clock)
        d = random_deployment(rng)
        for _ in range(rng.randint(1, 30)):
            answer = admit(limiter, d, rng.randint(0, d.tokens_per_minute))
            clock.now += rng.choice([0, rng.uniform(0, 3)])
        answer = admit(limiter, d, 0)
        figures = header_map(answer)
        if answer.allowed and int(figures["x-ratelimit-remaining-requests"]) >= 1:
            budget = int(figures["x-ratelimit-remaining-tokens"])
            assert admit(limiter, d, rng.randint(0, budget)).allowed


def test_a_greedy_client_gets_the_quota_and_no_more():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    d = deployment(60_000, requests_per_minute=100_000)
    served = 0
    for _ in range(10 * 60 * 100):  # ten minutes, trying every 10 ms
        if admit(limiter, d, 700).allowed:
            served += 700
        clock.now += 0.01
    assert 60_000 * 10 <= served <= 60_000 * 11  # ten minutes of quota plus the full bucket at the start


# --- state -----------------------------------------------------------------------------------------


def test_reset_fills_the_buckets_again():
    clock = FakeClock()
    limiter = RateLimiter(clock)
    a, b = deployment(1000, name="a"), deployment(1000, name="b")
    admit(limiter, a, 1000)
    admit(limiter, b, 1000)
    limiter.reset("a")
    assert admit(limiter, a, 1000).allowed and not admit(limiter, b, 1).allowed
    limiter.reset()
    assert admit(limiter, b, 1000).allowed


def test_a_changed_quota_starts_full():
    limiter = RateLimiter(FakeClock())
    admit(limiter, deployment(1000), 1000)
    assert not admit(limiter, deployment(1000), 1).allowed
    assert admit(limiter, deployment(2000), 2000).allowed  # same name, new quota


def test_state_is_per_deployment():
    limiter = RateLimiter(FakeClock())
    admit(limiter, deployment(1000, name="a"), 1000)
    assert admit(limiter, deployment(1000, name="b"), 1000).allowed


def test_threads_never_overspend():
    limiter = RateLimiter(FakeClock())
    d = deployment(1000, requests_per_minute=100_000)
    admitted: list[bool] = []
    lock = threading.Lock()

    def hammer() -> None:
        mine = [admit(limiter, d, 10).allowed for _ in range(200)]
        with lock:
            admitted.extend(mine)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert admitted.count(True) == 100


async def test_concurrent_asyncio_requests_share_one_quota():
    limiter = RateLimiter(FakeClock())
    d = deployment(60_000)  # 60 requests per 10-second window

    async def request() -> bool:
        await asyncio.sleep(0)
        return admit(limiter, d, 1).allowed

    results = await asyncio.gather(*(request() for _ in range(500)))
    assert results.count(True) == 60


def test_the_real_clock_is_the_default():
    limiter = RateLimiter()
    d = deployment(1000)
    assert admit(limiter, d, 500).allowed and not admit(limiter, d, 900).allowed


def test_admission_is_a_slotted_frozen_value():
    admission = Admission(True, ())
    assert not hasattr(admission, "__dict__")
    with pytest.raises(AttributeError):
        admission.allowed = False  # type: ignore[misc]


def test_no_web_framework_is_imported():
    code = ("import sys, aoai_mock.behaviour.ratelimit, aoai_mock.behaviour.pacing; "
            "print([m for m in sys.modules if m.split('.')[0] in ('fastapi', 'starlette')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
