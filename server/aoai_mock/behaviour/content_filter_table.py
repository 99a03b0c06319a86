"""Which content-filter keys each api-version knows, and the annotation dicts built from them.

Read from the inference specs in Azure/azure-rest-api-specs (``contentFilter*`` schemas; the 2024-05-01-preview,
2024-10-21 and 2025-03-01-preview copies are in ``../shared/azure-openai-spec``; 2023-06-01-preview,
2023-12-01-preview, 2024-02-01, 2024-03-01-preview, 2024-04-01-preview and 2024-06-01 were read upstream):

=================================================  =========================================  ==================
api-versions                                        optional keys (prompt / choice)            custom_blocklists
=================================================  =========================================  ==================
GA 2022-12-01, 2023-05-15; previews before          no annotations at all
2023-06-01-preview
2023-06-01-preview .. 2023-10-01-preview            none (hate, self_harm, sexual, violence)   --
2023-12-01-preview .. 2024-03-01-preview            jailbreak, profanity / profanity,          a list of
                                                    protected_material_text, _code             ``{filtered, id}``
GA 2024-02-01, 2024-06-01, 2024-10-21               as above                                   --
2024-04-01-preview and later, ``v1``, ``preview``   + indirect_attack on prompts               ``{filtered,
                                                                                               details: [...]}``
=================================================  =========================================  ==================

Images (``dalleFilterResults``): profanity and jailbreak on the prompt, custom_blocklists from 2024-05-01-preview;
``data[i].content_filter_results`` has the four harm categories only.

The four harm categories are always reported. An optional key appears when the api-version knows it and the
deployment's filter reports it (turned on, or tripped). Everything here is cached and shared: never mutate it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aoai_mock.config import HARM_CATEGORIES
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.eras import era_for

__all__ = [
    "Era",
    "Hit",
    "era_of",
    "image_era_of",
    "SEVERITY_RANK",
    "SAFE",
    "NOT_DETECTED",
    "safe_results",
    "with_hits",
]

SEVERITY_RANK = {"safe": 0, "low": 1, "medium": 2, "high": 3}
SAFE: Mapping[str, Any] = {"filtered": False, "severity": "safe"}
NOT_DETECTED: Mapping[str, Any] = {"filtered": False, "detected": False}  # the service's key order [captured]
_HARM = frozenset(HARM_CATEGORIES)


@dataclass(frozen=True, slots=True)
class Era:
    """What one range of api-versions knows beyond the four harm categories."""

    name: str
    prompt: frozenset[str]
    choice: frozenset[str]
    blocklists: str | None  # "list", "detailed" or None (the key is unknown)
    sorted_detected: bool = False  # DALL-E writes {"detected", "filtered"}

    def knows(self, key: str, prompt_side: bool) -> bool:
        if key in _HARM:
            return True
        if key == "custom_blocklists":
            return self.blocklists is not None
        return key in (self.prompt if prompt_side else self.choice)


_SHIELDS = frozenset({"jailbreak", "profanity"})
_CHOICE_MODELS = frozenset({"profanity", "protected_material_text", "protected_material_code"})
ERA_2023_06 = Era("2023-06-01-preview", frozenset(), frozenset(), None)
ERA_2023_12 = Era("2023-12-01-preview", _SHIELDS, _CHOICE_MODELS, "list")
ERA_GA_2024 = Era("2024-02-01", _SHIELDS, _CHOICE_MODELS, None)
ERA_2024_04 = Era("2024-04-01-preview", _SHIELDS | {"indirect_attack"}, _CHOICE_MODELS, "detailed")
IMAGES = Era("images", _SHIELDS, frozenset(), None, sorted_detected=True)
IMAGES_BLOCKLISTS = Era("images-2024-05-01-preview", _SHIELDS, frozenset(), "detailed", sorted_detected=True)


_BY_GENERATION: Mapping[str, Era] = {
    "2023-06": ERA_2023_06,
    "2023-12": ERA_2023_12,
    "ga-2024": ERA_GA_2024,
    "2024-04": ERA_2024_04,
}


@lru_cache(maxsize=64)
def era_of(api_version: str) -> Era | None:
    """The content-filter era of a known api-version; None: no annotations at all.

    Which generation a version belongs to is the api-version era table's (:func:`aoai_mock.wire.eras.era_for`)."""
    if av.lookup(api_version) is None:
        return None
    generation = era_for(api_version).annotations
    return None if generation is None else _BY_GENERATION[generation]


@lru_cache(maxsize=64)
def image_era_of(api_version: str) -> Era | None:
    era = era_of(api_version)
    if era is None:
        return None
    found = av.lookup(api_version)
    assert found is not None  # era_of knows it
    if found.v1_family or (found.preview and av.is_at_least(api_version, "2024-05-01-preview")):
        return IMAGES_BLOCKLISTS
    return IMAGES


@dataclass(frozen=True, slots=True)
class Hit:
    """One finding: a category (or ``custom_blocklists``) tripped, and whether that filters the content."""

    category: str
    filtered: bool
    severity: str | None = None  # harm categories
    blocklist: str | None = None  # custom_blocklists: the list's id
    citation: Mapping[str, str] | None = None  # protected_material_code
    start: int = 0  # where the match starts in its text (completion side: where the text is cut)


def _detected(era: Era, detected: bool, filtered: bool) -> dict[str, Any]:
    if era.sorted_detected:
        return {"detected": detected, "filtered": filtered}
    return {"filtered": filtered, "detected": detected}


def safe_results(era: Era, reported: Iterable[str], blocklists: tuple[str, ...], prompt_side: bool) -> dict[str, Any]:
    """The all-safe results: the harm categories, and each reported optional key this era knows, sorted."""
    keys = set(HARM_CATEGORIES) | {k for k in reported if era.knows(k, prompt_side)}
    if blocklists and era.blocklists is not None:
        keys.add("custom_blocklists")
    out: dict[str, Any] = {}
    for key in sorted(keys):
        if key in _HARM:
            out[key] = dict(SAFE)
        elif key == "custom_blocklists":
            # No list matched: no ``details`` [captured: recordings/chat/net-AsyncContentFilterWorksStreaming,
            # the prompt's ``"custom_blocklists": {"filtered": false}``].
            out[key] = [] if era.blocklists == "list" else {"filtered": False}
        else:
            out[key] = _detected(era, False, False)
    return out


def with_hits(era: Era, base: Mapping[str, Any], hits: Iterable[Hit], prompt_side: bool) -> dict[str, Any]:
    """``base`` (not changed) with the hits written in: the worst severity per harm category wins."""
    out = dict(base)
    listed: dict[str, bool] = {}
    for hit in hits:
        key = hit.category
        if key == "custom_blocklists":
            if hit.blocklist is not None:
                listed[hit.blocklist] = listed.get(hit.blocklist, False) or hit.filtered
            continue
        if not era.knows(key, prompt_side):
            continue
        if key in _HARM:
            now = out.get(key, SAFE)
            worse = SEVERITY_RANK[hit.severity or "high"] > SEVERITY_RANK[now["severity"]]
            filtered = now["filtered"] or hit.filtered
            out[key] = {"filtered": filtered, "severity": hit.severity if worse else now["severity"]}
            continue
        made = _detected(era, True, hit.filtered or bool(out.get(key, {}).get("filtered")))
        if hit.citation is not None:
            made["citation"] = dict(hit.citation)
        out[key] = made
    if listed and era.blocklists is not None:
        details = [{"filtered": f, "id": i} for i, f in listed.items()]
        out["custom_blocklists"] = (
            details if era.blocklists == "list" else {"filtered": any(listed.values()), "details": details}
        )
    return dict(sorted(out.items()))
