"""Content-filter annotations, computed once per api-version and shared (callers must not mutate them).

For now every result is ``safe``/not detected, in the shape each api-version knows; annotations first
appeared with 2023-06-01-preview."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aoai_mock.wire import api_versions as av

__all__ = ["prompt_results", "choice_results", "annotates"]

_SAFE = {"filtered": False, "severity": "safe"}
_NOT_DETECTED = {"filtered": False, "detected": False}
_FIRST_ANNOTATED = "2023-06-01-preview"
_JAILBREAK_FROM = "2023-12-01-preview"


def annotates(api_version: str) -> bool:
    return av.is_at_least(api_version, _FIRST_ANNOTATED)


@lru_cache(maxsize=256)
def prompt_results(api_version: str, prompts: int = 1, jailbreak: bool = True) -> list[dict[str, Any]] | None:
    """``jailbreak=False`` for legacy completions: the service's captured answer (seed 004) has no such key."""
    if not annotates(api_version):
        return None
    results: dict[str, Any] = {
        "hate": dict(_SAFE),
        "self_harm": dict(_SAFE),
        "sexual": dict(_SAFE),
        "violence": dict(_SAFE),
    }
    if jailbreak and av.is_at_least(api_version, _JAILBREAK_FROM):
        results["jailbreak"] = dict(_NOT_DETECTED)
    return [{"prompt_index": i, "content_filter_results": results} for i in range(prompts)]


@lru_cache(maxsize=256)
def choice_results(api_version: str) -> dict[str, Any] | None:
    if not annotates(api_version):
        return None
    return {"hate": dict(_SAFE), "self_harm": dict(_SAFE), "sexual": dict(_SAFE), "violence": dict(_SAFE)}
