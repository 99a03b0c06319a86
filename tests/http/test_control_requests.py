"""``GET``/``DELETE /_mock/requests`` and the admin key on the control API.

The journal is filled by calling ``record`` on the app's own journal (recording live traffic is the front
door's job). The front door may record the control calls themselves, so assertions look only at the
entries these tests put in (``mine``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from aoai_mock.app import create_app
from aoai_mock.errors import AdminKeyRequired
from aoai_mock.settings import Settings
from aoai_mock.state.journal import BODY_LIMIT, Journal
from aoai_mock.testing import LiveServer
from fastapi import FastAPI

from tests.records import make_record

ADMIN = "adm-0123456789"
AZURE_KEY = "azure-key-abcdef"
CHAT = "/openai/deployments/gpt-4o/chat/completions"
ADMIN_KEY_REQUIRED = orjson.dumps(AdminKeyRequired().body())


def journal(app: FastAPI) -> Journal:
    return app.state.journal  # type: ignore[no-any-return]


def put(app: FastAPI, at: float, **given: Any) -> int:
    values: dict[str, Any] = {
        "method": "POST",
        "path": CHAT,
        "query": b"api-version=2024-10-21",
        "headers": [(b"api-key", AZURE_KEY.encode()), (b"content-type", b"application/json")],
        "body": b'{"messages": [{"role": "user", "content": "hi"}]}',
        "status": 200,
        "deployment": "gpt-4o",
        "operation": "chat.completions",
    } | given
    return journal(app).add(make_record(at, at + 0.01, **values))


def mine(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list"
    return [entry for entry in body["data"] if not entry["path"].startswith("/_mock/")]


def client_for(app: FastAPI, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://mock", headers=headers)


@pytest.fixture()
def open_app() -> FastAPI:
    return create_app(Settings(journal_size=5))


@pytest.fixture()
async def client(open_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(open_app) as http:
        yield http


@pytest.fixture()
def locked_app() -> FastAPI:
    return create_app(Settings(admin_key=ADMIN, api_keys=(AZURE_KEY,)))


async def test_lists_recorded_requests_in_order_of_arrival(open_app: FastAPI, client: httpx.AsyncClient) -> None:
    later = put(open_app, at=2.0, status=429, request_id="r2")
    earlier = put(open_app, at=1.0, request_id="r1")
    data = mine(await client.get("/_mock/requests"))
    assert [(e["seq"], e["id"], e["status"]) for e in data] == [(earlier, "r1", 200), (later, "r2", 429)]
    assert data[0]["body"] == {"messages": [{"role": "user", "content": "hi"}]}
    assert data[0]["query"] == {"api-version": "2024-10-21"}


async def test_keys_are_masked_in_the_answer(open_app: FastAPI, client: httpx.AsyncClient) -> None:
    put(
        open_app,
        at=1.0,
        headers=[(b"authorization", b"Bearer " + AZURE_KEY.encode()), (b"x-aoai-mock-admin-key", ADMIN.encode())],
        query=b"api-version=2024-10-21&api-key=" + AZURE_KEY.encode(),
    )
    response = await client.get("/_mock/requests")
    (entry,) = mine(response)
    assert entry["headers"] == {"authorization": "***", "x-aoai-mock-admin-key": "***"}
    assert entry["query"]["api-key"] == "***"
    assert AZURE_KEY not in response.text and ADMIN not in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("deployment=embed", ["embed"]),
        ("operation=chat.completions", ["a", "b"]),
        ("status=429", ["b"]),
        ("status=4xx", ["b", "embed"]),
        ("scenario=retries", ["b"]),
        ("since=2", ["embed"]),
        ("since=1970-01-01T00:00:00Z&limit=2", ["b", "embed"]),
        ("deployment=gpt-4o&status=2xx", ["a"]),
    ],
)
async def test_filters(open_app: FastAPI, client: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    put(open_app, at=1.0, request_id="a")
    put(open_app, at=2.0, request_id="b", status=429, scenario="retries")
    put(open_app, at=3.0, request_id="embed", deployment="embed", operation="embeddings", status=400)
    assert [e["id"] for e in mine(await client.get(f"/_mock/requests?{query}"))] == expected


async def test_since_a_sequence_number_survives_a_clear(open_app: FastAPI, client: httpx.AsyncClient) -> None:
    seen = put(open_app, at=1.0)
    before = len(journal(open_app))
    response = await client.delete("/_mock/requests")
    assert (response.status_code, response.json()) == (200, {"deleted": before})
    assert mine(await client.get("/_mock/requests")) == []
    fresh = put(open_app, at=2.0, request_id="after")
    assert fresh > seen
    assert [e["id"] for e in mine(await client.get(f"/_mock/requests?since={seen}"))] == ["after"]


async def test_the_journal_keeps_its_configured_size(open_app: FastAPI, client: httpx.AsyncClient) -> None:
    for at in range(8):
        put(open_app, at=float(at), request_id=f"r{at}")
    assert journal(open_app).capacity == 5
    ids = [e["id"] for e in mine(await client.get("/_mock/requests"))]
    assert ids[-3:] == ["r5", "r6", "r7"] and "r2" not in ids


async def test_large_bodies_come_back_truncated(open_app: FastAPI, client: httpx.AsyncClient) -> None:
    put(open_app, at=1.0, body=b'{"input": "' + b"x" * (2 * BODY_LIMIT) + b'"}')
    (entry,) = mine(await client.get("/_mock/requests"))
    assert entry["body_truncated"] is True
    assert entry["body_encoding"] == "text"
    assert len(entry["body"]) == BODY_LIMIT
    assert entry["body_size"] == 2 * BODY_LIMIT + 13


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("model=gpt-4o", "model"),
        ("status=teapot", "status"),
        ("since=last-tuesday", "since"),
        ("limit=0", "limit"),
        ("deployment=", "deployment"),
        ("status=200&status=500", "status"),
    ],
)
async def test_bad_filters_are_a_400_in_azure_shape(client: httpx.AsyncClient, query: str, param: str) -> None:
    response = await client.get(f"/_mock/requests?{query}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert (error["param"], error["code"], error["type"]) == (param, "invalid_filter", "invalid_request_error")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-aoai-mock-admin-key": "wrong"},
        {"x-aoai-mock-admin-key": ""},
        {"authorization": "Bearer wrong"},
        {"authorization": f"Basic {ADMIN}"},
        {"api-key": AZURE_KEY},
        {"authorization": f"Bearer {AZURE_KEY}"},
        {"api-key": ADMIN},  # the right key in the Azure header is still the Azure header
        {"x-aoai-mock-admin-key": "wrong", "authorization": f"Bearer {ADMIN}"},  # the named header decides
    ],
    ids=["none", "wrong", "empty", "wrong-bearer", "basic", "azure-key", "azure-bearer", "api-key-header", "both"],
)
@pytest.mark.parametrize("method", ["GET", "DELETE"])
async def test_the_admin_key_is_required(locked_app: FastAPI, method: str, headers: dict[str, str]) -> None:
    put(locked_app, at=1.0)
    async with client_for(locked_app, **headers) as http:
        response = await http.request(method, "/_mock/requests")
    assert response.status_code == 401
    assert response.content == ADMIN_KEY_REQUIRED
    assert response.json()["error"]["code"] == "AdminKeyRequired"
    assert len(journal(locked_app)) >= 1  # a refused DELETE clears nothing


@pytest.mark.parametrize(
    "headers",
    [{"x-aoai-mock-admin-key": ADMIN}, {"authorization": f"Bearer {ADMIN}"}, {"authorization": f"bearer  {ADMIN}"}],
    ids=["header", "bearer", "bearer-lower"],
)
async def test_the_admin_key_is_accepted(locked_app: FastAPI, headers: dict[str, str]) -> None:
    put(locked_app, at=1.0, request_id="r1")
    async with client_for(locked_app, **headers) as http:
        assert [e["id"] for e in mine(await http.get("/_mock/requests"))] == ["r1"]
        response = await http.delete("/_mock/requests")
    assert response.status_code == 200 and response.json()["deleted"] >= 1


async def test_health_is_never_protected(locked_app: FastAPI) -> None:
    async with client_for(locked_app) as http:
        response = await http.get("/_mock/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_without_an_admin_key_the_control_api_is_open(client: httpx.AsyncClient) -> None:
    assert (await client.get("/_mock/requests")).status_code == 200


def test_over_a_live_server() -> None:
    settings = Settings(port=0, admin_key=ADMIN)
    with LiveServer(settings) as server:
        seq = put(server.app, at=1.0, request_id="live", stream=True, status=200)
        with httpx.Client(base_url=server.url, timeout=10) as http:
            refused = http.get("/_mock/requests")
            found = http.get(f"/_mock/requests?since={seq - 1}", headers={"x-aoai-mock-admin-key": ADMIN})
            health = http.get("/_mock/health")
    assert refused.status_code == 401 and refused.content == ADMIN_KEY_REQUIRED
    assert [(e["id"], e["stream"]) for e in mine(found)] == [("live", True)]
    assert health.status_code == 200
