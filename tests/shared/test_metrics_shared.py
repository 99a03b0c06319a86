"""``/metrics`` of processes that share one Redis: each process's series carry a ``process`` label (HOST:PID),
and any process's scrape shows every live process's counts, exact once sent (each process sends its own once a
second); a process that ends drops out some seconds later; a Redis out of reach leaves a process's own series.
Real ``serve`` processes and ``--workers 2``; waits poll with a deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
from aoai_mock.state.metrics import EXPIRES_S
from prometheus_client.parser import text_string_to_metric_families

from tests.processes import running
from tests.redis_server import RedisServer
from tests.shared.test_fault_schedules import BODY, CHAT, KEY, statuses

T = TypeVar("T")


def requests_by_process(url: str) -> dict[str, float]:
    """``aoai_mock_requests_total`` of gpt-4o's chat completions answered 200, by ``process``, as ``url``
    shows them."""
    text = httpx.get(url + "/metrics", timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "aoai_mock_requests_total" and labels["deployment"] == "gpt-4o" \
                    and labels["status"] == "200":
                found[labels["process"]] = found.get(labels["process"], 0) + sample.value
    return found


def eventually(read: Callable[[], T], expected: T, timeout: float = 15.0) -> None:
    """Poll ``read`` until it gives ``expected``; fail with what it gave last after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while (got := read()) != expected:
        assert time.monotonic() < deadline, f"still {got!r}, not {expected!r}"
        time.sleep(0.05)


def label(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def test_either_process_shows_both_processes_counts(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, first), running("serve", "--state", redis_url) as (two, second):
        for url, count in ((one, 3), (two, 5)):
            for _ in range(count):
                assert httpx.post(url + CHAT, json=BODY, headers=KEY).status_code == 200
        both = {label(first.pid): 3.0, label(second.pid): 5.0}
        eventually(lambda: requests_by_process(one), both)
        eventually(lambda: requests_by_process(two), both)

        histogram = next(f for f in text_string_to_metric_families(httpx.get(one + "/metrics").text)
                         if f.name == "aoai_mock_request_duration_seconds")
        counts = {s.labels["process"]: s.value for s in histogram.samples if s.name.endswith("_count")}
        assert counts == both  # every family is labelled by process


def test_any_worker_shows_every_workers_counts(redis_url: str) -> None:
    with running("serve", "--workers", "2", "--state", redis_url, timeout=60) as (url, _):
        assert statuses(url, 30) == {200: 30}

        def total_on_every_worker() -> float | None:
            """The total of 10 scrapes (each on a new connection: either worker), when they all agree."""
            totals = {sum(requests_by_process(url).values()) for _ in range(10)}
            return totals.pop() if len(totals) == 1 else None

        eventually(total_on_every_worker, 30.0)


def test_a_process_that_ends_drops_out_and_the_others_keep_theirs(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, first):
        assert httpx.post(one + CHAT, json=BODY, headers=KEY).status_code == 200
        with running("serve", "--state", redis_url) as (two, second):
            for _ in range(2):
                assert httpx.post(two + CHAT, json=BODY, headers=KEY).status_code == 200
            eventually(lambda: requests_by_process(one), {label(first.pid): 1.0, label(second.pid): 2.0})
        assert requests_by_process(one) == {label(first.pid): 1.0, label(second.pid): 2.0}  # its last counts
        eventually(lambda: requests_by_process(one), {label(first.pid): 1.0}, timeout=EXPIRES_S + 10)


def test_without_redis_a_process_shows_its_own_series(redis_server: RedisServer, redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, first), running("serve", "--state", redis_url) as (two, second):
        assert httpx.post(one + CHAT, json=BODY, headers=KEY).status_code == 200
        assert httpx.post(two + CHAT, json=BODY, headers=KEY).status_code == 200
        eventually(lambda: requests_by_process(one), {label(first.pid): 1.0, label(second.pid): 1.0})
        redis_server.stop()
        try:
            assert requests_by_process(one) == {label(first.pid): 1.0}
            assert httpx.post(one + CHAT, json=BODY, headers=KEY).status_code == 200  # counts need no Redis
            assert requests_by_process(one) == {label(first.pid): 2.0}
        finally:
            redis_server.start()
        eventually(lambda: requests_by_process(two), {label(first.pid): 2.0, label(second.pid): 1.0})


def test_a_server_without_redis_has_no_process_label() -> None:
    with running("serve") as (url, _):
        assert httpx.post(url + CHAT, json=BODY, headers=KEY).status_code == 200
        text = httpx.get(url + "/metrics").text
    assert 'aoai_mock_requests_total{deployment="gpt-4o",operation="chat.completions",status="200"} 1.0' in text
    assert "process=" not in text
