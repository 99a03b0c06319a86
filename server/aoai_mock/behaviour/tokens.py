"""Exact token counts, offline, with tiktoken and the rank files shipped in ``aoai_mock/data/tokenizers``.

Chat prompts are counted as the service counts them: every message costs its tokens plus a fixed
overhead, names cost one more, and the reply is primed with three tokens.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Any

import orjson
import tiktoken

from aoai_mock.errors import InvalidRequest

__all__ = ["encoding_name_for", "encoding", "count", "encode", "decode", "count_chat", "pieces", "preload"]

_RANKS_DIR = str(files("aoai_mock") / "data" / "tokenizers")
_env_lock = threading.Lock()  # guards the build and the TIKTOKEN_CACHE_DIR it sets

# Per-message overheads; gpt-35-turbo-0301 used 4 and -1 for a name, every later chat model 3 and 1.
_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_NAME = 1
_REPLY_PRIMING = 3


def encoding_name_for(model: str) -> str:
    """The tokenizer a model uses: o200k for gpt-4o, gpt-4.1, gpt-5 and the o-series, cl100k before."""
    name = model.lower()
    if name.startswith(("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-image", "gpt-oss")):
        return "o200k_base"
    return "cl100k_base"


_built: dict[str, tiktoken.Encoding] = {}


def encoding(name: str) -> tiktoken.Encoding:
    """The named encoding, built once from the bundled rank files; never touches the network."""
    found = _built.get(name)
    if found is not None:
        return found
    with _env_lock:
        if name not in _built:
            _built[name] = _build(name)
        return _built[name]


def _build(name: str) -> tiktoken.Encoding:
    # tiktoken reads its rank files from TIKTOKEN_CACHE_DIR when they are there (checking their hash),
    # which is where the bundled copies live under tiktoken's own file names.
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = _RANKS_DIR
    try:
        return tiktoken.get_encoding(name)
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous


def preload(names: Iterable[str] = ("o200k_base", "cl100k_base")) -> None:
    for name in names:
        encoding(name)


def encode(text: str, encoding_name: str) -> list[int]:
    # Special tokens such as <|im_start|> in ChatML prompts are counted as the service does, as text.
    return encoding(encoding_name).encode(text, disallowed_special=())


_CACHED_TEXT = 2048  # shorter texts (roles, names, system prompts) repeat across requests: remember them


@lru_cache(maxsize=16384)
def _count_short(text: str, encoding_name: str) -> int:
    return len(encode(text, encoding_name))


def count(text: str, encoding_name: str) -> int:
    if len(text) <= _CACHED_TEXT:
        return _count_short(text, encoding_name)
    return len(encode(text, encoding_name))


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
    enc = encoding(encoding_name)
    pending = b""
    for token in tokens:
        pending += enc.decode_single_token_bytes(token)
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


def _message_tokens(message: Mapping[str, Any], encoding_name: str) -> int:
    if len(message) == 2:  # the common {"role": ..., "content": "..."}: no name, no tool calls
        role, content = message.get("role"), message.get("content")
        if type(role) is str and type(content) is str:
            return _TOKENS_PER_MESSAGE + count(role, encoding_name) + count(content, encoding_name)
    total = _TOKENS_PER_MESSAGE + count(str(message.get("role", "")), encoding_name)
    total += count(_content_text(message.get("content")), encoding_name)
    if message.get("name"):
        total += _TOKENS_PER_NAME + count(str(message["name"]), encoding_name)
    for call in message.get("tool_calls") or ():
        function = call.get("function") or {}
        total += count(str(function.get("name", "")), encoding_name)
        total += count(str(function.get("arguments", "")), encoding_name)
    if message.get("function_call"):
        total += count(orjson.dumps(message["function_call"]).decode(), encoding_name)
    return total


def count_chat(
    messages: Sequence[Mapping[str, Any]],
    encoding_name: str,
    tools: Sequence[Mapping[str, Any]] | None = None,
    image_tokens: int = 0,
) -> int:
    """Prompt tokens for a chat request: messages, their overheads, tool definitions and images."""
    total = _REPLY_PRIMING + image_tokens
    for message in messages:
        total += _message_tokens(message, encoding_name)
    if tools:
        total += _tool_tokens(tools, encoding_name)
    return total


def _tool_tokens(tools: Sequence[Mapping[str, Any]], encoding_name: str) -> int:
    # The service renders tool definitions into the system prompt; counting their compact JSON and a small
    # fixed framing comes within a few tokens of its figure.
    total = 12
    for tool in tools:
        total += 7 + count(orjson.dumps(tool.get("function") or tool).decode(), encoding_name)
    return total
