"""Deployments changed through ``/_mock/deployments`` on one process, followed by every process on one Redis:
two real ``serve`` processes (and ``--workers 2``). An added deployment answers on the other process, a patched
responder changes the other's answers, a removed one is gone there, ``POST /_mock/reset`` serves the
configuration again everywhere; a process started later, or one whose Redis restarted empty, catches up."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.processes import running
from tests.redis_server import RedisServer
from tests.shared.test_fault_schedules import until

KEY = {"api-key": "k"}
EXTRA = {"name": "extra", "model": "gpt-4o", "version": "2024-08-06", "kind": "chat",
         "responder": {"name": "echo", "options": {"prefix": "extra: "}}}
PREFIXED = {"responder": {"name": "echo", "options": {"prefix": "changed: "}}}


def chat(url: str, deployment: str) -> tuple[int, str | None]:
    """The status of one chat request to ``deployment``, and its answer's text when it has one."""
    answer = httpx.post(f"{url}/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21",
                        json={"messages": [{"role": "user", "content": "hi"}]}, headers=KEY, timeout=10)
    if answer.status_code != 200:
        return answer.status_code, None
    return 200, answer.json()["choices"][0]["message"]["content"]


def answers(url: str, deployment: str, expected: tuple[int, str | None]) -> Callable[[], bool]:
    return lambda: chat(url, deployment) == expected


def listed(url: str, name: str) -> dict | None:
    found = httpx.get(f"{url}/_mock/deployments/{name}", timeout=10)
    return found.json() if found.status_code == 200 else None


def test_add_patch_delete_and_reset_reach_the_other_process(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, _), running("serve", "--state", redis_url) as (two, _):
        configured = chat(two, "gpt-4o")
        assert configured == (200, "hi")
        assert chat(two, "extra")[0] == 404

        assert httpx.post(one + "/_mock/deployments", json=EXTRA).status_code == 201
        until(answers(two, "extra", (200, "extra: hi")))
        assert listed(two, "extra")["source"] == "control"

        assert httpx.patch(one + "/_mock/deployments/gpt-4o", json=PREFIXED).status_code == 200
        until(answers(two, "gpt-4o", (200, "changed: hi")))
        assert listed(two, "gpt-4o")["changed"] is True

        assert httpx.delete(two + "/_mock/deployments/extra").status_code == 200
        until(answers(one, "extra", (404, None)))

        assert httpx.post(one + "/_mock/deployments", json=EXTRA).status_code == 201  # added again after a delete
        until(answers(two, "extra", (200, "extra: hi")))

        assert httpx.post(two + "/_mock/reset").status_code == 200
        until(answers(one, "gpt-4o", configured))
        until(answers(one, "extra", (404, None)))
        assert listed(one, "gpt-4o")["changed"] is False
        assert chat(two, "gpt-4o") == configured and chat(two, "extra")[0] == 404

        # after the reset, changes are followed as before
        assert httpx.delete(two + "/_mock/deployments/gpt-4o").status_code == 200
        until(answers(one, "gpt-4o", (404, None)))


def test_a_process_started_later_serves_the_deployments_as_changed(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, _):
        assert httpx.post(one + "/_mock/deployments", json=EXTRA).status_code == 201
        assert httpx.patch(one + "/_mock/deployments/gpt-4o", json=PREFIXED).status_code == 200
        with running("serve", "--state", redis_url) as (two, _):
            until(answers(two, "extra", (200, "extra: hi")))
            assert chat(two, "gpt-4o") == (200, "changed: hi")
            # a change made on the newcomer reaches the first process
            assert httpx.delete(two + "/_mock/deployments/gpt-4o").status_code == 200
            until(answers(one, "gpt-4o", (404, None)))


def test_every_worker_follows_a_change(redis_url: str) -> None:
    with running("serve", "--workers", "2", "--state", redis_url, timeout=60) as (url, _):
        assert httpx.patch(url + "/_mock/deployments/gpt-4o", json=PREFIXED).status_code == 200

        def everywhere() -> bool:  # each request on a new connection: either worker answers
            return all(chat(url, "gpt-4o") == (200, "changed: hi") for _ in range(20))

        until(everywhere)


def test_a_redis_that_restarts_empty_takes_every_process_back_to_the_configuration(
    redis_server: RedisServer, redis_url: str
) -> None:
    with running("serve", "--state", redis_url) as (one, _), running("serve", "--state", redis_url) as (two, _):
        assert httpx.post(one + "/_mock/deployments", json=EXTRA).status_code == 201
        until(answers(two, "extra", (200, "extra: hi")))
        redis_server.restart()  # nothing saved: the change is gone from Redis
        until(answers(one, "extra", (404, None)), timeout=20)
        until(answers(two, "extra", (404, None)), timeout=20)
        assert httpx.post(two + "/_mock/deployments", json=EXTRA).status_code == 201
        until(answers(one, "extra", (200, "extra: hi")))
