"""Embedding vectors: unit length, the model's size, deterministic, and similar for similar texts."""

import math

import pytest
from aoai_mock.behaviour.embeddings import vector


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_unit_length_and_size():
    v = vector("Attention is all you need", 3072)
    assert len(v) == 3072
    assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-6)  # float32, as Azure sends them


def test_shortened_vectors_are_renormalised():
    v = vector("Attention is all you need", 3072, keep=256)
    assert len(v) == 256
    assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-6)  # float32, as Azure sends them


def test_same_text_same_vector_and_related_texts_are_closer():
    a = vector("the cat sat on the mat", 1536)
    assert a == vector("the cat sat on the mat", 1536)
    near = vector("a cat sat on a mat", 1536)
    far = vector("quarterly revenue grew in Europe", 1536)
    assert _cos(a, near) > _cos(a, far) + 0.3


def test_a_text_gives_the_same_numbers_alone_or_in_a_batch():
    import random

    import numpy as np
    from aoai_mock.behaviour.embeddings import vectors

    rng = random.Random(3)
    texts = [" ".join(rng.choice(["cat", "dog", "mat", "revenue", "europe", "the"]) for _ in range(30)) for _ in range(70)]
    batch = vectors(texts, 3072)
    for size in (1, 17, 70):
        assert all(np.array_equal(a, b) for a, b in zip(vectors(texts[:size], 3072), batch))


def test_what_is_remembered_is_bounded_and_a_reset_forgets_it():
    from aoai_mock.behaviour import embeddings, tokens
    from aoai_mock.behaviour.runtime import Runtime
    from aoai_mock.settings import Settings

    vector(" ".join(f"w{i}" for i in range(5000)), 1536)
    assert set(embeddings._projections) >= {1536}
    assert 5000 <= embeddings._parts["cl100k_base"].used <= embeddings._KEPT_PARTS + 1
    tokens.count("remembered", "o200k_base")
    tokens.count(" ".join(f"w{i}" for i in range(500)), "o200k_base")
    assert tokens._part_counts["o200k_base"]
    Runtime.create(Settings()).reset()
    assert embeddings._projections == {}
    assert embeddings._parts == {}
    assert tokens._count_short.cache_info().currsize == 0
    assert tokens._part_counts == {}


# The vectors are defined as: the sum over the words (``\w+``) of the lower-cased text (or, with no word, over
# the text itself) of each word's SHAKE-128 direction, projected. The mock remembers the parts of texts it has
# seen; the numbers must be those of the definition, whatever it remembers, and the same in every process.
_PIECES = ["cat", "Cat", "CAT", "dog", "the", " ", "  ", "\n", "\t", ",", ".", "don't", "e-mail", "ΟΔΟΣ", "Σ",
           "straße", "日本語", "🙂", "1999", "x" * 70, "-", "", "\u00a0", "word_with_underscore"]


def _defined(texts, dims):
    import hashlib
    import re

    import numpy as np

    projection = np.random.default_rng(dims).integers(-127, 128, (128, dims)).astype(np.float64)
    bases = []
    for text in texts:
        words = re.findall(r"\w+", text.lower()) or [text]
        hashed = b"".join(hashlib.shake_128(w.encode("utf-8", "surrogatepass")).digest(128) for w in words)
        bases.append(np.frombuffer(hashed, dtype=np.int8).reshape(len(words), 128).astype(np.int64).sum(axis=0))
    full = np.array(bases, dtype=np.float64) @ projection
    norms = np.sqrt(np.einsum("ij,ij->i", full, full))[:, None]
    norms[norms == 0] = 1.0
    return (full / norms).astype(np.float32)


@pytest.mark.parametrize("kept", [None, 40])
def test_vectors_are_those_of_the_definition_whatever_is_remembered(monkeypatch, kept):
    import random

    import numpy as np
    from aoai_mock.behaviour import embeddings

    if kept is not None:  # a small memory: it starts afresh many times, within a batch and within a text
        monkeypatch.setattr(embeddings, "_KEPT_PARTS", kept)
        monkeypatch.setattr(embeddings, "_parts", {})
    rng = random.Random(kept or 1)
    texts = ["".join(rng.choice(_PIECES) + rng.choice([" ", "", "  "]) for _ in range(rng.randrange(0, 60)))
             for _ in range(300)]
    texts += [" ".join(f"w{rng.randrange(200)}" for _ in range(100)) for _ in range(50)]
    expected = _defined(texts, 1536)
    assert np.array_equal(embeddings.vectors(texts, 1536), expected)
    assert np.array_equal(embeddings.vectors(texts, 1536), expected)  # now remembered
    for i in range(0, len(texts), 37):
        assert np.array_equal(embeddings.vectors(texts[i : i + 37], 1536), expected[i : i + 37])


@pytest.mark.parametrize("kept", [None, 40])
def test_the_token_counts_of_remembered_parts_are_tiktokens(monkeypatch, kept):
    import random

    from aoai_mock.behaviour import embeddings, tokens

    if kept is not None:
        monkeypatch.setattr(embeddings, "_KEPT_PARTS", kept)
        monkeypatch.setattr(embeddings, "_parts", {})
    enc = tokens.encoding("cl100k_base")
    rng = random.Random(7)
    texts = ["".join(rng.choice(_PIECES) + rng.choice([" ", "", "  ", "\n "]) for _ in range(rng.randrange(0, 60)))
             for _ in range(300)]
    for _ in range(2):  # learnt, then remembered
        given, _ = embeddings._texts(texts, "cl100k_base")
        assert [n for _, n in given] == [len(enc.encode_ordinary(text)) for text in texts]
    ids = [enc.encode_ordinary("some text"), enc.encode_ordinary("  more, text  ")]
    given, _ = embeddings._texts(ids, "cl100k_base")
    assert given == [("some text", len(ids[0])), ("  more, text  ", len(ids[1]))]


@pytest.mark.parametrize("dims", [3072, 1536, 256, 100, 1])
def test_base64_rows_at_once_are_each_rows_base64(dims):
    import numpy as np
    from aoai_mock.behaviour.embeddings import _base64_rows, _encode

    rows = np.random.default_rng(dims).standard_normal((7, dims)).astype(np.float32)
    assert _base64_rows(rows) == tuple(_encode(row) for row in rows)


def test_the_same_numbers_in_every_process():
    """Pinned bytes: the vectors of these texts, as every release since the SHAKE directions has written them."""
    import hashlib

    from aoai_mock.behaviour.embeddings import vectors

    texts = ["The quick brown fox, don't you know?", "ΟΔΟΣ Straße e-mail  two  spaces", "", "---", "x" * 100 + " short"]
    assert hashlib.sha256(vectors(texts, 1536).tobytes()).hexdigest() == (
        "4f9e044493c796cc0ccd6e05e16e0ebd4ce31ce82550aa7478d6cff768b193b9"
    )
    assert hashlib.sha256(vectors(texts, 3072, 256).tobytes()).hexdigest() == (
        "e2538396c035bdec577a6b386b55c2e53922c5dbfa2943f9a57c52ae60ca4f94"
    )


def test_a_large_answer_on_the_wire_is_the_vectors_and_the_journal_keeps_its_head(http):
    """200 vectors of 3072 (7.5 MB) are worked out in a worker thread and sent as the pieces they were written in:
    the bytes are the same JSON, with its content-length, and the journal keeps the answer's first bytes."""
    import numpy as np
    import orjson
    from aoai_mock.behaviour.embeddings import vectors
    from aoai_mock.http.render import json_bytes

    texts = [f"text number {i} about cats and mats" for i in range(200)]
    answer = http.post("/openai/deployments/text-embedding-3-large/embeddings?api-version=2024-10-21",
                       json={"input": texts}, headers={"x-ms-client-request-id": "large-embeddings-answer"})
    assert answer.status_code == 200
    assert int(answer.headers["content-length"]) == len(answer.content) > 7_000_000
    body = orjson.loads(answer.content)
    assert [item["index"] for item in body["data"]] == list(range(200))
    got = np.array([item["embedding"] for item in body["data"]], dtype=np.float32)
    assert np.array_equal(got, vectors(texts, 3072))
    assert answer.content == json_bytes({**body, "data": [dict(item, embedding=row) for item, row in
                                                          zip(body["data"], vectors(texts, 3072))]})
    journal = http.get("/_mock/requests").json()
    entry = next(e for e in journal["data"] if e["headers"].get("x-ms-client-request-id") == "large-embeddings-answer")
    response = entry["response"]
    assert response["body_size"] == len(answer.content) and response["body_truncated"]
    assert response["body_encoding"] == "text" and answer.content.startswith(response["body"].encode())
