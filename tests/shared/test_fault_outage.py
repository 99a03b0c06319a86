"""A Redis that goes away while fault plans and scenarios count on it: the requests that need a counter get
Azure's 500 within seconds (never a hang), those that need none are answered as always, the log names Redis,
and the server counts again by itself once Redis is back."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.processes import running
from tests.redis_server import RedisServer
from tests.shared.test_fault_schedules import BODY, CHAT, KEY, until

SCENARIO = """name: limited
rules:
  - name: once
    times: 1
    match: {message: {contains: special}}
    reply: {text: "special"}
"""
SPECIAL = {"messages": [{"role": "user", "content": "something special"}]}


def test_requests_that_need_redis_get_azures_500_and_the_server_recovers(
    redis_server: RedisServer, redis_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "limited.yaml"
    path.write_text(SCENARIO)
    with running("serve", "--state", redis_url, "--scenario", str(path)) as (url, proc):
        assert httpx.post(url + CHAT, json=SPECIAL, headers=KEY).json()["choices"][0]["message"]["content"] == "special"
        redis_server.stop()
        try:
            started = time.monotonic()
            failed = httpx.post(url + CHAT, json=SPECIAL, headers=KEY, timeout=30)
            assert time.monotonic() - started < 10
            assert failed.status_code == 500
            error = failed.json()["error"]
            assert error["type"] == "server_error" and "The server had an error" in error["message"]
            assert failed.headers["apim-request-id"] in error["message"]

            health = httpx.get(url + "/_mock/health")  # nothing counted: no Redis needed
            assert health.status_code == 200
        finally:
            redis_server.start()
        # Redis came back empty (it keeps nothing on disk): the rule's counter starts again.
        until(lambda: httpx.post(url + CHAT, json=SPECIAL, headers=KEY).status_code == 200)
        again = httpx.post(url + CHAT, json=SPECIAL, headers=KEY).json()["choices"][0]["message"]["content"]
        assert again != "special"  # the first request after the outage took the rule's one time
    log = proc.stdout.read().decode()
    assert f"Redis at {redis_url} is unavailable" in log
    assert "Traceback" not in log


def test_a_fault_plan_kept_in_redis_fails_requests_with_500_while_it_is_gone(
    redis_server: RedisServer, redis_url: str
) -> None:
    with running("serve", "--state", redis_url) as (url, proc):
        assert httpx.post(url + "/_mock/faults", json=[{"kind": "429", "every": 2}], headers=KEY).status_code == 201
        redis_server.stop()
        try:
            failed = httpx.post(url + CHAT, json=BODY, headers=KEY, timeout=30)
            assert failed.status_code == 500
            assert failed.headers["apim-request-id"] in failed.json()["error"]["message"]
            assert httpx.post(url + CHAT, json=BODY, headers={**KEY, "x-aoai-mock-fault": "none"}).status_code == 200
        finally:
            redis_server.start()
        until(lambda: httpx.post(url + CHAT, json=BODY, headers=KEY).status_code == 200)
    assert "Traceback" not in proc.stdout.read().decode()
