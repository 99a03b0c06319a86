"""The rate_limit and pacing blocks of a deployment: defaults, parsing, validation, the schema."""

from __future__ import annotations

from pathlib import Path

import pytest
from aoai_mock.behaviour.scenarios.loader import json_schema
from aoai_mock.config import (
    ConfigError,
    Deployment,
    PacingSpec,
    RateLimitSpec,
    default_config,
    load_config,
)

FILE = """
deployments:
  - name: slow-gpt
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    tokens_per_minute: 10000
    rate_limit:
      enforce: true
      requests_per_minute: 30
      default_max_tokens_estimate: 256
      token_window_seconds: 10
      retry_after: false
      limit_headers: true
      reset_headers: true
      policy_id: false
    pacing: {time_to_first_token_ms: 400, tokens_per_second: 40, jitter: 0.2}
  - {name: plain, model: gpt-4o, kind: chat}
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return load_config(path)


def test_defaults_are_off_and_documented_values():
    spec = RateLimitSpec()
    assert (spec.enforce, spec.requests_per_minute, spec.default_max_tokens_estimate) == (False, None, 1000)
    assert (spec.token_window_seconds, spec.request_window_seconds) == (60, 10)
    assert (spec.retry_after, spec.retry_after_ms, spec.remaining_headers, spec.policy_id) == (True,) * 4
    assert (spec.limit_headers, spec.reset_headers) == (False, False)
    assert PacingSpec() == PacingSpec(time_to_first_token_ms=0, tokens_per_second=0, jitter=0)
    assert not PacingSpec().enabled


def test_every_built_in_deployment_is_unmetered_and_unpaced():
    for d in default_config().deployments:
        assert d.rate_limit == RateLimitSpec() and d.pacing == PacingSpec()


def test_a_file_sets_both_blocks(tmp_path: Path):
    config = load(tmp_path, FILE)
    slow = config.deployment("slow-gpt")
    assert slow is not None
    assert slow.rate_limit == RateLimitSpec(
        enforce=True, requests_per_minute=30, default_max_tokens_estimate=256, token_window_seconds=10,
        retry_after=False, limit_headers=True, reset_headers=True, policy_id=False,
    )
    assert slow.pacing == PacingSpec(time_to_first_token_ms=400, tokens_per_second=40, jitter=0.2)
    assert slow.pacing.enabled
    plain = config.deployment("plain")
    assert plain is not None and plain.rate_limit == RateLimitSpec()


def test_requests_per_minute_override_and_azure_arithmetic():
    assert Deployment(name="a", model="m", kind="chat", tokens_per_minute=80_000).requests_per_minute == 480
    assert Deployment(name="a", model="m", kind="chat", tokens_per_minute=100).requests_per_minute == 1
    custom = Deployment(name="a", model="m", kind="chat", rate_limit={"requests_per_minute": 7})
    assert custom.requests_per_minute == 7
    assert dict(custom.rate_headers)[b"x-ratelimit-remaining-requests"] == b"6"


def test_built_in_deployments_survive_a_file_without_deployments(tmp_path: Path):
    config = load(tmp_path, "region: West Europe\n")
    assert config.deployments == default_config().deployments


@pytest.mark.parametrize(
    ("block", "fragment"),
    [
        ("rate_limit: {enforce: true, burst: 3}", "deployments.0.rate_limit.burst"),
        ("rate_limit: {requests_per_minute: 0}", "deployments.0.rate_limit.requests_per_minute"),
        ("rate_limit: {default_max_tokens_estimate: -1}", "deployments.0.rate_limit.default_max_tokens_estimate"),
        ("rate_limit: {token_window_seconds: 0}", "deployments.0.rate_limit.token_window_seconds"),
        ("rate_limit: {request_window_seconds: 61}", "deployments.0.rate_limit.request_window_seconds"),
        ("rate_limit: {retry_after: maybe}", "deployments.0.rate_limit.retry_after"),
        ("pacing: {tokens_per_second: -5}", "deployments.0.pacing.tokens_per_second"),
        ("pacing: {time_to_first_token_ms: -1}", "deployments.0.pacing.time_to_first_token_ms"),
        ("pacing: {jitter: 1.5}", "deployments.0.pacing.jitter"),
        ("pacing: {ttft: 100}", "deployments.0.pacing.ttft"),
    ],
)
def test_bad_values_name_the_field(tmp_path: Path, block: str, fragment: str):
    text = f"deployments:\n  - name: x\n    model: gpt-4o\n    kind: chat\n    {block}\n"
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert fragment in str(caught.value) and str(tmp_path) in str(caught.value)


def test_the_scenario_schema_describes_the_new_blocks():
    definitions = json_schema()["$defs"]
    deployment = definitions["Deployment"]["properties"]
    assert {"rate_limit", "pacing"} <= set(deployment)
    assert set(definitions["RateLimitSpec"]["properties"]) == set(RateLimitSpec.model_fields)
    assert set(definitions["PacingSpec"]["properties"]) == set(PacingSpec.model_fields)
    assert definitions["PacingSpec"]["properties"]["jitter"]["maximum"] == 1
