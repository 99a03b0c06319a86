"""Embeddings: deterministic unit vectors of the model's real size, derived from the text.

A vector is the sum of one pseudo-random direction per word (cached), so texts that share words point
the same way and cosine similarity means something in a RAG demo. ``dimensions`` shortens and
renormalises, as text-embedding-3 does.
"""

from __future__ import annotations

import base64
import math
import random
import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

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

__all__ = ["EmbeddingResult", "run_embeddings", "vector", "prompt_tokens"]

_MAX_INPUTS = 2048
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class EmbeddingResult:
    model: str
    vectors: tuple[list[float] | str, ...]  # floats, or base64 of little-endian float32
    prompt_tokens: int


@lru_cache(maxsize=8192)
def _direction(word: str, dims: int) -> tuple[float, ...]:
    rng = random.Random(f"{dims}:{word}")
    return tuple(rng.gauss(0.0, 1.0) for _ in range(dims))


def vector(text: str, dims: int, keep: int | None = None) -> list[float]:
    words = _WORD.findall(text.lower()) or [text]
    total = [0.0] * dims
    for word in words:
        for i, value in enumerate(_direction(word, dims)):
            total[i] += value
    if keep is not None:
        total = total[:keep]
    norm = math.sqrt(sum(v * v for v in total)) or 1.0
    return [v / norm for v in total]


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


def _encode(values: list[float]) -> str:
    return base64.b64encode(array("f", values).tobytes()).decode()


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
    vectors = []
    for index, (text, _) in enumerate(texts):
        if scripted:
            values = list(scripted[index % len(scripted)])[: request.dimensions or None]
        else:
            values = vector(text, deployment.dimensions, request.dimensions)
        vectors.append(_encode(values) if as_base64 else values)
    return EmbeddingResult(deployment.response_model, tuple(vectors), sum(n for _, n in texts))
