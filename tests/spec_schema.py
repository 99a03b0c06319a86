"""The Azure OpenAPI 3.0 spec as JSON Schema (draft 2020-12) validators, for checking response bodies.

OpenAPI 3.0 differs from JSON Schema in one way that matters here: ``nullable: true`` instead of a
``null`` type. :func:`convert` rewrites such a schema as ``anyOf: [{"type": "null"}, <schema>]`` (which
also covers ``nullable`` next to ``enum``). ``$ref: #/components/schemas/...`` resolves through a
``referencing`` registry holding the converted spec. Other OpenAPI keywords (``x-ms-*``, ``discriminator``,
``example``) are annotations that jsonschema ignores.

``strict=True`` adds ``unevaluatedProperties: false`` to every object schema that is not a piece of an
``allOf`` (the spec itself never says ``additionalProperties: false``), so a key the spec does not declare
shows up as an error; tests compare those keys with a list of known, documented extras.

Two spec files are known (:data:`SPECS`; every function takes ``spec_name``, the inference spec by default):

* ``inference-2024-10-21``: the OpenAPI 3.0 inference spec (chat, completions, embeddings, ...);
* ``authoring-2024-10-21``: the ``definitions`` of the Swagger 2.0 authoring spec of the same version (files,
  batches, fine-tuning jobs; see ``data/spec/SOURCES.md``). Swagger 2.0 has no ``nullable``; Azure's
  generators read a property that is not ``required`` as one that may be null, and the service sends such
  nulls (``"failed_at": null``), so that is how it is converted. Its names live under ``#/definitions/``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = ["SPEC_PATH", "SPEC_SHA256", "SPECS", "AUTHORING", "SpecFile", "spec", "convert", "validator", "errors",
           "undeclared"]  # fmt: skip

_DATA = Path(__file__).parent / "data" / "spec"


@dataclass(frozen=True)
class SpecFile:
    path: Path
    sha256: str
    uri: str
    swagger: bool = False  # Swagger 2.0: schemas under #/definitions/, optional properties may be null

    @property
    def prefix(self) -> str:
        return "#/definitions/" if self.swagger else "#/components/schemas/"


INFERENCE = "inference-2024-10-21"
AUTHORING = "authoring-2024-10-21"
SPECS: dict[str, SpecFile] = {
    INFERENCE: SpecFile(
        _DATA / "inference-2024-10-21.json",
        "8efc665c79a5a5e7d3137d9378da074d9956d042150a1d0a6ffc6ba95cc1bf47",
        "urn:azure-openai:inference-2024-10-21",
    ),
    AUTHORING: SpecFile(
        _DATA / "authoring-2024-10-21-definitions.json",
        "649445dbd6cc7961da3a0d531aeec106b515f45809eb807b6fab92419c539a65",
        "urn:azure-openai:authoring-2024-10-21",
        swagger=True,
    ),
}
SPEC_PATH = SPECS[INFERENCE].path
SPEC_SHA256 = SPECS[INFERENCE].sha256
_URI = SPECS[INFERENCE].uri
_COMPONENT = "#/components/schemas/"


@cache
def spec(spec_name: str = INFERENCE) -> dict[str, Any]:
    known = SPECS[spec_name]
    raw = known.path.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == known.sha256, f"{known.path} was edited"
    return json.loads(raw)  # type: ignore[no-any-return]


def _allof_members(node: Any, found: set[int], refs: set[str], prefix: str = _COMPONENT) -> None:
    """Collect the schemas that are pieces of an allOf (by id) and the components they name."""
    if isinstance(node, dict):
        for member in node.get("allOf", ()):
            found.add(id(member))
            if "$ref" in member:
                refs.add(member["$ref"].removeprefix(prefix))
        for value in node.values():
            _allof_members(value, found, refs, prefix)
    elif isinstance(node, list):
        for value in node:
            _allof_members(value, found, refs, prefix)


def convert(
    node: Any, strict: bool = False, _skip: frozenset[int] = frozenset(), uri: str = _URI, swagger: bool = False
) -> Any:
    """An OpenAPI 3.0 (or, ``swagger=True``, Swagger 2.0) schema tree as JSON Schema 2020-12."""
    if isinstance(node, list):
        return [convert(v, strict, _skip, uri, swagger) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v, strict, _skip, uri, swagger) for k, v in node.items() if k != "nullable"}
    if isinstance(out.get("$ref"), str) and out["$ref"].startswith("#"):
        out["$ref"] = uri + out["$ref"]
    if swagger and isinstance(out.get("properties"), dict):
        required = set(node.get("required", ()))
        for key, value in out["properties"].items():
            if key not in required:
                out["properties"][key] = {"anyOf": [{"type": "null"}, value]}
    if strict and id(node) not in _skip and ("properties" in node or "allOf" in node):
        out.setdefault("unevaluatedProperties", False)
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, out]}
    return out


def _build(document: dict[str, Any], strict: bool, known: SpecFile = SPECS[INFERENCE]) -> Registry:
    members: set[int] = set()
    refs: set[str] = set()
    _allof_members(document, members, refs, known.prefix)
    if known.swagger:
        schemas = document["definitions"]
        skip = frozenset(members | {id(schemas[name]) for name in refs})
        converted = {"definitions": convert(schemas, strict, skip, known.uri, swagger=True)}
    else:
        schemas = document["components"]["schemas"]
        skip = frozenset(members | {id(schemas[name]) for name in refs})
        converted = {
            "components": {"schemas": convert(schemas, strict, skip, known.uri)},
            "paths": convert(document["paths"], strict, skip, known.uri),
        }
    resource = Resource.from_contents(converted, default_specification=DRAFT202012)
    return Registry().with_resource(known.uri, resource)


@cache
def _registry(strict: bool, overrides: str = "{}", spec_name: str = INFERENCE) -> Registry:
    document = spec(spec_name)
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
    return _build(document, strict, SPECS[spec_name])


# Where the recordings (../shared/recordings, which beat the spec) show the 2024-10-21 service leaving out what
# its spec requires: no `refusal` on the message or on logprobs (chat/net-ChatCompletion*.json, Dec 2024).
RECORDED_VS_SPEC: dict[str, Any] = {
    "/components/schemas/chatCompletionResponseMessage/required": ["role", "content"],
    "/components/schemas/createChatCompletionResponse/properties/choices/items/properties/logprobs/required":
        ["content"],
    "/components/schemas/createChatCompletionStreamResponse/properties/choices/items/properties/logprobs/required":
        ["content"],
}


def validator(
    name: str, strict: bool = False, overrides: Mapping[str, Any] | None = None, spec_name: str = INFERENCE
) -> Draft202012Validator:
    """A validator for a named schema (``components/schemas/<name>``, or ``definitions/<name>`` in the
    authoring spec), or for a JSON pointer into the spec (``/paths/...``).

    ``overrides`` maps JSON pointers into the spec to replacement schemas (in the spec's own dialect): the
    way a test states where the service is known to differ from its spec.
    """
    known = SPECS[spec_name]
    pointer = name if name.startswith("/") else known.prefix[1:] + name
    registry = _registry(strict, json.dumps(overrides or {}, sort_keys=True), spec_name)
    return Draft202012Validator({"$ref": f"{known.uri}#{pointer}"}, registry=registry)


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
