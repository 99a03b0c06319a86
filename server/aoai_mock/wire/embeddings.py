"""The embeddings ``list`` body."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["embeddings_body"]


def embeddings_body(model: str, vectors: Sequence[Any], prompt_tokens: int) -> dict[str, Any]:
    return {
        "data": [{"embedding": v, "index": i, "object": "embedding"} for i, v in enumerate(vectors)],
        "model": model,
        "object": "list",
        "usage": {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens},
    }
