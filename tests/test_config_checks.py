"""Configuration files are checked as scenario files are: every problem as ``file:line: field: message``, "did
you mean" for misspelt keys and values, limits no server could keep; ``serve`` refuses such a file (exit 2,
nothing listening), ``validate`` names its problems (also as JSON), and a JSON Schema is shipped for editors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from aoai_mock.behaviour import responders
from aoai_mock.behaviour.scenarios import ScenarioError, load_text
from aoai_mock.config import (
    RESPONDER_OPTIONS,
    ConfigError,
    default_config,
    json_schema,
    load_config,
    looks_like_config,
)

SHIPPED_SCHEMA = Path(__file__).parents[1] / "server" / "aoai_mock" / "data" / "config.schema.json"
DEFAULT_YAML = SHIPPED_SCHEMA.parent / "default_config.yaml"

# A deployment over the first four lines of a file; a test adds its own lines from line 5 on.
HEAD = "deployments:\n  - name: d\n    model: gpt-4o\n    kind: chat\n"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "aoai_mock", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd)


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
    return [str(p).removeprefix(f"{path}:") for p in caught.value.problems]


# -- each kind of problem, on its line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # misspelt keys and values: did you mean
        ("prot: 8000\n", "1: prot: unknown field 'prot'; did you mean 'port'?"),
        (HEAD + "    respnder: echo\n",
         "5: deployments.0.respnder: unknown field 'respnder'; did you mean 'responder'?"),
        (HEAD + "    pacing: {tokens_per_secnd: 5}\n",
         "5: deployments.0.pacing.tokens_per_secnd: unknown field 'tokens_per_secnd'; "
         "did you mean 'tokens_per_second'?"),
        (HEAD + "    responder: generatd\n",
         "5: deployments.0.responder: unknown responder 'generatd'; did you mean 'generated'? "
         "(known: echo, fixture, generated)"),
        (HEAD + "    responder:\n      name: ecko\n",
         "6: deployments.0.responder.name: unknown responder 'ecko'; did you mean 'echo'? "
         "(known: echo, fixture, generated)"),
        (HEAD + "    responder: {name: generated, options: {max_token: 9}}\n",
         "5: deployments.0.responder.options.max_token: the generated responder has no option 'max_token'; "
         "did you mean 'max_tokens'?"),
        (HEAD + "    responder:\n      name: generated\n      options:\n        tools: nevr\n",
         "8: deployments.0.responder.options.tools: tools is auto or never, not 'nevr'; did you mean 'never'?"),
        ("deployments:\n  - name: d\n    model: gpt-4o\n    kind: chta\n",
         "4: deployments.0.kind: 'chta' is not one of chat, completions, embeddings, image, audio, speech, realtime; "
         "did you mean 'chat'?"),
        (HEAD + "    operations: [chat.completion]\n",
         "5: deployments.0.operations: unknown operations ['chat.completion']; did you mean 'chat.completions'?"),
        (HEAD + "    min_api_version: 2024-12-01-previw\n",
         "5: deployments.0.min_api_version: min_api_version '2024-12-01-previw' is not a known api-version; "
         "did you mean '2024-12-01-preview'?"),
        (HEAD + "    content_filter:\n      jailbreak: blok\n",
         "6: deployments.0.content_filter.jailbreak: 'blok' is not one of block, annotate, off; did you mean 'block'?"),
        (HEAD + "    content_filter:\n      blocklists:\n        - {id: a, terms: [x]}\n"
                "        - {id: a, terms: [y]}\n",
         "8: deployments.0.content_filter.blocklists.1.id: blocklist ids must be unique; repeated: a "
         "(first in blocklists.0)"),
        (HEAD + "    responder: embeddings\n",
         "5: deployments.0.responder: the embeddings responder answers embeddings deployments, not chat"),
        (HEAD + "    responder: {name: fixture}\n",
         "5: deployments.0.responder.options: the fixture responder needs a `file` option: "
         "the fixture it answers with"),
        # quotas and limits no server could keep
        (HEAD + "    tokens_per_minute: 0\n", "5: deployments.0.tokens_per_minute: must be at least 1, not 0"),
        (HEAD + "    rate_limit:\n      requests_per_minute: -5\n",
         "6: deployments.0.rate_limit.requests_per_minute: must be at least 1, not -5"),
        (HEAD + "    rate_limit: {token_window_seconds: 0}\n",
         "5: deployments.0.rate_limit.token_window_seconds: must be more than 0, not 0"),
        (HEAD + "    context_window: 8192\n    max_output_tokens: 16384\n",
         "6: deployments.0.max_output_tokens: max_output_tokens (16384) is more than context_window (8192): "
         "no answer fits"),
        (HEAD + "    context_window: 0\n", "5: deployments.0.context_window: must be at least 1, not 0"),
        (HEAD + "    responder: {name: generated, options: {min_tokens: 50, max_tokens: 10}}\n",
         "5: deployments.0.responder.options.max_tokens: max_tokens (10) is below min_tokens (50): no length is both"),
        (HEAD + "    responder: {name: generated, options: {tokens: -3}}\n",
         "5: deployments.0.responder.options.tokens: tokens must be a whole number of tokens, 0 or more, not -3"),
        ("max_body_bytes: 0\n", "1: max_body_bytes: must be at least 1, not 0"),
        ("port: 70000\n", "1: port: must be at most 65535, not 70000"),
        ("api_keys: [one, '']\n", "1: api_keys.1: an empty key can never be sent"),
        # pacing that cannot be
        (HEAD + "    pacing:\n      time_to_first_token_ms: .inf\n",
         "6: deployments.0.pacing.time_to_first_token_ms: must be a finite number, not inf"),
        (HEAD + "    pacing: {tokens_per_second: -40}\n",
         "5: deployments.0.pacing.tokens_per_second: must be at least 0, not -40"),
        (HEAD + "    pacing: {jitter: 1.5}\n", "5: deployments.0.pacing.jitter: must be at most 1, not 1.5"),
        # what YAML reads otherwise than meant, and what it loses
        (HEAD + "    version: 0613\n",
         "5: deployments.0.version: a string is expected; YAML reads 0613 as int 395: write it in quotes, \"0613\""),
        (HEAD + "    kind: embeddings\n",
         "5: deployments.0.kind: key 'kind' is given twice (first on line 4); the last one would count"),
        ("deployments:\n  - name: a/b\n    model: m\n    kind: chat\n",
         "2: deployments.0.name: 'a/b' cannot be a deployment name: it goes in the URL (no '/', '?', '#' or spaces)"),
        ("deployments:\n  - {name: x, kind: chat}\n", "2: deployments.0.model: this field is required"),
        (HEAD + "    rate_limit: 5\n", "5: deployments.0.rate_limit: a mapping is expected, not 5"),
        ("seed: 1.5\n", "1: seed: a whole number is expected, not 1.5"),
        ("port: [1\n", "2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
        ("- a\n- b\n", "1: the top level must be a mapping (deployments, port, ...)"),
    ],
)
def test_each_problem_is_named_with_its_line_and_field(tmp_path: Path, text: str, expected: str) -> None:
    assert problems_of(tmp_path, text) == [expected]


def test_every_problem_of_a_file_is_listed_at_once(tmp_path: Path) -> None:
    text = """\
region: West Europe
deployments:
  - name: chat
    model: gpt-4o
    kind: chat
    responder: generatd
  - name: chat
    model: gpt-4o
    kind: chat
    pacing: {jitter: 2}
  - name: chat
    model: gpt-4o
    kind: chta
"""
    assert problems_of(tmp_path, text) == [
        "6: deployments.0.responder: unknown responder 'generatd'; did you mean 'generated'? "
        "(known: echo, fixture, generated)",
        "7: deployments.1.name: deployment names must be unique; repeated: chat (first in deployments.0)",
        "10: deployments.1.pacing.jitter: must be at most 1, not 2",
        "11: deployments.2.name: deployment names must be unique; repeated: chat (first in deployments.0)",
        "13: deployments.2.kind: 'chta' is not one of chat, completions, embeddings, image, audio, speech, realtime; "
        "did you mean 'chat'?",
    ]


def test_a_good_file_and_the_built_in_configuration_load(tmp_path: Path) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(HEAD + "    responder: {name: generated, options: {min_tokens: 5, max_tokens: 5, tools: never}}\n"
                    "  - {name: e, model: text-embedding-3-small, kind: embeddings, responder: embeddings}\n")
    assert [d.name for d in load_config(path).deployments] == ["d", "e"]
    assert len(default_config().deployments) > 10


def test_the_responders_a_deployment_may_name_are_the_registered_ones() -> None:
    assert set(RESPONDER_OPTIONS) == set(responders.names())


def test_a_scenario_s_deployments_are_checked_the_same_way() -> None:
    text = "deployments:\n  - name: d\n    model: gpt-4o\n    kind: chat\n    responder: generatd\n"
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "s.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "s.yaml:5: deployments[0].responder: unknown responder 'generatd'; did you mean 'generated'? "
        "(known: echo, fixture, generated)"
    ]


# -- serve refuses ----------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_refuses_a_bad_configuration_listing_every_problem_and_never_listens(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(HEAD + "    responder: generatd\n    tokens_per_minute: 0\n")
    port = _free_port()
    done = run("serve", "--port", str(port), "--config", str(bad))
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "aoai-mock: not starting, the configuration has 2 problem(s):",
        f"  {bad}:5: deployments.0.responder: unknown responder 'generatd'; did you mean 'generated'? "
        "(known: echo, fixture, generated)",
        f"  {bad}:6: deployments.0.tokens_per_minute: must be at least 1, not 0",
    ]
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0, "nothing may listen on the port"


# -- validate ---------------------------------------------------------------------------------------------------


def test_looks_like_config_tells_configuration_from_scenario_files() -> None:
    assert looks_like_config({"deployments": []}) and looks_like_config({"port": 1, "deploymnets": []})
    assert not looks_like_config({"deployments": [], "rules": []}) and not looks_like_config({"rules": []})
    assert not looks_like_config({}) and not looks_like_config(["port"])


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(HEAD)
    (tmp_path / "mine.yaml").write_text("rules:\n  - match: {message: hi}\n    reply: {text: hello}\n")
    return tmp_path


def test_validate_tells_configuration_and_scenario_files_apart(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    done = run("validate", str(folder), str(DEFAULT_YAML))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        f"ok: configuration (1 deployment) from {folder / 'config.yaml'}",
        f"ok: configuration ({len(default_config().deployments)} deployments) from {DEFAULT_YAML}",
        f"ok: mine (1 rule) from {folder / 'mine.yaml'}",
    ]


def test_validate_names_every_problem_of_both_kinds_and_fails(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(HEAD + "    responder: generatd\n")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("rules:\n  - match: {mesage: hi}\n    reply: {text: hello}\n")
    done = run("validate", str(config), str(scenario))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{config}:5: deployments.0.responder: unknown responder 'generatd'; did you mean 'generated'? "
        "(known: echo, fixture, generated)",
        f"{scenario}:2: rules[0].match.mesage: unknown field 'mesage'; did you mean 'message'?",
        "aoai-mock: 2 problems found",
    ]


def test_validate_needs_something_to_check() -> None:
    done = run("validate")
    assert done.returncode == 2 and "--config FILE" in done.stderr


def test_validate_config_option_checks_a_file_as_configuration_whatever_it_holds(tmp_path: Path) -> None:
    odd = tmp_path / "odd.yaml"
    odd.write_text("rules: []\n")  # a scenario's key: as a scenario it is good, as a configuration it is not
    assert run("validate", str(odd)).returncode == 0
    done = run("validate", "--config", str(odd))
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"{odd}:1: rules: unknown field 'rules'"


def test_validate_json_lists_the_problems_and_the_good_files(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    good = run("validate", "--json", str(folder))
    assert good.returncode == 0 and json.loads(good.stdout) == {
        "ok": [
            {"file": str(folder / "config.yaml"), "kind": "config", "deployments": 1},
            {"file": str(folder / "mine.yaml"), "kind": "scenario", "name": "mine", "rules": 1},
        ],
        "problems": [],
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("prot: 8000\n")
    done = run("validate", "--json", "--config", str(bad), str(folder / "mine.yaml"))
    assert done.returncode == 1 and json.loads(done.stdout) == {
        "ok": [{"file": str(folder / "mine.yaml"), "kind": "scenario", "name": "mine", "rules": 1}],
        "problems": [
            {"file": str(bad), "line": 1, "field": "prot", "message": "unknown field 'prot'; did you mean 'port'?"}
        ],
    }


# -- the JSON Schema --------------------------------------------------------------------------------------------


def test_the_schema_command_prints_the_configuration_schema_and_the_scenario_one_by_default(tmp_path: Path) -> None:
    done = run("schema", "config")
    assert done.returncode == 0 and json.loads(done.stdout) == json_schema()
    assert run("schema", "config", "-o", str(tmp_path / "c.json")).returncode == 0
    assert json.loads((tmp_path / "c.json").read_text()) == json_schema()
    assert "rules" in json.loads(run("schema").stdout)["properties"]  # the scenario schema, as before


def test_the_shipped_schema_file_is_current() -> None:
    shipped = json.loads(SHIPPED_SCHEMA.read_text())
    assert shipped == json_schema(), "run: aoai-mock schema config -o server/aoai_mock/data/config.schema.json"


def test_the_built_in_configuration_validates_against_the_schema_and_a_bad_one_does_not() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    jsonschema.Draft202012Validator.check_schema(json_schema())
    assert list(validator.iter_errors(yaml.safe_load(DEFAULT_YAML.read_text()))) == []
    bad = yaml.safe_load(HEAD + "    responder: generatd\n    tokens_per_minute: 0\n    operations: [chats]\n")
    wrong = sorted(".".join(map(str, e.absolute_path)) for e in validator.iter_errors(bad))
    assert wrong == ["deployments.0.operations.0", "deployments.0.responder", "deployments.0.tokens_per_minute"]
