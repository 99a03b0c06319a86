"""The era table: which shape each api-version's answers have, one rule per recorded fact
(../shared/recordings; the file each rule rests on is named)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aoai_mock.wire.eras import LATEST, PROMPT_ANNOTATIONS, PROMPT_FILTER_RESULTS, ResponsesShape, era_for


def test_2023_previews_say_prompt_annotations_without_fingerprint_logprobs_or_refusal() -> None:
    """chat/js-ChatAcrossModels-2023-08-01-preview."""
    era = era_for("2023-08-01-preview")
    assert era.prompt_annotations_key == PROMPT_ANNOTATIONS
    assert not (era.system_fingerprint or era.choice_logprobs or era.refusal or era.usage_details)


def test_2024_04_has_no_refusal_usage_details_or_safe_jailbreak() -> None:
    """chat/net-old-ChatCompletionsContentFilterCategories-2024-04-01-preview."""
    era = era_for("2024-04-01-preview")
    assert era.prompt_annotations_key == PROMPT_FILTER_RESULTS
    assert not (era.refusal or era.usage_details or era.prompt_jailbreak)
    assert era.system_fingerprint and era.choice_logprobs


def test_ga_2024_10_21_has_no_refusal_or_usage_details_but_null_usage_on_chunks() -> None:
    """chat/net-ChatCompletion*.json (Dec 2024)."""
    era = era_for("2024-10-21")
    assert not (era.refusal or era.usage_details)
    assert era.stream_usage_null and era.prompt_jailbreak


@pytest.mark.parametrize("version", ["2025-01-01-preview", "2025-03-01-preview", "2025-04-01-preview", "v1", "preview"])
def test_2025_and_the_v1_family_have_the_newest_shape(version: str) -> None:
    """chat/net-SimpleToolWorks-Required-2025, net-ChatWithO1Works (the Responses column: below)."""
    assert replace(era_for(version), name=LATEST.name, responses=LATEST.responses) == LATEST
    assert LATEST.refusal and LATEST.usage_details and LATEST.stream_usage_null


def test_versions_before_annotations_have_none() -> None:
    assert era_for("2022-12-01").annotations is None and era_for("2022-03-01-preview").annotations is None


def test_responses_in_2025_03_01_preview_as_recorded_in_march_2025() -> None:
    """responses/net-HelloWorldStreaming-2025-03-01-preview-Mar2025."""
    shape = era_for("2025-03-01-preview").responses
    assert not (shape.sequence_number or shape.lifecycle_keys or shape.top_logprobs or shape.text_logprobs)
    assert not (shape.obfuscation or shape.content_filters_key or shape.cache_and_safety_keys)
    assert shape.reasoning_summary_key == "generate_summary" and shape.extra_input_tokens == 17


def test_responses_in_2025_04_01_preview_as_recorded_in_august_2025() -> None:
    """responses/net-*-2025-04-01-preview (Aug 2025)."""
    shape = era_for("2025-04-01-preview").responses
    assert shape.sequence_number and shape.lifecycle_keys and shape.content_filters_key and shape.cache_and_safety_keys
    assert not (shape.top_logprobs or shape.text_logprobs or shape.obfuscation)
    assert shape.reasoning_summary_key == "summary" and shape.extra_input_tokens == 0


@pytest.mark.parametrize("version", ["v1", "preview"])
def test_responses_on_the_v1_family_have_the_newest_shape(version: str) -> None:
    assert era_for(version).responses == ResponsesShape() == LATEST.responses


@pytest.mark.parametrize(("version", "shown"), [
    ("2023-08-01-preview", False), ("2024-03-01-preview", False), ("2024-04-01-preview", False),
    ("2024-02-01", True), ("2024-10-21", True), ("2024-08-01-preview", True), ("2025-01-01-preview", True),
    ("2025-03-01-preview", True), ("v1", True)])  # fmt: skip
def test_the_default_filter_annotates_protected_material_from_dec_2024_on(version: str, shown: bool) -> None:
    """chat/net-ChatCompletion (2024-10-21), net-ChatWithO1Works (2025-03-01-preview) and the asynchronous
    filter's stream (2025-01-01-preview) show it; the 2024-04-01-preview and 2023 recordings never do."""
    assert era_for(version).choice_protected_material is shown


@pytest.mark.parametrize(("version", "shape"), [
    ("2023-12-01-preview", "inner_error"), ("2024-02-15-preview", "inner_error"), ("2024-03-01-preview", "inner_error"),
    ("2024-04-01-preview", "innererror"), ("2024-12-01-preview", "innererror"), ("2024-10-21", "innererror"),
    ("2024-02-01", "innererror"), ("v1", "innererror")])  # fmt: skip
def test_the_blocked_prompt_error_shape_by_era(version: str, shape: str) -> None:
    """errors/issues-error-bodies#3 (2024-02-15-preview: inner_error) and #2, #4 (2024-10-21: innererror)."""
    assert era_for(version).prompt_filter_error == shape
