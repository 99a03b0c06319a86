"""A deterministic instance of a JSON Schema: the arguments of a tool call, a ``json_schema`` reply.

Generators on PyPI (jsf, hypothesis-jsonschema) draw from the global ``random`` state or search for
examples; the mock needs the same instance for the same request on every machine, from an RNG it owns,
so this walks the subset of JSON Schema that structured outputs and tool definitions use: types,
properties, required, items, enum, const, anyOf/oneOf/allOf, $ref into $defs/definitions, bounds and
the common string formats.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["instance"]

_WORDS = (
    "alpha", "amber", "birch", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo",
    "juniper", "kestrel", "lumen", "maple", "nova", "orchid", "pebble", "quartz", "river", "sable",
)  # fmt: skip
_CITIES = ("Seattle, WA", "Paris, France", "Tokyo, Japan", "Nairobi, Kenya", "Lima, Peru", "Oslo, Norway")
_MAX_DEPTH = 8


def instance(schema: Mapping[str, Any] | None, rng: random.Random) -> Any:
    """An instance of ``schema`` chosen by ``rng``; an empty or missing schema gives ``{}``."""
    if not schema:
        return {}
    return _Walker(schema, rng).value(schema, "", 0)


class _Walker:
    def __init__(self, root: Mapping[str, Any], rng: random.Random) -> None:
        self.root = root
        self.rng = rng

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return schema
        node: Any = self.root
        for part in ref.lstrip("#/").split("/"):
            if part:
                node = node.get(part, {}) if isinstance(node, Mapping) else {}
        return node if isinstance(node, Mapping) else {}

    def value(self, schema: Mapping[str, Any], name: str, depth: int) -> Any:
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return self.rng.choice(list(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                options = [o for o in schema[key] if self.resolve(o).get("type") != "null"] or schema[key]
                return self.value(options[0], name, depth)
        if schema.get("allOf"):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                part = self.resolve(part)
                merged.update(part)
                merged["properties"] = {**merged.get("properties", {}), **part.get("properties", {})}
            return self.value(merged, name, depth)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        return _BUILDERS.get(kind, _string)(self, schema, name, depth)


def _object(walker: _Walker, schema: Mapping[str, Any], name: str, depth: int) -> dict[str, Any]:
    if depth >= _MAX_DEPTH:
        return {}
    props: Mapping[str, Any] = schema.get("properties") or {}
    return {key: walker.value(sub, key, depth + 1) for key, sub in props.items()}


def _array(walker: _Walker, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
    if depth >= _MAX_DEPTH:
        return []
    low = int(schema.get("minItems", 1))
    high = int(schema.get("maxItems", max(low, 3)))
    count = walker.rng.randint(low, max(low, min(high, low + 2)))
    items = schema.get("items") or {}
    return [walker.value(items, name, depth + 1) for _ in range(count)]


def _number(walker: _Walker, schema: Mapping[str, Any], name: str, depth: int) -> float:
    low = float(schema.get("minimum", schema.get("exclusiveMinimum", 0)))
    high = float(schema.get("maximum", schema.get("exclusiveMaximum", low + 100)))
    return round(walker.rng.uniform(low, high), 2)


def _integer(walker: _Walker, schema: Mapping[str, Any], name: str, depth: int) -> int:
    low = int(schema.get("minimum", 0))
    high = int(schema.get("maximum", low + 100))
    if "exclusiveMinimum" in schema:
        low = int(schema["exclusiveMinimum"]) + 1
    if "exclusiveMaximum" in schema:
        high = int(schema["exclusiveMaximum"]) - 1
    return walker.rng.randint(low, max(low, high))


def _boolean(walker: _Walker, schema: Mapping[str, Any], name: str, depth: int) -> bool:
    return walker.rng.random() < 0.5


def _null(walker: _Walker, schema: Mapping[str, Any], name: str, depth: int) -> None:
    return None


_FORMATS: dict[str, Callable[[random.Random], str]] = {
    "date-time": lambda r: f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:00:00Z",
    "date": lambda r: f"2025-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
    "time": lambda r: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00",
    "email": lambda r: f"{r.choice(_WORDS)}@example.com",
    "uri": lambda r: f"https://example.com/{r.choice(_WORDS)}",
    "uuid": lambda r: "%08x-%04x-4%03x-8%03x-%012x"
    % (r.getrandbits(32), r.getrandbits(16), r.getrandbits(12), r.getrandbits(12), r.getrandbits(48)),
}


def _string(walker: _Walker, schema: Mapping[str, Any], name: str, depth: int) -> str:
    rng = walker.rng
    fmt = schema.get("format")
    if fmt in _FORMATS:
        return _FORMATS[fmt](rng)
    lowered = name.lower()
    if lowered in ("location", "city", "place", "address"):
        text = rng.choice(_CITIES)
    elif lowered in ("unit", "units"):
        text = rng.choice(("celsius", "fahrenheit"))
    else:
        text = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 3)))
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", max(low, len(text))))
    text = (text + " " + text * max(1, low)) if len(text) < low else text
    return text[: max(low, high)]


_BUILDERS: dict[str, Callable[[_Walker, Mapping[str, Any], str, int], Any]] = {
    "object": _object,
    "array": _array,
    "number": _number,
    "integer": _integer,
    "boolean": _boolean,
    "null": _null,
    "string": _string,
}
