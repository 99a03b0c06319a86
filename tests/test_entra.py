"""Entra ID as Azure checks it, with raw httpx: tokens read as JWTs (audience, lifetime on the mock's clock,
roles or object ids when configured, signatures when a key is configured), Bearers that are not JWTs still
keys, ``--disable-local-auth``, and ``aoai-mock token``, through live servers and real processes."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from aoai_mock.behaviour import entra
from aoai_mock.settings import EntraSettings, resolve
from aoai_mock.testing import LiveServer
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.processes import running

GA = "2024-10-21"
CHAT = f"/openai/deployments/gpt-4o/chat/completions?api-version={GA}"
EMBEDDINGS = f"/openai/deployments/text-embedding-3-small/embeddings?api-version={GA}"
V1_CHAT = "/openai/v1/chat/completions"
FILES = f"/openai/files?api-version={GA}"
BODY = {"messages": [{"role": "user", "content": "Hi"}]}
NOW = 1_900_000_000.0  # the servers' clock here: tokens are issued and judged on it
ROLE = "Cognitive Services OpenAI User"
GRANTED_OID = "0d9c8b7a-6f5e-4d3c-8b2a-1f0e9d8c7b6a"
TOKEN_BODY = (
    b'{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect '
    b'(https://cognitiveservices.azure.com), or have expired."}'
)
KEYS_OFF = (
    b'{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this '
    b'resource."}}'
)
ACTIONS = "Microsoft.CognitiveServices/accounts/OpenAI/"


def token(**claims: object) -> str:
    options = {"audience": "https://cognitiveservices.azure.com", "expires_in": 3600, **claims}
    return entra.issue(options.pop("now", NOW), **options)  # type: ignore[arg-type]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


@pytest.fixture(scope="module")
def open_server() -> Iterator[LiveServer]:
    """Any key; JWTs judged by the default policy (both audiences, no roles asked for)."""
    with LiveServer(resolve({"port": 0}, env={})) as live:
        yield live


@pytest.fixture(scope="module")
def strict_server() -> Iterator[LiveServer]:
    """Keys refused (local auth disabled); tokens need the role, or the granted object id."""
    settings = resolve(
        {"port": 0, "disable_local_auth": True, "entra_roles": (ROLE,), "entra_object_ids": (GRANTED_OID,)}, env={}
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(autouse=True)
def clocks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every server of the test judges on NOW (a test moves it on by setting the runtime's clock)."""
    servers = [request.getfixturevalue(name) for name in ("open_server", "strict_server")
               if name in request.fixturenames]
    for live in servers:
        live.app.state.runtime.clock.now = lambda: NOW
    yield


def post(server: LiveServer, path: str, headers: dict[str, str], body: object = BODY) -> httpx.Response:
    return httpx.post(server.url + path, json=body, headers=headers, timeout=10)


# -- tokens: good, wrong audience, expired, not yet valid, not a token ---------------------------------------


@pytest.mark.parametrize("audience", ["https://cognitiveservices.azure.com", "https://ai.azure.com",
                                      "https://cognitiveservices.azure.com/"])
def test_a_token_for_an_accepted_audience_is_answered(open_server: LiveServer, audience: str) -> None:
    reply = post(open_server, CHAT, bearer(token(audience=audience)))
    assert reply.status_code == 200 and reply.json()["object"] == "chat.completion"


def test_a_token_opens_the_v1_routes_and_the_resource_routes(open_server: LiveServer) -> None:
    good = bearer(token())
    assert post(open_server, V1_CHAT, good, {**BODY, "model": "gpt-4o"}).status_code == 200
    listed = httpx.get(open_server.url + FILES, headers=good, timeout=10)
    assert listed.status_code == 200 and listed.json()["object"] == "list"


@pytest.mark.parametrize("path", [CHAT, V1_CHAT, FILES])
def test_a_wrong_audience_gets_azures_401(open_server: LiveServer, path: str) -> None:
    wrong = bearer(token(audience="https://management.azure.com"))
    reply = (httpx.get(open_server.url + path, headers=wrong, timeout=10) if path == FILES
             else post(open_server, path, wrong, {**BODY, "model": "gpt-4o"}))
    assert reply.status_code == 401 and reply.content == TOKEN_BODY
    assert reply.headers["content-type"] == "application/json"


def test_a_token_expires_on_the_mocks_clock(open_server: LiveServer) -> None:
    runtime = open_server.app.state.runtime
    lasting = bearer(token(expires_in=60))
    assert post(open_server, CHAT, lasting).status_code == 200
    runtime.clock.now = lambda: NOW + 59
    assert post(open_server, CHAT, lasting).status_code == 200  # the same token, remembered: still judged anew
    runtime.clock.now = lambda: NOW + 60
    expired = post(open_server, CHAT, lasting)
    assert expired.status_code == 401 and expired.content == TOKEN_BODY


def test_a_token_not_yet_valid_is_refused(open_server: LiveServer) -> None:
    early = bearer(token(now=NOW + 300))
    assert post(open_server, CHAT, early).content == TOKEN_BODY
    open_server.app.state.runtime.clock.now = lambda: NOW + 300
    assert post(open_server, CHAT, early).status_code == 200


@pytest.mark.parametrize("broken", ["eyJhbGciOiJub25lIn0.bm90IGpzb24.", "eyJ.x.y", "eyJhbGciOiJub25lIn0.e30."])
def test_a_bearer_that_looks_like_a_jwt_but_is_no_token_is_refused(open_server: LiveServer, broken: str) -> None:
    reply = post(open_server, CHAT, bearer(broken))
    assert reply.status_code == 401 and reply.content == TOKEN_BODY  # e30 is {}: no audience, no expiry


def test_a_bearer_that_is_not_a_jwt_is_still_a_key(open_server: LiveServer) -> None:
    """The openai SDK's OpenAI client on .../openai/v1/ sends the api key as a Bearer: it keeps working."""
    assert post(open_server, CHAT, bearer("plain-api-key")).status_code == 200
    hex_key = bearer("0123456789abcdef0123456789abcdef")
    assert post(open_server, V1_CHAT, hex_key, {**BODY, "model": "gpt-4o"}).status_code == 200


def test_with_keys_configured_a_plain_bearer_is_checked_as_a_key_and_a_token_as_a_token() -> None:
    with LiveServer(resolve({"port": 0, "api_keys": ("right",)}, env={})) as live:
        live.app.state.runtime.clock.now = lambda: NOW
        assert post(live, CHAT, bearer("right")).status_code == 200
        wrong = post(live, CHAT, bearer("wrong"))
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "401"
        assert post(live, CHAT, bearer(token())).status_code == 200


# -- who may call: roles and object ids ----------------------------------------------------------------------


def test_a_token_without_the_role_gets_permission_denied_naming_the_data_action(strict_server: LiveServer) -> None:
    unassigned = bearer(token(name="someone@example.com"))
    chat = post(strict_server, CHAT, unassigned)
    assert chat.status_code == 401
    assert chat.json() == {"error": {"code": "PermissionDenied", "message": (
        f"The principal `someone@example.com` lacks the required data action `{ACTIONS}deployments/chat/completions/"
        "action` to perform `POST /openai/deployments/{deployment-id}/chat/completions` operation.")}}
    embeddings = post(strict_server, EMBEDDINGS, bearer(token()), {"input": "x"})
    assert f"`{ACTIONS}deployments/embeddings/action`" in embeddings.json()["error"]["message"]
    assert f"`{entra.DEFAULT_OBJECT_ID}`" in embeddings.json()["error"]["message"]  # no upn: the object id
    responses = post(strict_server, "/openai/responses?api-version=2025-04-01-preview", unassigned,
                     {"model": "gpt-4o", "input": "Hi"})
    assert responses.status_code == 401 and "`POST /openai/responses` operation" in responses.text
    assert f"`{ACTIONS}responses/write`" in responses.text
    files = httpx.get(strict_server.url + FILES, headers=unassigned, timeout=10)
    assert files.status_code == 401 and files.json()["error"] == {
        "code": "PermissionDenied", "message": "Principal does not have access to API/Operation."}


def test_the_role_or_the_object_id_grants_access(strict_server: LiveServer) -> None:
    assert post(strict_server, CHAT, bearer(token(roles=[ROLE]))).status_code == 200
    assert post(strict_server, CHAT, bearer(token(object_id=GRANTED_OID))).status_code == 200
    assert post(strict_server, CHAT, bearer(token(roles=["Reader"]))).status_code == 401


def test_the_audience_is_judged_before_the_role(strict_server: LiveServer) -> None:
    assert post(strict_server, CHAT, bearer(token(audience="api://other", roles=[ROLE]))).content == TOKEN_BODY


# -- local auth disabled ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{"api-key": "any"}, {"Authorization": "Bearer plain-key"}])
def test_keys_get_azures_403_when_local_auth_is_disabled(strict_server: LiveServer, headers: dict[str, str]) -> None:
    for reply in (post(strict_server, CHAT, headers), httpx.get(strict_server.url + FILES, headers=headers)):
        assert reply.status_code == 403 and reply.content == KEYS_OFF


def test_no_credential_at_all_is_still_the_401(strict_server: LiveServer) -> None:
    assert post(strict_server, CHAT, {}).json()["error"]["code"] == "401"


# -- signatures, when a key is configured ------------------------------------------------------------------


def test_an_hs256_secret_verifies_signatures() -> None:
    with LiveServer(resolve({"port": 0, "entra_signing_key": "shared-test-secret"}, env={})) as live:
        live.app.state.runtime.clock.now = lambda: NOW
        assert post(live, CHAT, bearer(token(signing_key="shared-test-secret"))).status_code == 200
        assert post(live, CHAT, bearer(token(signing_key="another-secret"))).content == TOKEN_BODY
        assert post(live, CHAT, bearer(token())).content == TOKEN_BODY  # unsigned


def test_a_pem_public_key_file_verifies_rs256_signatures(tmp_path: Path) -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = tmp_path / "entra.pem"
    public.write_bytes(private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    claims = {"aud": "https://cognitiveservices.azure.com", "exp": int(NOW) + 60, "oid": "x"}
    with LiveServer(resolve({"port": 0}, env={"AOAI_MOCK_ENTRA_SIGNING_KEY": str(public)})) as live:
        live.app.state.runtime.clock.now = lambda: NOW
        assert post(live, CHAT, bearer(jwt.encode(claims, private, algorithm="RS256"))).status_code == 200
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert post(live, CHAT, bearer(jwt.encode(claims, other, algorithm="RS256"))).content == TOKEN_BODY


# -- settings: the configuration file, the environment ---------------------------------------------------


def test_the_configuration_file_and_the_environment_set_the_policy(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("disable_local_auth: true\nentra:\n  audiences: [api://mine]\n  required_roles: [R]\n"
                      "  object_ids: [o1]\n  signing_key: '-----BEGIN PUBLIC KEY-----'\n"
                      "deployments:\n  - {name: gpt-4o, model: gpt-4o, kind: chat}\n")
    from_file = resolve({"config_path": config}, env={})
    assert from_file.disable_local_auth
    assert from_file.entra == EntraSettings(("api://mine",), ("R",), ("o1",), "-----BEGIN PUBLIC KEY-----")
    from_env = resolve({"config_path": config}, env={"AOAI_MOCK_DISABLE_LOCAL_AUTH": "0",
                                                     "AOAI_MOCK_ENTRA_ROLES": "A, B"})
    assert not from_env.disable_local_auth and from_env.entra.roles == ("A", "B")
    assert "secret" not in repr(resolve({"entra_signing_key": "secret"}, env={}))


def test_readings_are_remembered_per_token_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    entra.clear_cache()
    monkeypatch.setattr(entra, "_LIMIT", 3)
    policy = EntraSettings()
    tokens = [token(object_id=str(n)) for n in range(5)]
    for each in tokens:
        entra.check(each, policy, NOW, "chat.completions")
    assert [key[0] for key in entra._READINGS] == tokens[2:]
    entra.clear_cache()


# -- real processes: aoai-mock serve --disable-local-auth, aoai-mock token ------------------------------------


def aoai_mock_token(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "aoai_mock", "token", *args], capture_output=True, text=True,
                          timeout=30, check=True)
    return done.stdout.strip()


def test_the_token_command_prints_a_token_with_the_claims_asked_for() -> None:
    printed = aoai_mock_token("--audience", "https://ai.azure.com", "--expires-in", "120", "--role", "A",
                              "--role", "B", "--object-id", "oid-1", "--name", "me@example.com")
    assert printed.count(".") == 2 and jwt.get_unverified_header(printed)["alg"] == "none"
    claims = jwt.decode(printed, options={"verify_signature": False})
    assert claims["aud"] == "https://ai.azure.com" and claims["exp"] - claims["iat"] == 120
    assert claims["roles"] == ["A", "B"] and claims["oid"] == "oid-1" and claims["upn"] == "me@example.com"
    assert abs(claims["iat"] - time.time()) < 60
    secret = "a shared secret of 32 bytes or more"
    signed = aoai_mock_token("--signing-key", secret)
    assert jwt.decode(signed, secret, algorithms=["HS256"], audience="https://cognitiveservices.azure.com")


def test_a_served_process_with_local_auth_disabled_takes_the_token_commands_tokens() -> None:
    with running("serve", "--disable-local-auth", "--entra-role", ROLE, "--no-request-log",
                 env={"AOAI_MOCK_API_KEYS": ""}) as (url, _):
        keyed = httpx.post(url + CHAT, json=BODY, headers={"api-key": "k"})
        assert keyed.status_code == 403 and keyed.content == KEYS_OFF
        allowed = httpx.post(url + CHAT, json=BODY, headers=bearer(aoai_mock_token("--role", ROLE)))
        assert allowed.status_code == 200 and allowed.json()["choices"][0]["message"]["content"] == "Hi"
        roleless = httpx.post(url + CHAT, json=BODY, headers=bearer(aoai_mock_token()))
        assert roleless.status_code == 401 and roleless.json()["error"]["code"] == "PermissionDenied"
        late = aoai_mock_token("--expires-in", "-5", "--role", ROLE)
        expired = httpx.post(url + CHAT, json=BODY, headers=bearer(late))
        assert expired.status_code == 401 and expired.content == TOKEN_BODY
