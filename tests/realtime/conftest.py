"""A live mock for the realtime tests: the weather and flaky scenarios loaded, and a transcription fixture for
the spoken question the audio tests send."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aoai_mock.behaviour.speech import tone_pcm
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY
from tests.e2e.conftest import sleeps  # noqa: F401 (the injected sleep and clock, on this folder's server)

QUESTION = "What's the weather in Paris?"
SILENCE_MS = 600


def question_pcm() -> bytes:
    """The spoken question, then enough silence for server VAD to hear the end of it."""
    return tone_pcm(QUESTION) + bytes(48 * SILENCE_MS)


@pytest.fixture(scope="package")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fixtures")
    (folder / "transcriptions").mkdir()
    sha = hashlib.sha256(question_pcm()).hexdigest()
    (folder / "transcriptions" / f"{sha}.txt").write_text(QUESTION + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="package")
def server(fixtures: Path) -> Iterator[LiveServer]:
    settings = resolve({"port": 0, "scenarios": ("weather-agent", "flaky-service")}, env={})
    with LiveServer(settings, fixtures_dir=fixtures) as live:
        # Loaded, none active: a test picks one with x-aoai-mock-scenario; else the deployment's echo answers.
        httpx.post(f"{live.url}/_mock/scenarios/deactivate").raise_for_status()
        yield live


@pytest.fixture()
def ws_base(server: LiveServer) -> str:
    """``websocket_base_url`` for the dated routes (the SDK adds ``/realtime``)."""
    return server.url.replace("http://", "ws://") + "/openai"


def ws_url(server: LiveServer, query: str, v1: bool = False) -> str:
    return server.url.replace("http://", "ws://") + ("/openai/v1/realtime?" if v1 else "/openai/realtime?") + query


PREVIEW_Q = "api-version=2025-04-01-preview&deployment=gpt-4o-realtime-preview"
AUTH = {"api-key": KEY}
