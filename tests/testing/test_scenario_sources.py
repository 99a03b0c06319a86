"""What ``aoai_mock.load_scenario`` takes: a mapping, YAML text (one line too), a path or a shipped name, decided
one way only, with an error that says what was tried."""

from __future__ import annotations

from pathlib import Path

import pytest
from aoai_mock.behaviour.scenarios import ScenarioError
from aoai_mock.testing.sources import scenarios_from

pytest_plugins = ["pytester"]

ONE_RULE = "name: one-line\nrules: [{reply: {text: from one line}}]"


def test_every_kind_of_source_with_the_sdk(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"scenarios/file-one": "rules: [{reply: {text: from a file}}]\n"})
    pytester.makefile(".yaml", **{"scenarios/file-two": "rules: [{reply: {text: from the folder}}]\n"})
    pytester.makepyfile(
        f"""
        from pathlib import Path

        import pytest

        def ask(client):
            return client.chat.completions.create(
                model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}]).choices[0].message.content

        @pytest.mark.parametrize(("source", "name", "answer"), [
            ({{"name": "as-dict", "rules": [{{"reply": {{"text": "from a dict"}}}}]}}, "as-dict", "from a dict"),
            ({ONE_RULE!r}, "one-line", "from one line"),
            ("{{name: flow, rules: [{{reply: {{text: flow style}}}}]}}", "flow", "flow style"),
            ("rules:\\n  - reply: {{text: unnamed}}\\n", "test", "unnamed"),
            ("scenarios/file-one.yaml", "file-one", "from a file"),
            (Path("scenarios/file-one.yaml"), "file-one", "from a file"),
            ("scenarios", "file-one", "from a file"),
            (Path("scenarios"), "file-one", "from a file"),
            ("json-extraction", "json-extraction", None),
        ])
        def test_source(azure_openai_client, aoai_mock, source, name, answer):
            assert aoai_mock.load_scenario(source) == name
            assert aoai_mock.runtime.book.active == name
            if answer is not None:
                assert ask(azure_openai_client) == answer
                aoai_mock.assert_called(scenario=name, times=1)

        def test_a_folder_loads_every_file(aoai_mock):
            aoai_mock.load_scenario("scenarios")
            assert sorted(aoai_mock.runtime.book.names()) == ["file-one", "file-two"]

        def test_load_without_activating(aoai_mock):
            assert aoai_mock.load_scenario({{"name": "later", "rules": []}}, activate=False) == "later"
            assert aoai_mock.runtime.book.active is None

        @pytest.mark.aoai_scenario({{"name": "marked", "rules": [{{"reply": {{"text": "from the marker"}}}}]}})
        def test_the_marker_takes_a_mapping(azure_openai_client):
            assert ask(azure_openai_client) == "from the marker"

        @pytest.mark.aoai_scenario({ONE_RULE!r})
        def test_the_marker_takes_one_line_yaml(azure_openai_client):
            assert ask(azure_openai_client) == "from one line"
        """
    )
    result = pytester.runpytest_subprocess("-q")
    result.assert_outcomes(passed=13)


def test_a_one_line_yaml_string_is_text() -> None:
    (scenario,) = scenarios_from(ONE_RULE)
    assert (scenario.name, scenario.rules[0].reply.text) == ("one-line", "from one line")


def test_a_mapping_with_tuples_is_a_scenario() -> None:
    (scenario,) = scenarios_from({"name": "tupled", "rules": ({"match": {"deployment": ("a", "b")}, "reply": {"text": "x"}},)})
    assert scenario.rules[0].match.deployment == ["a", "b"]


def test_an_existing_file_wins_over_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "name: looks-like-yaml").write_text("name: from-the-file\nrules: []\n")
    (scenario,) = scenarios_from("name: looks-like-yaml")
    assert scenario.name == "from-the-file"


def test_a_mistyped_name_says_what_was_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as caught:
        scenarios_from("weather-agnet")
    message = str(caught.value)
    assert message.startswith("'weather-agnet': not a scenario. Tried: a file or folder (no such path: ")
    assert str(tmp_path / "weather-agnet") in message
    assert "a shipped scenario (flaky-service, " in message and "did you mean 'weather-agent'?" in message
    assert message.endswith("YAML text of a scenario (it reads as a string, not a mapping)")


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ("- a\n- b", "it reads as a list, not a mapping"),
        ("name: [unclosed", "not valid YAML: "),
        ("", "it reads as nothing, not a mapping"),
    ],
)
def test_text_that_is_no_mapping(source: str, why: str) -> None:
    with pytest.raises(ScenarioError, match="not a scenario. Tried: ") as caught:
        scenarios_from(source)
    assert why in str(caught.value)


def test_a_missing_path_object_is_not_taken_for_text(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file or folder"):
        scenarios_from(tmp_path / "missing.yaml")


def test_yaml_with_a_mistake_names_the_field() -> None:
    with pytest.raises(ScenarioError, match=r"<test>:1: rules\[0\]\.reply: a reply needs exactly one of"):
        scenarios_from("{name: x, rules: [{reply: {}}]}")


def test_anything_else_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="takes a mapping, YAML text, a path or a shipped scenario's name, not int"):
        scenarios_from(42)  # type: ignore[arg-type]
