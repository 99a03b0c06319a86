"""Loading scenario files: every problem with its file, line and field; folders and shipped names; the schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from aoai_mock.behaviour.scenarios import (
    Problem,
    ScenarioError,
    json_schema,
    load_file,
    load_paths,
    load_text,
    shipped,
)
from aoai_mock.behaviour.scenarios.loader import shipped_dir


def problems(text: str, **kw) -> list[Problem]:
    with pytest.raises(ScenarioError) as caught:
        load_text(text, "broken.yaml", **kw)
    return caught.value.problems


def where(found: list[Problem]) -> list[tuple[int | None, str]]:
    return [(p.line, p.field) for p in found]


BROKEN = """\
name: broken
rules:
  - name: first
    match:
      mesage: hello
      message: {regex: "(unclosed", where: last_user}
      body: {"$..[": 1, temperature: {gt: high}}
      call: 0
    reply: {text: "{{ nobody }}"}
  - name: second
    reply: {text: hi, json: {a: 1}}
  - name: third
    match: {operation: chatting, tools: {present: maybe}}
    replies: []
  - name: fourth
    reply: {responder: oracle}
  - reply: {error: {status: 700, message: x}, finish_reason: done}
"""


def test_every_problem_of_a_broken_file_is_reported_with_its_line_and_field():
    found = problems(BROKEN)
    assert where(found) == [
        (5, "rules[0].match.mesage"),
        (6, "rules[0].match.message.regex"),
        (7, "rules[0].match.body.$..["),
        (7, "rules[0].match.body.temperature.gt"),
        (8, "rules[0].match.call.in"),
        (9, "rules[0].reply.text"),
        (11, "rules[1].reply"),
        (13, "rules[2].match.operation"),
        (13, "rules[2].match.tools.present"),
        (14, "rules[2].replies"),
        (16, "rules[3].reply.responder"),
        (17, "rules[4].reply.finish_reason"),
        (17, "rules[4].reply.error.status"),
    ]
    messages = {p.field: p.message for p in found}
    assert messages["rules[0].match.mesage"] == "unknown field 'mesage'; did you mean 'message'?"
    assert "invalid regular expression '(unclosed'" in messages["rules[0].match.message.regex"]
    assert "unknown template variable 'nobody'" in messages["rules[0].reply.text"]
    assert "exactly one of: text, refusal, tool_calls, json" in messages["rules[1].reply"]
    assert "unknown responder 'oracle'" in messages["rules[3].reply.responder"]
    assert str(found[0]) == "broken.yaml:5: rules[0].match.mesage: unknown field 'mesage'; did you mean 'message'?"


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ("name: x\nrules:\n  - reply: {text: [unclosed\n", 4, "", "not valid YAML"),
        ("- just\n- a list\n", 1, "", "must be a mapping"),
        ("name: x\nrules:\n  - reply: {text: a}\n    reply: {text: b}\n", 4, "rules[0].reply", "given twice"),
        ("name: x\nrules:\n  - name: a\n    reply: {text: a}\n  - name: a\n    reply: {text: b}\n", 2, "rules",
         "repeated: a"),
        ("name: x\nrules:\n  - match: {}\n", 3, "rules[0]", "exactly one of: reply, replies"),
        ("name: x\nrules:\n  - reply:\n      tool_calls:\n        - arguments: {}\n", 5,
         "rules[0].reply.tool_calls[0].name", "required"),
        ("name: x\nrules:\n  - reply: {text: '{% if %}'}\n", 3, "rules[0].reply.text", "template error"),
        ("name: x\nrules:\n  - reply: {text: '{{ x | random }}'}\n", 3, "rules[0].reply.text", "No filter named"),
        ("name: x\ndefault: {options: {a: 1}, text: hi}\n", 2, "default", "options are for a responder"),
        ("name: x\nrules:\n  - reply: {embeddings: {fixture: nowhere.json}}\n", 3,
         "rules[0].reply.embeddings.fixture", "not found"),
        ("name: x\nrules:\n  - replies:\n      - text: ok\n      - fixture: gone.txt\n", 5,
         "rules[0].replies[1].fixture", "not found"),
        ("name: bad name!\n", 1, "name", "pattern"),
    ],
)
def test_single_problems_point_at_their_line(text, line, field, words, tmp_path):
    (found,) = problems(text, base_dir=tmp_path)
    assert (found.line, found.field) == (line, field)
    assert words in found.message


def test_broken_fixture_contents_are_reported(tmp_path):
    (tmp_path / "v.json").write_text('{"not": "vectors"}')
    (found,) = problems("name: x\ndefault:\n  embeddings: {fixture: v.json}\n", base_dir=tmp_path)
    assert (found.line, found.field) == (3, "default.embeddings.fixture") and "expected a vector" in found.message


def test_fixtures_are_found_next_to_the_scenario_or_in_the_fixtures_folder_beside_it(tmp_path):
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "fixtures" / "answer.txt").write_text("canned")
    (tmp_path / "scenarios" / "v.json").write_text("[0.6, 0.8]")
    path = tmp_path / "scenarios" / "s.yaml"
    path.write_text("rules:\n  - reply: {fixture: answer.txt}\n  - reply: {embeddings: {fixture: v.json}}\n")
    loaded = load_file(path)
    assert loaded.name == "s" and loaded.source == str(path) and loaded.base_dir == path.parent


def test_load_paths_takes_files_folders_and_shipped_names_and_collects_every_problem(tmp_path):
    (tmp_path / "a.yaml").write_text("name: a\n")
    (tmp_path / "b.yml").write_text("name: b\nrules:\n  - reply: {txt: x}\n")
    (tmp_path / "notes.txt").write_text("not a scenario")
    with pytest.raises(ScenarioError) as caught:
        load_paths([tmp_path, "no-such-thing", "weather-agent"])
    assert [(Path(p.file).name, p.line) for p in caught.value.problems] == [("b.yml", 3), ("no-such-thing", None)]
    (tmp_path / "b.yml").write_text("name: b\n")
    assert [s.name for s in load_paths([tmp_path, "weather-agent", tmp_path / "a.yaml"])] == ["a", "b", "weather-agent"]


def test_two_files_with_one_scenario_name_are_a_problem(tmp_path):
    (tmp_path / "one.yaml").write_text("name: same\n")
    (tmp_path / "two.yaml").write_text("name: same\n")
    with pytest.raises(ScenarioError, match="'same' is also in"):
        load_paths([tmp_path])


def test_unreadable_file(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read"):
        load_file(tmp_path / "missing.yaml")


# -- the JSON Schema -----------------------------------------------------------------------------------


def test_json_schema_is_a_valid_schema_that_accepts_the_shipped_scenarios_and_rejects_typos():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for name in shipped():
        document = yaml.safe_load((shipped_dir() / f"{name}.yaml").read_text())
        assert not list(validator.iter_errors(document)), name
    assert list(validator.iter_errors({"rules": [{"reply": {"txt": "x"}}]}))
    assert list(validator.iter_errors({"rules": [{"match": {"operation": "chatting"}, "reply": {"text": "x"}}]}))


def test_json_schema_describes_fields_and_shorthands_for_editors():
    defs = json_schema()["$defs"]
    match = defs["Match"]["properties"]
    assert "JSON path" in match["body"]["description"]
    assert {"type": "string"} in match["message"]["anyOf"]  # message: "text" shorthand
    assert {"type": "boolean"} in match["tools"]["anyOf"]
    assert "chat" in match["operation"]["anyOf"][0]["enum"]
    assert json_schema()["additionalProperties"] is False


def test_the_shipped_schema_file_is_current():
    shipped_schema = json.loads((shipped_dir() / "scenario.schema.json").read_text())
    assert shipped_schema == json_schema(), "run: aoai-mock schema -o server/aoai_mock/data/scenarios/scenario.schema.json"


def test_the_format_example_in_the_scenarios_readme_loads():
    readme = (Path(__file__).resolve().parents[3] / "scenarios" / "README.md").read_text()
    example = readme.split("```yaml\n", 1)[1].split("```", 1)[0]
    loaded = load_text(example, "README.md")
    assert loaded.name == "support-bot" and loaded.rules[0].then == "cycle"
