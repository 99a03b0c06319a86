"""A live aoai-mock of its own for hostile requests, and the check every hostile test ends with: the server
still answers a health check promptly."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY

HEALTH_BUDGET_S = 0.050  # a health check answered within 50 ms after (or while) a hostile request is served


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    (root / "fixtures").mkdir()
    (root / "fixtures" / "canned.txt").write_text("canned answer")
    (root / "secret.txt").write_text("top secret")
    return root


@pytest.fixture(scope="module")
def server(fixtures: Path) -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0}, env={}), fixtures_dir=fixtures / "fixtures") as live:
        yield live


@pytest.fixture()
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}, timeout=30) as http:
        yield http


def health_seconds(url: str) -> float:
    """The quickest of three health checks on a fresh connection, in seconds (one slow scheduling blip on a
    shared machine is not the server being blocked)."""
    best = float("inf")
    for _ in range(3):
        with httpx.Client(base_url=url, timeout=10) as http:
            started = time.perf_counter()
            assert http.get("/_mock/health").status_code == 200
            best = min(best, time.perf_counter() - started)
    return best


def assert_still_serving(url: str) -> None:
    took = health_seconds(url)
    assert took < HEALTH_BUDGET_S, f"health check took {took * 1000:.0f} ms"
