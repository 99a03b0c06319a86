"""Chunks, embeddings and scores for vector stores: deterministic, offline, and good enough to rank.

A file's text is cut into windows of ``max_chunk_size_tokens`` tokens that overlap by ``chunk_overlap_tokens``
(the API's default static strategy: 800 and 400), counted with the cl100k tokenizer. Each chunk is embedded
with :func:`aoai_mock.behaviour.embeddings.vector` (a sum of one direction per word), so a query that shares
words with a chunk scores high; the score is their cosine similarity, clipped at 0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.assistants.requests import Chunking, StaticChunking
from aoai_mock.behaviour.embeddings import vector
from aoai_mock.errors import InvalidRequest

__all__ = [
    "DEFAULT_CHUNK_TOKENS",
    "DEFAULT_OVERLAP_TOKENS",
    "Hit",
    "chunking_strategy",
    "chunk_text",
    "embed",
    "score",
    "check_filter",
    "passes",
]

DEFAULT_CHUNK_TOKENS = 800
DEFAULT_OVERLAP_TOKENS = 400
ENCODING = "cl100k_base"
DIMENSIONS = 256  # enough for words to be told apart; small enough to keep in the store


@dataclass(frozen=True, slots=True)
class Hit:
    """One scored chunk."""

    file_id: str
    filename: str
    score: float
    text: str
    attributes: Mapping[str, Any]


def chunking_strategy(requested: Chunking | None) -> dict[str, Any]:
    """The strategy as a file object shows it (always ``static``), or the 400 for a bad overlap."""
    if isinstance(requested, StaticChunking):
        size = requested.static.max_chunk_size_tokens
        overlap = requested.static.chunk_overlap_tokens
        if overlap > size // 2:
            raise InvalidRequest(
                f"Invalid 'chunking_strategy.static.chunk_overlap_tokens': {overlap}. The overlap must not exceed "
                f"half of max_chunk_size_tokens ({size}).",
                param="chunking_strategy.static.chunk_overlap_tokens",
                code="invalid_value",
            )
    else:
        size, overlap = DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP_TOKENS
    return {"type": "static", "static": {"max_chunk_size_tokens": size, "chunk_overlap_tokens": overlap}}


def chunk_text(text: str, size: int, overlap: int) -> list[str]:
    """Windows of ``size`` tokens, each starting ``size - overlap`` tokens after the previous one."""
    ids = tokens.encode(text, ENCODING)
    if not ids:
        return []
    step = max(1, size - overlap)
    chunks = []
    for start in range(0, len(ids), step):
        chunks.append(tokens.decode(ids[start : start + size], ENCODING))
        if start + size >= len(ids):
            break
    return chunks


def embed(text: str) -> list[float]:
    return [round(v, 6) for v in vector(text, DIMENSIONS)]


def score(query: Sequence[float], chunk: Sequence[float]) -> float:
    """Cosine similarity (both are unit vectors), clipped to [0, 1] and rounded."""
    dot = math.fsum(a * b for a, b in zip(query, chunk, strict=False))
    return round(min(1.0, max(0.0, dot)), 6)


# -- attribute filters (2025-03-01-preview) ---------------------------------------------------------

_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte")
_COMPOUND = ("and", "or")


def _bad_filter(message: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid 'filters': {message}", param="filters", code="invalid_value")


def check_filter(node: Any) -> None:
    """A comparison ``{type: eq, key, value}`` or a compound ``{type: and|or, filters: [...]}``."""
    if not isinstance(node, Mapping):
        raise _bad_filter("expected an object.")
    kind = node.get("type")
    if kind in _COMPOUND:
        children = node.get("filters")
        if not isinstance(children, list) or not children:
            raise _bad_filter(f"a '{kind}' filter needs a non-empty 'filters' array.")
        for child in children:
            check_filter(child)
        return
    if kind not in _COMPARISONS:
        raise _bad_filter(f"unknown type {kind!r}; expected one of {', '.join(_COMPARISONS + _COMPOUND)}.")
    if not isinstance(node.get("key"), str) or not isinstance(node.get("value"), str | int | float | bool):
        raise _bad_filter("a comparison needs a string 'key' and a string, number or boolean 'value'.")


def passes(node: Mapping[str, Any] | None, attributes: Mapping[str, Any]) -> bool:
    """Whether a file's attributes pass a (checked) filter; no filter passes everything."""
    if node is None:
        return True
    kind = node["type"]
    if kind == "and":
        return all(passes(child, attributes) for child in node["filters"])
    if kind == "or":
        return any(passes(child, attributes) for child in node["filters"])
    have, want = attributes.get(node["key"]), node["value"]
    if kind == "eq":
        return bool(have == want)
    if kind == "ne":
        return bool(have != want)
    if isinstance(have, bool) or not isinstance(have, int | float) or not isinstance(want, int | float):
        return False
    return {"gt": have > want, "gte": have >= want, "lt": have < want, "lte": have <= want}[kind]
