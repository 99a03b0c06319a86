"""A request that comes again (as load tests send them) is answered, from its third time on, from what it was
answered before: the same bytes but for its own id and time, with faults, the journal and the responder header
as for any request. It is remembered the second time it comes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from aoai_mock.settings import Settings, resolve
from aoai_mock.testing import LiveServer

CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
KEY = {"api-key": "k"}
BODY = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say memo."}]}


def _served(settings: Settings) -> Iterator[tuple[LiveServer, httpx.Client]]:
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, headers=KEY, timeout=10) as client:
        yield server, client


@pytest.fixture()
def served() -> Iterator[tuple[LiveServer, httpx.Client]]:
    yield from _served(resolve({"port": 0}, env={}))


@pytest.fixture()
def frozen() -> Iterator[tuple[LiveServer, httpx.Client]]:
    yield from _served(resolve({"port": 0, "seed": 7}, env={}))


def _memo(server: LiveServer) -> dict:
    return server.app.state.runtime.answers._answers


def test_a_repeated_request_is_answered_alike_with_its_own_id(served):
    server, client = served
    first = client.post(CHAT, json=BODY).json()
    assert len(_memo(server)) == 0  # a body is remembered the second time it comes
    client.post(CHAT, json=BODY)
    assert len(_memo(server)) == 1
    second = client.post(CHAT, json=BODY).json()
    assert second["id"] != first["id"] and second["id"].startswith("chatcmpl-")
    assert {k: v for k, v in second.items() if k not in ("id", "created")} == {
        k: v for k, v in first.items() if k not in ("id", "created")
    }
    entries = [e for e in client.get("/_mock/requests").json()["data"] if e["path"].endswith("/chat/completions")]
    usage = first["usage"]
    assert [e["tokens"] for e in entries] == [{"prompt": usage["prompt_tokens"], "completion": usage["completion_tokens"]}] * 3


def test_with_a_seed_the_repeated_answer_is_the_same_bytes_as_a_fresh_servers(frozen):
    server, client = frozen
    answers = [client.post(CHAT, json=BODY).content for _ in range(4)]
    with LiveServer(resolve({"port": 0, "seed": 7}, env={})) as fresh:
        first = httpx.post(fresh.url + CHAT, json=BODY, headers=KEY, timeout=10).content
    assert answers == [first] * 4
    assert len(_memo(server)) == 1


def test_a_fault_the_repeated_request_asks_for_still_comes(served):
    _, client = served
    for _ in range(2):
        assert client.post(CHAT, json=BODY).status_code == 200
    faulted = client.post(CHAT, json=BODY, headers={"x-aoai-mock-fault": "429"})
    assert faulted.status_code == 429
    assert client.post(CHAT, json=BODY).status_code == 200


def test_a_responder_header_or_a_stream_is_not_answered_from_memory(served):
    server, client = served
    echoed = [client.post(CHAT, json=BODY).json() for _ in range(2)][-1]["choices"][0]["message"]["content"]
    generated = client.post(CHAT, json=BODY, headers={"x-aoai-mock-responder": "generated"}).json()
    assert generated["choices"][0]["message"]["content"] != echoed
    for _ in range(2):
        streamed = client.post(CHAT, json={**BODY, "stream": True})
        assert streamed.text.startswith("data: ") and echoed.split()[0] in streamed.text
    assert len(_memo(server)) == 2  # the plain body, and the streaming one (another body)


def test_a_reset_forgets_and_a_changed_deployment_is_not_the_remembered_one(served):
    server, client = served
    client.post(CHAT, json=BODY)
    client.post(CHAT, json=BODY)
    client.post("/_mock/reset")
    assert _memo(server) == {}
    client.post(CHAT, json=BODY)
    assert _memo(server) == {}  # the reset forgot that it came, too
    client.post(CHAT, json=BODY)
    runtime = server.app.state.runtime
    ((key, (deployment, parsed, result)),) = _memo(server).items()
    assert runtime.answers.get(key, deployment.model_copy()) is None  # another deployment object: no answer
    assert runtime.answers.get(key, deployment) == (parsed, result)
