"""Fault plans shared through Redis, with real processes: ``serve --workers 4 --state redis://...`` and two
separate servers on one Redis. A counted schedule is exact across processes; a plan posted to one process's
control API applies on the others; ``POST /_mock/reset`` on one starts every process's counters again."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.processes import running

CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "hi"}]}
KEY = {"api-key": "k"}


def statuses(url: str, count: int, concurrency: int = 20) -> Counter[int]:
    """``count`` chat requests, ``concurrency`` at a time, each on its own connection (spread over workers)."""

    def one(_: int) -> int:
        with httpx.Client(timeout=30) as client:
            return client.post(url + CHAT, json=BODY, headers=KEY).status_code

    with ThreadPoolExecutor(concurrency) as pool:
        return Counter(pool.map(one, range(count)))


def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``check`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the change did not reach the other process in time"
        time.sleep(0.02)


def installed(url: str) -> list[dict]:
    return httpx.get(url + "/_mock/faults").json()["installed"]


def everywhere(url: str, tries: int = 40) -> bool:
    """Every one of ``tries`` requests, each on a new connection (and so on any worker), sees a plan."""
    return all(installed(url) for _ in range(tries))


def test_next_two_gives_exactly_two_429s_across_four_workers(redis_url: str) -> None:
    with running("serve", "--workers", "4", "--state", redis_url, timeout=60) as (url, _):
        posted = httpx.post(url + "/_mock/faults", json={"faults": [{"kind": "429", "next": 2}]}, headers=KEY)
        assert posted.status_code == 201
        # Every worker has the plan before the burst (a notice through Redis reaches each within milliseconds).
        until(lambda: everywhere(url))
        got = statuses(url, 20)
        assert got == Counter({200: 18, 429: 2})
        summary = installed(url)[0]
        assert (summary["seen"], summary["fired"]) == (20, 2)


def test_every_third_and_after_are_counted_once_for_all_workers(redis_url: str) -> None:
    with running("serve", "--workers", "4", "--state", redis_url, timeout=60) as (url, _):
        plan = {"faults": [{"id": "third", "kind": "503", "every": 3, "after": 2}]}
        assert httpx.post(url + "/_mock/faults", json=plan, headers=KEY).status_code == 201
        until(lambda: everywhere(url))
        got = statuses(url, 30)
        # after 2, every 3rd of the rest: requests 5, 8, ..., 29 of 30
        assert got == Counter({200: 21, 503: 9})


def test_a_plan_posted_to_one_server_applies_on_another_and_reset_reaches_both(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, _), running("serve", "--state", redis_url) as (two, _):
        plan = {"faults": [{"kind": "500", "next": 3}]}
        assert httpx.post(one + "/_mock/faults", json=plan, headers=KEY).status_code == 201
        until(lambda: bool(installed(two)))
        answers = [httpx.post(url + CHAT, json=BODY, headers=KEY).status_code for url in (two, one, two, one)]
        assert answers == [500, 500, 500, 200]
        assert installed(one)[0]["fired"] == installed(two)[0]["fired"] == 3

        assert httpx.post(two + "/_mock/reset", headers=KEY).status_code == 200
        until(lambda: installed(one)[0]["seen"] == 0)
        assert [httpx.post(one + CHAT, json=BODY, headers=KEY).status_code for _ in range(4)] == [500] * 3 + [200]

        assert httpx.delete(two + "/_mock/faults", headers=KEY).status_code == 200
        until(lambda: not installed(one))
        assert httpx.post(one + CHAT, json=BODY, headers=KEY).status_code == 200


def test_a_server_started_later_takes_the_plan_already_installed(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, _):
        plan = {"faults": [{"kind": "429", "next": 1}]}
        assert httpx.post(one + "/_mock/faults", json=plan, headers=KEY).status_code == 201
        with running("serve", "--state", redis_url) as (two, _):
            until(lambda: bool(installed(two)))
            assert httpx.post(two + CHAT, json=BODY, headers=KEY).status_code == 429
            assert httpx.post(one + CHAT, json=BODY, headers=KEY).status_code == 200


def test_the_fault_header_still_decides_alone_with_shared_state(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (url, _):
        assert httpx.post(url + "/_mock/faults", json=[{"kind": "429", "next": 1}], headers=KEY).status_code == 201
        named = httpx.post(url + CHAT, json=BODY, headers={**KEY, "x-aoai-mock-fault": "503"})
        assert named.status_code == 503
        assert httpx.post(url + CHAT, json=BODY, headers=KEY).status_code == 429  # the plan had not counted it


def test_the_seeded_probability_sequence_is_one_sequence_for_all_workers(redis_url: str) -> None:
    plan = {"faults": [{"kind": "500", "probability": 0.3, "seed": 7}]}
    with running("serve", "--state", redis_url) as (url, _):
        assert httpx.post(url + "/_mock/faults", json=plan, headers=KEY).status_code == 201
        first = [httpx.post(url + CHAT, json=BODY, headers=KEY).status_code for _ in range(40)]
        assert httpx.post(url + "/_mock/reset", headers=KEY).status_code == 200
        again = [httpx.post(url + CHAT, json=BODY, headers=KEY).status_code for _ in range(40)]
    assert first == again  # the n-th request, the n-th draw: the same seed, the same sequence
    assert 0 < first.count(500) < 40
    with running("serve", "--workers", "4", "--state", redis_url, timeout=60) as (url, _):
        assert httpx.post(url + "/_mock/faults", json=plan, headers=KEY).status_code == 201
        until(lambda: everywhere(url))
        got = statuses(url, 40)
    assert got == Counter(first)  # the draws of requests 1 to 40, whichever worker served each
