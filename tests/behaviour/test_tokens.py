"""Token counts match the figures the service reports: in the quickstarts and in the recordings."""

import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from aoai_mock.behaviour import tokens, tool_text

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


# -- counted as Azure counted them (../shared/recordings; the file each number comes from is named) ---------------

HONOLULU_TOOL = {
    "type": "function",
    "function": {
        "description": "requests the anticipated future temperature at a provided location to help inform advice "
        "about topics like choice of attire",
        "name": "get_future_temperature",
        "parameters": {
            "type": "object",
            "properties": {
                "locationName": {
                    "type": "string",
                    "description": "the name or brief description of a location for weather information",
                },
                "date": {
                    "type": "string",
                    "description": "the day, month, and year for which to retrieve weather information",
                },
            },
        },
    },
}
HONOLULU_CHAT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What should I wear in Honolulu next Thursday?"},
]
HONOLULU_CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_future_temperature", "arguments": '{"locationName":"Honolulu","date":"2023-11-02"}'},
}
HONOLULU_FOLLOW_UP = [
    *HONOLULU_CHAT,
    {"role": "assistant", "tool_calls": [HONOLULU_CALL]},
    {"role": "tool", "tool_call_id": "call_1", "content": '{"temperature":31,"unit":"celsius"}'},
]
WEATHER_TOOL = {  # the Responses API's flat spelling
    "type": "function",
    "name": "get_weather_at_location",
    "description": "Gets the weather at a specified location, optionally specifying units for temperature",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F", "K"]}},
        "required": ["location"],
    },
}
WEATHER_CHAT = [{"role": "user", "content": "What should I wear for the weather in San Francisco, CA?"}]
WEATHER_FOLLOW_UP = [
    *WEATHER_CHAT,
    {"role": "assistant", "content": None, "tool_calls": [{"id": "call_2", "type": "function", "function": {
        "name": "get_weather_at_location", "arguments": '{"location":"San Francisco, CA"}'}}]},
    {"role": "tool", "tool_call_id": "call_2", "content": "22 celcius and windy"},
]
STEPS_SCHEMA = {
    "description": "a single final answer with a supporting collection of steps",
    "name": "test_schema",
    "schema": {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "steps": {"type": "array", "items": {"type": "string"}}},
        "required": ["answer", "steps"],
        "additionalProperties": False,
    },
    "strict": True,
}
FEATHERS = [{"role": "user", "content": "What's heavier, a pound of feathers or sixteen ounces of steel?"}]


def test_a_function_tool_is_rendered_as_a_typescript_namespace():
    assert tokens.sections_text([HONOLULU_TOOL], None) == (
        "## functions\n\nnamespace functions {\n\n"
        "// requests the anticipated future temperature at a provided location to help inform advice about topics"
        " like choice of attire\n"
        "type get_future_temperature = (_: {\n"
        "// the name or brief description of a location for weather information\n"
        "locationName?: string,\n"
        "// the day, month, and year for which to retrieve weather information\n"
        "date?: string,\n"
        "}) => any;\n\n"
        "} // namespace functions"
    )
    assert tokens.sections_text([WEATHER_TOOL], None).splitlines()[5:8] == [
        "type get_weather_at_location = (_: {", "location: string,", 'unit?: "C" | "F" | "K",'
    ]


def test_nested_schemas_render_as_the_open_renderer_writes_them():
    schema = {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "description": "what to buy", "items": {"type": "object", "properties": {
            "name": {"type": "string", "description": "shown nested"}, "count": {"type": "integer", "default": 1}}}},
        "when": {"type": ["string", "null"]},
        "mode": {"oneOf": [{"type": "string", "enum": ["fast"]}, {"type": "number", "description": "a speed"}]},
    }}
    assert tool_text.typescript(schema, "") == (
        "{\n// what to buy\nitems: {\n    // shown nested\n    name?: string,\n    count?: number, // default: 1\n    }[],\n"
        'when?: string | null,\nmode?:\n | "fast"\n | number // a speed\n,\n}'
    )
    assert tokens.sections_text([{"name": "noop", "description": "does nothing"}], None) == (
        "## functions\n\nnamespace functions {\n\n// does nothing\ntype noop = () => any;\n\n} // namespace functions"
    )


def test_one_tool_beside_a_system_message_counts_105():
    """[captured: recordings/chat/net-SimpleToolWorks-Required-2025 #0]: 105 (127 before: the tool's JSON)."""
    body = {"messages": HONOLULU_CHAT, "tools": [HONOLULU_TOOL], "tool_choice": "required"}
    assert tokens.count_chat_body(body, "gpt-4o", "2024-08-06", "2025-04-01-preview") == 105


def test_a_tool_call_and_its_result_count_150():
    """[captured: recordings/chat/net-SimpleToolWorks-Required-2025 #1]: the call and the result as messages."""
    body = {"messages": HONOLULU_FOLLOW_UP, "tools": [HONOLULU_TOOL]}
    assert tokens.count_chat_body(body, "gpt-4o", "2024-08-06", "2025-04-01-preview") == 150


@pytest.mark.parametrize(("api_version", "expected"), [("2024-10-21", 107), ("2025-04-01-preview", 105), ("v1", 105)])
def test_a_forced_tool_choice_costs_what_its_era_counted(api_version, expected):
    """[captured: recordings/chat/net-SimpleToolWorksStreaming-Required (2024-10-21, Dec 2024): 107, and
    recordings/chat/net-SimpleToolWorks-Required-2025 (2025-04-01-preview, Apr 2025): 105, the same request]."""
    body = {"messages": HONOLULU_CHAT, "tools": [HONOLULU_TOOL], "tool_choice": "required"}
    assert tokens.count_chat_body(body, "gpt-4o", "2024-08-06", api_version) == expected
    named = {**body, "tool_choice": {"type": "function", "function": {"name": "get_future_temperature"}}}
    assert tokens.count_chat_body(named, "gpt-4o", "2024-08-06", api_version) == expected
    auto = {**body, "tool_choice": "auto"}
    assert tokens.count_chat_body(auto, "gpt-4o", "2024-08-06", api_version) == 104


def test_responses_tools_without_a_system_message_count_74_and_109():
    """[captured: recordings/responses/net-FunctionCall-2025-04-01-preview #0 (74) and #1 (109, the call and its
    output after the first turn)]: the flat tool spelling, no system message to join."""
    assert tokens.count_conversation(WEATHER_CHAT, "gpt-4o-mini", "2024-07-18", tools=[WEATHER_TOOL]) == 74
    assert tokens.count_conversation(WEATHER_FOLLOW_UP, "gpt-4o-mini", tools=[WEATHER_TOOL]) == 109


def test_a_json_schema_response_format_counts_75():
    """[captured: recordings/chat/net-StructuredOutputsWork]: 75 (20 before: the format was not counted)."""
    body = {"messages": FEATHERS, "response_format": {"type": "json_schema", "json_schema": STEPS_SCHEMA}}
    assert tokens.count_chat_body(body, "gpt-4o", "2024-08-06", "2024-10-21") == 75
    flat = {"type": "json_schema", **STEPS_SCHEMA}  # the Responses API's text.format
    assert tokens.count_conversation(FEATHERS, "gpt-4o", response_format=flat) == 75
    assert tokens.count_conversation(FEATHERS, "gpt-4o", response_format={"type": "json_object"}) == 20


@pytest.mark.parametrize(
    ("model", "text", "expected"),
    [("o1", "Hello, world!", 10), ("o3-mini", "Hello, world! Please write a funny haiku to greet me.", 20),
     ("gpt-4o", "Hello, world!", 11)],
)
def test_the_o_series_primes_the_reply_with_one_token_less(model, text, expected):
    """[captured: recordings/chat/net-ChatWithO1Works (o1: 10), recordings/chat/
    net-MaxOutputTokens-o3-mini-2025-01-01-preview (o3-mini: 20), recordings/chat/net-ChatCompletion (gpt-4o: 11
    for "hello, world!")]."""
    body = {"messages": [{"role": "user", "content": text}]}
    assert tokens.count_chat_body(body, model, "", "2025-03-01-preview") == expected


PIRATE_CHAT = [
    {"role": "system", "content": "You are a helpful assistant. You will talk like a pirate."},
    {"role": "user", "content": "Can you help me?"},
    {"role": "assistant", "content": "Arrrr! Of course, me hearty! What can I do for ye?"},
    {"role": "user", "content": "What's the best way to train a parrot?"},
]


@pytest.mark.parametrize(("model", "version", "expected"),
                         [("gpt-35-turbo", "0301", 68), ("gpt-35-turbo-0301", "", 68), ("gpt-35-turbo", "0613", 64)])
def test_gpt_35_turbo_0301_frames_every_message_with_four_tokens(model, version, expected):
    """[captured: recordings/chat/js-ChatAcrossModels-2023-08-01-preview]: 68 for four messages, 4 more than the
    3-a-message frame of 0613 and later."""
    assert tokens.count_chat_body({"messages": PIRATE_CHAT}, model, version, "2023-08-01-preview") == expected
    named = [{"role": "user", "content": "hi", "name": "jane"}]
    plain = [{"role": "user", "content": "hi"}]
    frame = tokens.frame_for("gpt-35-turbo", "0301")
    assert tokens.count_chat(named, "cl100k_base", frame=frame) == tokens.count_chat(
        plain, "cl100k_base", frame=frame) - 1 + tokens.count("jane", "cl100k_base")


@pytest.mark.parametrize("model", ["gpt-35-turbo", "gpt-35-turbo-instruct", "davinci-002", "babbage-002"])
def test_legacy_completions_count_the_prompt_as_sent(model):
    """[captured: recordings/completions/js-CompletionsAcrossModels-2023-08-01-preview]: 4 tokens for the prompt the
    test sent, ["This is a test"] (the JS recorder wrote "azure_search_index" over "test" in the recording)."""
    assert tokens.encoding_name_for(model) == "cl100k_base"
    assert tokens.count("This is a test", tokens.encoding_name_for(model)) == 4


def test_a_tool_loop_renders_its_tools_once():
    before = tokens._sections_count.cache_info()
    for _ in range(3):
        tokens.count_chat(HONOLULU_FOLLOW_UP, "o200k_base", [dict(HONOLULU_TOOL)])
    after = tokens._sections_count.cache_info()
    assert after.hits - before.hits >= 2 and after.misses - before.misses <= 1


# -- through the live server: the chat route counts with the deployment's model and the api-version's era -----


def test_chat_route_counts_tools_by_era_and_the_o_series_frame(http):
    body = {"messages": HONOLULU_CHAT, "tools": [HONOLULU_TOOL], "tool_choice": "required"}
    for api_version, expected in (("2025-04-01-preview", 105), ("2024-10-21", 107)):
        r = http.post(f"/openai/deployments/gpt-4o/chat/completions?api-version={api_version}", json=body)
        assert r.status_code == 200, r.text
        assert r.json()["usage"]["prompt_tokens"] == expected
    haiku = {"messages": [{"role": "user", "content": "Hello, world! Please write a funny haiku to greet me."}],
             "max_completion_tokens": 16}
    r = http.post("/openai/deployments/o3-mini/chat/completions?api-version=2025-01-01-preview", json=haiku)
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] == 20


def test_completions_route_counts_the_prompt_with_cl100k(http):
    r = http.post("/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2024-10-21",
                  json={"prompt": ["This is a test"], "max_tokens": 1})
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] == 4


SHARED_TOKENIZERS = Path(__file__).resolve().parents[3] / "shared" / "tokenizers"


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_the_bundled_ranks_are_the_published_file_prepared(name):
    published = SHARED_TOKENIZERS / f"{name}.tiktoken"
    if not published.is_file():
        pytest.skip(f"{published} is not here (a plain clone): the published rank files come with ../shared")
    from tiktoken.load import load_tiktoken_bpe

    spec = tokens.RANK_FILES[name]
    bundled = (files("aoai_mock") / "data" / "tokenizers" / spec.file).read_bytes()
    assert tokens.prepare(published.read_bytes()) == bundled
    official = load_tiktoken_bpe(str(published), expected_hash=spec.official_hash)  # tiktoken's own check
    assert tokens.read_ranks(name) == official
    built = tokens.encoding(name)  # (it keeps no dict of its ranks: its Rust tokenizer has them)
    assert all(built.encode_single_token(token) == rank for token, rank in official.items())


def test_building_an_encoding_leaves_tiktoken_as_it_was():
    from tiktoken_ext import openai_public

    before = openai_public.load_tiktoken_bpe
    tokens._build("cl100k_base")
    assert openai_public.load_tiktoken_bpe is before


def test_a_damaged_rank_file_is_refused(monkeypatch):
    damaged = tokens.RankFile(tokens.RANK_FILES["cl100k_base"].file, "", "0" * 64)
    monkeypatch.setitem(tokens.RANK_FILES, "cl100k_base", damaged)
    with pytest.raises(ValueError, match="damaged"):
        tokens.read_ranks("cl100k_base")


_SERVED = """
from fastapi.testclient import TestClient
from aoai_mock.app import create_app
from aoai_mock.behaviour import tokens
from aoai_mock.settings import resolve

with TestClient(create_app(resolve({"port": 0}, env={}))) as client:
    assert client.get("/_mock/health").status_code == 200
    print(",".join(tokens.loaded()))
    answer = client.post("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
                         headers={"api-key": "k"}, json={"messages": [{"role": "user", "content": "hi"}]})
    assert answer.status_code == 200, answer.text
    print(",".join(tokens.loaded()))
"""


def test_an_encoding_is_built_when_a_request_needs_it_not_at_start():
    run = subprocess.run([sys.executable, "-c", _SERVED], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["", "o200k_base"]


# A long text is counted a part at a time (cut before each space that follows a non-space character), each
# part's count remembered: the sum must be tiktoken's count of the whole text, whatever the text.
_TRICKY = [" ", " ", " ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "\u2028", "\x1c", "\x85", "\u200b",
           "a", "Z", "ß", "é", "e\u0301", "日本", "🙂", "👩‍👩‍👧", "1", "12", "1234567", "٣", "'s", "'LL", "’", "'",
           ".", ",", "!?", "/", "//", "<|endoftext|>", "<|im_start|>", "-", "_", "(", "\\", "word", "Word",
           "WORD", "don't", "http://x.io/a?b=c", "@", "#", "$1,000.00", "\u0000"]


_ASCII_TRICKY = [piece for piece in _TRICKY if piece.isascii()] + ["\x0b", "\x0c", "\x1f", "\r", " \r \n "]


def _tricky_text(rng, length: int, alphabet: list[str] = _TRICKY) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


@pytest.mark.parametrize("encoding", ["o200k_base", "cl100k_base"])
def test_a_long_text_counts_as_tiktoken_counts_it_whole(encoding):
    import random

    rng = random.Random(20261206)
    enc = tokens.encoding(encoding)
    texts = [_tricky_text(rng, rng.randrange(60, 400)) for _ in range(2000)]
    texts += [_tricky_text(rng, rng.randrange(60, 400), _ASCII_TRICKY) for _ in range(2000)]
    texts += [" ".join(rng.choice(["the", "cat", "Sat", "1999,", "x.", "don't", "日本", "🙂"]) for _ in range(100))
              for _ in range(200)]  # prose: every space after a non-space character
    texts += [" ".join(f"word{rng.randrange(99)}" for _ in range(80)) + tail for tail in ("", " ", "  ", "\n ", " \n")]
    texts += [" " + "x" * 300, "y" * 300 + " " + "z" * 70, "a " * 200, " a" * 200, "\n " * 150, "b\u00a0 c " * 60]
    for text in texts:
        assert tokens.count(text, encoding) == len(enc.encode_ordinary(text)), repr(text)


def test_every_regex_whitespace_character_is_whitespace_to_python():
    """The cut looks at ``str.isspace`` and ``\\s`` in Python's re; the encodings' patterns at Unicode's
    White_Space: every character of the latter must be one of the former."""
    import re

    import regex

    white = regex.compile(r"\p{White_Space}")
    python = re.compile(r"\s")
    for code in range(0x110000):
        char = chr(code)
        if white.match(char):
            assert char.isspace() and python.match(char), hex(code)
