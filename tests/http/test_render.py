"""A long list is written in pieces (so a worker thread lets the loop run) and kept in them (an 80 MB answer is
never joined), byte for byte as in one piece."""

from __future__ import annotations

import numpy as np
import pytest
from aoai_mock.http.render import JsonPieces, json_bytes, json_bytes_in_pieces


def _body(count: int) -> dict:
    rows = np.arange(count * 4, dtype=np.float32).reshape(count, 4) / 7
    return {"object": "list", "data": [{"embedding": row, "index": i, "object": "embedding", "é": "ü"}
                                       for i, row in enumerate(rows)], "model": "m", "usage": {"prompt_tokens": 1}}


@pytest.mark.parametrize("count", [0, 1, 63, 64, 127, 128, 129, 200, 2048])
def test_a_list_in_pieces_is_the_same_bytes(count):
    body = _body(count)
    written = json_bytes_in_pieces(body)
    assert bytes(written) == json_bytes(body)
    assert len(written) == len(json_bytes(body))
    assert isinstance(written, JsonPieces) == (count >= 64)


@pytest.mark.parametrize("limit", [0, 1, 5, 100, 4096, 10**9])
def test_the_head_of_pieces_is_the_head_of_the_body(limit):
    whole = json_bytes(_body(300))
    assert json_bytes_in_pieces(_body(300)).head(limit) == whole[:limit]
