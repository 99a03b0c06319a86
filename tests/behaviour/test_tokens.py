"""Token counts match the figures the service reports in the quickstarts."""

import pytest
from aoai_mock.behaviour import tokens

SEED_CHAT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "When was Microsoft founded?"},
]


def test_chat_prompt_of_the_sdk_reference_page_counts_22_on_gpt_4o():
    assert tokens.count_chat(SEED_CHAT, "o200k_base") == 22


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [("Attenion is all you need", "cl100k_base", 7), ("Hello World!", "cl100k_base", 3)],
)
def test_text_counts_of_the_quickstarts(text, encoding, expected):
    assert tokens.count(text, encoding) == expected


@pytest.mark.parametrize(
    ("model", "encoding"),
    [("gpt-4o", "o200k_base"), ("gpt-4.1", "o200k_base"), ("o3-mini", "o200k_base"),
     ("gpt-35-turbo", "cl100k_base"), ("gpt-4", "cl100k_base"), ("text-embedding-3-large", "cl100k_base")],
)
def test_encoding_per_model(model, encoding):
    assert tokens.encoding_name_for(model) == encoding


def test_names_and_tools_add_tokens():
    named = [{"role": "user", "content": "hi", "name": "jane"}]
    plain = [{"role": "user", "content": "hi"}]
    extra = 1 + tokens.count("jane", "o200k_base")
    assert tokens.count_chat(named, "o200k_base") == tokens.count_chat(plain, "o200k_base") + extra
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
    assert tokens.count_chat(plain, "o200k_base", [tool]) > tokens.count_chat(plain, "o200k_base")


def test_chatml_special_tokens_are_counted_as_text():
    assert tokens.count("<|im_start|>user\nhi<|im_end|>", "cl100k_base") > 3


def test_pieces_hold_back_partial_utf8():
    text = "naïve 🙂 漢字"
    ids = tokens.encode(text, "o200k_base")
    pieces = list(tokens.pieces(ids, "o200k_base"))
    assert "".join(pieces) == text
    assert all("\ufffd" not in p for p in pieces)
