"""``--watch`` reloads: a good one is handed to the caller, a broken one is logged and changes nothing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios import Scenario
from aoai_mock.behaviour.scenarios.watch import reload, watched_paths
from aoai_mock.settings import Settings

from tests.behaviour.scenarios.helpers import scenario

GOOD = "name: answers\nrules: [{reply: {text: hi}}]\n"
BROKEN = "name: answers\nrules: [{reply: {txet: x}}]\n"
FAULTY = "name: faulty\nfaults:\n  - {id: t, kind: 429, next: 1}\nrules: [{reply: {text: hi}}]\n"


def test_a_good_reload_hands_the_scenarios_to_apply(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(GOOD)
    applied: list[list[Scenario]] = []
    assert reload([str(path)], applied.append) is True
    assert [[s.name for s in scenarios] for scenarios in applied] == [["answers"]]


def test_a_broken_file_is_logged_and_apply_is_not_called(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(BROKEN)
    applied: list[list[Scenario]] = []
    with caplog.at_level(logging.ERROR, logger="aoai_mock"):
        assert reload([str(path)], applied.append) is False
    assert applied == []
    assert "scenarios not reloaded" in caplog.text and "txet" in caplog.text


def test_only_files_and_folders_are_watched(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(GOOD)
    assert watched_paths([str(path), str(tmp_path), "a-shipped-name"]) == [path, tmp_path]


def test_the_runtime_takes_a_reload_keeping_the_active_scenario_and_its_faults() -> None:
    runtime = Runtime.create(Settings())
    runtime.load_scenarios([scenario(GOOD), scenario(FAULTY)])
    assert runtime.book.active == "answers" and runtime.faults.sources() == []
    runtime.book.activate("faulty")
    runtime.load_scenarios([scenario(GOOD)])
    assert runtime.book.active == "faulty"
    assert runtime.faults.sources() == ["scenario:faulty"]
