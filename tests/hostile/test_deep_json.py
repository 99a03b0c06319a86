"""JSON nested past what the mock can write back (orjson writes 254 levels, reads 1024): every family answers
its 400 for the body, nothing is stored, and the journal still answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aoai_mock.testing import LiveServer

from tests.hostile.conftest import assert_still_serving

PREVIEW = "2025-04-01-preview"


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        value = {"type": "object", "properties": {"x": value}}
    return value


def tool(depth: int) -> dict[str, Any]:
    return {"type": "function", "function": {"name": "f", "parameters": nested(depth)}}


MESSAGES = [{"role": "user", "content": "hi"}]
CASES = [
    ("chat-tools", f"/openai/deployments/gpt-4o/chat/completions?api-version={PREVIEW}",
     {"messages": MESSAGES, "tools": [tool(300)]}),
    ("chat-response-format", f"/openai/deployments/gpt-4o/chat/completions?api-version={PREVIEW}",
     {"messages": MESSAGES, "response_format": {"type": "json_schema", "json_schema": {"name": "s",
                                                                                        "schema": nested(300)}}}),
    ("v1-chat", "/openai/v1/chat/completions", {"model": "gpt-4o", "messages": MESSAGES, "tools": [tool(300)]}),
    ("responses", f"/openai/responses?api-version={PREVIEW}",
     {"model": "gpt-4o", "input": "hi", "tools": [{"type": "function", "name": "f", "parameters": nested(300)}]}),
    ("assistants", f"/openai/assistants?api-version={PREVIEW}", {"model": "gpt-4o", "tools": [tool(300)]}),
    ("runs", f"/openai/threads/runs?api-version={PREVIEW}", {"assistant_id": "asst_x", "tools": [tool(300)]}),
]


@pytest.mark.parametrize(("path", "body"), [pytest.param(p, b, id=i) for i, p, b in CASES])
def test_a_body_nested_past_the_limit_is_a_400(client: httpx.Client, server: LiveServer, path: str,
                                                 body: dict[str, Any]) -> None:
    answer = client.post(path, json=body)
    assert answer.status_code == 400, answer.text[:300]
    assert "error" in answer.json()
    assert client.get(f"/openai/assistants?api-version={PREVIEW}").status_code == 200
    journal = client.get("/_mock/requests")
    assert journal.status_code == 200, journal.text[:300]
    assert_still_serving(server.url)


def test_tools_nested_within_the_limit_still_work(client: httpx.Client) -> None:
    answer = client.post(f"/openai/deployments/gpt-4o/chat/completions?api-version={PREVIEW}",
                         json={"messages": MESSAGES, "tools": [tool(40)]})
    assert answer.status_code == 200, answer.text[:300]
