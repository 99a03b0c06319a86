"""The era table: which shape each api-version's answers have, one rule per recorded fact
(../shared/recordings; the file each rule rests on is named)."""

from __future__ import annotations

import pytest
from aoai_mock.wire.eras import LATEST, PROMPT_ANNOTATIONS, PROMPT_FILTER_RESULTS, era_for


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
    """chat/net-SimpleToolWorks-Required-2025, net-ChatWithO1Works."""
    assert era_for(version) == LATEST
    assert LATEST.refusal and LATEST.usage_details and LATEST.stream_usage_null


def test_versions_before_annotations_have_none() -> None:
    assert era_for("2022-12-01").annotations is None and era_for("2022-03-01-preview").annotations is None
