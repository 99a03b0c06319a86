"""Azure's content filter, per deployment: annotations, blocked prompts, cut completions (docs/content-filtering.md).

``for_deployment(deployment)`` gives the deployment's :class:`ContentFilter`, compiled once per configuration
and shared. The operations ask it, in order:

* ``chat_prompt`` / ``completion_prompts``: the prompt's ``prompt_filter_results``, or :class:`PromptFiltered`
  (Azure's 400) when a hit is filtered;
* ``completion(api_version, text, trip)``: a :class:`Verdict` per choice: its ``content_filter_results`` and,
  when a hit is filtered, where the text is cut (``finish_reason: content_filter``);
* ``image_prompt``: what ``data[i]`` of an image answer carries, or :class:`ImagePromptFiltered`.

Which keys appear is decided in ``content_filter_table``; what is looked for, in ``content_filter_rules``. Results
without a hit are computed once per api-version and shared: callers must never mutate them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aoai_mock.behaviour.content_filter_rules import CompiledFilter, compile_filter
from aoai_mock.behaviour.content_filter_table import (
    NOT_DETECTED,
    SEVERITY_RANK,
    Hit,
    era_of,
    image_era_of,
    safe_results,
    with_hits,
)
from aoai_mock.behaviour.responders.base import Choice
from aoai_mock.behaviour.shaping import cut_pieces, piece_at
from aoai_mock.config import HARM_CATEGORIES, ContentFilterSpec, Deployment
from aoai_mock.errors import ImagePromptFiltered, PromptFiltered
from aoai_mock.wire.eras import era_for

__all__ = [
    "ContentFilter",
    "for_deployment",
    "screen_image_prompt",
    "annotates",
    "FilterTrip",
    "FilteredChoice",
    "Verdict",
    "FilteredText",
    "ImageAnnotations",
    "first_sentence_end",
]

_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")
_SHIELDS = frozenset({"jailbreak", "indirect_attack"})
_CACHE_LIMIT = 1024


def annotates(api_version: str) -> bool:
    """Whether responses of this api-version carry content-filter annotations at all."""
    return era_of(api_version) is not None


@dataclass(slots=True)
class FilterTrip:
    """A completion that trips a category whatever its text (a scenario reply's ``content_filter``)."""

    category: str
    severity: str = "high"  # for harm categories
    filtered: bool | None = None  # None: the deployment's configuration decides
    citation: Mapping[str, str] | None = None


@dataclass(slots=True)  # not frozen: built for every request, and frozen init is twice as slow
class FilteredChoice(Choice):
    """A responder's choice that carries a :class:`FilterTrip`."""

    trip: FilterTrip | None = None


@dataclass(slots=True)
class FilteredText:
    """A shaped answer after the filter: its pieces, finish_reason and what its stream chunks carry."""

    pieces: tuple[str, ...]
    finish_reason: str
    results: dict[str, Any] | None  # the choice's content_filter_results
    before: dict[str, Any] | None = None  # what pieces before ``start`` carry in a stream
    start: int = 0


@dataclass(slots=True)
class Verdict:
    """What the filter says about one completion text."""

    results: dict[str, Any] | None  # the choice's content_filter_results (None: the api-version has none)
    cut: int | None = None  # a filtered hit: the text ends here, finish_reason content_filter
    flagged_from: int | None = None  # the first hit's position: stream chunks before it carry ``safe``
    safe: dict[str, Any] | None = None

    def apply(self, pieces: tuple[str, ...], finish_reason: str, every: int = 0) -> FilteredText:
        """The shaped answer's pieces, cut where a filtered hit starts.

        ``every``: the asynchronous filter's window (characters; 0: the default, buffered mode). The text goes out
        before it is checked, so a filtered hit stops the stream only when the window holding it is checked
        before the text has ended, and then after that window; a text that ends first finishes as it would, the
        hit reported in the annotation after the finish chunk [captured: recordings/chat/
        net-AsyncContentFilterWorksStreaming, a blocklist match ``filtered: true`` with ``finish_reason: stop``]."""
        if self.flagged_from is None:
            return FilteredText(pieces, finish_reason, self.results)
        if self.cut is not None and every:
            kept = window_end(pieces, self.cut, every)
            if kept is not None:
                pieces, finish_reason = pieces[:kept], "content_filter"
        elif self.cut is not None:
            pieces, finish_reason = cut_pieces(pieces, self.cut), "content_filter"
        return FilteredText(pieces, finish_reason, self.results, self.safe, piece_at(pieces, self.flagged_from))


def window_end(pieces: tuple[str, ...], position: int, every: int) -> int | None:
    """How many pieces go out before the asynchronous filter's window holding character ``position`` is checked
    (windows close on a piece once they hold ``every`` characters, as :class:`aoai_mock.wire.chat.OffsetMarks`
    counts); None when the text ends first."""
    seen = start = 0
    for index, piece in enumerate(pieces[:-1]):
        seen += len(piece)
        if seen - start >= every:
            if position < seen:
                return index + 1
            start = seen
    return None


@dataclass(frozen=True, slots=True)
class ImageAnnotations:
    """What each ``data[i]`` of an image answer carries (both None for api-versions without annotations)."""

    prompt_filter_results: dict[str, Any] | None
    content_filter_results: dict[str, Any] | None


def first_sentence_end(text: str) -> int:
    """Where a scenario's trip cuts: after the first sentence when more follows, else at the start."""
    found = _SENTENCE_END.search(text)
    if found is None or not text[found.end() :].strip():
        return 0
    return found.end()


class ContentFilter:
    """One deployment configuration's filter, with its shared all-safe results per api-version."""

    def __init__(self, compiled: CompiledFilter) -> None:
        self.compiled = compiled
        self.spec = spec = compiled.spec
        self.async_every = spec.async_annotation_chars if spec.mode == "asynchronous" else 0
        self.screens_completions = compiled.completion is not None
        self._prompts: dict[tuple[str, int, bool], list[dict[str, Any]] | None] = {}
        self._chat: dict[str, list[dict[str, Any]] | None] = {}  # chat's one prompt, the hot path
        self._choices: dict[str, dict[str, Any] | None] = {}
        self._annotated: dict[str, dict[str, Any] | None] = {}  # safe results with the default filter's keys
        self._images: dict[str, tuple[dict[str, Any], dict[str, Any]] | None] = {}

    # -- the all-safe results ---------------------------------------------------------------------------------

    def safe_prompt(self, api_version: str, prompts: int = 1, chat: bool = True) -> list[dict[str, Any]] | None:
        """``prompt_filter_results`` without a hit. Legacy completions (``chat=False``) report no prompt shields:
        the service's captured answer (seed 004) has no jailbreak there."""
        key = (api_version, prompts, chat)
        try:
            return self._prompts[key]
        except KeyError:
            pass
        era = era_of(api_version)
        value = None
        if era is not None:
            reported = self.compiled.reported_prompt if chat else self.compiled.reported_prompt - _SHIELDS
            if not era_for(api_version).prompt_jailbreak:  # the api-version era table: not reported by default
                reported = reported - {"jailbreak"}
            results = safe_results(era, reported, self.compiled.blocklist_ids, True)
            value = [{"prompt_index": i, "content_filter_results": results} for i in range(prompts)]
        if len(self._prompts) > _CACHE_LIMIT:
            self._prompts.clear()
        self._prompts[key] = value
        if prompts == 1 and chat:
            self._chat[api_version] = value
        return value

    def safe_choice(self, api_version: str) -> dict[str, Any] | None:
        """A choice's ``content_filter_results`` without a hit."""
        try:
            return self._choices[api_version]
        except KeyError:
            pass
        era = era_of(api_version)
        value = None
        if era is not None:
            value = safe_results(era, self.compiled.reported_choice, self.compiled.blocklist_ids, False)
        self._choices[api_version] = value
        return value

    def default_annotated(self, api_version: str, results: dict[str, Any] | None, text: str) -> dict[str, Any] | None:
        """A choice's results with what Azure's default filter adds in the eras that show it (the era table's
        ``choice_protected_material``): ``protected_material_code`` and ``protected_material_text``, not detected,
        for the models the deployment's configuration does not name. The caller decides which answers get them
        (:func:`aoai_mock.behaviour.chat.run_chat`: plain non-streamed text answers)."""
        if not results or not text:
            return results
        safe = results is self._choices.get(api_version)  # the all-safe results: their annotated form is kept
        if safe:
            found = self._annotated.get(api_version)
            if found is not None:
                return found
        missing = [k for k in self.compiled.default_choice if k not in results]
        if not missing or not era_for(api_version).choice_protected_material:
            annotated = results
        else:
            annotated = dict(sorted({**results, **{k: dict(NOT_DETECTED) for k in missing}}.items()))
        if safe:
            self._annotated[api_version] = annotated
        return annotated

    # -- prompts ----------------------------------------------------------------------------------------------

    def chat_prompt(self, api_version: str, messages: Sequence[Any]) -> list[dict[str, Any]] | None:
        """The chat prompt's ``prompt_filter_results``; raises :class:`PromptFiltered` on a filtered hit."""
        hits = self.compiled.scan_messages(messages)
        safe = self._chat[api_version] if api_version in self._chat else self.safe_prompt(api_version)
        if not hits:
            return safe
        return self._judge(api_version, [hits], safe)

    def completion_prompts(self, api_version: str, prompts: Sequence[str]) -> list[dict[str, Any]] | None:
        """Legacy completions: one result per prompt; the prompt shields do not run here."""
        safe = self.safe_prompt(api_version, len(prompts), chat=False)
        scanner = self.compiled.prompt_all
        if scanner is None:
            return safe
        found = [scanner.hits(p) for p in prompts]
        if not any(found):
            return safe
        return self._judge(api_version, found, safe)

    def _judge(
        self, api_version: str, found: Sequence[Sequence[Hit]], safe: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]] | None:
        era = era_of(api_version)
        if era is None or safe is None:
            if any(h.filtered for hits in found for h in hits):
                raise PromptFiltered(None)
            return None
        out = []
        for index, hits in enumerate(found):
            results = safe[index]["content_filter_results"]
            if hits:
                results = with_hits(era, results, hits, True)
                if any(h.filtered for h in hits):
                    raise PromptFiltered(results, era_for(api_version).prompt_filter_error)
            out.append({"prompt_index": index, "content_filter_results": results})
        return out

    # -- completions ------------------------------------------------------------------------------------------

    def completion(self, api_version: str, text: str, trip: FilterTrip | None = None) -> Verdict:
        """What the filter says about one completion text (after stop sequences and max_tokens)."""
        safe = self.safe_choice(api_version)
        scanner = self.compiled.completion
        hits = list(scanner.hits(text)) if scanner is not None else []
        if trip is not None:
            hits.append(self._trip_hit(trip, text))
        if not hits:
            return Verdict(safe, safe=safe)
        filtered = [h.start for h in hits if h.filtered]
        cut = min(filtered) if filtered else None
        kept = [h for h in hits if cut is None or h.start <= cut]
        era = era_of(api_version)
        results = with_hits(era, safe, kept, False) if era is not None and safe is not None else None
        return Verdict(results, cut, min(h.start for h in kept), safe)

    def _trip_hit(self, trip: FilterTrip, text: str) -> Hit:
        spec: ContentFilterSpec = self.compiled.spec
        harm = trip.category in HARM_CATEGORIES
        severity = trip.severity if harm else None
        filtered = trip.filtered
        if filtered is None and harm:
            threshold = getattr(spec.thresholds, trip.category)
            filtered = threshold != "annotate" and SEVERITY_RANK[trip.severity] >= SEVERITY_RANK[threshold]
        elif filtered is None:  # an explicit trip of a model the deployment turned off still blocks
            filtered = getattr(spec, trip.category) != "annotate"
        return Hit(trip.category, filtered, severity, None, trip.citation, first_sentence_end(text))

    # -- images -----------------------------------------------------------------------------------------------

    def image_prompt(self, api_version: str, prompt: str) -> ImageAnnotations:
        """The annotations of ``data[i]``; raises :class:`ImagePromptFiltered` on a filtered hit in the prompt.

        The prompt side reports profanity always (the service's captured dall-e-3 answer, seed 004) and
        jailbreak only when detected; ``content_filter_results`` has the four harm categories.
        """
        compiled = self.compiled
        hits: list[Hit] = []
        for scanner in (compiled.prompt_all, compiled.prompt_user):
            if scanner is not None:
                hits += scanner.hits(prompt)
        safe = self._image_safe(api_version)
        if safe is None:
            if any(h.filtered for h in hits):
                raise ImagePromptFiltered(None)
            return ImageAnnotations(None, None)
        era = image_era_of(api_version)
        assert era is not None
        results = with_hits(era, safe[0], hits, True) if hits else safe[0]
        if any(h.filtered for h in hits):
            raise ImagePromptFiltered(results)
        return ImageAnnotations(results, safe[1])

    def _image_safe(self, api_version: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        if api_version not in self._images:
            era = image_era_of(api_version)
            made = None
            if era is not None:
                prompt = safe_results(era, {"profanity"}, self.compiled.blocklist_ids, True)
                made = (prompt, safe_results(era, (), (), False))
            self._images[api_version] = made
        return self._images[api_version]


_FILTERS: dict[int, ContentFilter] = {}


def for_deployment(deployment: Deployment) -> ContentFilter:
    """The deployment's filter: compiled once per configuration object (the filter keeps its spec, so the id
    it is filed under cannot be reused while it is there)."""
    spec = deployment.content_filter
    found = _FILTERS.get(id(spec))
    if found is not None and found.spec is spec:
        return found
    made = ContentFilter(compile_filter(spec))
    if len(_FILTERS) > _CACHE_LIMIT:
        _FILTERS.clear()
    _FILTERS[id(spec)] = made
    return made


def screen_image_prompt(deployment: Deployment, api_version: str, prompt: str) -> ImageAnnotations:
    """For the images route: screen the prompt (raises :class:`ImagePromptFiltered`) and annotate ``data[i]``."""
    return for_deployment(deployment).image_prompt(api_version, prompt)
