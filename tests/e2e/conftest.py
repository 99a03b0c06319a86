"""End-to-end fixtures: the real openai SDK, sync and async, pointed at the session's live aoai-mock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aoai_mock.behaviour.ratelimit import RateLimiter
from aoai_mock.testing import LiveServer
from openai import AsyncAzureOpenAI, AzureOpenAI

from tests import spec_schema
from tests.conftest import GA, KEY

# Ask for the faker-backed responder: long, varied, deterministic text (the default echo is short).
GENERATED = {"x-aoai-mock-responder": "generated"}
SEED_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "When was Microsoft founded?"},
]


@pytest.fixture(scope="session")
def client(base_url: str) -> Iterator[AzureOpenAI]:
    with AzureOpenAI(api_key=KEY, api_version=GA, azure_endpoint=base_url, max_retries=0) as sdk:
        yield sdk


@pytest.fixture()
def aclient(base_url: str) -> AsyncAzureOpenAI:
    """Not yet opened: a test enters it (``async with aclient:``) in its own event loop."""
    return AsyncAzureOpenAI(api_key=KEY, api_version=GA, azure_endpoint=base_url, max_retries=0)


@pytest.fixture(scope="session")
def spec_check() -> Callable[[Any, str], None]:
    """``spec_check(body, "createChatCompletionResponse")``: jsonschema against the 2024-10-21 spec copy in
    ``tests/data/spec``. A name is a schema under ``components/schemas``; a ``/path`` is a JSON pointer."""

    def check(body: Any, where: str) -> None:
        problems = spec_schema.errors(where, body, overrides=spec_schema.RECORDED_VS_SPEC)
        assert not problems, "\n".join(problems)

    return check


# -- the limiter's clock and the server's sleep, injected into a module's ``server`` (a LiveServer) --------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """Stands in for asyncio.sleep in the server, and for the clock it advances: records every wait and
    moves the clock on by it, waits for none."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.now = 0.0

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture()
def clock(server: LiveServer) -> FakeClock:
    clock = FakeClock()
    server.app.state.runtime.limiter = RateLimiter(clock=clock)
    return clock


@pytest.fixture()
def sleeps(server: LiveServer) -> Iterator[Sleeps]:
    runtime = server.app.state.runtime
    real = runtime.sleep, runtime.monotonic
    recorder = Sleeps()
    runtime.sleep, runtime.monotonic = recorder, recorder.clock
    yield recorder
    runtime.sleep, runtime.monotonic = real
