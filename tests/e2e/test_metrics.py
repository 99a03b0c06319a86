"""GET /metrics: Prometheus text with requests, latency, tokens and faults, parsed by prometheus_client."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import GA, KEY


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "api_keys": (KEY,)}, env={})) as live:
        yield live


def _samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_requests_tokens_latency_and_faults_are_counted(server: LiveServer) -> None:
    chat = f"{server.url}/openai/deployments/gpt-4o/chat/completions?api-version={GA}"
    body = {"messages": [{"role": "user", "content": "count me"}]}
    with httpx.Client(headers={"api-key": KEY}) as http:
        assert http.post(chat, json=body).status_code == 200
        assert http.post(chat, json=body).status_code == 200
        assert http.post(chat, json=body, headers={"x-aoai-mock-fault": "503"}).status_code == 503
        assert httpx.post(chat, json=body, headers={"api-key": "wrong-key"}).status_code == 401
    samples = _samples(server.url)

    def sample(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted({"deployment": "gpt-4o", "operation": "chat.completions", **labels}.items())))]

    assert sample("aoai_mock_requests_total", status="200") == 2
    assert sample("aoai_mock_requests_total", status="503") == 1
    assert sample("aoai_mock_requests_total", status="401") == 1
    assert sample("aoai_mock_tokens_total", kind="prompt") == 2 * 9
    assert sample("aoai_mock_tokens_total", kind="completion") == 2 * 2
    assert sample("aoai_mock_request_duration_seconds_count") == 4
    assert samples[("aoai_mock_faults_injected_total", (("kind", "503"),))] == 1
    assert KEY not in httpx.get(f"{server.url}/metrics").text


def test_metrics_need_no_key_and_are_not_journaled(server: LiveServer) -> None:
    httpx.get(f"{server.url}/metrics").raise_for_status()
    paths = [e["path"] for e in server.app.state.journal.entries()]
    assert "/metrics" not in paths
