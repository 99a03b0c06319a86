"""Exact token counts, offline, with tiktoken and the rank files shipped in ``aoai_mock/data/tokenizers``.

Chat prompts are counted as the service counts them: every message costs its text plus a fixed frame, a tool
call and a tool result their text plus a header naming the function, function tools and a JSON-schema response
format the text the service renders them into (:mod:`aoai_mock.behaviour.tool_text`), and the reply is primed.
The frame depends on the model (gpt-35-turbo 0301, the o-series) and, for a forced tool choice, on the era.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files
from typing import Any

import orjson
import tiktoken

from aoai_mock.behaviour import tool_text
from aoai_mock.behaviour.bpe import SmallEncoder
from aoai_mock.behaviour.ranks import RankTable, prepare
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire.eras import LATEST, era_for

__all__ = [
    "GPT_FRAME",
    "Frame",
    "clear_caches",
    "count",
    "count_chat",
    "count_chat_body",
    "count_conversation",
    "cut_at_every_space",
    "decode",
    "encode",
    "encoding",
    "encoding_name_for",
    "frame_for",
    "loaded",
    "prepare",
    "read_ranks",
    "read_table",
    "pieces",
    "preload",
    "sections_text",
    "sections_tokens",
    "text_parts",
]

_RANKS_DIR = files("aoai_mock") / "data" / "tokenizers"
_lock = threading.Lock()  # one build of each encoding


@dataclass(frozen=True, slots=True)
class RankFile:
    """A bundled encoding: its ranks, prepared from OpenAI's published rank file (:mod:`aoai_mock.behaviour.ranks`).

    ``official_hash`` is the sha256 of the published file (tiktoken's ``expected_hash``), ``sha256`` that of
    the prepared file here; :func:`prepare` makes the one from the other.
    """

    file: str
    official_hash: str
    sha256: str


RANK_FILES = {
    "o200k_base": RankFile(
        "o200k_base.tokens",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        "0bb0a19ffacad2a0087bdb13ff473489fb0e90211c010125a47e5f2218cf55d4",
    ),
    "cl100k_base": RankFile(
        "cl100k_base.tokens",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        "06b1100e1bec3eab3f062f19facb246f63d27708c18485d5f83898b3fb0155dc",
    ),
}


def encoding_name_for(model: str) -> str:
    """The tokenizer a model uses: o200k for gpt-4o, gpt-4.1, gpt-5, gpt-realtime and the o-series, cl100k
    before."""
    name = model.lower()
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-image", "gpt-oss", "gpt-realtime")):
        return "o200k_base"
    return "cl100k_base"


_built: dict[str, tiktoken.Encoding] = {}


def encoding(name: str) -> tiktoken.Encoding:
    """The named encoding, built once from the bundled rank files on first use; never touches the network."""
    found = _built.get(name)
    if found is not None:
        return found
    with _lock:
        if name not in _built:
            _built[name] = _build(name)
        return _built[name]


def loaded() -> tuple[str, ...]:
    """The encodings loaded so far, built or read for the small encoder (each costs tens of MiB, so none is
    loaded before it is needed)."""
    return tuple(dict.fromkeys((*_built, *_small)))


def read_table(name: str) -> RankTable:
    """The bundled ranks of an encoding, checked against the hash of the prepared file, read as needed."""
    spec = RANK_FILES[name]
    raw = (_RANKS_DIR / spec.file).read_bytes()
    if hashlib.sha256(raw).hexdigest() != spec.sha256:
        raise ValueError(f"{spec.file}: the bundled rank file is damaged (its sha256 is not the one recorded)")
    return RankTable(raw)


def read_ranks(name: str) -> dict[bytes, int]:
    """Every bundled rank of an encoding, by token."""
    return read_table(name).to_dict()


def _build(name: str) -> tiktoken.Encoding:
    made = _constructed(name)
    built = tiktoken.Encoding(**{**made, "mergeable_ranks": made["mergeable_ranks"].to_dict()})
    _constructed_by_name.pop(name, None)
    _small.pop(name, None)
    # The encoding keeps its ranks as a dict only to be pickled, which the mock never does; its Rust tokenizer
    # has them. Dropped: 11 MiB for cl100k, about twice that for o200k.
    if isinstance(getattr(built, "_mergeable_ranks", None), dict):
        built._mergeable_ranks = {}
    return built


_constructed_by_name: dict[str, dict[str, Any]] = {}


def _constructed(name: str) -> dict[str, Any]:
    """tiktoken's constructor arguments of an encoding (name, pattern, ranks, special tokens), from the bundled
    ranks: its constructor asks for the ranks by the published file's hash, and gets the bundled ones for that
    hash (anything else goes to tiktoken as usual). Read once for the small encoder and the tokenizer both; the
    ranks are the bundled :class:`~aoai_mock.behaviour.ranks.RankTable` (the tokenizer takes them as a dict)."""
    found = _constructed_by_name.get(name)
    if found is not None:
        return found
    from tiktoken_ext import openai_public

    spec, ranks = RANK_FILES[name], read_table(name)
    fetch = openai_public.load_tiktoken_bpe

    def bundled(location: str, expected_hash: str | None = None) -> Any:
        return ranks if expected_hash == spec.official_hash else fetch(location, expected_hash=expected_hash)

    openai_public.load_tiktoken_bpe = bundled
    try:
        found = _constructed_by_name[name] = openai_public.ENCODING_CONSTRUCTORS[name]()
    finally:
        openai_public.load_tiktoken_bpe = fetch
    return found


# -- before the tokenizer is built ------------------------------------------------------------------------
# Building tiktoken's tokenizer (its CoreBPE) takes 0.1 to 0.2 s. Until it is built, short texts of common
# characters are encoded in pure Python over the same ranks (behaviour/bpe.py: the same ids, 20 times slower):
# a fresh server's first answers do not wait for the build. A text longer than what is left of the budget, or
# with a character the small encoder does not take, builds the tokenizer, which encodes everything from then on.
_SMALL_BUDGET = 32_768  # characters in all, about 0.15 s of pure Python: as long as the build takes
_small: dict[str, SmallEncoder] = {}
_small_spent: dict[str, int] = {}


def _small_encoder(text: str, name: str) -> SmallEncoder | None:
    """The small encoder of ``name`` when it may encode ``text`` (and count it against the budget)."""
    spent = _small_spent.get(name, 0) + len(text)
    if spent > _SMALL_BUDGET or not SmallEncoder.takes(text):
        return None
    _small_spent[name] = spent
    found = _small.get(name)
    if found is None:
        with _lock:
            found = _small.get(name)
            if found is None:
                if name in _built:  # built while this thread waited
                    return None
                made = _constructed(name)
                found = _small[name] = SmallEncoder(made["pat_str"], made["mergeable_ranks"])
    return found


def _token_bytes(name: str) -> Callable[[int], bytes]:
    """``decode_single_token_bytes`` of the encoding: the small encoder's while it is not built, and the built
    one's for a token the small encoder has not (a special token, an unknown id: the error is tiktoken's)."""
    built = _built.get(name)
    if built is not None:
        return built.decode_single_token_bytes
    small = _small.get(name)
    if small is None:
        return encoding(name).decode_single_token_bytes

    def token_bytes(token: int) -> bytes:
        found = small.token_bytes(token)
        return found if found is not None else encoding(name).decode_single_token_bytes(token)

    return token_bytes


def preload(names: Iterable[str] = ("o200k_base", "cl100k_base")) -> None:
    for name in names:
        encoding(name)


def encode(text: str, encoding_name: str) -> list[int]:
    # Special tokens such as <|im_start|> in ChatML prompts are counted as the service does, as text.
    found = _built.get(encoding_name)
    if found is None:
        small = _small_encoder(text, encoding_name)
        if small is not None:
            return small.encode(text)
        found = encoding(encoding_name)
    return found.encode(text, disallowed_special=())


_CACHED_TEXT = 256  # shorter texts (roles, names, short prompts) repeat whole across requests: remember them


@lru_cache(maxsize=16384)
def _count_short(text: str, encoding_name: str) -> int:
    return len(encode(text, encoding_name))


# A longer text is counted a word at a time. Both encodings first cut a text into pieces with a pattern in which
# no piece holds a non-space character followed by a space (U+0020): letters, digits and punctuation stop at a
# space, and only whitespace runs (or punctuation's trailing newlines) hold spaces. So a text cut before every
# space that follows a non-space character has the same pieces as its parts, each part's pieces alone are the
# ones it has in the text (the patterns look ahead one character, and a part ends where the next begins with a
# space, seen the same as the text's end), and the byte pairs merge within a piece: the count is the sum of the
# parts' counts. A part (" word", " 1999,") recurs across texts as words do, and its count is remembered.
# tests/behaviour/test_tokens.py checks the sum against tiktoken on texts built to break it.
_SEGMENTED = frozenset(("o200k_base", "cl100k_base"))
_CACHED_PART = 64  # longer parts (a base64 blob, a long URL) are counted, not remembered
_JOINED = re.compile(r"\s ")  # a space after whitespace: it does not start a part


def cut_at_every_space(text: str) -> bool:
    """Whether every space of ``text`` follows a non-space character (most prose): then each starts a part."""
    if text.startswith(" "):
        return False
    if text.isprintable():  # the only whitespace is the space (every other is a control or separator character)
        return "  " not in text
    return _JOINED.search(text) is None


_KEPT_PARTS = 65536  # remembered part counts per encoding (at most 64 characters each): a few MiB
_part_counts: dict[str, dict[str, int]] = {}  # encoding -> word -> the tokens of " " + word


def _count_spaced(words: Iterable[str], encoding_name: str) -> int:
    """The tokens of ``" " + word`` for every word, summed: remembered, as the words recur across texts."""
    known = _part_counts.get(encoding_name)
    if known is None:
        known = _part_counts.setdefault(encoding_name, {})
    try:
        return sum(map(known.__getitem__, words))  # every word seen before: a dictionary look-up each
    except KeyError:
        pass
    total = 0
    for word in words:
        found = known.get(word)
        if found is None:
            found = len(encode(" " + word, encoding_name))
            if len(word) < _CACHED_PART:
                if len(known) >= _KEPT_PARTS:
                    known.clear()
                known[word] = found
        total += found
    return total


def text_parts(text: str) -> Iterator[str]:
    """``text`` cut before every space that follows a non-space character (spaces elsewhere stay in a part)."""
    cut = text.split(" ")
    current = cut[0]
    for word in cut[1:]:
        if current and not current[-1].isspace():  # (Python's whitespace includes every regex \s character)
            yield current
            current = " " + word
        else:
            current += " " + word
    yield current


def _count_lone(part: str, encoding_name: str) -> int:
    return _count_short(part, encoding_name) if len(part) <= _CACHED_PART else len(encode(part, encoding_name))


def count(text: str, encoding_name: str) -> int:
    if len(text) <= _CACHED_TEXT:
        return _count_short(text, encoding_name)
    if encoding_name not in _SEGMENTED:
        return len(encode(text, encoding_name))
    if cut_at_every_space(text):
        first, *spaced = text.split(" ")
        return _count_lone(first, encoding_name) + _count_spaced(spaced, encoding_name)
    total = 0
    spaced = []
    for part in text_parts(text):
        if part.startswith(" "):
            spaced.append(part[1:])
        else:
            total += _count_lone(part, encoding_name)
    return total + _count_spaced(spaced, encoding_name)


def decode(tokens: Sequence[int], encoding_name: str) -> str:
    """Token ids as text; an id the tokenizer does not know is the service's 400, not a crash."""
    enc = encoding(encoding_name)
    try:
        return enc.decode(list(tokens))
    except (KeyError, OverflowError, ValueError):
        bad = next((t for t in tokens if not _known(enc, t)), tokens[0])
        raise InvalidRequest(
            f"Invalid token in prompt: {bad}. Minimum value is 0, maximum value is {enc.eot_token} (inclusive)."
        ) from None


def _known(enc: tiktoken.Encoding, token: int) -> bool:
    try:
        enc.decode_single_token_bytes(token)
    except (KeyError, OverflowError, ValueError):
        return False
    return True


def pieces(tokens: Sequence[int], encoding_name: str) -> Iterator[str]:
    """Decode token by token, holding bytes back until they form whole UTF-8 characters."""
    token_bytes = _token_bytes(encoding_name)
    pending = b""
    for token in tokens:
        pending += token_bytes(token)
        try:
            text = pending.decode("utf-8")
        except UnicodeDecodeError:
            continue
        pending = b""
        yield text
    if pending:
        yield pending.decode("utf-8", errors="replace")


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        text = part.get("text") if isinstance(part, Mapping) else None
        if isinstance(text, str):
            parts.append(text)
        elif isinstance(part, Mapping) and isinstance(part.get("refusal"), str):
            parts.append(part["refusal"])
    return "".join(parts)


# -- the frame of a conversation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Frame:
    """What the service adds around a conversation's text, in tokens.

    ``per_message``: every message's start, separator and end; ``per_name``: a message's ``name`` beside its
    role; ``reply_priming``: the opening of the answer the prompt ends with; ``forced_tool_choice``: a
    ``tool_choice`` that forces a call, ``required`` [captured: recordings/chat/net-SimpleToolWorks-Required-2025]
    or a named function [inferred: the same], by era (:attr:`aoai_mock.wire.eras.Era.forced_tool_choice_tokens`).
    """

    per_message: int = 3
    per_name: int = 1
    reply_priming: int = 3
    forced_tool_choice: int = 1


GPT_FRAME = Frame()
# gpt-35-turbo 0301 wrote `<|im_start|>{role or name}\n{content}<|im_end|>\n`: 4 a message, a name replacing the
# role [documented: openai-cookbook How_to_count_tokens_with_tiktoken]; 68 for the recorded pirate chat, 64 in
# the later frame [captured: recordings/chat/js-ChatAcrossModels-2023-08-01-preview].
_FRAME_0301 = Frame(per_message=4, per_name=-1)
# The o-series prompt ends `<|start|>assistant` without the separator: 10 for "Hello, world!" where gpt-4o
# counts 11 [captured: recordings/chat/net-ChatWithO1Works; 20 on o3-mini, recordings/chat/
# net-MaxOutputTokens-o3-mini-2025-01-01-preview].
_REASONING_PRIMING = 2
_O_SERIES = ("o1", "o3", "o4")


@lru_cache(maxsize=256)
def frame_for(model: str, version: str = "", api_version: str | None = None) -> Frame:
    """The frame of a model (and its version) as the service of ``api_version``'s era counted it."""
    name = model.lower()
    frame = GPT_FRAME
    if name.startswith(_O_SERIES):
        frame = replace(frame, reply_priming=_REASONING_PRIMING)
    elif name.startswith(("gpt-35-turbo", "gpt-3.5-turbo")) and "0301" in (version, name[-4:]):
        frame = _FRAME_0301
    forced = (era_for(api_version) if api_version else LATEST).forced_tool_choice_tokens
    return frame if forced == frame.forced_tool_choice else replace(frame, forced_tool_choice=forced)


# -- messages ---------------------------------------------------------------------------------------------


def _calls(message: Mapping[str, Any]) -> list[tuple[str, str]]:
    calls = []
    for call in message.get("tool_calls") or ():
        function = (call.get("function") or {}) if isinstance(call, Mapping) else {}
        calls.append((str(function.get("name", "")), str(function.get("arguments", ""))))
    legacy = message.get("function_call")
    if isinstance(legacy, Mapping):
        calls.append((str(legacy.get("name", "")), str(legacy.get("arguments", ""))))
    return calls


def _message_tokens(message: Mapping[str, Any], enc: str, frame: Frame, called: Mapping[str, str]) -> int:
    """One message. A call is its own assistant message `assistant to=functions.NAME`, its arguments the text;
    a result is the message `functions.NAME to=assistant` [documented: openai/harmony src/encoding.rs, the
    recipient in the header; captured: recordings/chat/net-SimpleToolWorks-Required-2025 #1, 150 tokens, and
    recordings/responses/net-FunctionCall-2025-04-01-preview #1, 109 tokens].
    """
    role, content = message.get("role"), message.get("content")
    if len(message) == 2 and type(role) is str and type(content) is str:  # the common {"role", "content"}
        return frame.per_message + count(role, enc) + count(content, enc)
    role = str(role or "")
    text = _content_text(content)
    if role in ("tool", "function"):
        name = message.get("name") or called.get(str(message.get("tool_call_id")))
        author = f"functions.{name}" if name else role
        return frame.per_message + count(f"{author} to=assistant", enc) + count(text, enc)
    calls = _calls(message)
    total = 0
    if text or not calls:
        total += frame.per_message + count(role, enc) + count(text, enc)
        if message.get("name"):
            total += frame.per_name + count(str(message["name"]), enc)
    for name, arguments in calls:
        total += frame.per_message + count(f"{role} to=functions.{name}", enc) + count(arguments, enc)
    return total


def _called(messages: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The function each tool call id names, for the results that answer them."""
    found: dict[str, str] = {}
    for message in messages:
        for call in message.get("tool_calls") or ():
            if isinstance(call, Mapping) and isinstance(call.get("function"), Mapping):
                found[str(call.get("id"))] = str(call["function"].get("name", ""))
    return found


# -- tools and response formats ---------------------------------------------------------------------------


def _forces_a_call(tool_choice: Any) -> bool:
    if tool_choice == "required":
        return True
    return isinstance(tool_choice, Mapping) and (tool_choice.get("type") == "function" or "name" in tool_choice)


def sections_text(tools: Sequence[Mapping[str, Any]] | None, response_format: Mapping[str, Any] | None) -> str:
    """What the service adds to the system message: the functions, then the response format."""
    functions = [f for f in (tool_text.function_of(t) for t in tools or () if isinstance(t, Mapping)) if f]
    sections = [tool_text.functions_section(functions)] if functions else []
    schema = tool_text.response_format_section(response_format)
    if schema:
        sections.append(schema)
    return "\n\n".join(sections)


@lru_cache(maxsize=1024)
def _sections_count(key: bytes, encoding_name: str) -> int:
    tools, response_format = orjson.loads(key)
    return count(sections_text(tools, response_format), encoding_name)


def sections_tokens(
    tools: Sequence[Mapping[str, Any]] | None, response_format: Mapping[str, Any] | None, encoding_name: str
) -> int:
    """The tokens of :func:`sections_text`, remembered per tools list and format (a tool loop repeats them)."""
    if not tools and not response_format:
        return 0
    try:
        key = orjson.dumps([list(tools or ()), response_format])
    except TypeError:
        return count(sections_text(tools, response_format), encoding_name)
    if len(key) > _CACHED_SECTIONS:  # remembered only up to a size, so the cache stays within 64 MiB
        return count(sections_text(tools, response_format), encoding_name)
    return _sections_count(key, encoding_name)


_CACHED_SECTIONS = 64 * 1024
_RESULT_ROLES = frozenset(("tool", "function"))


def clear_caches() -> None:
    """Forget remembered counts (``/_mock/reset``); the tokenizers stay loaded."""
    _count_short.cache_clear()
    _part_counts.clear()
    _sections_count.cache_clear()


def count_chat(
    messages: Sequence[Mapping[str, Any]],
    encoding_name: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
    image_tokens: int = 0,
    *,
    tool_choice: Any = None,
    response_format: Mapping[str, Any] | None = None,
    frame: Frame = GPT_FRAME,
) -> int:
    """Prompt tokens for a conversation: its messages in ``frame``, the tools and response format, images.

    ``tools`` in chat's, the Responses API's or the legacy ``functions`` spelling; ``response_format`` as chat
    sends it or as the Responses API's ``text.format``. The sections join the first system (or developer)
    message with one token; with no such message they cost their own tokens and no frame [captured:
    recordings/chat/net-SimpleToolWorks-Required-2025 #1 (150, a system message) against
    recordings/responses/net-FunctionCall-2025-04-01-preview #0 (74, none)].
    """
    total = frame.reply_priming + image_tokens
    called: dict[str, str] = {}
    for message in messages:  # tool results are counted with the name of the call they answer
        if message.get("role") in _RESULT_ROLES:
            called = _called(messages)
            break
    for message in messages:
        total += _message_tokens(message, encoding_name, frame, called)
    sections = sections_tokens(tools, response_format, encoding_name) if tools or response_format else 0
    if sections:
        first = messages[0].get("role") if messages else None
        total += sections + (1 if first in ("system", "developer") else 0)
    if tools and _forces_a_call(tool_choice):
        total += frame.forced_tool_choice
    return total


def count_conversation(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    version: str = "",
    api_version: str | None = None,
    *,
    tools: Sequence[Mapping[str, Any]] | None = None,
    tool_choice: Any = None,
    response_format: Mapping[str, Any] | None = None,
    image_tokens: int = 0,
) -> int:
    """Prompt tokens of a conversation sent to ``model`` (``version``) under ``api_version``: its encoding, its
    frame, the tools, the tool choice and the response format (chat's ``response_format`` or the Responses
    API's ``text.format``). Chat completions, the Responses API and whatever else talks to a deployment."""
    return count_chat(
        messages,
        encoding_name_for(model),
        tools,
        image_tokens,
        tool_choice=tool_choice,
        response_format=response_format,
        frame=frame_for(model, version, api_version),
    )


def count_chat_body(
    body: Mapping[str, Any], model: str, version: str = "", api_version: str | None = None, image_tokens: int = 0
) -> int:
    """Prompt tokens of a chat completions request body (``tools`` or the legacy ``functions``)."""
    return count_conversation(
        body["messages"],
        model,
        version,
        api_version,
        tools=body.get("tools") or body.get("functions"),
        tool_choice=body.get("tool_choice", body.get("function_call")),
        response_format=body.get("response_format"),
        image_tokens=image_tokens,
    )
