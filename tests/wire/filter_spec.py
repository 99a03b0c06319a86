"""Content-filter annotations checked against the spec of their own api-version.

Each range of ``aoai_mock.behaviour.content_filter_table`` is held to one spec: the excerpts in
``tests/data/spec/content-filter-<version>.json`` (registered here with ``tests/spec_schema.py``; provenance in
``data/spec/SOURCES.md``), and the 2024-10-21 inference spec for the GA versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aoai_mock.wire import api_versions as av

from tests import spec_schema
from tests.spec_schema import SpecFile

__all__ = ["FilterSpec", "filter_spec", "check", "ANNOTATED_VERSIONS"]

_EXCERPTS = {
    "2023-06-01-preview": "b8f5277d0ecd01707f517e4cf9d5be5fa9c4b2bc366290fdef95e716caddbfea",
    "2024-03-01-preview": "7cc6de1d03ad631d4742c76a3227bc21c21987659d018c31e539100ea561ea2b",
    "2024-05-01-preview": "466e665b11be6218a57e0a7f4aa9c7dd3b381275e0d153861404373a46de634b",
    "2025-03-01-preview": "df5761b6cc5cde767f004a9a6b89d751fc3e4e2868aa3afcec3fc88d99295083",
}
for _version, _sha in _EXCERPTS.items():
    spec_schema.SPECS.setdefault(
        f"content-filter-{_version}",
        SpecFile(
            spec_schema._DATA / f"content-filter-{_version}.json", _sha, f"urn:azure-openai:content-filter-{_version}"
        ),
    )


@dataclass(frozen=True)
class FilterSpec:
    """Where one api-version's annotations are declared."""

    spec_name: str
    prompt: str  # the schema of prompt_filter_results[i].content_filter_results
    choice: str  # of choices[i].content_filter_results
    image_prompt: str | None  # of data[i].prompt_filter_results
    image_content: str | None


def filter_spec(api_version: str) -> FilterSpec:
    """The spec an annotated api-version is checked against."""
    found = av.lookup(api_version)
    assert found is not None and av.is_at_least(api_version, "2023-06-01-preview"), api_version
    names = ("contentFilterPromptResults", "contentFilterChoiceResults", "dalleFilterResults", "dalleContentFilterResults")
    if found.v1_family or (found.preview and av.is_at_least(api_version, "2025-01-01-preview")):
        return FilterSpec("content-filter-2025-03-01-preview", *names)
    if not found.preview:
        return FilterSpec(spec_schema.INFERENCE, *names)
    if av.is_at_least(api_version, "2024-04-01-preview"):
        return FilterSpec("content-filter-2024-05-01-preview", *names)
    if av.is_at_least(api_version, "2023-12-01-preview"):
        return FilterSpec("content-filter-2024-03-01-preview", *names)
    return FilterSpec("content-filter-2023-06-01-preview", "contentFilterResults", "contentFilterResults", None, None)


def check(api_version: str, which: str, results: Any) -> list[str]:
    """Schema violations and undeclared keys of ``results`` (``which``: prompt, choice, image_prompt, ...)."""
    known = filter_spec(api_version)
    name = getattr(known, which)
    assert name is not None, f"{api_version} has no {which} schema"
    # Where Azure's answer and the spec disagree, the answer wins: an unmatched custom blocklist is reported as
    # {"filtered": false}, without the `details` the spec requires [captured: recordings/chat/
    # net-AsyncContentFilterWorksStreaming]. Everything else is held to the spec.
    if isinstance(results, dict) and results.get("custom_blocklists") == {"filtered": False}:
        results = {**results, "custom_blocklists": {"filtered": False, "details": []}}
    problems = spec_schema.errors(name, results, spec_name=known.spec_name)
    extra = spec_schema.undeclared(name, results, spec_name=known.spec_name)
    return problems + [f"{key}: not declared by {known.spec_name}" for key in sorted(extra)]


ANNOTATED_VERSIONS = tuple(
    name
    for name, version in av.API_VERSIONS.items()
    if av.CHAT in version.operations and av.is_at_least(name, "2023-06-01-preview")
)
