"""Eras: how the shape of an answer changed with the api-version, in one table.

A faithful mock answers each api-version as Azure answered it then. Each row of ``_TABLE`` names the first
version of a chain (dated previews, dated GAs) from which an :class:`Era` holds, until the next row of the same
chain; the v1 family (``v1``, ``preview``) answers in the newest era. :func:`era_for` reads the table through
the api-version table (:mod:`aoai_mock.wire.api_versions`), so every version it knows has exactly one era.

What the rows rest on (the recordings in ``../shared/recordings`` win over the specs where they disagree):

* 2023-08-01-preview chat (recorded Aug 2023): ``prompt_annotations``, no ``system_fingerprint``, no
  ``choices[i].logprobs`` and no ``refusal``; completions of the same version and model: no
  ``system_fingerprint`` but ``prompt_filter_results`` (only a retired model wrote ``prompt_annotations`` on
  completions), so the key applies to chat only. The row ends at 2023-12-01-preview, the version that brought
  ``system_fingerprint`` and seeds, and the first one whose content-filter schemas changed again (an inference).
* 2024-04-01-preview chat (recorded Apr 2024): no ``refusal``, no usage details, and no ``jailbreak`` in the
  all-safe prompt results. Tripped, jailbreak is still reported (the spec knows the key).
* ``choice_protected_material``: from the Dec 2024 service on (2024-10-21 recorded Dec 2024, 2025-03-01-preview
  recorded Mar 2025, the asynchronous filter of 2025-01-01-preview recorded Apr 2025), Azure's default filter
  annotates completions with ``protected_material_code`` and ``protected_material_text`` (not detected) without
  the deployment turning them on; the Apr 2024 recordings (2024-04-01-preview) and the 2023 ones never show them.
  When a choice carries them is the content filter's (:mod:`aoai_mock.behaviour.content_filter`).
* ``prompt_filter_error``: a blocked prompt's 400 under 2024-02-15-preview (quoted Jan 2025) has ``inner_error``
  with plural ``content_filter_results``, no ``status`` and a message with ``\r\n`` before the link and a final
  full stop; under 2024-10-21 (Jan and Feb 2025) and 2024-12-01-preview it has ``innererror``, singular
  ``content_filter_result`` and ``status`` [captured: recordings/errors/issues-error-bodies; issues corpus]. The
  older shape is given to the row holding 2024-02-15-preview (2023-12-01-preview .. 2024-03-01-preview).
* 2024-10-21 chat (recorded Dec 2024): no ``message.refusal``, ``logprobs.refusal`` or usage details,
  although the 2024-10-21 spec lists them; ``"usage": null`` on every chunk when ``include_usage`` is set.
* ``forced_tool_choice_tokens``: the same gpt-4o request with ``tool_choice: "required"`` counted 107 prompt
  tokens under 2024-10-21 (Dec 2024) and 105 under 2025-04-01-preview (Apr 2025) [captured:
  recordings/chat/net-SimpleToolWorksStreaming-Required, recordings/chat/net-SimpleToolWorks-Required-2025].
  Apr 2025's follow-up without a tool choice (150) leaves 1 token to the forced choice; the 2 more of Dec 2024
  are put on it too [inferred]. The 2024 rows take Dec 2024's 3, the 2025 rows Apr 2025's 1.
* 2025-01-01-preview .. 2025-04-01-preview chat (recorded 2025): ``refusal`` (``delta.refusal: null`` on the
  role chunk) and the usage detail objects. The 2024-07 .. 2024-12 previews were not recorded; they are put
  with 2024-10-21, the service's behaviour in Dec 2024.

Responses (``responses``, a :class:`ResponsesShape`; the API starts with 2025-03-01-preview):

* 2025-03-01-preview (recorded 19 Mar 2025, the first month of the preview): no ``sequence_number`` on events;
  the response object without ``background``, ``max_tool_calls``, ``service_tier``, ``tool_choice`` or
  ``top_logprobs``, its reasoning ``{"effort", "generate_summary"}``; text events without ``logprobs`` or
  ``obfuscation``; ``usage.input_tokens`` 17 above the conversation's count (28 for a 4-token message, 11 for
  the same size in Aug 2025: one recording, the overhead assumed constant) [captured:
  recordings/responses/net-HelloWorldStreaming-2025-03-01-preview-Mar2025].
* 2025-04-01-preview (recorded 6 Aug 2025): ``sequence_number``; ``content_filters: null``, ``prompt_cache_key``
  and ``safety_identifier`` (null), no ``top_logprobs``; text events without ``logprobs`` or ``obfuscation``
  [captured: recordings/responses/net-*-2025-04-01-preview*].
* The v1 family and the newest shape: the mock's own newest (``top_logprobs``, ``logprobs: []`` and
  ``obfuscation`` on text events; none of Aug 2025's Azure keys, which the v1 spec does not list).

The recordings are five months apart and the service changed under both version strings in that time (keys
such as ``prompt_cache_key`` came to 2025-04-01-preview long after its spec was written); what
2025-03-01-preview answered in Aug 2025, or 2025-04-01-preview in Apr 2025, was not recorded. The table can
only tell versions apart, so each version answers as its recording shows (the recordings README: "both are
right for their api-version") [inferred].

Assistants (``assistants``, an :class:`AssistantsShape`; the API starts with 2024-02-15-preview, v2 with
2024-05-01-preview; not on the v1 family):

* ``run_parallel_tool_calls``: runs carry ``parallel_tool_calls`` from 2024-09-01-preview on: its spec's
  ``runObject`` is the first to list it (2024-07-01-preview's and 2024-08-01-preview's do not)
  [documented: Azure/azure-rest-api-specs, inference/preview/<version>/inference.json, runObject]; the
  2024-05-01-preview runs recorded in Jun 2024 have none [captured: recordings/assistants/net-BasicRunOperations*],
  those of 2025-03-01-preview and 2025-04-01-preview have ``"parallel_tool_calls": true`` [captured:
  Azure/azure-sdk-assets net/.../AssistantTests/SettingResponseFormatWorks(Text).json @b040ce6,
  StreamingRunWorks.json @d30b730].
* ``stream_run_settings``: in a 2024-05-01-preview stream the run events after ``thread.run.queued``
  (``in_progress``, ``completed``) leave out ``max_completion_tokens``, ``max_prompt_tokens``,
  ``truncation_strategy`` and ``incomplete_details`` [captured: recordings/assistants/net-StreamingRunWorks];
  2025-04-01-preview's carry them [captured: azure-sdk-assets StreamingRunWorks.json @d30b730]. The rows from
  2024-07-01-preview on keep them (not recorded in between); the assistants v1 versions before 2024-05 take the
  recorded 2024-05 shape (an inference).

What every recorded version shares (runs with ``tool_resources``, REST messages without ``status``, steps with
``expires_at``) is no era's: :mod:`aoai_mock.behaviour.assistants.shapes` builds it.

``annotations`` names the content-filter generation (:mod:`aoai_mock.behaviour.content_filter_table` maps it
to the keys it knows); None: no content-filter annotations at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from aoai_mock.wire import api_versions as av

__all__ = [
    "Era", "ResponsesShape", "AssistantsShape", "era_for", "LATEST", "PROMPT_FILTER_RESULTS", "PROMPT_ANNOTATIONS",
]

PROMPT_FILTER_RESULTS = "prompt_filter_results"
PROMPT_ANNOTATIONS = "prompt_annotations"


@dataclass(frozen=True, slots=True)
class ResponsesShape:
    """What a Responses API answer carries: the response object and its stream events."""

    sequence_number: bool = True  # every stream event numbered from 0
    lifecycle_keys: bool = True  # the response's background, max_tool_calls, service_tier and tool_choice
    reasoning_summary_key: str = "summary"  # the response's reasoning: {"effort", <this key>}
    top_logprobs: bool = True  # the response's top_logprobs
    content_filters_key: bool = False  # "content_filters": null on the response
    cache_and_safety_keys: bool = False  # the response's prompt_cache_key and safety_identifier (null unless sent)
    text_logprobs: bool = True  # "logprobs": [] on output_text.delta and output_text.done
    obfuscation: bool = True  # "obfuscation" on deltas (unless stream_options.include_obfuscation is false)
    extra_input_tokens: int = 0  # usage.input_tokens above the conversation's count


RESPONSES_MAR_2025 = ResponsesShape(
    sequence_number=False,
    lifecycle_keys=False,
    reasoning_summary_key="generate_summary",
    top_logprobs=False,
    text_logprobs=False,
    obfuscation=False,
    extra_input_tokens=17,
)
RESPONSES_AUG_2025 = ResponsesShape(
    top_logprobs=False, content_filters_key=True, cache_and_safety_keys=True, text_logprobs=False, obfuscation=False
)


@dataclass(frozen=True, slots=True)
class AssistantsShape:
    """What an Assistants answer carries: runs and the assistant event stream."""

    run_parallel_tool_calls: bool = True  # runs carry parallel_tool_calls
    stream_run_settings: bool = True  # run events after thread.run.queued carry max_*_tokens, truncation, details


ASSISTANTS_2024_05 = AssistantsShape(run_parallel_tool_calls=False, stream_run_settings=False)
ASSISTANTS_2024_07 = AssistantsShape(run_parallel_tool_calls=False)


@dataclass(frozen=True, slots=True)
class Era:
    """What the answers of a range of api-versions carry."""

    name: str
    annotations: str | None  # content-filter generation; None: no annotations
    refusal: bool = True  # message.refusal, logprobs.refusal, delta.refusal on the role chunk
    usage_details: bool = True  # usage.completion_tokens_details and usage.prompt_tokens_details
    system_fingerprint: bool = True  # the key, on bodies and chunks (chat and completions)
    choice_logprobs: bool = True  # chat: choices[i].logprobs present (null when not asked)
    prompt_annotations_key: str = PROMPT_FILTER_RESULTS  # chat's key for the prompt's annotations
    stream_usage_null: bool = True  # include_usage: "usage": null on every chunk before the usage chunk
    prompt_jailbreak: bool = True  # the all-safe prompt results report jailbreak (when the filter reports it)
    choice_protected_material: bool = True  # Azure's default filter annotates choices with protected_material_*
    prompt_filter_error: str = "innererror"  # the blocked prompt's 400: "innererror" or "inner_error" (errors.py)
    forced_tool_choice_tokens: int = 1  # prompt tokens of a tool_choice that forces a call (behaviour/tokens.py)
    responses: ResponsesShape = ResponsesShape()  # the Responses API's shape (newest: the default)
    assistants: AssistantsShape = AssistantsShape()  # the Assistants API's shape (newest: the default)


_SHAPE_2023 = dict(
    refusal=False,
    usage_details=False,
    system_fingerprint=False,
    choice_logprobs=False,
    prompt_annotations_key=PROMPT_ANNOTATIONS,
    stream_usage_null=False,
    choice_protected_material=False,
)
_SHAPE_2024 = dict(refusal=False, usage_details=False, forced_tool_choice_tokens=3)

BEFORE_ANNOTATIONS = Era("before-annotations", None, **_SHAPE_2023)
PREVIEW_2023_06 = Era("2023-06-01-preview", "2023-06", **_SHAPE_2023)
PREVIEW_2023_12 = Era(
    "2023-12-01-preview", "2023-12", choice_protected_material=False, prompt_filter_error="inner_error", **_SHAPE_2024
)
PREVIEW_2024_04 = Era(
    "2024-04-01-preview", "2024-04", prompt_jailbreak=False, choice_protected_material=False, **_SHAPE_2024
)
PREVIEW_2023_12 = replace(PREVIEW_2023_12, assistants=ASSISTANTS_2024_05)  # assistants from 2024-02-15-preview
PREVIEW_2024_04 = replace(PREVIEW_2024_04, assistants=ASSISTANTS_2024_05)
PREVIEW_2024_05 = Era("2024-05-01-preview", "2024-04", assistants=ASSISTANTS_2024_05, **_SHAPE_2024)
PREVIEW_2024_07 = replace(PREVIEW_2024_05, name="2024-07-01-preview", assistants=ASSISTANTS_2024_07)
PREVIEW_2024_09 = replace(PREVIEW_2024_05, name="2024-09-01-preview", assistants=AssistantsShape())
PREVIEW_2025 = Era("2025-01-01-preview", "2024-04")
PREVIEW_2025_03 = replace(PREVIEW_2025, name="2025-03-01-preview", responses=RESPONSES_MAR_2025)
PREVIEW_2025_04 = replace(PREVIEW_2025, name="2025-04-01-preview", responses=RESPONSES_AUG_2025)
GA_BEFORE_ANNOTATIONS = Era("ga-before-annotations", None, **_SHAPE_2023)
GA_2024 = Era("2024-02-01", "ga-2024", **_SHAPE_2024)
LATEST = PREVIEW_2025  # the newest shape: the v1 family, and results made without an api-version

# (first version, era), per chain, oldest first
_TABLE: dict[bool, tuple[tuple[str, Era], ...]] = {
    True: (
        ("2022-03-01-preview", BEFORE_ANNOTATIONS),
        ("2023-06-01-preview", PREVIEW_2023_06),
        ("2023-12-01-preview", PREVIEW_2023_12),
        ("2024-04-01-preview", PREVIEW_2024_04),
        ("2024-05-01-preview", PREVIEW_2024_05),
        ("2024-07-01-preview", PREVIEW_2024_07),
        ("2024-09-01-preview", PREVIEW_2024_09),
        ("2025-01-01-preview", PREVIEW_2025),
        ("2025-03-01-preview", PREVIEW_2025_03),
        ("2025-04-01-preview", PREVIEW_2025_04),
    ),
    False: (
        ("2022-12-01", GA_BEFORE_ANNOTATIONS),
        ("2024-02-01", GA_2024),
    ),
}


@lru_cache(maxsize=64)
def era_for(api_version: str) -> Era:
    """The era of an api-version; unknown or undated values (already refused upstream) answer as the newest."""
    found = av.lookup(api_version)
    if found is None or found.v1_family:
        return LATEST
    era = LATEST
    for first, row in _TABLE[found.preview]:
        if av.is_at_least(api_version, first):
            era = row
    return era
