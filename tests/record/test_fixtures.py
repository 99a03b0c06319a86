"""The recording format without a server: normalisation, fingerprints, scrubbing, near misses, and the
replayed stream's timing through an injected ``runtime.sleep``."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest
from aoai_mock.app import create_app
from aoai_mock.record.fixtures import (
    RecordedResponse,
    Recording,
    differences,
    load_dir,
    normalise,
    scrub,
)
from aoai_mock.settings import resolve

CHAT = "/openai/deployments/gpt-4o/chat/completions"


def test_normalise_sorts_keys_and_drops_credentials_from_query_and_headers():
    a = normalise("post", "//openai/x", b"api-version=1&sig=abc", [(b"api-key", b"k"), (b"user-agent", b"u")],
                  b'{"b": 1, "a": {"z": 2, "y": 3}}')
    b = normalise("POST", "/openai/x", b"api-version=1", [(b"content-type", b"application/json")],
                  b'{"a":{"y":3,"z":2},"b":1}')
    assert a.fingerprint == b.fingerprint
    assert a.path == "/openai/x" and a.query == {"api-version": "1"}
    assert a.headers == {"api-key": "***"}
    assert list(a.body) == ["a", "b"] and list(a.body["a"]) == ["y", "z"]


def test_multipart_bodies_match_whatever_their_boundary():
    def upload(boundary: bytes):
        body = b"--" + boundary + b"\r\ncontent\r\n--" + boundary + b"--\r\n"
        return normalise("POST", "/openai/files", b"", [(b"content-type", b"multipart/form-data; boundary=" + boundary)], body)

    assert upload(b"abc123").fingerprint == upload(b"zzz999").fingerprint


def test_scrub_removes_plain_and_json_escaped_secrets():
    assert scrub(b'{"u": "https://x/?k=s3/cr\\"et", "v": "s3/cr\\"et"}', ['s3/cr"et']).count(b"***") == 2


def test_a_json_body_that_would_not_round_trip_is_kept_as_text():
    pretty = b'{\n  "error": {"code": "x"}\n}'
    kept = RecordedResponse.complete(400, {"content-type": "application/json"}, 1, pretty)
    assert kept.body is None and kept.payload() == pretty
    compact = RecordedResponse.complete(200, {"content-type": "application/json"}, 1, b'{"a":1.5}')
    assert compact.body == {"a": 1.5} and compact.payload() == b'{"a":1.5}'
    binary = RecordedResponse.complete(200, {"content-type": "audio/mpeg"}, 1, b"\xff\xfb\x00")
    assert binary.base64 and binary.payload() == b"\xff\xfb\x00"


def test_differences_name_what_changed():
    asked = normalise("POST", CHAT, b"api-version=2", [], b'{"messages": [{"content": "hi"}], "n": 1}')
    recorded = normalise("POST", CHAT, b"api-version=1", [], b'{"messages": [{"content": "hello"}]}')
    found = differences(asked, recorded)
    assert 'query.api-version recorded as "1", here "2"' in found
    assert 'body.messages[0].content recorded as "hello", here "hi"' in found
    assert "body.n not recorded" in found


def _write_stream(folder: Path) -> None:
    request = normalise("POST", CHAT, b"api-version=2024-10-21", [], b'{"messages": [{"role": "user", "content": "t"}], "stream": true}')
    events = [{"ms": 0, "data": '{"a":1}'}, {"ms": 100, "data": '{"a":2}'}, {"ms": 300, "data": "[DONE]"}]
    response = RecordedResponse(200, {"content-type": "text/event-stream; charset=utf-8"}, 5, events=events)
    first = RecordedResponse(429, {"content-type": "application/json", "retry-after": "1"}, 1, body={"error": {"code": "429"}})
    (folder / request.file_name()).write_bytes(Recording(request, [first, response]).to_bytes())


@pytest.mark.parametrize(("speed", "waits"), [(1, [0.1, 0.2]), (2, [0.05, 0.1]), (0, [])])
async def test_streams_replay_at_the_recorded_offsets_scaled_by_the_speed(tmp_path: Path, speed: float, waits: list):
    _write_stream(tmp_path)
    assert len(load_dir(tmp_path)) == 1
    app = create_app(resolve({"port": 0, "replay_dir": tmp_path, "replay_speed": speed}, env={}))
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))

    app.state.runtime.sleep = fake_sleep
    body = {"stream": True, "messages": [{"content": "t", "role": "user"}]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://mock") as client:
        url = CHAT + "?api-version=2024-10-21"
        throttled = await client.post(url, json=body, headers={"api-key": "k"})
        streamed = await client.post(url, json=body, headers={"api-key": "k"})
        again = await client.post(url, json=body, headers={"api-key": "k"})
    assert throttled.status_code == 429 and throttled.headers["retry-after"] == "1"
    assert throttled.json() == {"error": {"code": "429"}} and throttled.headers["apim-request-id"]
    assert streamed.content == b'data: {"a":1}\n\ndata: {"a":2}\n\ndata: [DONE]\n\n'
    assert streamed.headers["content-type"].startswith("text/event-stream")
    assert again.content == streamed.content  # the last recorded answer repeats
    assert slept == waits * 2


def test_a_file_that_is_not_a_recording_stops_the_load(tmp_path: Path):
    (tmp_path / "other.json").write_bytes(orjson.dumps({"choices": []}))
    with pytest.raises(ValueError, match="not a recording"):
        load_dir(tmp_path)


async def test_the_proxy_answers_502_when_the_upstream_does_not(tmp_path: Path):
    from aoai_mock.record.proxy import RecordingProxy, RecordOptions

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    proxy = RecordingProxy(RecordOptions("http://upstream.invalid", "k", tmp_path), httpx.MockTransport(refuse))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(proxy), base_url="http://proxy") as client:
        failed = await client.post(CHAT + "?api-version=2024-10-21", json={"messages": []})
        health = await client.get("/_mock/health")
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "BadGateway"
    assert health.json()["mode"] == "record" and not list(tmp_path.iterdir())
    assert "k'" not in repr(proxy.options) and "***" in repr(proxy.options)


def _chunk(text: str) -> dict:
    return {"ms": 1, "data": orjson.dumps({"id": "chatcmpl-1", "choices": [{"index": 0, "delta": {"content": text}}]})
            .decode()}


def test_a_secret_split_across_stream_events_is_masked():
    secret = "sk-live-0123456789abcdef"
    events = [_chunk("Your key is sk-live-01"), _chunk("23456789"), _chunk("abcdef, keep it safe."),
              {"ms": 2, "raw": "event: response.output_text.delta\ndata: " + orjson.dumps(
                  {"type": "response.output_text.delta", "delta": "sk-live-0123"}).decode()},
              {"ms": 3, "raw": "event: response.output_text.delta\ndata: " + orjson.dumps(
                  {"type": "response.output_text.delta", "delta": "456789abcdef"}).decode()},
              {"ms": 4, "data": "[DONE]"}]
    recording = Recording(normalise("POST", CHAT, "api-version=2024-10-21", [], b"{}"),
                          [RecordedResponse(200, {"content-type": "text/event-stream"}, 5, events=events)])
    written = recording.to_bytes((secret,))
    assert b"sk-live" not in written and b"0123456789" not in written and b"abcdef" not in written
    document = orjson.loads(written)
    texts = [orjson.loads(e["data"])["choices"][0]["delta"]["content"] for e in document["responses"][0]["events"][:3]]
    assert "".join(texts) == "Your key is ***, keep it safe."
    assert document["responses"][0]["events"][-1] == {"ms": 4, "data": "[DONE]"}
    assert "response.output_text.delta" in document["responses"][0]["events"][3]["raw"]
