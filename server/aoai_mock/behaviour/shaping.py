"""What every generated answer goes through: stop sequences, the token limit, pieces for streaming, logprobs."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aoai_mock.behaviour import tokens

__all__ = ["Shaped", "shape_text", "cut_pieces", "piece_at", "chat_logprobs", "completion_logprobs", "clear_caches"]


@dataclass(frozen=True, slots=True)
class Shaped:
    text: str
    pieces: tuple[str, ...]
    finish_reason: str  # "stop" or "length"

    @property
    def token_count(self) -> int:
        return len(self.pieces)


def _cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def shape_text(text: str, *, stop: Sequence[str], max_tokens: int | None, encoding: str) -> Shaped:
    """The answer as sent: cut at the first stop sequence, then at ``max_tokens`` (``finish_reason: length``)."""
    if len(text) <= _CACHED_TEXT:
        return _shape_cached(text, tuple(stop), max_tokens, encoding)
    return _shape(text, stop, max_tokens, encoding)


_CACHED_TEXT = 2048  # short answers repeat (echo, fixtures): shape each one once


@lru_cache(maxsize=4096)
def _shape_cached(text: str, stop: tuple[str, ...], max_tokens: int | None, encoding: str) -> Shaped:
    return _shape(text, stop, max_tokens, encoding)


def _shape(text: str, stop: Sequence[str], max_tokens: int | None, encoding: str) -> Shaped:
    text, _ = _cut_at_stop(text, stop)
    ids = tokens.encode(text, encoding)
    finish = "stop"
    if max_tokens is not None and len(ids) > max_tokens:
        ids = ids[:max_tokens]
        finish = "length"
    pieces = tuple(tokens.pieces(ids, encoding))
    return Shaped("".join(pieces), pieces, finish)


def cut_pieces(pieces: Sequence[str], position: int) -> tuple[str, ...]:
    """The pieces of the text's first ``position`` characters; a piece the cut runs through keeps its head."""
    kept: list[str] = []
    seen = 0
    for piece in pieces:
        if seen + len(piece) > position:
            if position > seen:
                kept.append(piece[: position - seen])
            break
        kept.append(piece)
        seen += len(piece)
    return tuple(kept)


def piece_at(pieces: Sequence[str], position: int) -> int:
    """The index of the piece that holds character ``position`` (``len(pieces)`` past the end)."""
    seen = 0
    for index, piece in enumerate(pieces):
        seen += len(piece)
        if seen > position:
            return index
    return len(pieces)


def _logprob(rng: random.Random) -> float:
    return round(-abs(rng.gauss(0, 0.6)) - 1e-6, 6)


def chat_logprobs(pieces: Sequence[str], top: int, rng: random.Random) -> tuple[dict[str, Any], ...]:
    """``choices[i].logprobs.content`` entries: one per token, with ``top`` alternatives each."""
    entries = []
    for piece in pieces:
        best = _logprob(rng)
        alternatives = [{"token": piece, "logprob": best, "bytes": list(piece.encode())}]
        for rank in range(1, top):
            alt = f"{piece.strip() or piece}{rank}"
            value = round(best - rank - rng.random(), 6)
            alternatives.append({"token": alt, "logprob": value, "bytes": list(alt.encode())})
        entries.append(
            {"token": piece, "logprob": best, "bytes": list(piece.encode()), "top_logprobs": alternatives[:top]}
        )
    return tuple(entries)


def completion_logprobs(pieces: Sequence[str], top: int, offset: int, rng: random.Random) -> dict[str, Any]:
    """The legacy completions ``logprobs`` object: tokens, token_logprobs, top_logprobs, text_offset."""
    values = [_logprob(rng) for _ in pieces]
    offsets = []
    position = offset
    for piece in pieces:
        offsets.append(position)
        position += len(piece)
    tops = [{piece: value} | {f"{piece}{r}": value - r for r in range(1, top)} for piece, value in zip(pieces, values)]
    return {
        "tokens": list(pieces),
        "token_logprobs": values,
        "top_logprobs": tops if top else None,
        "text_offset": offsets,
    }


def clear_caches() -> None:
    """Forget remembered shapes (``/_mock/reset``)."""
    _shape_cached.cache_clear()
