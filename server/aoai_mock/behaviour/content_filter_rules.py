"""A deployment's filter configuration, compiled once: one combined regex per place where text is looked at.

Four scanners: the whole prompt (harm triggers, profanity, blocklists), user messages (jailbreak), documents
(tool results and ``<documents>...</documents>`` in user messages: indirect attacks) and the completion
(harm, profanity, protected material, blocklists). Each joins its patterns as named alternatives, so a prompt
with no hit costs one ``search`` per message and scanner; only a hit walks the matches. A category that the
configuration turns ``off`` is not looked for at all, its triggers included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aoai_mock.behaviour.content_filter_table import SEVERITY_RANK, Hit
from aoai_mock.config import HARM_CATEGORIES, ContentFilterSpec, FilterTrigger

__all__ = ["Rule", "Words", "Scanner", "CompiledFilter", "compile_filter", "word_pattern", "DOCUMENTS"]

DOCUMENTS = re.compile(r"<documents>(.*?)</documents>", re.S | re.I)
_LEADING_FLAGS = re.compile(r"^\(\?([imsx]+)\)")
_PROMPT_SHIELDS = ("jailbreak", "indirect_attack")
_MEMO_TEXT = 2048  # texts up to this length have their hits remembered
_MEMO_SIZE = 4096
_LITERALS = 8  # up to this many distinct longest words, the quick test looks for each as a literal
_COMPLETION_ONLY = ("protected_material_text", "protected_material_code")


@dataclass(frozen=True, slots=True)
class Rule:
    """What a match of one alternative means."""

    category: str
    filtered: bool
    severity: str | None = None
    blocklist: str | None = None
    citation: Mapping[str, str] | None = None

    def hit(self, start: int) -> Hit:
        return Hit(self.category, self.filtered, self.severity, self.blocklist, self.citation, start)


@dataclass(frozen=True, slots=True)
class Words:
    """Whole words or phrases, any case: one alternative of a scanner."""

    phrases: tuple[str, ...]


def word_pattern(words: Iterable[str]) -> str:
    """Whole words or phrases, any case, any run of spaces between the words of a phrase."""
    return r"(?i:(?<!\w)(?:" + _alternation(words) + r")(?!\w))"


def _alternation(words: Iterable[str]) -> str:
    escaped = (r"\s+".join(re.escape(part) for part in w.split()) for w in words)
    return "|".join(sorted(escaped, key=len, reverse=True))


def _scoped(regex: str) -> str:
    """A regex as one alternative: leading global flags (``(?i)...``) become scoped ones (``(?i:...)``)."""
    found = _LEADING_FLAGS.match(regex)
    if found is not None:
        return f"(?{found[1]}:{regex[found.end():]})"
    return f"(?:{regex})"


Pattern = tuple[re.Pattern[str], dict[str, Rule]]


class Scanner:
    """Patterns joined into one regex per kind; each named group stands for a rule.

    Word lists are first looked for in the lower-cased text by a quick test: each phrase's longest word as a
    plain literal (``re`` finds a literal at a fraction of a nanosecond per character), or, for more than
    :data:`_LITERALS` such words, one alternation of the phrases. Only when the quick test finds something does
    the exact pattern (whole words, any case) run.
    """

    __slots__ = ("quick", "words", "regexes", "_memo")

    def __init__(self, alternatives: Sequence[tuple[Words | str, Rule]]) -> None:
        words = [(a, r) for a, r in alternatives if isinstance(a, Words)]
        every = [w.lower() for a, _ in words for w in a.phrases]  # type: ignore[union-attr]
        self.quick = _quick(every)
        self.words = _join([(word_pattern(a.phrases), r) for a, r in words])  # type: ignore[union-attr]
        self.regexes = _join([(_scoped(a), r) for a, r in alternatives if isinstance(a, str)])
        self._memo: dict[str, tuple[Hit, ...]] = {}  # short texts repeat (system prompts, fixtures): scan each once

    def hits(self, text: str, offset: int = 0) -> tuple[Hit, ...]:
        """Every hit in ``text``, positions shifted by ``offset``."""
        short = len(text) <= _MEMO_TEXT
        if short:
            known = self._memo.get(text)
            if known is not None:
                return known if not offset or not known else tuple(_moved(h, offset) for h in known)
        found: list[Hit] = []
        patterns = self.regexes
        if self.quick:
            lowered = text.lower()
            if any(q.search(lowered) is not None for q in self.quick):
                patterns = self.words + patterns
        for pattern, rules in patterns:
            if pattern.search(text) is not None:
                found += [rules[m.lastgroup].hit(m.start()) for m in pattern.finditer(text) if m.lastgroup]
        made = tuple(found)
        if short:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            self._memo[text] = made
        return made if not offset else tuple(_moved(h, offset) for h in made)


def _quick(phrases: Sequence[str]) -> tuple[re.Pattern[str], ...]:
    """The quick test for lower-cased phrases: their longest words as literals, or one alternation."""
    if not phrases:
        return ()
    longest = {max(reversed(p.split()), key=len) for p in phrases}
    if len(longest) <= _LITERALS:
        return tuple(re.compile(re.escape(word)) for word in sorted(longest))
    return (re.compile(_alternation(phrases)),)


def _moved(hit: Hit, offset: int) -> Hit:
    return Hit(hit.category, hit.filtered, hit.severity, hit.blocklist, hit.citation, hit.start + offset)


def _join(alternatives: Sequence[tuple[str, Rule]]) -> tuple[Pattern, ...]:
    if not alternatives:
        return ()
    names = [f"_cf{i}" for i in range(len(alternatives))]
    rules = {name: rule for name, (_, rule) in zip(names, alternatives)}
    try:
        joined = "|".join(f"(?P<{name}>{source})" for name, (source, _) in zip(names, alternatives))
        return ((re.compile(joined), rules),)
    except re.error:  # a user regex that cannot live inside another (backreferences): one pattern each
        return tuple(
            (re.compile(f"(?P<{name}>{source})"), {name: rules[name]}) for name, (source, _) in zip(names, alternatives)
        )


def _scanner(alternatives: list[tuple[Words | str, Rule]]) -> Scanner | None:
    return Scanner(alternatives) if alternatives else None


@dataclass(frozen=True, slots=True)
class CompiledFilter:
    spec: ContentFilterSpec
    prompt_all: Scanner | None
    prompt_user: Scanner | None  # jailbreak
    prompt_documents: Scanner | None  # indirect attack
    completion: Scanner | None
    reported_prompt: frozenset[str]  # optional prompt-side keys the deployment reports (its models turned on)
    reported_choice: frozenset[str]
    blocklist_ids: tuple[str, ...]
    # The protected-material models Azure's default filter annotates in the eras that show them, unless the
    # configuration names them (then it decides): see ContentFilter.default_annotated.
    default_choice: frozenset[str] = frozenset()

    def scan_messages(self, messages: Sequence[Any]) -> Sequence[Hit]:
        """Hits in a chat prompt (objects with ``role`` and ``text``)."""
        everywhere, user, documents = self.prompt_all, self.prompt_user, self.prompt_documents
        if everywhere is None and documents is None:  # the default filter: jailbreak phrases in user messages
            return self._scan_users(messages)
        found: list[Hit] = []
        for message in messages:
            text = message.text
            if not text:
                continue
            if everywhere is not None:
                found += everywhere.hits(text)
            role = message.role
            if role == "user":
                if user is not None:
                    found += user.hits(text)
                if documents is not None:
                    for doc in DOCUMENTS.finditer(text):
                        found += documents.hits(doc[1], doc.start(1))
            elif documents is not None and role in ("tool", "function"):
                found += documents.hits(text)
        return found

    def _scan_users(self, messages: Sequence[Any]) -> Sequence[Hit]:
        user = self.prompt_user
        if user is None:
            return ()
        found: tuple[Hit, ...] = ()
        for message in messages:
            if message.role == "user" and message.text:
                hits = user.hits(message.text)
                if hits:
                    found += hits
        return found


def _filtered(spec: ContentFilterSpec, category: str, severity: str) -> bool:
    if category in HARM_CATEGORIES:
        threshold = getattr(spec.thresholds, category)
        return threshold != "annotate" and SEVERITY_RANK[severity] >= SEVERITY_RANK[threshold]
    return getattr(spec, category) == "block"


def _trigger_source(trigger: FilterTrigger) -> Words | str:
    return Words(trigger.words) if trigger.words else str(trigger.regex)


def _place(trigger: FilterTrigger) -> tuple[str, ...]:
    """Which scanners a trigger belongs to."""
    if trigger.category == "jailbreak":
        return ("user",)
    if trigger.category == "indirect_attack":
        return ("documents",)
    if trigger.category in _COMPLETION_ONLY:
        return ("completion",)
    return {"prompt": ("prompt",), "completion": ("completion",), "both": ("prompt", "completion")}[trigger.side]


def compile_filter(spec: ContentFilterSpec) -> CompiledFilter:
    """Everything a request needs from the configuration, computed once."""
    groups: dict[str, list[tuple[Words | str, Rule]]] = {"prompt": [], "user": [], "documents": [], "completion": []}
    on = {c for c in (*_PROMPT_SHIELDS, "profanity", *_COMPLETION_ONLY) if getattr(spec, c) != "off"}
    if spec.jailbreak_phrases:
        phrases = Words(spec.jailbreak_phrases)
        for shield, place in (("jailbreak", "user"), ("indirect_attack", "documents")):
            if shield in on:
                groups[place].append((phrases, Rule(shield, _filtered(spec, shield, "high"))))
    for trigger in spec.triggers:
        if trigger.category not in HARM_CATEGORIES and trigger.category not in on:
            continue
        citation = trigger.citation.model_dump() if trigger.citation is not None else None
        severity = trigger.severity if trigger.category in HARM_CATEGORIES else None
        rule = Rule(trigger.category, _filtered(spec, trigger.category, trigger.severity), severity, None, citation)
        for place in _place(trigger):
            groups[place].append((_trigger_source(trigger), rule))
    for blocklist in spec.blocklists:
        rule = Rule("custom_blocklists", True, blocklist=blocklist.id)
        sources: list[Words | str] = [Words(blocklist.terms)] if blocklist.terms else []
        sources += blocklist.regex
        places = {"prompt": ("prompt",), "completion": ("completion",), "both": ("prompt", "completion")}
        for place in places[blocklist.side]:
            groups[place].extend((source, rule) for source in sources)
    return CompiledFilter(
        spec=spec,
        prompt_all=_scanner(groups["prompt"]),
        prompt_user=_scanner(groups["user"]),
        prompt_documents=_scanner(groups["documents"]),
        completion=_scanner(groups["completion"]),
        reported_prompt=frozenset(on & {*_PROMPT_SHIELDS, "profanity"}),
        reported_choice=frozenset(on & {"profanity", *_COMPLETION_ONLY}),
        blocklist_ids=tuple(b.id for b in spec.blocklists),
        default_choice=frozenset(c for c in _COMPLETION_ONLY if c not in spec.model_fields_set),
    )
