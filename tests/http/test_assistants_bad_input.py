"""Malformed requests to the assistants, threads, runs and vector store routes: each gets the service's 400 or
404 in its shape, never a 500, and the server keeps serving."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY, ROOT

PREVIEW = "2025-03-01-preview"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with LiveServer(resolve({"port": 0, "run_seconds": 0}, env={}), fixtures_dir=ROOT / "tests" / "data") as server:
        with httpx.Client(base_url=server.url, headers={"api-key": KEY}, timeout=10) as client:
            yield client


@pytest.fixture(scope="module")
def ids(http: httpx.Client) -> dict[str, str]:
    """An assistant, a thread with a message, a finished run and a vector store to aim bad requests at."""
    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = http.post(f"/openai/{path}?api-version={PREVIEW}", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assistant = post("assistants", {"model": "gpt-4o"})
    thread = post("threads", {"messages": [{"role": "user", "content": "hi"}]})
    run = post(f"threads/{thread['id']}/runs", {"assistant_id": assistant["id"]})
    http.get(f"/openai/threads/{thread['id']}/runs/{run['id']}?api-version={PREVIEW}")
    store = post("vector_stores", {"name": "s"})
    return {"asst": assistant["id"], "thread": thread["id"], "run": run["id"], "vs": store["id"]}


def bad(path: str, body: Any, status: int = 400, param: str | None = None, says: str = "") -> Any:
    return pytest.param(path, body, status, param, says, id=f"{path} {json.dumps(body)[:40] if not isinstance(body, bytes) else body[:20]!r}")


CASES = [
    bad("assistants", b"{not json", says="We could not parse the JSON body"),
    bad("assistants", b"", says="We could not parse the JSON body"),
    bad("assistants", [1, 2], says="expected an object"),
    bad("assistants", {"model": 1}, param="model"),
    bad("assistants", {"model": "gpt-4o", "tools": "code_interpreter"}, param="tools"),
    bad("assistants", {"model": "gpt-4o", "tools": [{"type": "function"}]}, param="tools[0].function"),
    bad("assistants", {"model": "gpt-4o", "metadata": ["a"]}, param="metadata"),
    bad("assistants", {"model": "gpt-4o", "top_p": 2}, param="top_p"),
    bad("assistants", {"model": "gpt-4o", "response_format": {"type": "yaml"}}, param="response_format.type"),
    bad("assistants", {"model": "gpt-4o", "response_format": "xml"}, param="response_format"),
    bad("assistants", {"model": "gpt-4o", "tool_resources": {"file_search": {"vector_store_ids": ["vs_nope"]}}}, 404),
    bad("assistants", {"model": "gpt-4o", "tool_resources": {"code_interpreter": {"file_ids": ["file-nope"]}}}, 404),
    bad("assistants/{asst}", {"model": "no-such-model"}, param="model", says="does not exist"),
    bad("assistants/{asst}", {"unknown": True}, says="Unrecognized request argument supplied: unknown"),
    bad("threads", {"messages": [{"role": "system", "content": "x"}]}, param="messages[0].role"),
    bad("threads", {"messages": [{"role": "user"}]}, param="messages[0].content"),
    bad("threads", {"tool_resources": 5}, param="tool_resources"),
    bad("threads/{thread}", {"metadata": {"k": 1}}, param="metadata.k"),
    bad("threads/{thread}/messages", {"role": "user", "content": 5}, param="content"),
    bad("threads/{thread}/messages", {"role": "user", "content": [{"type": "video"}]}, param="content[0].type"),
    bad("threads/{thread}/messages", {"role": "user", "content": "x", "attachments": [{"file_id": "file-nope"}]}, 404),
    bad("threads/{thread}/messages/msg_nope", {"metadata": {}}, 404),
    bad("threads/{thread}/runs", {}, param="assistant_id", says="Missing required parameter"),
    bad("threads/{thread}/runs", {"assistant_id": 5}, param="assistant_id"),
    bad("threads/{thread}/runs", {"assistant_id": "asst_nope"}, 404),
    bad("threads/{thread}/runs", {"assistant_id": "{asst}", "tool_choice": "sometimes"}, param="tool_choice"),
    bad("threads/{thread}/runs", {"assistant_id": "{asst}", "tool_choice": {"type": "x"}}, param="tool_choice.type"),
    bad("threads/{thread}/runs", {"assistant_id": "{asst}", "model": "nope"}, param="model"),
    bad("threads/{thread}/runs", {"assistant_id": "{asst}", "truncation_strategy": {"type": "last_messages", "last_messages": 0}},
        param="truncation_strategy.last_messages"),  # fmt: skip
    bad("threads/{thread}/runs", {"assistant_id": "{asst}", "stream": "yes"}, param="stream"),
    bad("threads/thread_nope/runs", {"assistant_id": "{asst}"}, 404),
    bad("threads/runs", {"assistant_id": "{asst}", "thread": {"messages": "hi"}}, param="thread.messages"),
    bad("threads/{thread}/runs/{run}/submit_tool_outputs", {"tool_outputs": "x"}, param="tool_outputs"),
    bad("threads/{thread}/runs/{run}/submit_tool_outputs", {"tool_outputs": []}, says="do not accept tool outputs"),
    bad("threads/{thread}/runs/{run}/cancel", {}, says="Cannot cancel run with status 'completed'."),
    bad("threads/{thread}/runs/run_nope/cancel", {}, 404),
    bad("vector_stores", {"file_ids": "file-1"}, param="file_ids"),
    bad("vector_stores", {"file_ids": ["file-nope"]}, 404),
    bad("vector_stores", {"chunking_strategy": {"type": "static"}}, param="chunking_strategy.static"),
    bad("vector_stores", {"chunking_strategy": {"type": "static", "static": {"max_chunk_size_tokens": 50, "chunk_overlap_tokens": 0}}},
        param="chunking_strategy.static.max_chunk_size_tokens"),  # fmt: skip
    bad("vector_stores", {"expires_after": {"anchor": "created_at", "days": 1}}, param="expires_after.anchor"),
    bad("vector_stores/{vs}/search", {}, param="query"),
    bad("vector_stores/{vs}/search", {"query": 5}, param="query"),
    bad("vector_stores/{vs}/search", {"query": "x", "filters": {"type": "near"}}, param="filters"),
    bad("vector_stores/{vs}/files", {"file_id": "file-nope"}, 404),
    bad("vector_stores/{vs}/file_batches", {"file_ids": []}, param="file_ids"),
    bad("vector_stores/vs_nope/file_batches", {"file_ids": ["file-1"]}, 404),
]


@pytest.mark.parametrize(("path", "body", "status", "param", "says"), CASES)
def test_bad_bodies(
    http: httpx.Client, ids: dict[str, str], path: str, body: Any, status: int, param: str | None, says: str
) -> None:
    url = f"/openai/{path.format(**ids)}?api-version={PREVIEW}"
    content = body if isinstance(body, bytes) else json.dumps(body).replace("{asst}", ids["asst"]).encode()
    answer = http.post(url, content=content, headers={"content-type": "application/json"})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    if param is not None:
        assert error["param"] == param, error
    assert says in error["message"]


@pytest.mark.parametrize(
    ("method", "path", "says"),
    [
        ("GET", "assistants/asst_nope", "No assistant found with id 'asst_nope'."),
        ("DELETE", "assistants/asst_nope", "No assistant found with id 'asst_nope'."),
        ("GET", "threads/thread_nope", "No thread found with id 'thread_nope'."),
        ("GET", "threads/thread_nope/messages", "No thread found with id 'thread_nope'."),
        ("GET", "threads/{thread}/messages/msg_nope", "No message found with id 'msg_nope'."),
        ("GET", "threads/{thread}/runs/run_nope", "No run found with id 'run_nope'."),
        ("GET", "threads/{thread}/runs/run_nope/steps", "No run found with id 'run_nope'."),
        ("GET", "threads/{thread}/runs/{run}/steps/step_nope", "No run step found with id 'step_nope'."),
        ("GET", "vector_stores/vs_nope", "No vector store found with id 'vs_nope'."),
        ("DELETE", "vector_stores/vs_nope", "No vector store found with id 'vs_nope'."),
        ("GET", "vector_stores/{vs}/files/file-nope", "No file found with id 'file-nope'."),
        ("GET", "vector_stores/{vs}/file_batches/vsfb_nope", "No file batch found with id 'vsfb_nope'."),
    ],
)
def test_unknown_ids(http: httpx.Client, ids: dict[str, str], method: str, path: str, says: str) -> None:
    answer = http.request(method, f"/openai/{path.format(**ids)}?api-version={PREVIEW}")
    assert answer.status_code == 404
    assert answer.json() == {"error": {"message": says, "type": "invalid_request_error", "param": None, "code": None}}


@pytest.mark.parametrize(
    ("query", "param"),
    [("limit=0", "limit"), ("limit=abc", "limit"), ("order=up", "order"), ("limit=101", "limit")],
)
def test_bad_list_queries(http: httpx.Client, ids: dict[str, str], query: str, param: str) -> None:
    for path in ("assistants", f"threads/{ids['thread']}/messages", "vector_stores", f"vector_stores/{ids['vs']}/files"):
        answer = http.get(f"/openai/{path}?api-version={PREVIEW}&{query}")
        assert answer.status_code == 400 and answer.json()["error"]["param"] == param


def test_wrong_content_type_and_versions(http: httpx.Client, ids: dict[str, str]) -> None:
    text = http.post(f"/openai/assistants?api-version={PREVIEW}", content=b"model=gpt-4o", headers={"content-type": "text/plain"})
    assert text.status_code == 400 and text.json()["error"]["code"] == "invalid_content_type"
    assert http.get("/openai/assistants").status_code == 404  # no api-version
    assert http.get("/openai/assistants?api-version=2024-02-01").status_code == 404  # a GA without assistants
    assert http.get("/openai/vector_stores?api-version=2024-04-01-preview").status_code == 404  # before vector stores
    old = http.post(f"/openai/vector_stores/{ids['vs']}/search?api-version=2024-05-01-preview", json={"query": "x"})
    assert old.status_code == 404  # search came with 2025-03-01-preview
    assert http.get(f"/openai/assistants?api-version={PREVIEW}", headers={"api-key": "", "authorization": ""}).status_code == 401


def test_the_server_still_answers(http: httpx.Client) -> None:
    assert http.get(f"/openai/assistants?api-version={PREVIEW}").status_code == 200
