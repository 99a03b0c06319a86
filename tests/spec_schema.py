"""The Azure OpenAPI 3.0 spec as JSON Schema (draft 2020-12) validators, for checking response bodies.

OpenAPI 3.0 differs from JSON Schema in one way that matters here: ``nullable: true`` instead of a
``null`` type. :func:`convert` rewrites such a schema as ``anyOf: [{"type": "null"}, <schema>]`` (which
also covers ``nullable`` next to ``enum``). ``$ref: #/components/schemas/...`` resolves through a
``referencing`` registry holding the converted spec. Other OpenAPI keywords (``x-ms-*``, ``discriminator``,
``example``) are annotations that jsonschema ignores.

``strict=True`` adds ``unevaluatedProperties: false`` to every object schema that is not a piece of an
``allOf`` (the spec itself never says ``additionalProperties: false``), so a key the spec does not declare
shows up as an error; tests compare those keys with a list of known, documented extras.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["SPEC_PATH", "SPEC_SHA256", "spec", "convert", "validator", "errors", "undeclared"]

SPEC_PATH = Path(__file__).parent / "data" / "spec" / "inference-2024-10-21.json"
SPEC_SHA256 = "8efc665c79a5a5e7d3137d9378da074d9956d042150a1d0a6ffc6ba95cc1bf47"
_URI = "urn:azure-openai:inference-2024-10-21"
_COMPONENT = "#/components/schemas/"


@cache
def spec() -> dict[str, Any]:
    raw = SPEC_PATH.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SPEC_SHA256, f"{SPEC_PATH} was edited"
    return json.loads(raw)  # type: ignore[no-any-return]


def _allof_members(node: Any, found: set[int], refs: set[str]) -> None:
    """Collect the schemas that are pieces of an allOf (by id) and the components they name."""
    if isinstance(node, dict):
        for member in node.get("allOf", ()):
            found.add(id(member))
            if "$ref" in member:
                refs.add(member["$ref"].removeprefix(_COMPONENT))
        for value in node.values():
            _allof_members(value, found, refs)
    elif isinstance(node, list):
        for value in node:
            _allof_members(value, found, refs)


def convert(node: Any, strict: bool = False, _skip: frozenset[int] = frozenset()) -> Any:
    """An OpenAPI 3.0 schema (tree) as JSON Schema 2020-12."""
    if isinstance(node, list):
        return [convert(v, strict, _skip) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v, strict, _skip) for k, v in node.items() if k != "nullable"}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#"):
        out["$ref"] = _URI + out["$ref"]
    if strict and id(node) not in _skip and ("properties" in node or "allOf" in node):
        out.setdefault("unevaluatedProperties", False)
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


def _build(document: dict[str, Any], strict: bool) -> Registry:
    members: set[int] = set()
    refs: set[str] = set()
    _allof_members(document, members, refs)
    schemas = document["components"]["schemas"]
    skip = frozenset(members | {id(schemas[name]) for name in refs})
    converted = {
        "components": {"schemas": convert(schemas, strict, skip)},
        "paths": convert(document["paths"], strict, skip),
    }
    return Registry().with_resource(_URI, Resource.from_contents(converted, default_specification=DRAFT202012))


@cache
def _registry(strict: bool, overrides: str = "{}") -> Registry:
    document = spec()
    replaced = json.loads(overrides)
    if replaced:
        document = copy.deepcopy(document)
        for pointer, schema in replaced.items():
            *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
            node = document
            for part in parents:
                node = node[int(part)] if isinstance(node, list) else node[part]
            assert last in node, f"override {pointer} names nothing in the spec"
            node[last] = schema
    return _build(document, strict)


def validator(
    name: str, strict: bool = False, overrides: Mapping[str, Any] | None = None
) -> Draft202012Validator:
    """A validator for ``components/schemas/<name>``, or for a JSON pointer into the spec (``/paths/...``).

    ``overrides`` maps JSON pointers into the spec to replacement (OpenAPI) schemas: the way a test states
    where the service is known to differ from its spec.
    """
    pointer = name if name.startswith("/") else "/components/schemas/" + name
    registry = _registry(strict, json.dumps(overrides or {}, sort_keys=True))
    return Draft202012Validator({"$ref": f"{_URI}#{pointer}"}, registry=registry)


def errors(name: str, instance: Any, **options: Any) -> list[str]:
    """Every schema violation of ``instance``, as ``path: message`` lines (empty when it validates)."""
    found = validator(name, **options).iter_errors(instance)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found)


def _leaves(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        yield error
        yield from _leaves(error.context or ())


_UNEXPECTED = re.compile(r"'([^']+)'")


def undeclared(name: str, instance: Any, **options: Any) -> set[str]:
    """Paths (``choices/0/delta/x``) of keys the spec does not declare; numbers are written ``*``."""
    found: set[str] = set()
    for leaf in _leaves(validator(name, strict=True, **options).iter_errors(instance)):
        if leaf.validator != "unevaluatedProperties":
            continue
        where = "/".join("*" if isinstance(p, int) else p for p in leaf.absolute_path)
        for key in _UNEXPECTED.findall(leaf.message.split("(", 1)[-1]):
            found.add(f"{where}/{key}" if where else key)
    return found
