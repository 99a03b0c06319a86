"""Scenarios: YAML files of rules that decide what the mock answers (see ``schema`` for the format).

The whole feature lives here: the format (``schema`` with ``match_schema``, ``fault_schema`` and
``runs_schema``), ``loader`` and ``watch`` (files -> Scenario), and at run time ``engine`` (the book of
loaded scenarios and the rule that answers), ``matching``, ``request_facts``, ``replies`` and
``templating``. It sits below the runtime and the API families, which ask it, and above the primitives its
replies are made of (responders, content filter, embeddings vectors, schema instances).

The names below are the loader's and the schema's, imported when first asked for: the run-time modules (the
fault plans, the request facts) are imported without the format's models, which a server without scenario
files never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aoai_mock.behaviour.scenarios.loader import (
        json_schema,
        load_file,
        load_paths,
        load_text,
        shipped,
    )
    from aoai_mock.behaviour.scenarios.problems import Problem, ScenarioError
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

_FROM = {"Problem": "problems", "ScenarioError": "problems", "Rule": "schema", "Scenario": "schema"}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_FROM.get(name, 'loader')}"), name)
