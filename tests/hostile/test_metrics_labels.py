"""Clients cannot grow ``/metrics``: names that are not configured deployments (in a path, 401s included, or
as a v1 ``model``) are all counted under ``deployment="unknown"``."""

from __future__ import annotations

import httpx
from aoai_mock.testing import LiveServer
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import KEY
from tests.hostile.conftest import assert_still_serving

BODY = {"messages": [{"role": "user", "content": "hi"}]}


def _deployments(text: str) -> set[str]:
    return {
        sample.labels["deployment"]
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if "deployment" in sample.labels
    }


def test_invented_deployment_names_share_one_label(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for i in range(200):
            http.post(f"/openai/deployments/made-up-{i}/chat/completions?api-version=2024-10-21",
                      json=BODY, headers={"api-key": KEY})  # 404
            http.post(f"/openai/deployments/no-key-{i}/chat/completions?api-version=2024-10-21", json=BODY)  # 401
            http.post("/openai/v1/chat/completions", json={**BODY, "model": f"model-{i}"},
                      headers={"api-key": KEY})
        http.post("/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21", json=BODY,
                  headers={"api-key": KEY})
        scrape = http.get("/metrics").text
    labels = _deployments(scrape)
    assert "unknown" in labels and "gpt-4o" in labels
    assert not any(label.startswith(("made-up-", "no-key-", "model-")) for label in labels)
    assert len(scrape) < 200_000
    assert_still_serving(server.url)
