"""Embeddings: deterministic unit vectors of the model's real size, derived from the text.

A text's vector is the sum of one pseudo-random direction per word, so texts that share words point the same
way and cosine similarity means something in a RAG demo. A word's direction is ``BASE`` small integers read from
a hash of the word (SHAKE-128), carried to the model's size by one fixed random integer projection per size: a
whole request is a few numpy operations, exact whatever the batch, and the projection keeps the angles between
texts. ``dimensions`` shortens and
renormalises, as text-embedding-3 does. Vectors are float32, written as Azure writes them.

Nothing grows with the words seen: directions are hashed again each time (a microsecond), and only one
projection per vector size is kept (3 MiB for 3072), which ``clear_caches`` (``/_mock/reset``) frees.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def _projection(dims: int) -> np.ndarray:
    import numpy as np

    found = _projections.get(dims)
    if found is None:
        found = np.random.default_rng(dims).integers(-127, 128, (BASE, dims)).astype(np.float64)
        with _lock:
            _projections[dims] = found
    return found


def _bases(texts: Sequence[str]) -> np.ndarray:
    """Each text's sum of word directions (rows of ``BASE`` whole numbers)."""
    import numpy as np

    index: dict[str, int] = {}
    named = index.setdefault
    ids = [[named(w, len(index)) for w in (_WORD.findall(text.lower()) or [text])] for text in texts]
    hashed = b"".join(hashlib.shake_128(w.encode("utf-8", "surrogatepass")).digest(BASE) for w in index)
    directions = np.frombuffer(hashed, dtype=np.int8).reshape(len(index), BASE).astype(np.int32)
    bases = np.empty((len(texts), BASE), dtype=np.int32)  # whole numbers: exact, in any order of addition
    for row, found in enumerate(ids):
        bases[row] = directions[found].sum(axis=0)
    return bases


def vectors(texts: Sequence[str], dims: int, keep: int | None = None) -> np.ndarray:
    """One unit float32 vector per text (rows), ``keep`` numbers long when given."""
    import numpy as np

    projection = _projection(dims)
    if keep is not None:
        projection = np.ascontiguousarray(projection[:, :keep])
    # Whole numbers throughout (word directions and projection are small integers, so every product and sum
    # is exact in float64): the same text gives the same float32 numbers alone or in a batch of 2048, however
    # the matrix library orders its additions.
    full = _bases(texts).astype(np.float64) @ projection
    norms = np.sqrt(np.einsum("ij,ij->i", full, full))[:, None]
    norms[norms == 0] = 1.0
    return np.divide(full, norms, out=full).astype(np.float32)


def vector(text: str, dims: int, keep: int | None = None) -> list[float]:
    """One text's unit vector as a list of floats."""
    return [float(v) for v in vectors([text], dims, keep)[0]]


def _texts(value: Any, encoding: str) -> list[tuple[str, int]]:
    """(text, token count) for every input: a string, strings, a token array or token arrays."""
    if isinstance(value, str):
        items: list[Any] = [value]
    elif value and all(isinstance(v, int) for v in value):
        items = [value]
    else:
        items = list(value)
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, tokens.count(item, encoding)))
        else:
            out.append((tokens.decode(item, encoding), len(item)))
    return out


def prompt_tokens(value: Any, encoding: str) -> int:
    """The tokens of every input (what an enforced quota charges an embeddings request)."""
    return sum(n for _, n in _texts(value, encoding))


def _check(request: EmbeddingRequest, deployment: Deployment, texts: list[tuple[str, int]]) -> None:
    if not texts or any(t == "" and n == 0 for t, n in texts):
        raise InvalidRequest(
            "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
            param="input",
        )
    if len(texts) > _MAX_INPUTS:
        raise InvalidRequest(
            f"Too many inputs. The max number of inputs is {_MAX_INPUTS}. We recommend sending fewer inputs.",
            param="input",
        )
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
    texts = _texts(request.input, encoding)
    _check(request, deployment, texts)
    as_base64 = request.encoding_format == "base64"
    scripted = _scripted(responder, ctx, texts, body) if responder is not None and ctx is not None else None
    if scripted:
        rows: Sequence[Any] = [list(scripted[i % len(scripted)])[: request.dimensions or None] for i in range(len(texts))]
    else:
        rows = vectors([text for text, _ in texts], deployment.dimensions, request.dimensions)
    found = tuple(_encode(row) for row in rows) if as_base64 else tuple(rows)
    return EmbeddingResult(deployment.response_model, found, sum(n for _, n in texts))
