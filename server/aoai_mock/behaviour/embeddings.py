"""Embeddings: deterministic unit vectors of the model's real size, derived from the text.

A text's vector is the sum of one pseudo-random direction per word, so texts that share words point the same
way and cosine similarity means something in a RAG demo. A word's direction is ``BASE`` small integers read from
a hash of the word (SHAKE-128), carried to the model's size by one fixed random integer projection per size: a
whole request is a few numpy operations, exact whatever the batch, and the projection keeps the angles between
texts. ``dimensions`` shortens and renormalises, as text-embedding-3 does. Vectors are float32, written as Azure
writes them.

The words of a corpus recur, so the parts of the texts seen (a word with its space and punctuation) are
remembered with their token counts and directions, up to a bound (:class:`_Parts`; about 18 MiB when full); one
projection per vector size is kept (3 MiB for 3072). ``clear_caches`` (``/_mock/reset``) frees both.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from threading import Lock
from typing import TYPE_CHECKING, Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.responders.base import (
    Context,
    Conversation,
    Message,
    Responder,
)
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.requests import EmbeddingRequest

if TYPE_CHECKING:
    import numpy as np

__all__ = ["EmbeddingResult", "run_embeddings", "vector", "vectors", "prompt_tokens", "clear_caches"]

_MAX_INPUTS = 2048
_WORD = re.compile(r"\w+", re.UNICODE)
BASE = 128  # numbers per word direction, before the projection
_projections: dict[int, np.ndarray] = {}
_lock = Lock()  # requests are answered in worker threads too


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    model: str
    vectors: tuple[Any, ...]  # float32 rows (numpy), lists of floats (a scenario's), or base64 text
    prompt_tokens: int


def clear_caches() -> None:
    """Forget the projections (they are made again, the same, when needed)."""
    with _lock:
        _projections.clear()
        _parts.clear()


def _projection(dims: int) -> np.ndarray:
    import numpy as np

    found = _projections.get(dims)
    if found is None:
        found = np.random.default_rng(dims).integers(-127, 128, (BASE, dims)).astype(np.float64)
        _projections[dims] = found
    return found


def _directions(words: Sequence[str]) -> np.ndarray:
    """One direction per word: ``BASE`` small integers (int8) read from the word's SHAKE-128 hash."""
    import numpy as np

    hashed = b"".join([hashlib.shake_128(w.encode("utf-8", "surrogatepass")).digest(BASE) for w in words])
    return np.frombuffer(hashed, dtype=np.int8).reshape(len(words), BASE)


class _Parts:
    """The parts of texts seen before, for one encoding: the pieces a text is cut into before each space that
    follows a non-space character (:func:`aoai_mock.behaviour.tokens.text_parts`; ``" cat,"``), each with its
    token count and the direction of its word. A text's count is the sum of its parts' counts (exact: see
    tokens), and its base the sum of their directions, since a word (``\\w+``, of the lower-cased text) never
    spans a space. So a part that recurs, as words do across the texts of a corpus, is looked up, not
    tokenized, cut into words and hashed again. Holds up to ``_KEPT_PARTS`` parts of one word or none, each at
    most ``_LONGEST_PART`` characters, then starts afresh; a part of several words (``don't``) or a long one is
    worked out each time."""

    def __init__(self, encoding: str) -> None:
        import numpy as np

        self.encoding = encoding
        self.lone: dict[str, int] = {"": 0}  # a part that does not start with a space -> its slot; slot 0: ""
        self.spaced: dict[str, int] = {}  # a part that starts with one, without it ("cat," for " cat,")
        self.used = 1  # slots taken
        self.rows = np.zeros((1, BASE), dtype=np.int8)  # slot -> its word's direction (grown as parts come)
        self.tokens = np.zeros(1, dtype=np.int32)  # slot -> its token count
        self.worded = np.zeros(1, dtype=bool)  # slot -> whether it has a word

    def read(self, texts: Sequence[str], afresh: bool = False) -> tuple[list[int], np.ndarray]:
        """Each text's token count, and its sum of word directions (rows of ``BASE`` whole numbers, int32)."""
        import numpy as np

        found: list[list[int]] = []
        pending: list[tuple[int, list[int], list[str]]] = []  # texts with parts not remembered yet: where, which
        lone_get, spaced_get, spaced_look_up = self.lone.get, self.spaced.get, self.spaced.__getitem__
        for row, text in enumerate(texts):
            if tokens.cut_at_every_space(text):
                first, *rest = text.split(" ")
                try:  # the first part (a text's first word) is the one most often new
                    known = [lone_get(first, -1), *map(spaced_look_up, rest)]
                except KeyError:
                    known = [lone_get(first, -1), *[spaced_get(word, -1) for word in rest]]
                found.append(known)
                unknown = known.count(-1)
                if unknown:  # the parts not remembered, as text (most often the first alone)
                    missing = [0] if unknown == 1 and known[0] < 0 else list(_positions(known))
                    pending.append((row, missing, [" " + rest[i - 1] if i else first for i in missing]))
            else:
                parts = list(tokens.text_parts(text))
                known = [self._slot(part) for part in parts]
                found.append(known)
                if -1 in known:
                    missing = list(_positions(known))
                    pending.append((row, missing, [parts[i] for i in missing]))
        extras: dict[int, tuple[int, list[str]]] = {}  # text -> what its parts that are not remembered hold
        if pending:
            others = self._learn({part for _, _, parts in pending for part in parts}, afresh)
            if others is None:  # the memory was full and starts afresh: what was found is gone
                return self.read(texts, afresh=True)
            for row, missing, parts in pending:
                known = found[row]
                for i, part in zip(missing, parts):
                    known[i] = self._slot(part)
                if -1 in known:
                    held = [others[part] for i, part in zip(missing, parts) if known[i] < 0]
                    extras[row] = (sum(n for n, _ in held), [word for _, words in held for word in words])
                    found[row] = [slot for slot in known if slot >= 0] or [0]
        # The sums of each text's run of slots (every text has one at least).
        lengths = [len(slots) for slots in found]
        ends = np.cumsum(lengths)
        starts = ends - lengths
        flat = np.fromiter(chain.from_iterable(found), dtype=np.intp, count=int(ends[-1]) if lengths else 0)
        counts = np.add.reduceat(self.tokens[flat], starts).tolist() if lengths else []
        worded = np.logical_or.reduceat(self.worded[flat], starts) if lengths else np.zeros(0, dtype=bool)
        bases = np.empty((len(texts), BASE), dtype=np.int32)
        bounds = list(zip(starts.tolist(), ends.tolist()))
        for first in range(0, len(texts), _GATHERED):  # the directions of a few texts at a time (a small copy)
            low, high = bounds[first][0], bounds[min(first + _GATHERED, len(texts)) - 1][1]
            directions = self.rows[flat[low:high]]
            for row, (start, end) in enumerate(bounds[first : first + _GATHERED], first):
                directions[start - low : end - low].sum(axis=0, dtype=np.int32, out=bases[row])
        for row, (extra_count, extra_words) in extras.items():
            counts[row] += extra_count
            if extra_words:
                bases[row] += _directions(extra_words).sum(axis=0, dtype=np.int32)
        for row in np.flatnonzero(~worded).tolist():
            if row not in extras or not extras[row][1]:  # no word at all: the text itself is the word
                bases[row] = _directions([texts[row]])[0]
        return counts, bases

    def _learn(self, unknown: set[str], afresh: bool) -> dict[str, tuple[int, list[str]]] | None:
        """Remember the parts of ``unknown`` that may be (up to the limit); the token count and words of the
        others. None when the memory is full: it has started afresh (unless it just did), and nothing is learnt."""
        import numpy as np

        if self.used + len(unknown) > _KEPT_PARTS + 1 and not afresh:
            self.lone, self.spaced, self.used = {"": 0}, {}, 1
            return None
        words_of = {part: _WORD.findall(part.lower()) for part in unknown}
        kept = [part for part, words in words_of.items() if len(words) <= 1 and len(part) <= _LONGEST_PART]
        kept = kept[: _KEPT_PARTS + 1 - self.used]
        first = self.used
        made = np.arange(first, first + len(kept))
        if first + len(kept) > len(self.rows):  # room for twice as many, up to the limit
            size = min(max(2 * len(self.rows), first + len(kept)), _KEPT_PARTS + 1)
            self.rows, self.tokens, self.worded = (
                _grown(self.rows, first, size), _grown(self.tokens, first, size), _grown(self.worded, first, size)
            )
        worded = np.array([bool(words_of[part]) for part in kept], dtype=bool)
        self.rows[made] = _directions([words_of[part][0] if words_of[part] else "" for part in kept])
        self.rows[made[~worded]] = 0
        self.worded[made] = worded
        self.tokens[made] = [len(tokens.encode(part, self.encoding)) for part in kept]
        for part, slot in zip(kept, made.tolist()):
            if part.startswith(" "):
                self.spaced[part[1:]] = slot
            else:
                self.lone[part] = slot
        self.used += len(kept)
        return {
            part: (len(tokens.encode(part, self.encoding)), words)
            for part, words in words_of.items()
            if self._slot(part) < 0
        }

    def _slot(self, part: str) -> int:
        """The slot of a part, -1 when it is not remembered."""
        if part.startswith(" "):
            return self.spaced.get(part[1:], -1)
        return self.lone.get(part, -1)


def _grown(array: np.ndarray, used: int, size: int) -> np.ndarray:
    """``array`` with room for ``size`` rows, its first ``used`` kept: the rest is zeros the system gives as
    they are written (so memory grows with the parts remembered, not with the room made for them)."""
    import numpy as np

    grown = np.zeros((size, *array.shape[1:]), dtype=array.dtype)
    grown[:used] = array[:used]
    return grown


def _positions(known: list[int]) -> Iterator[int]:
    """Where ``known`` holds -1 (a part not remembered), found by the list's own search."""
    at = -1
    while True:
        try:
            at = known.index(-1, at + 1)
        except ValueError:
            return
        yield at


_GATHERED = 64  # texts whose part directions are gathered at once
_KEPT_PARTS = 131072  # 16 MiB of directions (as they are used), and the parts' text
_LONGEST_PART = 64
_parts: dict[str, _Parts] = {}  # encoding -> its remembered parts


def _read(texts: Sequence[str], encoding: str) -> tuple[list[int], np.ndarray]:
    """Each text's token count and base (see :class:`_Parts`)."""
    with _lock:  # large requests are answered in worker threads, and may be at the same time
        found = _parts.get(encoding)
        if found is None:
            found = _parts[encoding] = _Parts(encoding)
        return found.read(texts)


def _bases(texts: Sequence[str]) -> np.ndarray:
    """Each text's sum of the directions of its words (``\\w+`` of the lower-cased text; a text without a word
    is a word itself): rows of ``BASE`` whole numbers."""
    return _read(texts, _TEXT_ENCODING)[1]


_TEXT_ENCODING = "cl100k_base"  # the embeddings models' (and the parts of texts given without a model)


def vectors(texts: Sequence[str], dims: int, keep: int | None = None) -> np.ndarray:
    """One unit float32 vector per text (rows), ``keep`` numbers long when given."""
    return _unit(_bases(texts), dims, keep)


def _unit(bases: np.ndarray, dims: int, keep: int | None) -> np.ndarray:
    import numpy as np

    projection = _projection(dims)
    if keep is not None:
        projection = np.ascontiguousarray(projection[:, :keep])
    # Whole numbers throughout (word directions and projection are small integers, so every product and sum
    # is exact in float64): the same text gives the same float32 numbers alone or in a batch of 2048, however
    # the matrix library orders its additions.
    full = bases.astype(np.float64) @ projection
    norms = np.sqrt(np.einsum("ij,ij->i", full, full))[:, None]
    norms[norms == 0] = 1.0
    return np.divide(full, norms, out=full).astype(np.float32)


def vector(text: str, dims: int, keep: int | None = None) -> list[float]:
    """One text's unit vector as a list of floats."""
    return [float(v) for v in vectors([text], dims, keep)[0]]


def _texts(value: Any, encoding: str) -> tuple[list[tuple[str, int]], np.ndarray]:
    """(text, token count) for every input (a string, strings, a token array or token arrays), and the texts'
    bases (sums of word directions)."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif value and all(isinstance(v, int) for v in value):
        items = [value]
    else:
        items = list(value)
    if len(items) > _MAX_INPUTS and all(items):  # (an empty input is reported first)
        raise _too_many()
    texts = [item if isinstance(item, str) else tokens.decode(item, encoding) for item in items]
    counts, bases = _read(texts, encoding)
    given = [n if isinstance(item, str) else len(item) for item, n in zip(items, counts)]
    return list(zip(texts, given)), bases


def prompt_tokens(value: Any, encoding: str) -> int:
    """The tokens of every input (what an enforced quota charges an embeddings request)."""
    return sum(n for _, n in _texts(value, encoding)[0])


def _too_many() -> InvalidRequest:
    return InvalidRequest(
        f"Too many inputs. The max number of inputs is {_MAX_INPUTS}. We recommend sending fewer inputs.",
        param="input",
    )


def _check(request: EmbeddingRequest, deployment: Deployment, texts: list[tuple[str, int]]) -> None:
    if not texts or any(t == "" and n == 0 for t, n in texts):
        raise InvalidRequest(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            param="input",
        )
    if len(texts) > _MAX_INPUTS:
        raise _too_many()
    longest = max(n for _, n in texts)
    if longest > deployment.context_window:
        raise InvalidRequest(
            f"This model's maximum context length is {deployment.context_window} tokens, however you requested "
            f"{longest} tokens ({longest} in your prompt; 0 for the completion). Please reduce your prompt; "
            "or completion length.",
            param="input",
            code="context_length_exceeded",
        )
    if request.dimensions is not None:
        if not deployment.custom_dimensions:
            raise InvalidRequest("This model does not support specifying dimensions.", param="dimensions")
        if request.dimensions > deployment.dimensions:
            raise InvalidRequest(
                f"Invalid value for 'dimensions' = {request.dimensions}. Must be less than or equal to "
                f"{deployment.dimensions}.",
                param="dimensions",
                code="invalid_value",
            )


def _encode(row: Any) -> str:
    """Base64 of the little-endian float32 numbers, as Azure sends ``encoding_format: base64``."""
    import numpy as np

    return base64.b64encode(np.asarray(row, dtype="<f4").tobytes()).decode()


def _base64_rows(rows: Any) -> tuple[str, ...]:
    """``_encode`` of each row: of all at once where a row is a whole number of base64's 3-byte groups (3072 and
    1536 numbers are; 256 are not), which is the same text cut at each row's end."""
    import numpy as np

    if isinstance(rows, np.ndarray) and rows.ndim == 2 and rows.shape[1] * 4 % 3 == 0:
        width = rows.shape[1] * 4 // 3 * 4
        found: list[str] = []
        for first in range(0, len(rows), _BASE64_ROWS):  # a bounded piece at a time: the loop runs in between
            text = base64.b64encode(rows[first : first + _BASE64_ROWS].astype("<f4", copy=False).tobytes()).decode()
            found.extend(text[start : start + width] for start in range(0, len(text), width))
        return tuple(found)
    return tuple(_encode(row) for row in rows)


_BASE64_ROWS = 64


def _scripted(
    responder: Responder, ctx: Context, texts: list[tuple[str, int]], body: Mapping[str, Any]
) -> tuple[tuple[float, ...], ...] | None:
    """The vectors a scenario's reply gives (from a fixture), or None to generate them."""
    messages = tuple(Message("user", text) for text, _ in texts)
    conversation = Conversation(operation=av.EMBEDDINGS, messages=messages, seed=0, body=body)
    return responder.respond(conversation, ctx).embeddings or None


def run_embeddings(
    deployment: Deployment,
    request: EmbeddingRequest,
    body: Mapping[str, Any],
    responder: Responder | None = None,
    ctx: Context | None = None,
) -> EmbeddingResult:
    """``responder`` (a scenario's, with its ``ctx``) may give the vectors; otherwise they are derived."""
    encoding = tokens.encoding_name_for(deployment.model)
    texts, bases = _texts(request.input, encoding)
    _check(request, deployment, texts)
    as_base64 = request.encoding_format == "base64"
    scripted = _scripted(responder, ctx, texts, body) if responder is not None and ctx is not None else None
    if scripted:
        rows: Sequence[Any] = [list(scripted[i % len(scripted)])[: request.dimensions or None] for i in range(len(texts))]
    else:
        rows = _unit(bases, deployment.dimensions, request.dimensions)
    found = _base64_rows(rows) if as_base64 else tuple(rows)
    return EmbeddingResult(deployment.response_model, found, sum(n for _, n in texts))
