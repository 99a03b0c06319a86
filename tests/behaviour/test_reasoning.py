"""Reasoning deployments: the parameters they refuse, worded per model, and the tokens they think with."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_mock.behaviour import reasoning
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire.requests import ChatRequest

MESSAGES = [{"role": "user", "content": "Hi"}]


def deployment(model: str, reasoning_model: bool = True) -> Deployment:
    return Deployment.model_validate({"name": model, "model": model, "kind": "chat", "reasoning": reasoning_model})


def refusal(model: str, **body: Any) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as caught:
        reasoning.check_parameters(deployment(model), ChatRequest.model_validate({"messages": MESSAGES, **body}))
    return caught.value


@pytest.mark.parametrize("model", ["o1", "o3-mini", "o4-mini"])
def test_max_tokens_points_to_max_completion_tokens(model: str) -> None:
    error = refusal(model, max_tokens=100)
    assert (error.code, error.param) == ("unsupported_parameter", "max_tokens")
    assert error.message == (
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.")


def test_temperature_is_a_value_on_o1_and_a_parameter_on_o3_mini() -> None:
    error = refusal("o1", temperature=0.5)
    assert (error.code, error.param) == ("unsupported_value", "temperature")
    assert error.message == ("Unsupported value: 'temperature' does not support 0.5 with this model. Only the "
                             "default (1) value is supported.")
    assert refusal("o4-mini", temperature=0).message.startswith("Unsupported value: 'temperature' does not support 0.0")
    error = refusal("o3-mini", temperature=0.5)
    assert (error.code, error.message) == (
        "unsupported_parameter", "Unsupported parameter: 'temperature' is not supported with this model.")


@pytest.mark.parametrize(("name", "value"), [("top_p", 1), ("top_p", 0.9), ("presence_penalty", 0.5),
                                             ("frequency_penalty", -1), ("logprobs", True), ("top_logprobs", 2),
                                             ("logit_bias", {"50256": -100})])  # fmt: skip
def test_other_sampling_parameters_are_unsupported(name: str, value: Any) -> None:
    error = refusal("o1", **{name: value})
    assert (error.code, error.param) == ("unsupported_parameter", name)
    assert error.message == f"Unsupported parameter: '{name}' is not supported with this model."


def test_defaults_and_other_deployments_pass() -> None:
    ok = {"temperature": 1, "presence_penalty": 0, "frequency_penalty": 0, "logprobs": False,
          "max_completion_tokens": 50}  # fmt: skip
    reasoning.check_parameters(deployment("o1"), ChatRequest.model_validate({"messages": MESSAGES, **ok}))
    anything = {"temperature": 0.2, "top_p": 0.5, "max_tokens": 10, "logprobs": True, "top_logprobs": 2}
    plain = ChatRequest.model_validate({"messages": MESSAGES, **anything})
    reasoning.check_parameters(deployment("gpt-4o", False), plain)


def test_thinking_tokens_follow_the_effort() -> None:
    o1 = deployment("o1")
    efforts = (None, "minimal", "low", "medium", "high")
    assert [reasoning.thinking_tokens(o1, e) for e in efforts] == [64, 0, 32, 64, 128]
    assert reasoning.thinking_tokens(deployment("gpt-4o", False), "high") == 0
