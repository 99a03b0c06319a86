"""Fixtures for the assistants and vector store suites: a server of their own (its store emptied and its
scenarios unloaded before each test) and SDK clients on the preview api-versions."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import KEY, ROOT
from tests.e2e.assistants.support import PREVIEW, SEARCH_PREVIEW


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "run_seconds": 0}, env={}), fixtures_dir=ROOT / "tests" / "data") as live:
        yield live


@pytest.fixture()
def runtime(server: LiveServer) -> Iterator[Runtime]:
    """The server's runtime, emptied before the test: no objects, no active scenario."""
    found: Runtime = server.app.state.runtime
    server.call(found.store.reset)  # on the server's event loop: the store is asynchronous
    for name in found.book.names():
        found.book.remove(name)
    found.reset()
    yield found


@pytest.fixture()
def client(server: LiveServer, runtime: Runtime) -> Iterator[AzureOpenAI]:
    with AzureOpenAI(api_key=KEY, api_version=PREVIEW, azure_endpoint=server.url, max_retries=0) as sdk:
        yield sdk


@pytest.fixture()
def search_client(server: LiveServer, runtime: Runtime) -> Iterator[AzureOpenAI]:
    with AzureOpenAI(api_key=KEY, api_version=SEARCH_PREVIEW, azure_endpoint=server.url, max_retries=0) as sdk:
        yield sdk
