"""With ``--tls`` (docs/https.md) the SDK's Azure realtime client works with unchanged code: it dials
``wss://`` on the endpoint's host, as it always does without ``websocket_base_url``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import KEY


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    folder: Path = tmp_path_factory.mktemp("tls")
    with LiveServer(resolve({"port": 0, "tls": True, "tls_dir": str(folder)}, env={})) as server:
        yield server


def test_the_azure_client_dials_wss_without_websocket_base_url(tls_server: LiveServer) -> None:
    assert tls_server.url.startswith("https://")
    client = AzureOpenAI(azure_endpoint=tls_server.url, api_key=KEY, api_version="2025-04-01-preview")
    options = {"ssl": tls_server.ssl_context()}  # trust the mock's own CA (or install it: docs/https.md)
    with client.beta.realtime.connect(model="gpt-4o-realtime-preview", websocket_connection_options=options) as conn:
        assert conn.recv().type == "session.created"
        conn.session.update(session={"modalities": ["text"]})
        conn.recv()
        conn.conversation.item.create(item={"type": "message", "role": "user",
                                            "content": [{"type": "input_text", "text": "over TLS"}]})
        conn.response.create()
        text = ""
        for event in conn:
            if event.type == "response.text.delta":
                text += event.delta
            if event.type == "response.done":
                break
    assert text == "over TLS"
