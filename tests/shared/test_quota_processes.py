"""Quotas shared across real processes through a real Redis: ``aoai-mock serve --workers 4 --state redis://...``,
two separate servers on one Redis, and a server whose Redis goes away and comes back."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import GA, KEY, chat_path
from tests.processes import running
from tests.redis_server import RedisServer

# 1000 tokens a minute, and requests enough never to be the limit: a request costs its 8 prompt tokens plus its
# 92 max_tokens, 100, so a burst (done well within the 6 s the bucket needs to refill 100) admits exactly ten.
CONFIG = """
deployments:
  - name: limited
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    tokens_per_minute: 1000
    rate_limit: {enforce: true, requests_per_minute: 6000}
  - name: free
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
  - name: big
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    tokens_per_minute: 1000000
    rate_limit: {enforce: true}
"""
ASK = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 92}
PROMPT_TOKENS = 8
ADMITTED = 1000 // (PROMPT_TOKENS + 92)


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


def burst(urls: list[str], count: int) -> list[httpx.Response]:
    """``count`` chat requests at once, each on a connection of its own, spread over ``urls`` in turn."""

    async def one(url: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=url, headers={"api-key": KEY}, timeout=20) as client:
            return await client.post(chat_path("limited"), json=ASK)

    async def every() -> list[httpx.Response]:
        return list(await asyncio.gather(*(one(urls[i % len(urls)]) for i in range(count))))

    return asyncio.run(every())


def tally(responses: list[httpx.Response]) -> tuple[int, int]:
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {200, 429}, [r.text for r in responses if r.status_code not in (200, 429)]
    for answered in (r for r in responses if r.status_code == 200):
        assert answered.json()["usage"]["prompt_tokens"] == PROMPT_TOKENS  # the cost the quota was charged
    return statuses.count(200), statuses.count(429)


def test_four_workers_admit_exactly_what_one_process_admits(config: Path, redis_url: str) -> None:
    args = ("--workers", "4", "--config", str(config), "--state", redis_url, "--no-request-log")
    with running("serve", *args, timeout=60) as (url, _):
        admitted, refused = tally(burst([url], 60))
        assert (admitted, refused) == (ADMITTED, 60 - ADMITTED)
        again = httpx.post(url + chat_path("limited"), json=ASK, headers={"api-key": KEY})
        assert again.status_code == 429 and int(again.headers["retry-after-ms"]) > 1000
        assert httpx.post(url + chat_path("free"), json=ASK, headers={"api-key": KEY}).status_code == 200


def test_two_servers_on_one_redis_share_one_quota_and_one_reset(config: Path, redis_url: str) -> None:
    args = ("--config", str(config), "--state", redis_url, "--no-request-log")
    with running("serve", *args) as (first, _), running("serve", *args) as (second, _):
        assert tally(burst([first, second], 30)) == (ADMITTED, 30 - ADMITTED)
        assert httpx.post(first + "/_mock/reset").status_code == 200  # fills the buckets of both
        assert tally(burst([second], 12)) == (ADMITTED, 12 - ADMITTED)


def test_without_shared_state_each_server_has_its_own_quota(config: Path) -> None:
    """What the shared quota changes (and so what the tests above would see without it)."""
    args = ("--config", str(config), "--no-request-log")
    with running("serve", *args) as (first, _), running("serve", *args) as (second, _):
        assert tally(burst([first, second], 30)) == (2 * ADMITTED, 30 - 2 * ADMITTED)


@pytest.fixture()
def shared_server(config: Path, redis_url: str) -> Iterator[LiveServer]:
    settings = resolve({"port": 0, "config_path": str(config), "state_path": redis_url}, env={})
    with LiveServer(settings) as live:
        yield live


def test_an_outage_gets_azures_500_and_the_next_request_after_it_works(
    shared_server: LiveServer, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=shared_server.url, headers={"api-key": KEY}, timeout=20) as http:
        assert http.post(chat_path("limited"), json=ASK).status_code == 200
        redis_server.stop()
        try:
            with caplog.at_level(logging.WARNING, logger="aoai_mock"):
                failed = http.post(chat_path("limited"), json=ASK)
                assert http.post(chat_path("free"), json=ASK).status_code == 200  # no quota: Redis is not asked
        finally:
            redis_server.start()
        assert failed.status_code == 500
        error = failed.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "server_error"
        assert failed.headers["apim-request-id"] in error["message"]
        assert f"Redis at {redis_server.url} is unavailable" in caplog.text
        assert http.post(chat_path("limited"), json=ASK).status_code == 200  # Redis is back: so is the quota


def test_a_large_request_worked_out_in_a_thread_is_metered_in_redis(
    shared_server: LiveServer, redis_server: RedisServer
) -> None:
    large = {"messages": [{"role": "user", "content": "word " * 20_000}], "max_tokens": 10}  # over 64 KiB
    with httpx.Client(base_url=shared_server.url, headers={"api-key": KEY}, timeout=20) as http:
        first = http.post(chat_path("big"), json=large)
        assert first.status_code == 200, first.text
        assert redis_server.command("EXISTS", "aoai-mock:quota:big") == b":1\r\n"
        spent = 1_000_000 - int(first.headers["x-ratelimit-remaining-tokens"])
        assert spent == first.json()["usage"]["prompt_tokens"] + 10
        redis_server.command("DEL", "aoai-mock:quota:big")  # Redis is where the quota is: emptied, it is full
        second = http.post(chat_path("big"), json=large)
        assert int(second.headers["x-ratelimit-remaining-tokens"]) == 1_000_000 - spent


def test_a_server_starts_without_its_redis_and_says_so(config: Path, redis_server: RedisServer) -> None:
    gone = "redis://127.0.0.1:1/0"  # nothing listens there
    with running("serve", "--config", str(config), "--state", gone, "--no-request-log") as (url, proc):
        with httpx.Client(base_url=url, headers={"api-key": KEY}, timeout=20) as http:
            assert http.post(chat_path("free"), json=ASK).status_code == 200
            failed = http.post(chat_path("limited"), json=ASK)
            assert failed.status_code == 500 and failed.json()["error"]["type"] == "server_error"
        proc.terminate()
        log = proc.communicate(timeout=15)[0].decode()
    assert f"Redis at {gone} is unavailable" in log
    assert log.count("is unavailable") == 1  # once an outage, not once a request


_IMPORTS = """
import sys
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
import httpx
with LiveServer(resolve({"port": 0, "config_path": sys.argv[1], "state_path": sys.argv[2] or None}, env={})) as s:
    for name in ("limited", "free"):
        r = httpx.post(s.url + "/openai/deployments/%s/chat/completions?api-version=GA" % name,
                       json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 92},
                       headers={"api-key": "k"})
        assert r.status_code == 200, r.text
print(sorted(m for m in sys.modules if m == "redis" or m.startswith("redis.") or m.endswith("redis_state")))
""".replace("GA", GA)


@pytest.mark.parametrize("state", ["", "state.db"], ids=["memory", "sqlite"])
def test_nothing_of_redis_is_imported_without_a_redis_state(config: Path, tmp_path: Path, state: str) -> None:
    path = str(tmp_path / state) if state else ""
    done = subprocess.run([sys.executable, "-c", _IMPORTS, str(config), path], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "AOAI_MOCK_STATE": ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_redis_state_imports_it(config: Path, redis_url: str) -> None:
    """The check above can fail: with ``--state redis://`` the same script sees the modules."""
    done = subprocess.run([sys.executable, "-c", _IMPORTS, str(config), redis_url], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "'redis'" in done.stdout and "'aoai_mock.state.redis_state'" in done.stdout
