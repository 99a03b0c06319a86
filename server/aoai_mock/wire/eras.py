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
* 2024-10-21 chat (recorded Dec 2024): no ``message.refusal``, ``logprobs.refusal`` or usage details,
  although the 2024-10-21 spec lists them; ``"usage": null`` on every chunk when ``include_usage`` is set.
* 2025-01-01-preview .. 2025-04-01-preview chat (recorded 2025): ``refusal`` (``delta.refusal: null`` on the
  role chunk) and the usage detail objects. The 2024-07 .. 2024-12 previews were not recorded; they are put
  with 2024-10-21, the service's behaviour in Dec 2024.

``annotations`` names the content-filter generation (:mod:`aoai_mock.behaviour.content_filter_table` maps it
to the keys it knows); None: no content-filter annotations at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from aoai_mock.wire import api_versions as av

__all__ = ["Era", "era_for", "LATEST", "PROMPT_FILTER_RESULTS", "PROMPT_ANNOTATIONS"]

PROMPT_FILTER_RESULTS = "prompt_filter_results"
PROMPT_ANNOTATIONS = "prompt_annotations"


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


_SHAPE_2023 = dict(
    refusal=False,
    usage_details=False,
    system_fingerprint=False,
    choice_logprobs=False,
    prompt_annotations_key=PROMPT_ANNOTATIONS,
    stream_usage_null=False,
)
_SHAPE_2024 = dict(refusal=False, usage_details=False)

BEFORE_ANNOTATIONS = Era("before-annotations", None, **_SHAPE_2023)
PREVIEW_2023_06 = Era("2023-06-01-preview", "2023-06", **_SHAPE_2023)
PREVIEW_2023_12 = Era("2023-12-01-preview", "2023-12", **_SHAPE_2024)
PREVIEW_2024_04 = Era("2024-04-01-preview", "2024-04", prompt_jailbreak=False, **_SHAPE_2024)
PREVIEW_2024_05 = Era("2024-05-01-preview", "2024-04", **_SHAPE_2024)
PREVIEW_2025 = Era("2025-01-01-preview", "2024-04")
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
        ("2025-01-01-preview", PREVIEW_2025),
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
