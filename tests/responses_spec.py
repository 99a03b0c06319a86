"""Spec checks for the Responses API: the 2025-03-01-preview and v1 spec excerpts in ``tests/data/spec``.

The two excerpts (see ``data/spec/SOURCES.md``) are registered with :mod:`tests.spec_schema` here. jsonschema
ignores OpenAPI's ``discriminator``, and the v1 spec types an event or an output item only through one
(``OpenAI.ResponseStreamEvent`` alone checks ``type`` and ``sequence_number``), so each event, item and
content part is checked against the schema its ``type`` (a message's ``role``) names, as a client would
pick it.

``WIRE_VS_SPEC`` states where the service is known to differ from a spec, and why the mock follows the
service.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import cache
from typing import Any

from tests import spec_schema
from tests.spec_schema import SpecFile

__all__ = ["PREVIEW", "V1", "OVERRIDES", "EXTRAS", "response_errors", "event_errors", "item_list_errors", "undeclared"]

PREVIEW = "responses-2025-03-01-preview"
V1 = "responses-v1"
spec_schema.SPECS.setdefault(
    PREVIEW,
    SpecFile(
        spec_schema._DATA / f"{PREVIEW}.json",
        "6530482a45c469acabc9beb60e6e01e35943018bcce92a83f0f3f21f0b047372",
        f"urn:azure-openai:{PREVIEW}",
    ),
)
spec_schema.SPECS.setdefault(
    V1,
    SpecFile(
        spec_schema._DATA / f"{V1}.json",
        "d4fa6e48be2ab7420efa59e10e924aed0a6b1726799b07bbcd8b564e03599674",
        f"urn:azure-openai:{V1}",
    ),
)

_SCHEMAS = "/components/schemas/"
# Where the service differs from a spec, and the mock follows the service.
OVERRIDES: dict[str, dict[str, Any]] = {
    PREVIEW: {
        # "user": null when no user was given (the service and api.openai.com); the spec says a plain string.
        _SCHEMAS + "ModelResponseProperties/properties/user": {"type": "string", "nullable": True},
        # The response in response.created / response.in_progress has "usage": null until it is done (the
        # API reference's event examples); the spec has no null there.
        _SCHEMAS + "response/allOf/2/properties/usage": {"$ref": "#/components/schemas/ResponseUsage", "nullable": True},
        # A reasoning item carries `summary` (a list, empty unless a summary was asked for), as the v1 spec
        # and the SDK's ResponseReasoningItem type it; this older spec wanted `content` instead.
        _SCHEMAS + "ReasoningItem/required": ["id", "summary", "type"],
        # No tool_choice on the 2025-03-01-preview response, as recorded in Mar 2025 (wire/eras.py)
        # [captured: recordings/responses/net-HelloWorldStreaming-2025-03-01-preview-Mar2025].
        _SCHEMAS + "response/allOf/2/required": [
            "id", "object", "created_at", "error", "incomplete_details", "instructions", "model", "tools", "output",
            "parallel_tool_calls", "metadata", "temperature", "top_p",
        ],
    },
    V1: {
        _SCHEMAS + "OpenAI.Response/properties/usage": {"$ref": "#/components/schemas/OpenAI.ResponseUsage", "nullable": True},
    },
}
# Keys of the response object the service sends that a spec does not declare: newer API fields, all in the
# openai SDK's Response type or the API reference's examples. tests/e2e/test_responses.py removes them and
# then expects no undeclared key at all.
EXTRAS: dict[str, tuple[str, ...]] = {
    PREVIEW: ("background", "max_tool_calls", "service_tier", "store", "top_logprobs", "reasoning/summary",
              "usage/input_tokens_details"),
    V1: ("service_tier", "store"),
}


def _errors(name: str, instance: Any, spec_name: str) -> list[str]:
    found = spec_schema.errors(name, instance, spec_name=spec_name, overrides=OVERRIDES[spec_name])
    return [f"{name}: {e}" for e in found]


@cache
def _by_type(spec_name: str, union: str) -> dict[str, str]:
    """The schema names of a union (anyOf/oneOf of $refs, or a discriminator mapping), by their ``type``."""
    schemas = spec_schema.spec(spec_name)["components"]["schemas"]
    found: dict[str, str] = {}
    mapping = (schemas[union].get("discriminator") or {}).get("mapping")
    if mapping:
        return {tag: ref.rsplit("/", 1)[-1] for tag, ref in mapping.items()}
    for member in schemas[union].get("anyOf") or schemas[union].get("oneOf") or ():
        name = member["$ref"].rsplit("/", 1)[-1]
        for tag in schemas[name].get("properties", {}).get("type", {}).get("enum", ()):
            found[tag] = name
    return found


def _item_errors(item: Mapping[str, Any], spec_name: str) -> list[str]:
    if spec_name == PREVIEW:
        return _errors("ItemResource", item, spec_name)
    name = _by_type(V1, "OpenAI.ItemResource")[item["type"]]
    if item["type"] == "message":
        name = _by_type(V1, name)[item["role"]]
    found = _errors(name, item, spec_name)
    for part in item.get("content") or ():
        found += _errors(_by_type(V1, "OpenAI.ItemContent")[part["type"]], part, spec_name)
    return found


def response_errors(body: Mapping[str, Any], spec_name: str = PREVIEW, name: str | None = None) -> list[str]:
    """The response object against ``response`` (preview) or ``AzureResponse`` (v1), its items one by one."""
    found = _errors(name or ("response" if spec_name == PREVIEW else "AzureResponse"), body, spec_name)
    if spec_name == V1:
        for item in body.get("output") or ():
            found += _item_errors(item, spec_name)
    return found


def event_errors(event: Mapping[str, Any], spec_name: str = PREVIEW) -> list[str]:
    """One stream event against the schema its ``type`` names, and what it carries."""
    union = "responseStreamEvent" if spec_name == PREVIEW else "OpenAI.ResponseStreamEvent"
    name = _by_type(spec_name, union)[event["type"]]
    found = _errors(name, event, spec_name)
    if spec_name == V1:
        if "response" in event:
            found += response_errors(event["response"], V1, "OpenAI.Response")
        if "item" in event:
            found += _item_errors(event["item"], V1)
        if "part" in event:
            found += _errors(_by_type(V1, "OpenAI.ItemContent")[event["part"]["type"]], event["part"], V1)
    return found


def item_list_errors(body: Mapping[str, Any], spec_name: str = PREVIEW) -> list[str]:
    found = _errors("responseItemList" if spec_name == PREVIEW else "OpenAI.ResponseItemList", body, spec_name)
    if spec_name == V1:
        for item in body.get("data") or ():
            found += _item_errors(item, spec_name)
    return found


def undeclared(body: Mapping[str, Any], spec_name: str = PREVIEW) -> set[str]:
    """Keys of a response object the spec does not declare, once the known ``EXTRAS`` are taken out.

    Output items are left out (checked one by one above): a strict check fails a whole ``allOf`` branch
    for one unknown nested key, which would report every key of the branch.
    """
    trimmed = copy.deepcopy(dict(body))
    trimmed["output"] = []
    for path in EXTRAS[spec_name]:
        *parents, last = path.split("/")
        node = trimmed
        for part in parents:
            node = node.get(part) or {}
        node.pop(last, None)
    name = "response" if spec_name == PREVIEW else "AzureResponse"
    return spec_schema.undeclared(name, trimmed, spec_name=spec_name, overrides=OVERRIDES[spec_name])
