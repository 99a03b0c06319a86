"""Ephemeral keys: minted over HTTP with the SDK (GA ``client_secrets.create``, the beta
``sessions.create``), then taken by the WebSocket in place of the resource's key."""

from __future__ import annotations

import pytest
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI, BadRequestError, OpenAI
from websockets.exceptions import InvalidStatus

from tests.conftest import KEY


def _v1(server: LiveServer, key: str) -> OpenAI:
    ws = server.url.replace("http://", "ws://") + "/openai/v1"
    return OpenAI(base_url=server.url + "/openai/v1", api_key=key, websocket_base_url=ws, max_retries=0)


def test_ga_client_secret_opens_a_session_configured_as_minted(server: LiveServer) -> None:
    minted = _v1(server, KEY).realtime.client_secrets.create(
        session={"type": "realtime", "model": "gpt-realtime", "instructions": "Speak like a pirate."},
        expires_after={"anchor": "created_at", "seconds": 120},
    )
    assert minted.value.startswith("ek_") and minted.session.type == "realtime"
    assert minted.session.instructions == "Speak like a pirate."
    with _v1(server, minted.value).realtime.connect(model="gpt-realtime") as connection:
        created = connection.recv()
    assert created.session.instructions == "Speak like a pirate."


def test_preview_session_key_opens_a_session(server: LiveServer) -> None:
    ws = server.url.replace("http://", "ws://") + "/openai"
    client = AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version="2025-04-01-preview", max_retries=0)
    session = client.beta.realtime.sessions.create(model="gpt-4o-realtime-preview", voice="verse")
    assert session.client_secret.value.startswith("ek_") and session.voice == "verse"
    holder = AzureOpenAI(azure_endpoint=server.url, api_key=session.client_secret.value,
                         api_version="2025-04-01-preview", websocket_base_url=ws)
    with holder.beta.realtime.connect(model="gpt-4o-realtime-preview") as connection:
        assert connection.recv().session.voice == "verse"


def test_a_key_the_mock_never_minted_is_refused(tmp_path: object) -> None:
    from aoai_mock.settings import resolve

    with LiveServer(resolve({"port": 0, "api_keys": (KEY,)}, env={})) as server:
        with pytest.raises(InvalidStatus) as refused:
            with _v1(server, "ek_never_minted").realtime.connect(model="gpt-realtime"):
                pass
        assert refused.value.response.status_code == 401


def test_a_bad_session_is_a_400(server: LiveServer) -> None:
    with pytest.raises(BadRequestError) as refused:
        _v1(server, KEY).realtime.client_secrets.create(session={"type": "realtime", "model": "gpt-realtime",
                                                                  "audio": {"output": {"voice": "robot"}}})
    assert refused.value.body["param"] == "session.audio.output.voice"  # type: ignore[index]
