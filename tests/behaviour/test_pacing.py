"""Pacing: time to first token, tokens per second and seeded jitter, computed without any sleeping."""

from __future__ import annotations

import math

import pytest
from aoai_mock.behaviour.pacing import Pace, PaceSchedule, pace_for
from aoai_mock.config import Deployment, PacingSpec


def pace(ttft_ms: float = 0, tps: float = 0, jitter: float = 0) -> Pace:
    return Pace.from_spec(PacingSpec(time_to_first_token_ms=ttft_ms, tokens_per_second=tps, jitter=jitter))


def test_zero_by_default_means_no_waiting():
    default = pace_for(Deployment(name="d", model="gpt-4o", kind="chat"))
    assert not default.enabled
    schedule = default.schedule(42, 500)
    assert schedule.first_delay == 0 and schedule.total == 0
    assert all(schedule.delay(i) == 0 for i in range(600))


def test_jitter_alone_does_not_enable_pacing():
    quiet = pace(jitter=0.5)
    assert not quiet.enabled and quiet.schedule(1, 10).total == 0


def test_steady_pace():
    schedule = pace(ttft_ms=400, tps=40).schedule(7, 101)
    assert schedule.first_delay == pytest.approx(0.4)
    assert schedule.delay(0) == schedule.first_delay
    assert all(schedule.delay(i) == pytest.approx(0.025) for i in range(1, 150))
    assert schedule.total == pytest.approx(0.4 + 100 * 0.025)  # the last of 101 tokens is token 100
    assert schedule.at(100) == pytest.approx(schedule.total)
    assert schedule.at(3) == pytest.approx(0.4 + 3 * 0.025)


@pytest.mark.parametrize(("count", "expected"), [(0, 0.25), (1, 0.25), (2, 0.35)])
def test_short_answers_take_the_first_token_time(count, expected):
    assert pace(ttft_ms=250, tps=10).schedule(0, count).total == pytest.approx(expected)


def test_tokens_per_second_alone_starts_at_once():
    schedule = pace(tps=100).schedule(0, 11)
    assert schedule.first_delay == 0 and schedule.total == pytest.approx(0.1)


def test_time_to_first_token_alone():
    schedule = pace(ttft_ms=1500).schedule(0, 300)
    assert schedule.first_delay == 1.5 and schedule.total == 1.5 and schedule.delay(5) == 0


def test_jitter_stays_within_its_fraction():
    p = pace(ttft_ms=300, tps=20, jitter=0.2)
    for seed in range(200):
        schedule = p.schedule(seed, 50)
        assert 0.3 * 0.8 <= schedule.first_delay <= 0.3 * 1.2
        assert all(0.05 * 0.8 <= schedule.delay(i) <= 0.05 * 1.2 for i in range(1, 80))


def test_jitter_is_centred_and_varied():
    schedule = pace(tps=10, jitter=0.5).schedule(99, 5000)
    factors = [schedule.delay(i) / 0.1 for i in range(1, 5000)]
    assert abs(sum(factors) / len(factors) - 1) < 0.02
    assert min(factors) < 0.55 and max(factors) > 1.45
    assert len(set(factors)) > 4900


def test_same_seed_same_timings_other_seed_other_timings():
    p = pace(ttft_ms=200, tps=50, jitter=0.3)
    assert p.schedule(1234, 40) == pace(ttft_ms=200, tps=50, jitter=0.3).schedule(1234, 40)
    assert p.schedule(1234, 40).total != p.schedule(1235, 40).total


def test_a_longer_answer_keeps_the_shorter_ones_timings():
    p = pace(ttft_ms=200, tps=50, jitter=0.3)
    short, long = p.schedule(5, 10), p.schedule(5, 30)
    assert [short.delay(i) for i in range(10)] == [long.delay(i) for i in range(10)]
    assert short.delay(20) == long.delay(20)  # chunks past the count are paced the same way


def test_total_is_the_sum_of_the_delays():
    for seed in range(50):
        schedule = pace(ttft_ms=120, tps=33, jitter=0.25).schedule(seed, 77)
        assert schedule.total == pytest.approx(math.fsum(schedule.delay(i) for i in range(77)))
        assert schedule.at(76) == schedule.total
        assert schedule.at(90) == pytest.approx(math.fsum(schedule.delay(i) for i in range(91)))


def test_empty_answer_with_jitter():
    schedule = pace(ttft_ms=100, tps=10, jitter=0.2).schedule(3, 0)
    assert schedule.total == schedule.first_delay == schedule.delay(0) == schedule.at(0)
    assert 0.08 <= schedule.total <= 0.12


@pytest.mark.parametrize("seed", [-1, 0, 2**64 + 5, -(2**80)])
def test_any_integer_seed(seed):
    schedule = pace(tps=10, jitter=0.1).schedule(seed, 3)
    assert 0.09 <= schedule.delay(1) <= 0.11


def test_negative_index_is_an_error():
    schedule = pace(tps=10).schedule(0, 3)
    with pytest.raises(IndexError):
        schedule.delay(-1)
    with pytest.raises(IndexError):
        schedule.at(-1)


def test_pace_for_reads_the_deployment_and_is_shared():
    spec = {"time_to_first_token_ms": 50, "tokens_per_second": 5}
    a = Deployment(name="a", model="gpt-4o", kind="chat", pacing=spec)
    b = Deployment(name="b", model="gpt-4o", kind="chat", pacing=spec)
    assert pace_for(a) is pace_for(b)
    assert pace_for(a) == Pace(0.05, 0.2, 0.0) and pace_for(a).enabled


def test_schedule_is_a_slotted_frozen_value():
    schedule = pace(tps=1).schedule(0, 1)
    assert isinstance(schedule, PaceSchedule) and not hasattr(schedule, "__dict__")
    with pytest.raises(AttributeError):
        schedule.total = 0  # type: ignore[misc]
