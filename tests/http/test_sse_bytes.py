"""The stream on the wire, byte by byte, from a live server (``WIRE-NOTES.md``, Streaming).

Each event is exactly ``data: <json>\\n\\n``: no ``\\r``, no comments or pings, no ``event:`` lines, and the
stream ends ``data: [DONE]\\n\\n``. The JSON is compact with sorted keys, non-ASCII text as raw UTF-8 (the
service's bytes: clients that decode TCP chunks one by one garble split characters in Azure streams).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from aoai_mock.http.sse import encode_event

from tests.conftest import GA, chat_path

INSTRUCT = f"/openai/deployments/gpt-35-turbo-instruct/completions?api-version={GA}"
TEXT = "Streaming, one token at a time."
MULTIBYTE = "héllo 👋🏽 世界! 🇳🇴 ナイス 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓"
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"},
                                     "units": {"type": "string", "enum": ["metric", "imperial"]}},
    "required": ["city", "days", "units"]}}}]


@contextmanager
def streamed(http: httpx.Client, path: str, body: dict[str, Any]) -> Iterator[tuple[httpx.Response, bytes]]:
    with http.stream("POST", path, json={**body, "stream": True}) as response:
        assert response.status_code == 200
        yield response, b"".join(response.iter_raw())


def events(raw: bytes) -> list[bytes]:
    """The payloads of a well-framed stream, ``[DONE]`` excluded; asserts the framing on the way."""
    assert b"\r" not in raw
    assert raw.endswith(b"\n\ndata: [DONE]\n\n")
    parts = raw.split(b"\n\n")
    assert parts[-1] == b""
    for part in parts[:-1]:
        assert part.startswith(b"data: ") and b"\n" not in part, part  # one data line; no comment/event/id
    return [p.removeprefix(b"data: ") for p in parts[:-2]]


def chunks(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(e) for e in events(raw)]


def chat_chunks(http: httpx.Client, text: str = TEXT, **body: Any) -> list[dict[str, Any]]:
    with streamed(http, chat_path(), {"messages": [{"role": "user", "content": text}], **body}) as (_, raw):
        return chunks(raw)


# -- the encoder, byte for byte ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("[DONE]", b"data: [DONE]\n\n"),
        ({}, b"data: {}\n\n"),
        ({"b": 1, "a": {"d": None, "c": []}}, b'data: {"a":{"c":[],"d":null},"b":1}\n\n'),
        ({"delta": {"content": "line\nbreak\r"}}, b'data: {"delta":{"content":"line\\nbreak\\r"}}\n\n'),
        ({"content": "世界👋"}, 'data: {"content":"世界👋"}\n\n'.encode()),
        ({"logprob": -0.5, "ok": True}, b'data: {"logprob":-0.5,"ok":true}\n\n'),
    ],
    ids=["done", "empty", "sorted and compact", "escaped newlines", "raw utf-8", "numbers"],
)
def test_encode_event_bytes(data: dict[str, Any] | str, expected: bytes) -> None:
    assert encode_event(data) == expected


# -- headers and framing -------------------------------------------------------------------------------


def test_stream_headers(http: httpx.Client) -> None:
    with streamed(http, chat_path(), {"messages": [{"role": "user", "content": TEXT}]}) as (response, _):
        headers = response.headers
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert "x-accel-buffering" not in headers  # not on 2024-10-21 streams [captured: chat/net-ChatCompletionStreaming]
    assert headers.get_list("cache-control") == ["no-cache, must-revalidate"]
    assert all(headers.get(h) for h in ("apim-request-id", "x-request-id", "x-ms-region"))


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (chat_path(), {"messages": [{"role": "user", "content": TEXT}], "n": 2}),
        (chat_path(), {"messages": [{"role": "user", "content": TEXT}], "tools": TOOLS, "tool_choice": "required"}),
        (chat_path(), {"messages": [{"role": "user", "content": MULTIBYTE}], "logprobs": True, "top_logprobs": 2}),
        (INSTRUCT, {"prompt": MULTIBYTE, "echo": True, "stream_options": {"include_usage": True}}),
    ],
    ids=["chat n=2", "chat tools", "chat logprobs multibyte", "completions echo usage"],
)
def test_events_are_compact_sorted_json(http: httpx.Client, path: str, body: dict[str, Any]) -> None:
    with streamed(http, path, body) as (_, raw):
        payloads = events(raw)
    assert len(payloads) > 3
    for payload in payloads:
        parsed = json.loads(payload)
        assert payload == json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# -- chat: order and shape of the chunks ---------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_chunk_order(http: httpx.Client, include_usage: bool) -> None:
    options = {"stream_options": {"include_usage": True}} if include_usage else {}
    annotation, role, *rest = chat_chunks(http, **options)
    assert annotation.pop("prompt_filter_results")[0]["prompt_index"] == 0
    assert annotation == {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
    assert role["choices"] == [{"content_filter_results": {}, "delta": {"content": "", "role": "assistant"},
                                "finish_reason": None, "index": 0, "logprobs": None}]
    usage = [rest.pop()] if include_usage else []
    *content, final = rest
    assert final["choices"] == [{"content_filter_results": {}, "delta": {}, "finish_reason": "stop", "index": 0,
                                 "logprobs": None}]
    for chunk in content:
        (choice,) = chunk["choices"]
        assert choice["delta"].keys() == {"content"} and choice["finish_reason"] is None
        assert choice["content_filter_results"]["hate"] == {"filtered": False, "severity": "safe"}
    assert "".join(c["choices"][0]["delta"]["content"] for c in content) == TEXT
    assert len(content) > 1
    for chunk in usage:
        assert chunk["choices"] == [] and chunk["usage"]["completion_tokens"] == len(content)
    # With include_usage, every chunk before the usage chunk says "usage": null (captured: recordings/chat);
    # without it, no chunk has the key.
    assert all(c.get("usage", "absent") == (None if include_usage else "absent") for c in [role, *content, final])
    stamped = [role, *rest, *usage]
    assert {(c["id"], c["created"], c["object"]) for c in stamped} == {
        (role["id"], role["created"], "chat.completion.chunk")}
    assert role["id"].startswith("chatcmpl-") and role["created"] > 0


def test_streamed_tool_call_comes_in_pieces_that_join_to_json(http: httpx.Client) -> None:
    body = {"tools": TOOLS, "tool_choice": "required"}
    streamed_chunks = chat_chunks(http, **body)
    deltas = [c["choices"][0]["delta"] for c in streamed_chunks[1:]]
    # The role chunk already carries the call's header [captured: recordings/chat/net-SimpleToolWorksStreaming-Required]
    assert deltas[0].keys() == {"content", "role", "tool_calls"} and deltas[0]["content"] is None
    pieces = [d["tool_calls"] for d in deltas if "tool_calls" in d]
    assert all(len(p) == 1 and p[0]["index"] == 0 for p in pieces)
    head, *tail = (p[0] for p in pieces)
    assert head["id"].startswith("call_") and head["type"] == "function"
    assert head["function"] == {"name": "lookup", "arguments": ""}
    assert len(tail) > 1 and all(t.keys() == {"index", "function"} and t["function"].keys() == {"arguments"}
                                 for t in tail)
    arguments = "".join(t["function"]["arguments"] for t in tail)
    assert json.loads(arguments).keys() == {"city", "days", "units"}
    assert streamed_chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    whole = http.post(chat_path(), json={"messages": [{"role": "user", "content": TEXT}], **body}).json()
    (call,) = whole["choices"][0]["message"]["tool_calls"]
    assert (call["id"], call["function"]["arguments"]) == (head["id"], arguments)


def test_multibyte_text_reassembles_exactly(http: httpx.Client) -> None:
    with streamed(http, chat_path(), {"messages": [{"role": "user", "content": MULTIBYTE}]}) as (_, raw):
        payloads = events(raw)
    for payload in payloads:
        payload.decode("utf-8")  # strict: no event splits a character
    assert "世界".encode() in raw and b"\\u" not in raw
    content = [json.loads(p)["choices"] for p in payloads[2:-1]]
    assert "".join(c[0]["delta"]["content"] for c in content) == MULTIBYTE


# -- completions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("prompt", [TEXT, MULTIBYTE], ids=["ascii", "multibyte"])
def test_completions_stream(http: httpx.Client, prompt: str) -> None:
    body = {"prompt": prompt, "max_tokens": 100}
    with streamed(http, INSTRUCT, body) as (response, raw):
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        annotation, *rest = chunks(raw)
    assert (annotation["object"], annotation["choices"]) == ("", [])
    *pieces, final = rest
    assert {c["object"] for c in rest} == {"text_completion"} and len({(c["id"], c["created"]) for c in rest}) == 1
    assert [c["choices"][0]["finish_reason"] for c in pieces] == [None] * len(pieces)
    assert (final["choices"][0]["text"], final["choices"][0]["finish_reason"]) == ("", "stop")
    whole = http.post(INSTRUCT, json=body).json()["choices"][0]["text"]
    assert "".join(c["choices"][0]["text"] for c in pieces) == whole == prompt


# -- writes ------------------------------------------------------------------------------------------------


def _written(events: Any) -> list[bytes]:
    """The body pieces an SseReply hands the server for ``events``, with no delivery plan."""
    import asyncio

    from aoai_mock.http.sse import CHAT, SseReply
    from aoai_mock.state.record import Record

    pieces: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            pieces.append(message["body"])

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client never leaves
        return {"type": "http.disconnect"}

    record = Record("r", "POST", "/", b"", [], 0.0)
    asyncio.run(SseReply(events, CHAT, record)({"type": "http"}, receive, send))
    assert record.events == 2000
    return pieces


def test_ready_events_leave_in_a_few_writes_the_first_at_once_and_the_bytes_are_the_same():
    sent = [{"choices": [{"delta": {"content": f"token {i} "}, "index": 0}], "id": "chatcmpl-1"} for i in range(2000)]
    expected = b"".join(encode_event(chunk) for chunk in sent) + b"data: [DONE]\n\n"

    async def one_by_one() -> Any:
        for chunk in sent:
            yield chunk

    batched, each = _written(iter(sent)), _written(one_by_one())
    assert b"".join(batched) == b"".join(each) == expected
    assert batched[0] == encode_event(sent[0])  # the first token is not held back
    assert len(each) == 2001 and len(batched) < 20
    assert all(len(piece) < 17 * 1024 for piece in batched)
