"""Reasoning (o-series) deployments: the sampling parameters they refuse, and the tokens they think with.

What the service documents [documented: learn.microsoft.com/azure/ai-services/openai/how-to/reasoning, "Not
supported"]: reasoning models do not take ``temperature``, ``top_p``, ``presence_penalty``,
``frequency_penalty``, ``logprobs``, ``top_logprobs``, ``logit_bias`` or ``max_tokens``; ``max_completion_tokens``
caps the reasoning and the visible answer together. How it words the refusals, from answers quoted in public
issues (Azure and OpenAI word them alike):

* ``max_tokens``: "Unsupported parameter: 'max_tokens' is not supported with this model. Use
  'max_completion_tokens' instead." (``unsupported_parameter``; o1, o1-mini, o3-mini, o4-mini on Azure);
* ``temperature`` other than 1: o3-mini says "Unsupported parameter: 'temperature' is not supported with this
  model." (``unsupported_parameter``, Azure, 2025), the others "Unsupported value: 'temperature' does not support
  0.0 with this model. Only the default (1) value is supported." (``unsupported_value``; o4-mini on Azure, o1);
* ``top_p`` (even unset by hand: clients that send a default are refused), ``logit_bias``: "Unsupported
  parameter: '<name>' is not supported with this model." (o1-preview, o4-mini; Azure o-series for logit_bias);
* the penalties: 0 (their default) is accepted [a public capture of an Azure o1 answer sent both as 0]; another
  value, and ``logprobs: true`` or ``top_logprobs``, get the same "Unsupported parameter" refusal [inferred from
  the documented list and the wording above].
"""

from __future__ import annotations

from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire.requests import ChatRequest

__all__ = ["check_parameters", "thinking_tokens", "EFFORT_TOKENS"]

# What a reasoning deployment "thinks" per choice before it writes, by reasoning_effort (None: medium). Invented
# figures, fixed so that the same request always spends the same tokens.
EFFORT_TOKENS = {"minimal": 0, "low": 32, "medium": 64, "high": 128}
_TEMPERATURE_UNSUPPORTED = frozenset({"o3-mini"})  # refuse temperature as a parameter, not a value


def _unsupported(name: str, hint: str = "") -> InvalidRequest:
    return InvalidRequest(
        f"Unsupported parameter: '{name}' is not supported with this model.{hint}",
        param=name,
        code="unsupported_parameter",
    )


def check_parameters(deployment: Deployment, request: ChatRequest) -> None:
    """The service's 400 for a sampling parameter a reasoning deployment does not take; nothing otherwise."""
    if not deployment.reasoning:
        return
    if request.max_tokens is not None:
        raise _unsupported("max_tokens", " Use 'max_completion_tokens' instead.")
    temperature = request.temperature
    if temperature is not None and deployment.model in _TEMPERATURE_UNSUPPORTED:
        raise _unsupported("temperature")
    if temperature is not None and temperature != 1:
        raise InvalidRequest(
            f"Unsupported value: 'temperature' does not support {float(temperature)!r} with this model. Only the "
            "default (1) value is supported.",
            param="temperature",
            code="unsupported_value",
        )
    if request.top_p is not None:
        raise _unsupported("top_p")
    for name in ("presence_penalty", "frequency_penalty"):
        if getattr(request, name) not in (None, 0):
            raise _unsupported(name)
    if request.logprobs:
        raise _unsupported("logprobs")
    if request.top_logprobs is not None:
        raise _unsupported("top_logprobs")
    if request.logit_bias is not None:
        raise _unsupported("logit_bias")


def thinking_tokens(deployment: Deployment, effort: str | None) -> int:
    """The reasoning tokens one choice spends before its visible answer (0 for other deployments)."""
    if not deployment.reasoning:
        return 0
    return EFFORT_TOKENS[effort or "medium"]
