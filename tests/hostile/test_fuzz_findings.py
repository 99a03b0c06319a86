"""What the schema fuzzing (test_schema_fuzz.py) found, each pinned by a test of its own.

* An assistant's or a run's ``response_format`` of type ``json_schema`` was taken without its ``json_schema``, or
  with one whose ``schema`` was not an object: the answer broke the spec's shape (``{"type": "json_schema"}``), and
  a run with ``"schema": 5`` failed when it ran, ``server_error`` from an AttributeError inside the mock. The
  assistants API now checks the format as chat does (``wire/requests.py``'s formats), with the same 400s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY
from tests.hostile.conftest import assert_still_serving

PREVIEW = "2025-03-01-preview"
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "run_seconds": 0}, env={})) as live:  # a run ends when next looked at
        yield live


@pytest.fixture(scope="module")
def api(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/openai", headers={"api-key": KEY}, params={"api-version": PREVIEW},
                      timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def ids(api: httpx.Client) -> dict[str, str]:
    assistant = api.post("/assistants", json={"model": "gpt-4o"}).json()
    thread = api.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]}).json()
    return {"asst": assistant["id"], "thread": thread["id"]}


TARGETS = [
    pytest.param("/assistants", {"model": "gpt-4o"}, id="create-assistant"),
    pytest.param("/assistants/{asst}", {}, id="modify-assistant"),
    pytest.param("/threads/{thread}/runs", {"assistant_id": "{asst}"}, id="create-run"),
    pytest.param("/threads/runs", {"assistant_id": "{asst}"}, id="create-thread-and-run"),
]
FORMATS = [
    pytest.param({"type": "json_schema"}, "response_format.json_schema", "Missing required parameter", id="no-schema"),
    pytest.param({"type": "json_schema", "json_schema": {}}, "response_format.json_schema.name",
                 "Missing required parameter", id="no-name"),
    pytest.param({"type": "json_schema", "json_schema": {"name": "x", "schema": 5}},
                 "response_format.json_schema.schema", "expected an object", id="schema-not-an-object"),
    pytest.param({"type": "text", "json_schema": {"name": "x"}}, "response_format.json_schema",
                 "Unrecognized request argument supplied: json_schema", id="schema-on-text"),
]


@pytest.mark.parametrize(("path", "body"), TARGETS)
@pytest.mark.parametrize(("response_format", "param", "says"), FORMATS)
def test_an_incomplete_json_schema_format_is_a_400(
    api: httpx.Client, server: LiveServer, ids: dict[str, str], path: str, body: dict[str, Any],
    response_format: dict[str, Any], param: str, says: str,
) -> None:
    sent = {k: v.format(**ids) for k, v in body.items()} | {"response_format": response_format}
    answer = api.post(path.format(**ids), json=sent)
    assert answer.status_code == 400, answer.text[:300]
    error = answer.json()["error"]
    assert error["param"] == param and says in error["message"], error
    assert_still_serving(server.url)


def test_a_string_format_is_still_named_as_a_whole(api: httpx.Client) -> None:
    answer = api.post("/assistants", json={"model": "gpt-4o", "response_format": "xml"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "response_format"


def test_a_json_schema_format_is_kept_as_sent_and_a_run_answers_in_it(api: httpx.Client) -> None:
    response_format = {"type": "json_schema", "json_schema": {"name": "reply", "schema": SCHEMA, "strict": True}}
    assistant = api.post("/assistants", json={"model": "gpt-4o", "response_format": response_format})
    assert assistant.status_code == 200, assistant.text[:300]
    assert assistant.json()["response_format"] == response_format  # `schema`, not the model's `schema_`
    thread = api.post("/threads", json={"messages": [{"role": "user", "content": "hi"}]}).json()
    run = api.post(f"/threads/{thread['id']}/runs", json={"assistant_id": assistant.json()["id"]}).json()
    assert run["response_format"] == response_format
    done = api.get(f"/threads/{thread['id']}/runs/{run['id']}").json()
    assert done["status"] == "completed", done["last_error"]
    reply = api.get(f"/threads/{thread['id']}/messages", params={"order": "desc", "limit": 1}).json()["data"][0]
    assert reply["role"] == "assistant" and reply["content"][0]["text"]["value"].startswith("{")
