"""The journal records what a real client did: SDK calls against a live server, read back over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA, KEY


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "admin_key": "admin-secret"}, env={})) as live:
        yield live


@pytest.fixture()
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"x-aoai-mock-admin-key": "admin-secret"}) as client:
        client.delete("/_mock/requests").raise_for_status()
        yield client


def _client(server: LiveServer) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=0)


def test_sdk_calls_are_recorded_in_order_with_masked_keys(server: LiveServer, admin: httpx.Client) -> None:
    client = _client(server)
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "first"}])
    client.embeddings.create(model="text-embedding-3-small", input="second")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-deployment", messages=[{"role": "user", "content": "x"}])
    entries = admin.get("/_mock/requests").json()["data"]
    assert [(e["deployment"], e["status"]) for e in entries] == [
        ("gpt-4o", 200),
        ("text-embedding-3-small", 200),
        ("no-such-deployment", 404),
    ]
    first = entries[0]
    assert first["operation"] == "chat.completions"
    assert first["method"] == "POST"
    assert first["path"] == "/openai/deployments/gpt-4o/chat/completions"
    assert first["query"] == {"api-version": GA}
    assert first["body"]["messages"] == [{"role": "user", "content": "first"}]
    assert first["headers"]["api-key"] == "***"
    assert KEY not in str(entries)
    assert first["stream"] is False and first["duration_ms"] >= 0


def test_streams_and_filters() -> None:
    with LiveServer(resolve({"port": 0, "api_keys": (KEY,)}, env={})) as keyed:
        _streams_and_filters(keyed, httpx.Client(base_url=keyed.url))


def _wait_for(admin: httpx.Client, count: int, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while len(admin.get("/_mock/requests").json()["data"]) < count:
        assert time.monotonic() < deadline, "the journal did not record every request"
        time.sleep(0.01)


def _streams_and_filters(server: LiveServer, admin: httpx.Client) -> None:
    client = _client(server)
    stream = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "streamed"}], stream=True
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "streamed"
    client.embeddings.create(model="text-embedding-3-small", input="vector")
    with pytest.raises(openai.AuthenticationError):
        AzureOpenAI(azure_endpoint=server.url, api_key="wrong", api_version=GA, max_retries=0).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "no key"}]
        )
    _wait_for(admin, 3)  # a stream is recorded when the server has sent its end, which may come last
    chats = admin.get("/_mock/requests", params={"operation": "chat.completions", "status": "200"}).json()["data"]
    assert [e["stream"] for e in chats] == [True]
    (refused,) = admin.get("/_mock/requests", params={"status": "4xx"}).json()["data"]
    assert refused["deployment"] == "gpt-4o" and refused["status"] == 401
    assert refused["body"]["messages"] == [{"role": "user", "content": "no key"}]  # read for the journal
    embeddings = admin.get("/_mock/requests", params={"deployment": "text-embedding-3-small"}).json()["data"]
    assert [e["body"]["input"] for e in embeddings] == ["vector"]
    first = min(e["seq"] for e in admin.get("/_mock/requests").json()["data"])
    since = admin.get("/_mock/requests", params={"since": str(first)}).json()["data"]
    assert len(since) == 2


def test_control_calls_are_not_traffic(server: LiveServer, admin: httpx.Client) -> None:
    admin.get("/_mock/requests")
    admin.get("/_mock/health")
    assert admin.get("/_mock/requests").json()["data"] == []


def test_unknown_routes_are_recorded_too(server: LiveServer, admin: httpx.Client) -> None:
    response = httpx.get(f"{server.url}/openai/nowhere?api-version={GA}", headers={"api-key": KEY})
    assert response.status_code == 404
    (entry,) = admin.get("/_mock/requests").json()["data"]
    assert (entry["method"], entry["path"], entry["status"]) == ("GET", "/openai/nowhere", 404)


@pytest.mark.parametrize("body", [b"   ", b"{not json", b'{"messages": 1}'])
def test_refused_bodies_are_recorded_without_waiting(server: LiveServer, admin: httpx.Client, body: bytes) -> None:
    response = httpx.post(
        f"{server.url}/openai/deployments/gpt-4o/chat/completions?api-version={GA}",
        content=body,
        headers={"api-key": KEY, "content-type": "application/json"},
        timeout=5,
    )
    assert response.status_code == 400
    (entry,) = admin.get("/_mock/requests").json()["data"]
    assert entry["status"] == 400 and entry["body_size"] == len(body)
