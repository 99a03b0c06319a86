"""Shared fixtures: one live aoai-mock per session (a real uvicorn on a free port) and clients for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aoai_mock.settings import Settings, resolve
from aoai_mock.testing import LiveServer

pytest_plugins = ["tests.redis_server"]  # redis_server, redis_url: a real Redis for tests/shared/

ROOT = Path(__file__).resolve().parent.parent
GA = "2024-10-21"
KEY = "test-key"


@pytest.fixture(scope="session")
def settings() -> Settings:
    return resolve({"port": 0}, env={})


@pytest.fixture(scope="session")
def live_server(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(settings, fixtures_dir=ROOT / "tests" / "data") as server:
        yield server


@pytest.fixture(scope="session")
def base_url(live_server: LiveServer) -> str:
    return live_server.url


@pytest.fixture()
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers={"api-key": KEY}, timeout=10) as client:
        yield client


def chat_path(deployment: str = "gpt-4o", version: str = GA) -> str:
    return f"/openai/deployments/{deployment}/chat/completions?api-version={version}"
