"""Scenarios: YAML files of rules that decide what the mock answers (see ``schema`` for the format).

The whole feature lives here: the format (``schema`` with ``match_schema``, ``fault_schema`` and
``runs_schema``), ``loader`` and ``watch`` (files -> Scenario), and at run time ``engine`` (the book of
loaded scenarios and the rule that answers), ``matching``, ``request_facts``, ``replies`` and
``templating``. It sits below the runtime and the API families, which ask it, and above the primitives its
replies are made of (responders, content filter, embeddings vectors, schema instances).
"""

from aoai_mock.behaviour.scenarios.loader import (
    Problem,
    ScenarioError,
    json_schema,
    load_file,
    load_paths,
    load_text,
    shipped,
)
from aoai_mock.behaviour.scenarios.schema import Rule, Scenario

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
