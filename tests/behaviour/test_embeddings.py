"""Embedding vectors: unit length, the model's size, deterministic, and similar for similar texts."""

import math

from aoai_mock.behaviour.embeddings import vector


def _cos(a, b):
    return sum(x * y for x, y in zip(a, b))


def test_unit_length_and_size():
    v = vector("Attention is all you need", 3072)
    assert len(v) == 3072
    assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-9)


def test_shortened_vectors_are_renormalised():
    v = vector("Attention is all you need", 3072, keep=256)
    assert len(v) == 256
    assert math.isclose(sum(x * x for x in v), 1.0, rel_tol=1e-9)


def test_same_text_same_vector_and_related_texts_are_closer():
    a = vector("the cat sat on the mat", 1536)
    assert a == vector("the cat sat on the mat", 1536)
    near = vector("a cat sat on a mat", 1536)
    far = vector("quarterly revenue grew in Europe", 1536)
    assert _cos(a, near) > _cos(a, far) + 0.3
