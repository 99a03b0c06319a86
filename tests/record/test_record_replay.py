"""Record and replay end to end: a second aoai-mock as the upstream, the recording proxy in front of it, the
openai SDK as the client; then a third server replays the fixtures to the same SDK calls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import uvicorn
from aoai_mock.record.proxy import RecordingProxy, RecordOptions
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA

SECRET = "upstream-secret"
MESSAGES = [{"role": "user", "content": "Record me, please."}]


class _Threaded:
    """Any ASGI app on a free port in a uvicorn thread (the recording proxy here)."""

    def __init__(self, app: Any) -> None:
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the proxy did not start"
            time.sleep(0.01)
        return f"http://127.0.0.1:{self._server.servers[0].sockets[0].getsockname()[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


def _sdk(url: str, key: str = "client-key") -> AzureOpenAI:
    return AzureOpenAI(api_key=key, api_version=GA, azure_endpoint=url, max_retries=0)


def _calls(url: str) -> dict[str, Any]:
    """The same SDK calls against any server: raw bodies and stream events, for comparison."""
    found: dict[str, Any] = {}
    with _sdk(url) as sdk:
        raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, seed=7)
        found["chat"] = (raw.http_response.status_code, raw.http_response.content)
        found["chat_type"] = raw.http_response.headers["content-type"]
        stream = sdk.chat.completions.create(
            model="gpt-4o", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        found["stream"] = [chunk.model_dump_json() for chunk in stream]
        with httpx.stream(
            "POST", f"{url}/openai/deployments/gpt-4o/chat/completions?api-version={GA}",
            json={"messages": MESSAGES, "stream": True}, headers={"api-key": "client-key"},
        ) as response:
            found["stream_bytes"] = response.read()
        embedded = sdk.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["a", "b"])
        found["embeddings"] = embedded.http_response.content
        with pytest.raises(openai.NotFoundError) as missing:
            sdk.chat.completions.create(model="no-such-deployment", messages=MESSAGES)
        found["error"] = (missing.value.status_code, missing.value.response.content)
    return found


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("recorded")
    upstream_settings = resolve({"port": 0, "api_keys": (SECRET,), "seed": 1}, env={})
    with LiveServer(upstream_settings) as upstream:
        proxy = RecordingProxy(RecordOptions(upstream.url, SECRET, out))
        with _Threaded(proxy) as proxy_url:
            answers = _calls(proxy_url)
        direct = upstream.url
        # What the upstream says to the same calls directly (the proxy passed it through unchanged).
        with _sdk(direct, SECRET) as sdk:
            again = sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, seed=7)
            answers["direct_chat"] = again.http_response.content
    yield out, answers


def test_the_proxy_passes_answers_through_unchanged(recorded):
    _, answers = recorded
    assert answers["chat"][0] == 200 and answers["chat"][1] == answers["direct_chat"]
    assert answers["stream"] and answers["stream_bytes"].endswith(b"data: [DONE]\n\n")
    assert answers["error"][0] == 404


def test_fixture_files_never_hold_the_upstream_key(recorded):
    out, _ = recorded
    files = sorted(out.rglob("*"))
    assert len([f for f in files if f.is_file()]) == 5  # chat, SDK stream, raw stream, embeddings, error
    for path in files:
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
            assert b"client-key" not in path.read_bytes(), path


def test_fixture_files_are_readable_json_with_the_normalised_request(recorded):
    import json

    out, _ = recorded
    documents = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    streams = [d for d in documents if "events" in d["responses"][0]]
    assert len(streams) == 2
    events = streams[0]["responses"][0]["events"]
    assert events[-1]["data"] == "[DONE]" and all(isinstance(e["ms"], int) for e in events)
    assert [e["ms"] for e in events] == sorted(e["ms"] for e in events)
    chat = next(d for d in documents if d["request"]["body"].get("seed") == 7)
    assert chat["request"]["query"] == {"api-version": GA}
    assert list(chat["request"]["body"]) == sorted(chat["request"]["body"])
    assert chat["request"]["headers"].get("api-key") == "***"
    assert "apim-request-id" not in chat["responses"][0]["headers"]
    error = next(d for d in documents if d["responses"][0]["status"] == 404)
    assert error["responses"][0]["body"]["error"]["code"] == "DeploymentNotFound"


def test_replay_answers_the_same_calls_identically(recorded):
    out, answers = recorded
    with LiveServer(resolve({"port": 0, "replay_dir": out, "replay_speed": 0}, env={})) as replay:
        replayed = _calls(replay.url)
        health = httpx.get(replay.url + "/_mock/health")
    assert health.status_code == 200
    for name in ("chat", "chat_type", "stream", "stream_bytes", "embeddings", "error"):
        assert replayed[name] == answers[name], name


def test_a_miss_is_a_clear_400_naming_the_nearest_recording(recorded):
    out, _ = recorded
    with LiveServer(resolve({"port": 0, "replay_dir": out, "replay_speed": 0}, env={})) as replay, _sdk(replay.url) as sdk:
        with pytest.raises(openai.BadRequestError) as missed:
            sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Never recorded"}], seed=7)
    error = missed.value.body
    assert error["code"] == "replay_no_match"
    assert "no recorded exchange matches POST /openai/deployments/gpt-4o/chat/completions" in error["message"]
    assert "Nearest recordings: post-gpt-4o-chat-completions-" in error["message"]
    assert "body.messages[0].content recorded as \"Record me, please.\", here \"Never recorded\"" in error["message"]


def test_a_miss_falls_through_to_the_named_responder(recorded):
    out, answers = recorded
    settings = resolve({"port": 0, "replay_dir": out, "replay_speed": 0, "replay_miss": "responder:echo"}, env={})
    with LiveServer(settings) as replay, _sdk(replay.url) as sdk:
        echoed = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Echo this"}])
        recorded_raw = sdk.chat.completions.with_raw_response.create(model="gpt-4o", messages=MESSAGES, seed=7)
        models = httpx.get(replay.url + f"/openai/models?api-version={GA}", headers={"api-key": "k"})
    assert echoed.choices[0].message.content == "Echo this"
    assert recorded_raw.http_response.content == answers["chat"][1]
    assert models.status_code == 200 and models.json()["data"]


def test_replay_checks_the_key_when_keys_are_configured(recorded):
    out, _ = recorded
    with LiveServer(resolve({"port": 0, "replay_dir": out, "api_keys": ("only-this",)}, env={})) as replay, _sdk(replay.url) as sdk:
        with pytest.raises(openai.AuthenticationError):
            sdk.chat.completions.create(model="gpt-4o", messages=MESSAGES, seed=7)
