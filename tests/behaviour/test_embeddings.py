"""Embedding vectors: unit length, the model's size, deterministic, and similar for similar texts."""

import math

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


def test_nothing_grows_with_the_words_seen_and_a_reset_frees_the_projections():
    from aoai_mock.behaviour import embeddings, tokens
    from aoai_mock.behaviour.runtime import Runtime
    from aoai_mock.settings import Settings

    vector(" ".join(f"w{i}" for i in range(5000)), 1536)
    assert set(embeddings._projections) >= {1536}
    tokens.count("remembered", "o200k_base")
    Runtime.create(Settings()).reset()
    assert embeddings._projections == {}
    assert tokens._count_short.cache_info().currsize == 0
