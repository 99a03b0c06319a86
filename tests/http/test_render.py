"""A long list is written in pieces (so a worker thread lets the loop run), byte for byte as in one piece."""

from __future__ import annotations

import numpy as np
import pytest
from aoai_mock.http.render import json_bytes, json_bytes_in_pieces


@pytest.mark.parametrize("count", [0, 1, 127, 128, 129, 200, 2048])
def test_a_list_in_pieces_is_the_same_bytes(count):
    rows = np.arange(count * 4, dtype=np.float32).reshape(count, 4) / 7
    body = {"object": "list", "data": [{"embedding": row, "index": i, "object": "embedding", "é": "ü"}
                                       for i, row in enumerate(rows)], "model": "m", "usage": {"prompt_tokens": 1}}
    assert json_bytes_in_pieces(body) == json_bytes(body)
