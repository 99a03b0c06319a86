"""Faults end to end: the real openai SDK against a live server with faults from the control API and headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA, KEY

ASK: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0}, env={})) as live:
        yield live


@pytest.fixture()
def control(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/_mock") as client:
        client.delete("/faults", params={"all": "true"}).raise_for_status()
        client.post("/reset").raise_for_status()
        yield client
        client.delete("/faults", params={"all": "true"})


def _client(server: LiveServer, retries: int = 0, timeout: float = 10, fault: str | None = None) -> AzureOpenAI:
    headers = {"x-aoai-mock-fault": fault} if fault else None
    return AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=retries,
                       timeout=timeout, default_headers=headers)


def _install(control: httpx.Client, *faults: dict[str, Any]) -> None:
    response = control.post("/faults", json={"faults": list(faults)})
    assert response.status_code == 201, response.text


def test_429_twice_then_success_with_the_sdks_retries(server: LiveServer, control: httpx.Client) -> None:
    _install(control, {"id": "throttle", "kind": "429", "retry_after_ms": 50, "next": 2})
    answer = _client(server, retries=2).chat.completions.create(**ASK)
    assert answer.choices[0].message.content == "hello"
    journal = control.get("/requests").json()["data"]
    assert [e["status"] for e in journal] == [429, 429, 200]
    for failed, retry in zip(journal, journal[1:]):
        assert retry["retry"]["wait_ms"] >= int(failed["response_headers"]["retry-after-ms"]) == 50
    injected = control.get("/faults").json()["injected"]
    assert [i["kind"] for i in injected] == ["429", "429"]


def test_429_without_retries_carries_azures_message(server: LiveServer, control: httpx.Client) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        _client(server, fault="429").chat.completions.create(**ASK)
    assert "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version" in caught.value.message
    assert caught.value.response.headers["retry-after"]


def test_async_clients_retry_the_same_way(server: LiveServer, control: httpx.Client) -> None:
    _install(control, {"kind": "429", "retry_after_ms": 20, "next": 2})

    async def main() -> str | None:
        client = openai.AsyncAzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=2)
        return (await client.chat.completions.create(**ASK)).choices[0].message.content

    assert asyncio.run(main()) == "hello"
    assert [e["status"] for e in control.get("/requests").json()["data"]] == [429, 429, 200]


@pytest.mark.parametrize("kind", ["500", "503"])
def test_server_errors_are_retried_then_raised(server: LiveServer, control: httpx.Client, kind: str) -> None:
    _install(control, {"kind": kind, "every": 1, "retry_after_ms": 10})
    with pytest.raises(openai.InternalServerError) as caught:
        _client(server, retries=2).chat.completions.create(**ASK)
    assert caught.value.status_code == int(kind)
    assert [e["status"] for e in control.get("/requests").json()["data"]] == [int(kind)] * 3


def test_a_hang_times_the_client_out(server: LiveServer, control: httpx.Client) -> None:
    with pytest.raises(openai.APITimeoutError):
        _client(server, timeout=0.3, fault="hang").chat.completions.create(**ASK)


@pytest.mark.parametrize("kind", ["close", "reset"])
def test_a_dropped_connection_is_a_connection_error(server: LiveServer, control: httpx.Client, kind: str) -> None:
    with pytest.raises(openai.APIConnectionError):
        _client(server, fault=kind).chat.completions.create(**ASK)
    assert _client(server).chat.completions.create(**ASK).choices[0].message.content == "hello"  # still serving


def test_a_cut_stream_raises_in_the_sdks_iterator(server: LiveServer, control: httpx.Client) -> None:
    stream = _client(server, fault="cut=3").chat.completions.create(**ASK, stream=True)
    seen = []
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        for chunk in stream:
            seen.append(chunk)
    assert len(seen) == 3


def test_an_error_event_inside_the_stream_raises(server: LiveServer, control: httpx.Client) -> None:
    stream = _client(server, fault="stream_error=2").chat.completions.create(**ASK, stream=True)
    with pytest.raises(openai.APIError):
        for _ in stream:
            pass


def test_a_malformed_chunk_breaks_the_sdks_parser(server: LiveServer, control: httpx.Client) -> None:
    stream = _client(server, fault="malformed=2").chat.completions.create(**ASK, stream=True)
    with pytest.raises(ValueError):  # json.JSONDecodeError
        for _ in stream:
            pass


def test_a_non_streaming_cut_is_an_incomplete_body(server: LiveServer, control: httpx.Client) -> None:
    with pytest.raises(openai.APIConnectionError):
        _client(server, fault="cut").chat.completions.create(**ASK)


def test_a_bad_fault_header_is_a_400(server: LiveServer, control: httpx.Client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _client(server, fault="explode").chat.completions.create(**ASK)
    assert caught.value.param == "x-aoai-mock-fault"  # type: ignore[attr-defined]


def _statuses(seed: int) -> list[int]:
    with LiveServer(resolve({"port": 0}, env={})) as live:
        httpx.post(f"{live.url}/_mock/faults", json=[{"kind": "503", "probability": 0.4, "seed": seed}]).raise_for_status()
        client = _client(live)
        out = []
        for i in range(30):
            try:
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": f"n{i}"}])
                out.append(200)
            except openai.APIStatusError as exc:
                out.append(exc.status_code)
        return out


def test_a_seeded_random_schedule_repeats_across_runs() -> None:
    first = _statuses(7)
    assert first == _statuses(7)
    assert 503 in first and 200 in first
    assert first != _statuses(8)


def test_the_summary_shows_how_the_client_answered(server: LiveServer, control: httpx.Client) -> None:
    _install(control, {"id": "one-503", "kind": "503", "next": 1, "retry_after_ms": 10})
    _client(server, retries=1).chat.completions.create(**ASK)
    summary = control.get("/faults").json()
    (injected,) = summary["injected"]
    assert injected["entry"] == "one-503"
    assert injected["client"]["answer"] == "retried"
    assert injected["client"]["after_ms"] >= 10
    assert summary["totals"]["retried"] == 1


def test_the_active_scenarios_faults_are_installed_and_follow_activation() -> None:
    with LiveServer(resolve({"port": 0, "scenarios": ("resilience", "weather-agent")}, env={})) as live:
        control = httpx.Client(base_url=f"{live.url}/_mock")
        sources = {e["source"] for e in control.get("/faults").json()["installed"]}
        assert sources == {"scenario:resilience"}
        answer = _client(live, retries=2).chat.completions.create(**ASK)  # throttled twice, then through
        assert answer.choices[0].message.content == "hello"
        assert [e["status"] for e in control.get("/requests").json()["data"]] == [429, 429, 200]
        control.post("/scenarios/weather-agent/activate").raise_for_status()
        assert control.get("/faults").json()["installed"] == []


@pytest.mark.parametrize(
    ("path", "content"),
    [
        ("/faults", b'{"faults": [{"kind": "boom"}]}'),
        ("/faults", b"{not: [valid"),
        ("/faults", b'"a string"'),
        ("/faults", b"\xff\xfe"),
        ("/scenarios", b"\xff\xfe"),
        ("/scenarios", b"rules: 5"),
    ],
)
def test_bad_control_bodies_are_400s_and_change_nothing(
    server: LiveServer, control: httpx.Client, path: str, content: bytes
) -> None:
    before = control.get("/faults").json()["installed"], control.get("/scenarios").json()
    response = control.post(path, content=content, headers={"content-type": "application/yaml"})
    assert response.status_code == 400, response.text
    assert set(response.json()["error"]) >= {"message", "code"}
    assert (control.get("/faults").json()["installed"], control.get("/scenarios").json()) == before
    assert _client(server).chat.completions.create(**ASK).choices[0].message.content == "hello"


def test_an_injected_429_states_the_deployments_quota_once(server: LiveServer, control: httpx.Client) -> None:
    with pytest.raises(openai.RateLimitError) as caught:
        _client(server, fault="429").chat.completions.create(**ASK)
    headers = caught.value.response.headers
    for name in ("x-ratelimit-remaining-tokens", "x-ratelimit-remaining-requests", "retry-after"):
        assert len(headers.get_list(name)) == 1, name
    assert headers["x-ratelimit-remaining-tokens"] == "0"
    assert headers["x-ratelimit-limit-tokens"] == "1000000"  # gpt-4o's configured tokens per minute


def test_faults_reach_the_framework_routes(server: LiveServer, control: httpx.Client) -> None:
    client = _client(server, fault="503")
    with pytest.raises(openai.InternalServerError):
        client.files.list()
    with pytest.raises(openai.InternalServerError):
        client.images.generate(model="dall-e-3", prompt="a harbour")
    with pytest.raises(openai.APIConnectionError):
        _client(server, fault="reset").beta.assistants.list()
    _install(control, {"kind": "429", "next": 1, "operation": "files", "retry_after_ms": 5})
    with pytest.raises(openai.RateLimitError):
        _client(server).files.list()
    assert _client(server).files.list() is not None  # the next one gets through
    journal = control.get("/requests").json()["data"]
    assert [(e["path"], e["status"]) for e in journal][-2:] == [("/openai/files", 429), ("/openai/files", 200)]
