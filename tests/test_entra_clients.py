"""Entra ID with the real clients: the openai SDK given azure-identity's ``get_bearer_token_provider`` over a
static credential that hands out ``aoai-mock token``'s tokens, seed 001's passwordless variant, the v1 client
with a token as its key, the SDK's errors for Azure's 401s and 403, and ``aoai-mock record`` passing a
client's Bearer on to an Entra-only upstream without writing it down."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.behaviour import entra
from aoai_mock.record.proxy import RecordingProxy, RecordOptions
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from azure.core.credentials import AccessToken
from azure.identity import get_bearer_token_provider
from openai import AsyncAzureOpenAI, AzureOpenAI, OpenAI

from tests.processes import running
from tests.record.test_record_replay import _Threaded

GA = "2024-10-21"
SCOPE = "https://cognitiveservices.azure.com/.default"
ROLE = "Cognitive Services OpenAI User"
MESSAGES = [{"role": "user", "content": "Who am I?"}]
QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"

pytestmark = pytest.mark.filterwarnings("ignore:.*(deprecated|Assistants API).*:DeprecationWarning")


class StaticCredential:
    """A TokenCredential with one token (``aoai-mock token``'s), standing in for DefaultAzureCredential."""

    def __init__(self, token: str, expires_on: int | None = None) -> None:
        self.token = token
        self.expires_on = expires_on or int(time.time()) + 3600
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, self.expires_on)


class AsyncStaticCredential(StaticCredential):
    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:  # type: ignore[override]
        return StaticCredential.get_token(self, *scopes, **kwargs)

    async def close(self) -> None:
        pass


def aoai_mock_token(*roles: str, expires_in: float = 3600) -> str:
    return entra.issue(time.time(), roles=roles, expires_in=expires_in)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """A resource with keys disabled whose principals need the role: only Entra ID tokens get in."""
    settings = resolve({"port": 0, "disable_local_auth": True, "entra_roles": (ROLE,), "run_seconds": 0}, env={})
    with LiveServer(settings) as live:
        yield live


def sdk(server: LiveServer, credential: StaticCredential, api_version: str = GA) -> AzureOpenAI:
    provider = get_bearer_token_provider(credential, SCOPE)
    return AzureOpenAI(azure_ad_token_provider=provider, azure_endpoint=server.url, api_version=api_version,
                       max_retries=0)


def test_the_sdk_with_azure_identitys_token_provider_is_answered(server: LiveServer) -> None:
    credential = StaticCredential(aoai_mock_token(ROLE))
    with sdk(server, credential) as client:
        completion = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        embedded = client.embeddings.create(model="text-embedding-3-small", input="x")
    assert completion.choices[0].message.content == "Who am I?" and len(embedded.data[0].embedding) == 1536
    assert credential.scopes and set(credential.scopes) == {(SCOPE,)}


async def test_the_async_sdk_with_the_async_token_provider_is_answered(server: LiveServer) -> None:
    from azure.identity.aio import get_bearer_token_provider as async_provider

    credential = AsyncStaticCredential(aoai_mock_token(ROLE))
    async with AsyncAzureOpenAI(azure_ad_token_provider=async_provider(credential, SCOPE),
                                azure_endpoint=server.url, api_version=GA, max_retries=0) as client:
        completion = await client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True)
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in completion if chunk.choices])
    assert text == "Who am I?"


def test_seed_001_passwordless_variant_runs_as_written(server: LiveServer, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
    DefaultAzureCredential = lambda: StaticCredential(aoai_mock_token(ROLE))  # noqa: E731, N806 (az login's stand-in)

    # 001, "recommended passwordless Python example" -- verbatim but for the credential above.
    token_provider = get_bearer_token_provider(DefaultAzureCredential(), "https://cognitiveservices.azure.com/.default")

    client = AzureOpenAI(
        azure_ad_token_provider=token_provider,
        azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
        api_version="2024-05-01-preview",
    )

    # Create an assistant
    assistant = client.beta.assistants.create(
        name="Math Assist",
        instructions="You are an AI assistant that can write code to help answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model="gpt-4-1106-preview" # You must replace this value with the deployment name for your model.
    )

    # Create a thread
    thread = client.beta.threads.create()

    # Add a user question to the thread
    message = client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="I need to solve the equation `3x + 11 = 14`. Can you help me?"
    )

    # Run the thread and poll for the result
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
    )

    print("Run completed with status: " + run.status)

    if run.status == "completed":
        messages = client.beta.threads.messages.list(thread_id=thread.id)
        print(messages.to_json(indent=2))

    status, _, listing = capsys.readouterr().out.partition("\n")
    assert status == "Run completed with status: completed" and message.content[0].text.value == QUESTION
    assert QUESTION in listing


def test_the_sdk_raises_authentication_error_for_an_expired_token_and_a_missing_role(server: LiveServer) -> None:
    with sdk(server, StaticCredential(aoai_mock_token(ROLE, expires_in=-1))) as client:
        with pytest.raises(openai.AuthenticationError) as expired:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert expired.value.status_code == 401 and expired.value.body["statusCode"] == 401
    assert "audience is incorrect (https://cognitiveservices.azure.com), or have expired" in str(expired.value)
    with sdk(server, StaticCredential(aoai_mock_token())) as client:
        with pytest.raises(openai.AuthenticationError) as denied:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert denied.value.code == "PermissionDenied" and "deployments/chat/completions/action" in denied.value.message


def test_an_api_key_gets_permission_denied_error_with_local_auth_disabled(server: LiveServer) -> None:
    with AzureOpenAI(api_key="a-key", azure_endpoint=server.url, api_version=GA, max_retries=0) as client:
        with pytest.raises(openai.PermissionDeniedError) as refused:
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert refused.value.status_code == 403 and refused.value.code == "AuthenticationTypeDisabled"


def test_the_v1_client_sends_a_token_as_its_key(server: LiveServer) -> None:
    with OpenAI(base_url=server.url + "/openai/v1/", api_key=aoai_mock_token(ROLE), max_retries=0) as client:
        assert client.chat.completions.create(model="gpt-4o", messages=MESSAGES).choices[0].message.content
    with OpenAI(base_url=server.url + "/openai/v1/", api_key="plain-key", max_retries=0) as client:
        with pytest.raises(openai.PermissionDeniedError):  # a plain key, as a Bearer, is still a key
            client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


# -- aoai-mock record in front of an Entra-only upstream ---------------------------------------------------


def test_the_recording_proxy_passes_the_bearer_on_and_never_writes_it(server: LiveServer, tmp_path: Path) -> None:
    token = aoai_mock_token(ROLE)
    proxy = RecordingProxy(RecordOptions(server.url, "", tmp_path, pass_bearer=True))
    with _Threaded(proxy) as proxy_url, sdk_at(proxy_url, StaticCredential(token)) as client:
        answered = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        streamed = list(client.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True))
    assert answered.choices[0].message.content == "Who am I?" and streamed
    written = sorted(tmp_path.glob("*.json"))
    assert len(written) == 2
    for path in written:
        text = path.read_text()
        assert token not in text and token[:40] not in text
        assert '"authorization": "***"' in text


def test_without_pass_bearer_the_proxy_sends_its_key_and_the_upstream_refuses_it(
    server: LiveServer, tmp_path: Path
) -> None:
    proxy = RecordingProxy(RecordOptions(server.url, "upstream-key", tmp_path))
    with _Threaded(proxy) as proxy_url:
        reply = httpx.post(f"{proxy_url}/openai/deployments/gpt-4o/chat/completions?api-version={GA}",
                           json={"messages": MESSAGES}, headers={"Authorization": f"Bearer {aoai_mock_token(ROLE)}"})
    assert reply.status_code == 403 and reply.json()["error"]["code"] == "AuthenticationTypeDisabled"
    assert "upstream-key" not in "".join(p.read_text() for p in tmp_path.glob("*.json"))


def sdk_at(url: str, credential: StaticCredential) -> AzureOpenAI:
    return AzureOpenAI(azure_ad_token_provider=get_bearer_token_provider(credential, SCOPE), azure_endpoint=url,
                       api_version=GA, max_retries=0)


def test_record_pass_bearer_as_users_run_it(tmp_path: Path) -> None:
    """Real processes: an Entra-only ``aoai-mock serve`` upstream, ``aoai-mock record --pass-bearer`` without
    any key in its environment, a client with a token."""
    out = tmp_path / "recorded"
    token = aoai_mock_token(ROLE)
    env = {k: v for k, v in os.environ.items() if k != "AZURE_OPENAI_API_KEY"}
    with running("serve", "--disable-local-auth", "--entra-role", ROLE, "--no-request-log") as (upstream, _):
        with running("record", "--upstream", upstream, "--out", str(out), "--pass-bearer", base_env=env) as (proxy, _):
            reply = httpx.post(f"{proxy}/openai/deployments/gpt-4o/chat/completions?api-version={GA}",
                               json={"messages": MESSAGES}, headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"] == "Who am I?"
    written = list(out.glob("*.json"))
    assert len(written) == 1 and token not in written[0].read_text()
