"""End-to-end fixtures: the real openai SDK, sync and async, pointed at the session's live aoai-mock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openai import AsyncAzureOpenAI, AzureOpenAI

from tests.conftest import GA, KEY

SPEC = Path(__file__).resolve().parents[3] / "shared" / "azure-openai-spec" / "inference-2024-10-21.json"
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


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: null joins the allowed types (and enum)."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "$ref" in out or "allOf" in out or "oneOf" in out:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


@cache
def _spec() -> dict[str, Any]:
    return _nullable(json.loads(SPEC.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def spec_check() -> Callable[[Any, str], None]:
    """``spec_check(body, "createChatCompletionResponse")``: jsonschema against the 2024-10-21 spec.

    A name is a schema under ``components/schemas``; anything with a slash is a JSON pointer into the spec.
    """

    def check(body: Any, where: str) -> None:
        pointer = where if "/" in where else f"/components/schemas/{where}"
        spec = _spec()
        jsonschema.validate(body, {"$ref": f"#{pointer}", **spec})

    return check
