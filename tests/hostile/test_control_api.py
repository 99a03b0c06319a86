"""Hostile bodies on the control API: YAML bombs, deep nesting, fixture names that point outside the fixture
folders. Each gets the control API's 400 naming the problem (never a hang, a 500 or a server path), and the
server keeps serving."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from aoai_mock.testing import LiveServer

from tests.hostile.conftest import assert_still_serving

YAML = {"content-type": "application/yaml"}

# 534 bytes that expand to 9^9 (387 million) strings when every alias is followed.
ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
) + "\nname: bomb\ndefault: {text: '*i'}\n"


def _problem(answer: httpx.Response) -> str:
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_scenario"
    return str(error["message"])


def test_an_alias_bomb_is_refused_at_once(client: httpx.Client, server: LiveServer) -> None:
    assert len(ALIAS_BOMB) < 600
    message = _problem(client.post("/_mock/scenarios", content=ALIAS_BOMB, headers=YAML))
    assert "more than 100000 values" in message
    assert_still_serving(server.url)


def test_yaml_nested_past_the_limit_is_refused(client: httpx.Client, server: LiveServer) -> None:
    deep = "name: deep\nx: " + "[" * 100_000 + "]" * 100_000 + "\n"
    message = _problem(client.post("/_mock/scenarios", content=deep, headers=YAML))
    assert "nests deeper than 64 levels" in message
    flow = "name: deep\nx: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"
    assert "nests deeper" in _problem(client.post("/_mock/scenarios", content=flow, headers=YAML))
    assert_still_serving(server.url)


def test_anchors_within_the_limits_still_load(client: httpx.Client) -> None:
    text = "name: anchored\nrules:\n  - match: {message: hi}\n    reply: &r {text: hello}\n  - match: {message: yo}\n    reply: *r\n"
    answer = client.post("/_mock/scenarios", content=text, headers=YAML)
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize("name", ["{secret}", "../secret.txt", "fixtures/../../secret.txt", "/etc/hostname"])
def test_fixtures_outside_the_fixture_folders_are_not_read(
    client: httpx.Client, server: LiveServer, fixtures: Path, name: str
) -> None:
    name = name.format(secret=fixtures / "secret.txt")
    message = _problem(client.post("/_mock/scenarios", content=f"name: peek\ndefault: {{fixture: '{name}'}}\n",
                                   headers=YAML))
    assert "must be a path inside the fixture folders" in message
    assert str(fixtures) not in message.replace(name, "")
    assert "top secret" not in message
    assert_still_serving(server.url)


def test_a_missing_fixture_is_named_without_server_paths(client: httpx.Client, fixtures: Path) -> None:
    message = _problem(client.post("/_mock/scenarios", content="name: m\ndefault: {fixture: nothere.txt}\n",
                                   headers=YAML))
    assert "fixture 'nothere.txt' not found in the fixture folders" in message
    assert str(fixtures) not in message and str(Path.cwd()) not in message


def test_a_fixture_in_the_fixture_folder_answers(client: httpx.Client) -> None:
    loaded = client.post("/_mock/scenarios?activate=true", content="name: canned\ndefault: {fixture: canned.txt}\n",
                         headers=YAML)
    assert loaded.status_code == 201, loaded.text
    try:
        answer = client.post(
            "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
            json={"messages": [{"role": "user", "content": "hi"}]},
        )
        assert answer.json()["choices"][0]["message"]["content"] == "canned answer"
    finally:
        client.delete("/_mock/scenarios/canned")


def test_an_unreadable_fixture_is_a_problem_not_a_500(client: httpx.Client, fixtures: Path) -> None:
    (fixtures / "fixtures" / "binary.txt").write_bytes(b"\xff\xfe\x00bad")
    (fixtures / "fixtures" / "broken.json").write_bytes(b"{not json")
    for name, says in (("binary.txt", "not UTF-8 text"), ("broken.json", "cannot be read as a reply")):
        message = _problem(client.post("/_mock/scenarios", content=f"name: b\ndefault: {{fixture: {name}}}\n",
                                       headers=YAML))
        assert f"fixture '{name}': {says}" in message
        assert str(fixtures) not in message


def test_fault_plans_are_bounded_too(client: httpx.Client, server: LiveServer) -> None:
    bomb = ALIAS_BOMB.replace("name: bomb\ndefault: {text: '*i'}\n", "faults: *i\n")
    answer = client.post("/_mock/faults", content=bomb, headers=YAML)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_fault_plan"
    assert "more than 100000 values" in answer.json()["error"]["message"]
    deep = client.post("/_mock/faults", content="faults: " + "[" * 50_000 + "]" * 50_000, headers=YAML)
    assert deep.status_code == 400 and "nests deeper than 64 levels" in deep.json()["error"]["message"]
    assert_still_serving(server.url)


def test_a_config_file_is_read_within_the_same_bounds(tmp_path: Path) -> None:
    from aoai_mock.config import ConfigError, load_config

    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB.replace("name: bomb\ndefault: {text: '*i'}\n", "deployments: *i\n"))
    with pytest.raises(ConfigError, match="more than 100000 values"):
        load_config(path)
