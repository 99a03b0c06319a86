"""``/_mock/deployments``: deployments added, changed and removed while a live server runs, as the openai SDK
sees them on its very next request; bad bodies, the admin key, and ``/_mock/reset`` restoring the configuration.

One server for the module, locked with an admin key; every test ends with ``POST /_mock/reset``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.behaviour.ratelimit import RateLimiter
from aoai_mock.config import Deployment
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from aoai_mock.testing.plugin import MockServer
from openai import AzureOpenAI

from tests.conftest import GA, KEY
from tests.e2e.conftest import FakeClock, Sleeps

ADMIN = "adm-deployments-0123"
CHAT = {"name": "runtime-chat", "model": "gpt-4o", "version": "2024-08-06", "kind": "chat"}
EMBED = {"name": "runtime-embed", "model": "text-embedding-3-small", "version": "1", "kind": "embeddings",
         "dimensions": 256}
HI = [{"role": "user", "content": "hello there"}]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "admin_key": ADMIN}, env={})) as live:
        yield live


@pytest.fixture()
def control(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/_mock", headers={"x-aoai-mock-admin-key": ADMIN}, timeout=10) as http:
        yield http
        assert http.post("/reset").status_code == 200


@pytest.fixture()
def client(server: LiveServer) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=0)


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]  # type: ignore[no-any-return]


def ask(client: AzureOpenAI, deployment: str, **extra: Any) -> str | None:
    return client.chat.completions.create(model=deployment, messages=HI, **extra).choices[0].message.content


# -- adding -----------------------------------------------------------------------------------------------------


def test_an_added_chat_deployment_answers_the_sdk(control: httpx.Client, client: AzureOpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        ask(client, "runtime-chat")
    added = ok(control.post("/deployments", json=CHAT), 201)
    assert added["source"] == "control" and added["responder"] == {"name": "echo", "options": {}}
    answer = client.chat.completions.create(model="runtime-chat", messages=HI)
    assert answer.choices[0].message.content == "hello there"
    assert answer.model == "gpt-4o-2024-08-06"  # derived, as for a configured deployment


def test_an_added_embeddings_deployment_answers_the_sdk(control: httpx.Client, client: AzureOpenAI) -> None:
    ok(control.post("/deployments", json=EMBED), 201)
    vectors = client.embeddings.create(model="runtime-embed", input=["a", "b"])
    assert [len(item.embedding) for item in vectors.data] == [256, 256]


def test_an_added_deployment_is_listed_everywhere(control: httpx.Client, server: LiveServer) -> None:
    ok(control.post("/deployments", content=b"name: listed\nmodel: gpt-4o-mini\nversion: '2024-07-18'\nkind: chat\n"),
       201)  # a configuration file's entry, pasted as YAML
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}) as http:
        deployments = ok(http.get(f"/openai/deployments?api-version={GA}"))["data"]
        assert "listed" in [d["id"] for d in deployments]
        assert "listed" in [m["id"] for m in ok(http.get("/openai/v1/models"))["data"]]
        assert ok(http.get("/_mock/health"))["deployments"] == len(deployments)
    assert [d["name"] for d in ok(control.get("/deployments"))["data"]][-1] == "listed"


def test_a_name_already_served_is_a_409(control: httpx.Client) -> None:
    error = refused(control.post("/deployments", json={**CHAT, "name": "gpt-4o"}), 409)
    assert error["code"] == "deployment_conflict" and error["param"] == "name"


# -- listing ----------------------------------------------------------------------------------------------------


def test_the_listing_has_every_configuration_field_and_the_live_figures(control: httpx.Client) -> None:
    listed = ok(control.get("/deployments"))
    assert listed["object"] == "list" and listed["active_scenario"] is None
    gpt4o = next(d for d in listed["data"] if d["name"] == "gpt-4o")
    assert set(Deployment.model_fields) <= set(gpt4o)
    assert Deployment.model_validate({k: gpt4o[k] for k in Deployment.model_fields}).name == "gpt-4o"
    assert gpt4o["source"] == "config" and gpt4o["changed"] is False
    assert gpt4o["requests_per_minute"] == gpt4o["tokens_per_minute"] * 6 // 1000
    assert gpt4o["quota"] is None and gpt4o["paced"] is False  # nothing metered, nothing waits
    assert ok(control.get("/deployments/gpt-4o")) == gpt4o


# -- changing ---------------------------------------------------------------------------------------------------


def test_changing_the_responder_changes_the_very_next_answer(control: httpx.Client, client: AzureOpenAI) -> None:
    ok(control.post("/deployments", json={**CHAT, "responder": {"name": "generated", "options": {"tokens": 12}}}), 201)
    assert ask(client, "runtime-chat") != "hello there"
    ok(control.patch("/deployments/runtime-chat", json={"responder": "echo"}))
    assert ask(client, "runtime-chat") == "hello there"
    ok(control.patch("/deployments/runtime-chat", json={"responder": {"name": "echo", "options": {"prefix": "A: "}}}))
    assert ask(client, "runtime-chat") == "A: hello there"
    ok(control.patch("/deployments/runtime-chat", json={"responder": {"name": "echo", "options": {"prefix": "B: "}}}))
    assert ask(client, "runtime-chat") == "B: hello there"  # the same responder with new options: built again


def test_a_configured_deployment_changes_and_says_so(control: httpx.Client, client: AzureOpenAI) -> None:
    changed = ok(control.patch("/deployments/gpt-4o", json={"responder": {"name": "echo", "options": {"prefix": ">"}},
                                                            "system_fingerprint": "fp_changed"}))
    assert changed["source"] == "config" and changed["changed"] is True
    answer = client.chat.completions.create(model="gpt-4o", messages=HI)
    assert answer.choices[0].message.content == ">hello there" and answer.system_fingerprint == "fp_changed"


def test_a_small_quota_gets_azures_429_and_a_larger_one_starts_afresh(
    control: httpx.Client, client: AzureOpenAI, server: LiveServer
) -> None:
    server.app.state.runtime.limiter = RateLimiter(clock=FakeClock())  # time stands still: nothing refills
    ok(control.post("/deployments", json=CHAT), 201)
    rate_limit = {"enforce": True, "limit_headers": True, "requests_per_minute": 600}  # tokens run out first
    quota = {"tokens_per_minute": 200, "rate_limit": rate_limit}
    listed = ok(control.patch("/deployments/runtime-chat", json=quota))
    assert listed["quota"]["tokens"]["remaining"] == 200
    raw = client.chat.completions.with_raw_response.create(model="runtime-chat", messages=HI, max_tokens=100)
    assert raw.headers["x-ratelimit-limit-tokens"] == "200"
    assert int(raw.headers["x-ratelimit-remaining-tokens"]) < 100
    with pytest.raises(openai.RateLimitError) as caught:
        ask(client, "runtime-chat", max_tokens=100)
    headers = caught.value.response.headers
    assert headers["policy-id"] == "DeploymentRatelimit-Token"
    assert int(headers["retry-after"]) == -(-int(headers["retry-after-ms"]) // 1000)
    assert "exceeded token rate limit" in caught.value.message
    figures = ok(control.get("/deployments/runtime-chat"))["quota"]["tokens"]
    assert figures["capacity"] == 200 and figures["remaining"] < 100
    ok(control.patch("/deployments/runtime-chat", json={"tokens_per_minute": 100_000}))
    assert ask(client, "runtime-chat", max_tokens=100) == "hello there"  # a new quota, full


def test_a_patch_merges_mappings_and_null_restores_a_default(control: httpx.Client) -> None:
    ok(control.post("/deployments", json={**CHAT, "rate_limit": {"requests_per_minute": 30}}), 201)
    merged = ok(control.patch("/deployments/runtime-chat", json={"rate_limit": {"enforce": True}}))
    assert merged["rate_limit"]["enforce"] is True and merged["rate_limit"]["requests_per_minute"] == 30
    restored = ok(control.patch("/deployments/runtime-chat", json={"rate_limit": {"requests_per_minute": None}}))
    assert restored["rate_limit"]["requests_per_minute"] is None and restored["requests_per_minute"] == 6000
    moved = ok(control.patch("/deployments/runtime-chat", json={"model": "gpt-4o-mini", "version": "2024-07-18"}))
    assert moved["response_model"] == "gpt-4o-mini-2024-07-18"  # derived again: it was not written


def test_changing_pacing_paces_the_next_answer(control: httpx.Client, client: AzureOpenAI, server: LiveServer) -> None:
    runtime = server.app.state.runtime
    sleeps = Sleeps()
    real = runtime.sleep, runtime.monotonic
    runtime.sleep, runtime.monotonic = sleeps, sleeps.clock
    try:
        ok(control.post("/deployments", json=CHAT), 201)
        assert ask(client, "runtime-chat") == "hello there" and sleeps.seconds == []
        listed = ok(control.patch("/deployments/runtime-chat", json={"pacing": {"time_to_first_token_ms": 250}}))
        assert listed["paced"] is True
        ask(client, "runtime-chat")
        assert sleeps.seconds == [pytest.approx(0.25)]
        ok(control.patch("/deployments/runtime-chat", json={"pacing": None}))
        ask(client, "runtime-chat")
        assert len(sleeps.seconds) == 1
    finally:
        runtime.sleep, runtime.monotonic = real


# -- removing ---------------------------------------------------------------------------------------------------


def test_a_removed_deployment_is_azures_deployment_not_found(control: httpx.Client, client: AzureOpenAI) -> None:
    ok(control.post("/deployments", json=CHAT), 201)
    assert ok(control.delete("/deployments/runtime-chat")) == {"name": "runtime-chat", "deleted": True}
    with pytest.raises(openai.NotFoundError) as caught:
        ask(client, "runtime-chat")
    assert caught.value.body["code"] == "DeploymentNotFound"  # type: ignore[index]
    for response in (control.get("/deployments/runtime-chat"), control.delete("/deployments/runtime-chat"),
                     control.patch("/deployments/runtime-chat", json={"tokens_per_minute": 1})):
        assert refused(response, 404)["code"] == "unknown_deployment"


# -- refused ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({**CHAT, "colour": "blue"}, "colour"),
        ({**CHAT, "tokens_per_minute": "lots"}, "tokens_per_minute"),
        ({**CHAT, "kind": "telepathy"}, "kind"),
        ({**CHAT, "responder": "oracle"}, "responder.name"),
        ({**CHAT, "rate_limit": {"enforce": True, "token_window_seconds": 600}}, "rate_limit.token_window_seconds"),
        ({**CHAT, "pacing": {"jitter": "some"}}, "pacing.jitter"),
        ({**CHAT, "responder": {"name": "fixture", "options": {"file": "/etc/passwd"}}}, "responder.options.file"),
        ({**CHAT, "name": "a/b"}, "name"),
        ({"name": "half"}, "model"),
        ([CHAT], None),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(control: httpx.Client, body: Any, param: str | None) -> None:
    error = refused(control.post("/deployments", json=body), 400)
    assert error["code"] == "invalid_deployment" and error["param"] == param
    assert [d for d in ok(control.get("/deployments"))["data"] if d["source"] == "control"] == []


@pytest.mark.parametrize(
    ("patch", "param"),
    [
        ({"colour": "blue"}, "colour"),
        ({"rate_limit": {"enforce": "maybe"}}, "rate_limit.enforce"),
        ({"responder": {"name": "oracle"}}, "responder.name"),
        ({"name": "gpt-4o-renamed"}, "name"),
        ({"model": None}, "model"),
    ],
)
def test_a_bad_patch_is_a_400_and_changes_nothing(control: httpx.Client, patch: Any, param: str) -> None:
    before = ok(control.get("/deployments/gpt-4o"))
    error = refused(control.patch("/deployments/gpt-4o", json=patch), 400)
    assert error["code"] == "invalid_deployment" and error["param"] == param
    assert ok(control.get("/deployments/gpt-4o")) == before


def test_a_body_that_is_not_json_or_yaml_is_a_400(control: httpx.Client) -> None:
    assert refused(control.post("/deployments", content=b"{unclosed: [\n"), 400)["code"] == "invalid_deployment"
    assert refused(control.post("/deployments", content=b""), 400)["code"] == "invalid_deployment"


def test_a_scenarios_deployment_is_changed_by_its_scenario(control: httpx.Client, client: AzureOpenAI) -> None:
    scenario = "name: declares\ndeployments:\n  - {name: from-scenario, model: gpt-4o, kind: chat}\n"
    ok(control.post("/scenarios?activate=true", content=scenario, headers={"content-type": "application/yaml"}), 201)
    try:
        listed = {d["name"]: d for d in ok(control.get("/deployments"))["data"]}
        assert listed["from-scenario"]["source"] == "scenario:declares"
        patched = control.patch("/deployments/from-scenario", json={"tokens_per_minute": 5})
        assert refused(patched, 409)["param"] == "name"
        assert refused(control.delete("/deployments/from-scenario"), 409)["code"] == "deployment_conflict"
    finally:
        ok(control.delete("/scenarios/declares"))


# -- the admin key, and resets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("GET", "/deployments", None), ("GET", "/deployments/gpt-4o", None), ("POST", "/deployments", CHAT),
     ("PATCH", "/deployments/gpt-4o", {"responder": "generated"}), ("DELETE", "/deployments/gpt-4o", None)],
)
def test_every_route_asks_for_the_admin_key(
    control: httpx.Client, server: LiveServer, method: str, path: str, body: Any
) -> None:
    before = ok(control.get("/deployments"))
    for headers in ({}, {"x-aoai-mock-admin-key": "wrong"}, {"api-key": KEY}):
        response = httpx.request(method, server.url + "/_mock" + path, json=body, headers=headers)
        assert refused(response, 401)["code"] == "AdminKeyRequired"
    assert ok(control.get("/deployments")) == before  # nothing happened
    bearer = {"authorization": f"Bearer {ADMIN}"}
    opened = httpx.request(method, server.url + "/_mock" + path, json=body, headers=bearer)
    assert opened.status_code < 300, opened.text


def _configured(control: httpx.Client) -> list[dict[str, Any]]:
    return ok(control.get("/deployments"))["data"]  # type: ignore[no-any-return]


def test_reset_serves_the_configured_deployments_again(control: httpx.Client, client: AzureOpenAI) -> None:
    configured = _configured(control)
    ok(control.post("/deployments", json=CHAT), 201)
    ok(control.patch("/deployments/gpt-4o", json={"responder": {"name": "echo", "options": {"prefix": "x"}}}))
    ok(control.delete("/deployments/gpt-4o-mini"))
    ok(control.post("/reset"))
    assert _configured(control) == configured
    assert ask(client, "gpt-4o") == "hello there" and ask(client, "gpt-4o-mini") == "hello there"
    with pytest.raises(openai.NotFoundError):
        ask(client, "runtime-chat")


def test_the_pytest_plugins_reset_restores_them_too(control: httpx.Client, server: LiveServer) -> None:
    configured = _configured(control)
    ok(control.post("/deployments", json=CHAT), 201)
    ok(control.delete("/deployments/gpt-4o"))
    MockServer(server, GA).reset()
    assert _configured(control) == configured
