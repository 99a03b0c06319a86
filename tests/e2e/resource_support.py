"""Shared by the files / batches / fine-tuning end-to-end tests: a live server of their own whose lifecycle
clock the tests move, the real SDK pointed at it, and checks against the 2024-10-21 authoring spec."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests import spec_schema
from tests.conftest import GA, KEY, ROOT

AUTHORING = "authoring-2024-10-21"
# Where the service differs from the authoring spec, and why the mock follows the service:
KNOWN_DIFFERENCES: dict[str, Any] = {
    # The spec gives errors.data as one object; the service sends a list [docs: the batch how-to's example].
    "/definitions/BatchErrors/properties/data": {"type": "array", "items": {"$ref": "#/definitions/BatchErrorData"}},
    # The spec types the line number as a string; the mock sends a number, as the openai SDK types it [inferred].
    "/definitions/BatchErrorData/properties/line": {"type": "integer"},
}
# Keys the mock sends that the 2024-10-21 spec does not declare: OpenAI-style paging on every list, and a
# file's expiry (from the 2025 previews on).
EXTRAS = {"first_id", "last_id", "has_more", "expires_at"}


class FakeClock:
    """Replaces ``runtime.clock.now`` of the server: the lifecycles move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def check(body: Any, schema: str) -> None:
    """``body`` validates against the authoring spec's ``schema``, and declares no key outside :data:`EXTRAS`."""
    problems = spec_schema.errors(schema, body, spec_name=AUTHORING, overrides=KNOWN_DIFFERENCES)
    assert not problems, "\n".join(problems)
    unknown = spec_schema.undeclared(schema, body, spec_name=AUTHORING, overrides=KNOWN_DIFFERENCES)
    assert {path.rsplit("/", 1)[-1] for path in unknown} <= EXTRAS, unknown


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


def serve(clock: FakeClock, **settings: Any) -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, **settings}, env={}), fixtures_dir=ROOT / "tests" / "data") as server:
        server.app.state.runtime.clock.now = clock
        yield server


@pytest.fixture(scope="module")
def sdk(server: LiveServer) -> Iterator[AzureOpenAI]:
    with AzureOpenAI(api_key=KEY, api_version=GA, azure_endpoint=server.url, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def raw(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def fresh_state(raw: httpx.Client) -> None:
    """Every test starts with no stored objects."""
    assert raw.post("/_mock/state/reset").status_code == 200


def jsonl(rows: list[Any]) -> bytes:
    return "".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows).encode()


def chat_line(custom_id: str, content: str = "hello", model: str = "gpt-4o", **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": content}], **body},
    }
