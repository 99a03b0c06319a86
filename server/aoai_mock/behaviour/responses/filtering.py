"""The deployment's content filter on the Responses API: a blocked prompt, a cut answer.

The filter is the chat one (``behaviour/content_filter.py``: the same configuration, triggers, blocklists and
Prompt Shields); only what the Responses API answers differs. Two steps::

    check_prompt(prepared)                           # the request pipeline, before the responder runs
    screen_output(deployment, api_version, choice, output)   # inside service.create, before the response
                                                     # object is built, stored or streamed

What the service answers, and how sure we are:

* **A blocked prompt** is a 400 with ``code: content_filter``, ``param: prompt``, ``type:
  invalid_request_error``, no ``status`` and no ``innererror`` (unlike chat's), and a message whose apostrophe
  is the typographic one (``OpenAI’s``) [captured, third party: an openai SDK exception for
  ``POST /openai/responses?api-version=2025-03-01-preview`` kept in Mirascope/mirascope,
  ``python/tests/e2e/output/snapshots/test_refusal/azure-openai_responses_gpt_4o_mini_snapshots.py``].
  On the v1 family (``/openai/v1/responses``) the error also carries
  ``content_filters: [{"blocked": true, "source_type": "prompt", "content_filter_results": {...}}]`` beside
  ``code`` [documented: Microsoft's Responses API migration cheat sheet, "Content filter error handling":
  ``error.body["content_filters"][0]["content_filter_results"]`` replaces chat's ``innererror``]. The results
  are the prompt's, with the keys the api-version knows (the table chat uses). Which dated previews also send
  ``content_filters`` is unknown; they keep the captured shape [inferred].
* **A cut answer**: ``status: incomplete``, ``incomplete_details: {"reason": "content_filter"}`` [spec: the
  2025-03-01-preview and v1 ``response`` schemas list ``content_filter`` as an incomplete reason], the message
  item ``incomplete`` with its text cut where the filtered hit starts, usage counting what was sent
  [inferred, as chat's ``finish_reason: content_filter``]. A stream sends the kept deltas, then the ``.done``
  events with the cut text, then ``response.incomplete`` (``events.py`` does this for any incomplete answer)
  [inferred]. A hit that is only annotated changes nothing.
* **No annotations**: the recorded Responses objects carry none (``content_filters: null`` in Aug 2025,
  no key in Mar 2025) [captured, recordings/responses/].

As for chat, refusals and function-call arguments are not screened, and an answer with function calls is not
screened at all (a scenario reply's trip included).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from aoai_mock.behaviour import content_filter
from aoai_mock.behaviour.responders.base import Choice
from aoai_mock.behaviour.responses import items as input_items
from aoai_mock.behaviour.responses.build import Output, Planned
from aoai_mock.config import Deployment
from aoai_mock.errors import PromptFiltered, ResponsesPromptFiltered
from aoai_mock.wire import api_versions as av


class Prepared(Protocol):
    """What the prompt check reads of a prepared request (``service.Prepared``, which imports this module)."""

    deployment: Deployment
    api_version: str
    chat: list[dict[str, Any]]


__all__ = ["ResponsesPromptFiltered", "check_prompt", "screen_output"]  # the error: errors.py


def _v1_family(api_version: str) -> bool:
    found = av.lookup(api_version)
    return found is not None and found.v1_family


def check_prompt(prepared: Prepared) -> None:
    """Screen the whole conversation the model would read (instructions, the chained history, this input; tool
    outputs as documents) with the deployment's filter; raises :class:`ResponsesPromptFiltered` when a hit is
    filtered. A hit that is only annotated passes: Responses objects carry no annotations."""
    screen = content_filter.for_deployment(prepared.deployment)
    try:
        screen.chat_prompt(prepared.api_version, input_items.messages(prepared.chat))
    except PromptFiltered as blocked:
        raise ResponsesPromptFiltered(blocked.results, _v1_family(prepared.api_version)) from None


def screen_output(deployment: Deployment, api_version: str, choice: Choice, output: Output) -> Output:
    """``output`` with its message cut where the filter filters it (``incomplete: content_filter``), or as it
    was. ``choice`` is the responder's: a :class:`~aoai_mock.behaviour.content_filter.FilteredChoice` trips a
    category whatever its text (a scenario reply's ``content_filter``)."""
    trip = choice.trip if isinstance(choice, content_filter.FilteredChoice) else None
    screen = content_filter.for_deployment(deployment)
    if choice.tool_calls or (trip is None and not screen.screens_completions):
        return output
    index, plan = next(((i, p) for i, p in enumerate(output.items) if p.item["type"] == "message"), (-1, None))
    if plan is None:
        return output
    part = plan.item["content"][0]
    if part["type"] == "refusal" and trip is None:
        return output
    text = part["refusal"] if part["type"] == "refusal" else part["text"]
    cut = screen.completion(api_version, text, trip).apply(plan.pieces, "stop")
    if cut.finish_reason != "content_filter":
        return output
    items = list(output.items)
    items[index] = _cut_message(plan, cut.pieces)
    return replace(
        output, items=items, tokens=output.tokens - len(plan.pieces) + len(cut.pieces), incomplete="content_filter"
    )


def _cut_message(plan: Planned, pieces: tuple[str, ...]) -> Planned:
    part = dict(plan.item["content"][0])
    part["refusal" if part["type"] == "refusal" else "text"] = "".join(pieces)
    return Planned({**plan.item, "status": "incomplete", "content": [part]}, pieces)
