"""What the request pipeline (``behaviour/inference.py``) needs to meter and pace a Responses request.

* :func:`quota_estimate`: what the deployment's enforced token quota is charged before anything runs, as the
  seam's :class:`~aoai_mock.behaviour.inference.Estimate`. Azure's estimate is the prompt's tokens plus the
  most the request may generate [documented for chat completions: Azure's quota page, "prompt text and count,
  the max_tokens parameter setting"]; for Responses that is the whole conversation the model reads
  (instructions, the ``previous_response_id`` chain, this input, tools, images: ``Prepared.input_tokens``, the
  figure ``usage.input_tokens`` reports) plus ``max_output_tokens``, or the deployment's
  ``default_max_tokens_estimate`` when it is absent; one answer, Responses has no ``n`` [inferred]. The 429
  names the operation by ``behaviour/ratelimit.py``'s ``operation_id(av.RESPONSES)``.
* :func:`is_content_event`: the stream events pacing spaces out, one per token of text, refusal,
  function-call arguments or reasoning text; :func:`content_event_count` how many a created response streams.

How the count relates to ``usage.output_tokens``: equal for an answer that is only text (or a refusal, or
text the content filter cut) from a deployment that does not reason and whose reply states no usage. A
function call also counts its name and 3 tokens that stream nothing, and a reasoning deployment its 64
reasoning tokens (no reasoning events), so there the events are fewer. Pacing may use either:
``PaceSchedule`` paces events past its count at the same rate, and chat builds its schedule on the usage's
completion tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aoai_mock.behaviour.inference import Estimate

if TYPE_CHECKING:  # service imports the modules this one sits beside
    from aoai_mock.behaviour.responses.service import Created, Prepared

__all__ = ["quota_estimate", "CONTENT_EVENTS", "is_content_event", "content_event_count"]

# The events that carry generated text, one token (piece) each. The mock sends the first three; the
# reasoning ones are listed so a replayed or scripted stream that has them is paced too.
CONTENT_EVENTS = frozenset({
    "response.output_text.delta",
    "response.refusal.delta",
    "response.function_call_arguments.delta",
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
})


def quota_estimate(prepared: Prepared) -> Estimate:
    """The quota estimate of a prepared Responses request (``max_tokens`` None: the deployment's default)."""
    return Estimate(prepared.input_tokens, prepared.request.max_output_tokens)


def is_content_event(event: Mapping[str, Any]) -> bool:
    """Whether pacing waits before this stream event (a token of the answer), not before the others."""
    return event.get("type") in CONTENT_EVENTS


def content_event_count(created: Created) -> int:
    """How many content events the stream of ``created`` sends: one per streamed piece."""
    return sum(len(plan.pieces) for plan in created.planned)
