"""The pure-Python byte-pair encoder gives tiktoken's token ids, character for character of what it takes, and
the tokenizer uses it only until it is built (behaviour/bpe.py, behaviour/tokens.py)."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest
import tiktoken
from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.bpe import SmallEncoder

NAMES = ("o200k_base", "cl100k_base")
SHARED_TOKENIZERS = Path(__file__).resolve().parents[3] / "shared" / "tokenizers"


@cache
def reference(name: str) -> tiktoken.Encoding:
    """tiktoken itself: from the published rank file when ../shared has it, else from the bundled ranks."""
    published = SHARED_TOKENIZERS / f"{name}.tiktoken"
    if not published.is_file():
        return tokens._build(name)
    from tiktoken.load import load_tiktoken_bpe

    made = tokens._constructed(name)
    ranks = load_tiktoken_bpe(str(published), expected_hash=tokens.RANK_FILES[name].official_hash)
    return tiktoken.Encoding(**{**made, "mergeable_ranks": ranks})


@cache
def small(name: str) -> SmallEncoder:
    made = tokens._constructed(name)
    return SmallEncoder(made["pat_str"], made["mergeable_ranks"])


def same(name: str, text: str) -> None:
    assert small(name).encode(text) == reference(name).encode_ordinary(text), repr(text)


SAFE = [chr(c) for c in range(0x530)] + [chr(c) for c in range(0x2000, 0x2070)]


@pytest.mark.parametrize("name", NAMES)
def test_every_character_it_takes_in_every_position(name):
    for c in SAFE:
        assert SmallEncoder.takes(c)
        same(name, f"a{c}b {c}{c} 1{c}2 {c} \n{c}\r\n{c}  x{c}'s A{c}B {c}{c}{c}")


@pytest.mark.parametrize("name", NAMES)
def test_random_texts(name):
    rng = random.Random(7)
    pools = [
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "0123456789",
        " \t\n\r\x0b\x0c",
        "'!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~",
        "éèàçüöñßÆØÅœ",
        "αβγδΑΒΓΔλμπΩ",
        "абвгдАБВГДжщЯ",
        "\u0301\u0308\u0327",
        "\u2018\u2019\u201c\u201d\u2013\u2014\u2026\u00a0\u2009",
        "".join(SAFE),
    ]
    for _ in range(1500):
        text = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(0, 80)))
        same(name, text)


ADVERSARIAL = [
    "",
    " ",
    "      ",
    "a" * 500,
    " " * 100 + "x",
    "\n\n\n\r\n\r\r\n  \n",
    "1234567890123",
    "I'm you'RE they'Ll it'S we'VE he'd 'll 's",
    "<|endoftext|> <|endofprompt|> <|im_start|>user\nhi<|im_end|>",
    "hello    world\t\t\ttabs   \n   trailing   ",
    "!!!???...,,,;;;:::---___===+++",
    "https://example.com/a/b?c=d&e=f#g",
    "SELECT * FROM t WHERE x = 'y';\n\tfoo(bar, baz) // comment",
    "The quick brown fox jumps over the lazy dog. " * 20,
    "ŁÓDŹ żółć Ёжик ΚΑΛΗΜΕΡΑ naïve café",
    "\x00\x01\x1c\x1d\x1e\x1f\x7f",
    "e\u0301e\u0301\u0301\u0301 a\u0308",
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("text", ADVERSARIAL)
def test_adversarial_texts(name, text):
    same(name, text)


@pytest.mark.parametrize("text", ["\u0558", "\U0001f600 emoji", "日本語", "\ud800", "a\u2070"])
def test_characters_outside_what_it_takes_are_left_to_tiktoken(text):
    assert not SmallEncoder.takes(text)


@pytest.mark.parametrize("name", NAMES)
def test_token_bytes_are_tiktokens(name):
    enc = reference(name)
    encoder = small(name)
    for token in range(0, enc.n_vocab, 997):
        found = encoder.token_bytes(token)
        if found is not None:
            assert found == enc.decode_single_token_bytes(token)
    assert encoder.token_bytes(-1) is None
    assert encoder.token_bytes(enc.eot_token) is None  # a special token: tiktoken's


@pytest.fixture()
def fresh(monkeypatch):
    """The tokenizer module as a fresh server has it: nothing built, nothing spent."""
    for name in ("_built", "_small", "_small_spent", "_constructed_by_name"):
        monkeypatch.setattr(tokens, name, {})
    tokens.clear_caches()
    yield
    tokens.clear_caches()


def test_short_texts_are_encoded_without_building_the_tokenizer(fresh):
    text = "When was Microsoft founded? \u201cIn 1975\u201d \u2014 Albuquerque."
    ids = tokens.encode(text, "o200k_base")
    assert tokens.loaded() == ("o200k_base",)
    assert tokens._built == {}
    assert ids == reference("o200k_base").encode_ordinary(text)
    assert "".join(tokens.pieces(ids, "o200k_base")) == text
    assert tokens._built == {}


def test_a_text_it_does_not_take_builds_the_tokenizer(fresh):
    tokens.encode("hello", "cl100k_base")
    assert tokens._built == {}
    assert tokens.encode("emoji \U0001f600", "cl100k_base") == reference("cl100k_base").encode_ordinary("emoji \U0001f600")
    assert set(tokens._built) == {"cl100k_base"}
    assert tokens.encode("hello", "cl100k_base") == reference("cl100k_base").encode_ordinary("hello")


def test_a_built_tokenizer_keeps_no_second_copy_of_its_ranks(fresh):
    """tiktoken keeps the ranks dict only to pickle an encoding: dropped, its Rust tokenizer encodes and decodes
    every token as before."""
    built = tokens.encoding("cl100k_base")
    assert built._mergeable_ranks == {}
    text = "emoji \U0001f600 and words, 1999; \u65e5\u672c"
    ids = built.encode_ordinary(text)
    assert ids == reference("cl100k_base").encode_ordinary(text) and built.decode(ids) == text
    assert built.decode_single_token_bytes(ids[0]) == reference("cl100k_base").decode_single_token_bytes(ids[0])


def test_the_tokenizer_is_built_once_the_budget_is_spent(fresh):
    word = "lorem ipsum dolor sit amet " * 40
    spent = 0
    while spent + len(word) <= tokens._SMALL_BUDGET:
        tokens.encode(word, "o200k_base")
        spent += len(word)
    assert tokens._built == {}
    assert tokens.encode(word, "o200k_base") == reference("o200k_base").encode_ordinary(word)
    assert set(tokens._built) == {"o200k_base"}


def test_a_special_token_is_decoded_by_tiktoken(fresh):
    tokens.encode("hi", "o200k_base")
    eot = reference("o200k_base").eot_token
    assert list(tokens.pieces([eot], "o200k_base")) == ["<|endoftext|>"]



@pytest.mark.parametrize("name", NAMES)
def test_the_rank_table_reads_a_bucket_at_a_time_and_holds_every_rank(name):
    from aoai_mock.behaviour.ranks import RankTable

    table = tokens.read_table(name)
    assert len(table.known) == 256  # the one-byte tokens; nothing else read yet
    table.cover("Hello, world".encode())
    assert 256 < len(table.known) < len(table) // 20
    every = tokens.read_ranks(name)
    assert all(every[token] == rank for token, rank in table.known.items())
    rng = random.Random(3)
    fresh = tokens.read_table(name)
    for token in rng.sample(sorted(every), 3000):
        assert fresh.get(token) == every[token]
        assert fresh.token_bytes(every[token]) == token
    assert fresh.get(b"\xff\xfe\xfd") is None and fresh.token_bytes(len(every)) is None
    assert fresh.tokens() == sorted(every, key=every.__getitem__)
    with pytest.raises(ValueError):
        RankTable(b"not a rank file")
