"""Scenario counters and the active scenario shared through Redis, with real processes: a rule's ``times``
and a ``replies`` sequence advance once for every process; a scenario loaded or activated through one
process's control API answers on another."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.processes import running
from tests.shared.test_fault_schedules import until

CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "hi"}]}
KEY = {"api-key": "k"}

LIMITED = """name: limited
rules:
  - name: three-times
    times: 3
    reply: {text: "special"}
  - name: sequence
    replies:
      - {text: "first"}
      - {text: "second"}
      - {text: "third"}
"""

LOADED = """name: loaded
rules:
  - name: always
    reply: {text: "from the loaded scenario, call {{ call }}"}
"""


def content(url: str) -> str:
    with httpx.Client(timeout=30) as client:  # a new connection: any worker may answer it
        answer = client.post(url + CHAT, json=BODY, headers=KEY)
    assert answer.status_code == 200, answer.text
    return answer.json()["choices"][0]["message"]["content"]


def test_times_and_a_sequence_advance_once_across_four_workers(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "limited.yaml"
    path.write_text(LIMITED)
    with running("serve", "--workers", "4", "--state", redis_url, "--scenario", str(path), timeout=60) as (url, _):
        with ThreadPoolExecutor(10) as pool:
            got = Counter(pool.map(lambda _: content(url), range(20)))
        assert got == Counter({"special": 3, "first": 1, "second": 1, "third": 15})
        listing = httpx.get(url + "/_mock/scenarios").json()["data"][0]
        assert listing["calls"] == 20
        assert [rule["hits"] for rule in listing["rules"]] == [3, 17]


def test_a_scenario_loaded_and_activated_through_one_server_answers_on_another(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (one, _), running("serve", "--state", redis_url) as (two, _):
        posted = httpx.post(one + "/_mock/scenarios?activate=true", content=LOADED,
                            headers={**KEY, "content-type": "application/yaml"})
        assert posted.status_code == 201, posted.text
        until(lambda: httpx.get(two + "/_mock/scenarios").json()["active"] == "loaded")
        answers = [content(url) for url in (two, one, two)]
        assert answers == [f"from the loaded scenario, call {n}" for n in (1, 2, 3)]

        assert httpx.post(two + "/_mock/scenarios/deactivate", headers=KEY).status_code == 200
        until(lambda: httpx.get(one + "/_mock/scenarios").json()["active"] is None)
        assert not content(one).startswith("from the loaded scenario")

        assert httpx.post(two + "/_mock/scenarios/loaded/activate", headers=KEY).status_code == 200
        until(lambda: httpx.get(one + "/_mock/scenarios").json()["active"] == "loaded")
        assert httpx.post(one + "/_mock/reset", headers=KEY).status_code == 200
        until(lambda: httpx.get(two + "/_mock/scenarios").json()["data"][0]["calls"] == 0)
        assert content(two) == "from the loaded scenario, call 1"

        assert httpx.delete(one + "/_mock/scenarios/loaded", headers=KEY).status_code == 200
        until(lambda: httpx.get(two + "/_mock/scenarios").json()["data"] == [])
        assert not content(two).startswith("from the loaded scenario")


def test_a_scenario_activated_through_one_of_two_servers_given_the_same_files(redis_url: str, tmp_path: Path) -> None:
    path = tmp_path / "limited.yaml"
    path.write_text(LIMITED)
    args = ("--state", redis_url, "--scenario", str(path), "--scenario", "weather-agent")
    with running("serve", *args) as (one, _), running("serve", *args) as (two, _):
        assert httpx.post(one + "/_mock/scenarios/deactivate", headers=KEY).status_code == 200
        until(lambda: httpx.get(two + "/_mock/scenarios").json()["active"] is None)
        assert content(two) != "special"
        assert httpx.post(two + "/_mock/scenarios/limited/activate", headers=KEY).status_code == 200
        until(lambda: httpx.get(one + "/_mock/scenarios").json()["active"] == "limited")
        assert [content(url) for url in (one, two, one, two)] == ["special", "special", "special", "first"]


RUN_TURNS = """name: turns
rules:
  - name: once
    times: 1
    reply: {text: "the only special answer"}
  - name: after
    reply: {text: "an ordinary answer"}
"""


def test_a_rule_deciding_assistants_run_turns_counts_once_across_two_servers(redis_url: str, tmp_path: Path) -> None:
    """A run's turn is decided on the event loop: its ``times: 1`` is Redis's count, as for a chat request,
    whichever process polls the run (it counted per process before)."""
    path = tmp_path / "turns.yaml"
    path.write_text(RUN_TURNS)
    serve = ("serve", "--state", redis_url, "--scenario", str(path), "--run-seconds", "0")
    with running(*serve) as (one, _), running(*serve) as (two, _):
        version = "?api-version=2024-05-01-preview"
        with httpx.Client(headers=KEY, timeout=30) as client:
            made = client.post(one + "/openai/assistants" + version, json={"model": "gpt-4o"})
            assistant = made.json()["id"]
            answers = []
            for url in (one, two, one, two):
                thread = client.post(url + "/openai/threads" + version,
                                     json={"messages": [{"role": "user", "content": "hi"}]}).json()["id"]
                runs = f"{url}/openai/threads/{thread}/runs"
                run = client.post(runs + version, json={"assistant_id": assistant}).json()["id"]
                until(lambda: client.get(f"{runs}/{run}{version}").json()["status"] == "completed")
                listed = client.get(f"{url}/openai/threads/{thread}/messages{version}&order=asc").json()["data"]
                answers.append(listed[-1]["content"][0]["text"]["value"])
    assert answers == ["the only special answer"] + ["an ordinary answer"] * 3
