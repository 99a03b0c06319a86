"""The journal gives a streamed answer's events parsed (``response.sse``), so the page (and any reader) shows
them without parsing the stream: from records (no HTTP), and from a real SDK stream on a live server."""

from __future__ import annotations

import httpx
from aoai_mock.settings import resolve
from aoai_mock.state.journal import BODY_LIMIT, Journal
from aoai_mock.testing import LiveServer

from tests.records import make_record
from tests.ui.traffic import client

STREAM = (
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b"event: response.done\ndata: {\"type\": \"done\"}\n\n"
    b": a comment line, not an event\n\n"
    b"data: first line\ndata: second line\n\n"
    b"data: [DONE]\n\n"
)


def _entry(**given: object) -> dict:
    journal = Journal(10)
    journal.add(make_record(1.0, 1.5, **given))
    return journal.entries()[0]


def test_a_streams_events_are_parsed_in_order() -> None:
    response = _entry(stream=True, response_body=STREAM)["response"]
    assert response["body"] == STREAM.decode() and response["body_encoding"] == "text"
    assert response["sse"] == [
        {"event": None, "data": {"choices": [{"delta": {"content": "Hel"}}]}},
        {"event": "response.done", "data": {"type": "done"}},
        {"event": None, "data": "first line\nsecond line"},
        {"event": None, "data": "[DONE]"},
    ]


def test_a_cut_stream_keeps_the_broken_event_as_text() -> None:
    sse = _entry(stream=True, response_body=b'data: {"a": 1}\n\ndata: {"b": ')["response"]["sse"]
    assert sse == [{"event": None, "data": {"a": 1}}, {"event": None, "data": '{"b": '}]


def test_the_event_the_64_kib_cut_ends_inside_is_left_out() -> None:
    event = b'data: {"pad": "' + b"x" * 1000 + b'"}\n\n'
    body = event * (BODY_LIMIT // len(event) + 2)
    response = _entry(stream=True, response_body=body)["response"]
    assert response["body_truncated"] is True
    assert len(response["sse"]) == BODY_LIMIT // len(event)
    assert all(e["data"] == {"pad": "x" * 1000} for e in response["sse"])


def test_a_json_answer_has_no_events() -> None:
    assert "sse" not in _entry(stream=False, response_body=b'{"ok": true}')["response"]
    assert "sse" not in _entry(stream=True, response_body=b'{"error": {"code": "429"}}')["response"]


def test_an_sdk_stream_reads_back_as_its_chunks() -> None:
    with LiveServer(resolve({"port": 0}, env={})) as server:
        chunks = list(client(server).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "stream these words back"}], stream=True))
        entry = httpx.get(f"{server.url}/_mock/requests").json()["data"][-1]
    sse = entry["response"]["sse"]
    assert len(sse) == entry["events"] + 1 and sse[-1]["data"] == "[DONE]"  # events counts the chunks
    assert [e["data"]["id"] for e in sse[:-1]] == [c.id for c in chunks]
    text = "".join(c["delta"].get("content") or "" for e in sse[:-1] for c in e["data"]["choices"])
    assert text == "stream these words back"
