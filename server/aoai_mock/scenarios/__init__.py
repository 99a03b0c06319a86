"""Scenarios: YAML files of rules that decide what the mock answers (see ``schema`` for the format)."""

from aoai_mock.scenarios.loader import (
    Problem,
    ScenarioError,
    json_schema,
    load_file,
    load_paths,
    load_text,
    shipped,
)
from aoai_mock.scenarios.schema import Rule, Scenario

__all__ = [
    "Problem",
    "Rule",
    "Scenario",
    "ScenarioError",
    "json_schema",
    "load_file",
    "load_paths",
    "load_text",
    "shipped",
]
