"""Function tools and response formats as the model reads them: the text the service renders them into.

The rendering is OpenAI's, as its open renderer publishes it [documented: github.com/openai/harmony
src/encoding.rs, ``template_tools_section`` and ``json_schema_to_typescript``]: the functions become a
TypeScript namespace, one ``// description`` comment per line, ``type name = (_: {...}) => any;`` with one
``key?: type,`` line per property (no ``?`` when required); a JSON-schema response format becomes its name,
its description as a comment and the compact schema. The sections start at ``## functions`` and ``## name``:
the recorded counts leave out the renderer's ``# Tools`` and ``# Response Formats`` headings (with them every
recorded count is 3 or 4 tokens too high) [captured: recordings/responses/net-FunctionCall-2025-04-01-preview
(74), recordings/chat/net-StructuredOutputsWork (75)].

Pure text, no tokenizer: :mod:`aoai_mock.behaviour.tokens` counts it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

__all__ = ["function_of", "functions_section", "response_format_section", "typescript"]

_NESTED = "    "  # the renderer indents a nested object's properties by four spaces


def function_of(tool: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The function a tool declares, in any of the three spellings; None for a built-in tool.

    Chat's ``{"type": "function", "function": {...}}``, the Responses API's flat ``{"type": "function",
    "name": ...}`` and the legacy ``functions`` entries (``{"name": ..., "parameters": ...}``, no type).
    """
    inner = tool.get("function")
    if isinstance(inner, Mapping):
        return inner
    if tool.get("type", "function") == "function" and isinstance(tool.get("name"), str):
        return tool
    return None


def functions_section(functions: Sequence[Mapping[str, Any]]) -> str:
    """``## functions`` and the namespace that declares every function."""
    lines = ["## functions\n", "namespace functions {\n"]
    for function in functions:
        lines.extend(f"// {line}" for line in _lines(function.get("description")))
        parameters = function.get("parameters")
        if isinstance(parameters, Mapping):
            lines.append(f"type {function.get('name', '')} = (_: {typescript(parameters, '')}) => any;\n")
        else:
            lines.append(f"type {function.get('name', '')} = () => any;\n")
    lines.append("} // namespace functions")
    return "\n".join(lines)


def response_format_section(response_format: Mapping[str, Any] | None) -> str:
    """A JSON-schema response format as ``## name``, ``// description`` and the compact schema; "" otherwise.

    Chat nests the format under ``json_schema``; the Responses API's ``text.format`` holds it flat.
    """
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return ""
    spec = response_format.get("json_schema")
    spec = spec if isinstance(spec, Mapping) else response_format
    lines = [f"## {spec.get('name') or 'response'}\n"]
    lines.extend(f"// {line}" for line in _lines(spec.get("description")))
    lines.append(orjson.dumps(spec.get("schema") or {}).decode())
    return "\n".join(lines)


def _lines(text: Any) -> list[str]:
    return text.splitlines() if isinstance(text, str) else []


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def typescript(schema: Any, indent: str) -> str:
    """A JSON schema as the TypeScript type the renderer writes for it."""
    if not isinstance(schema, Mapping):
        return "any"
    variants = schema.get("oneOf", schema.get("anyOf"))  # anyOf reads as oneOf [inferred: harmony knows oneOf]
    if isinstance(variants, list):
        return _variants(variants, indent)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join("number" if k == "integer" else str(k) for k in kind) or "any"
    if kind == "object":
        return _object(schema, indent)
    if kind == "string":
        enum = [v for v in _list(schema.get("enum")) if isinstance(v, str)]
        return " | ".join(f'"{v}"' for v in enum) if enum else "string"
    if kind in ("number", "integer"):
        return "number"
    if kind == "boolean":
        return "boolean"
    if kind == "array":
        items = schema.get("items")
        return f"{typescript(items, indent)}[]" if items is not None else "Array<any>"
    return "any"


def _variants(variants: list[Any], indent: str) -> str:
    out = []
    for variant in variants:
        text = typescript(variant, indent + "   ")
        if isinstance(variant, Mapping):
            text = _nullable(variant, text) + _trailing(variant)
        out.append(f"\n{indent} | {text}")
    return "".join(out)


def _object(schema: Mapping[str, Any], indent: str) -> str:
    out = [f"{indent}// {schema['description']}\n"] if isinstance(schema.get("description"), str) else []
    out.append("{\n")
    properties = schema.get("properties")
    required = {r for r in _list(schema.get("required")) if isinstance(r, str)}
    for key, value in (properties.items() if isinstance(properties, Mapping) else ()):
        value = value if isinstance(value, Mapping) else {}
        mark = "" if key in required else "?"
        variants = value.get("oneOf", value.get("anyOf"))
        if isinstance(variants, list):
            out.append(_property_variants(f"{indent}{key}{mark}", value, variants, indent))
            continue
        out.append(_comments(value, indent, with_description=True))
        text = _nullable(value, typescript(value, indent + _NESTED))
        out.append(f"{indent}{key}{mark}: {text},{_default(value)}\n")
    out.append(f"{indent}}}")
    return "".join(out)


def _comments(value: Mapping[str, Any], indent: str, with_description: bool) -> str:
    out = [f"{indent}// {value['title']}\n{indent}//\n"] if isinstance(value.get("title"), str) else []
    if with_description and isinstance(value.get("description"), str):
        out.append(f"{indent}// {value['description']}\n")
    examples = [e for e in _list(value.get("examples")) if isinstance(e, str)]
    if examples:
        out.append(f"{indent}// Examples:\n" + "".join(f'{indent}// - "{e}"\n' for e in examples))
    return "".join(out)


def _property_variants(head: str, value: Mapping[str, Any], variants: list[Any], indent: str) -> str:
    """A property whose schema is a oneOf: its comments, ``key?:`` and one `` | type`` line per variant."""
    described = value.get("description") if isinstance(value.get("description"), str) else None
    first = variants[0] if variants and isinstance(variants[0], Mapping) else {}
    above = described is not None and described != first.get("description")
    out = [_comments(value, indent, with_description=False)]
    if above:
        out.append(f"{indent}// {described}\n")
    if "default" in value:
        out.append(f"{indent}//{_default(value).removeprefix(' //')}\n")
    out.append(f"{head}:\n")
    for i, variant in enumerate(variants):
        variant = variant if isinstance(variant, Mapping) else {}
        text = _nullable(variant, typescript(variant, indent + "   "))
        notes = []
        if not (i == 0 and above) and isinstance(variant.get("description"), str):
            if variant["description"] != described:
                notes.append(variant["description"])
        if "default" in variant:
            notes.append(_default(variant).removeprefix(" // "))
        out.append(f"{indent} | {text}" + (f" // {' '.join(notes)}" if notes else "") + "\n")
    out.append(f"{indent},\n")
    return "".join(out)


def _nullable(schema: Mapping[str, Any], text: str) -> str:
    return f"{text} | null" if schema.get("nullable") is True and "null" not in text else text


def _default(schema: Mapping[str, Any]) -> str:
    if "default" not in schema:
        return ""
    value = schema["default"]
    if isinstance(value, str):
        return f' // default: "{value}"' if not schema.get("enum") else f" // default: {value}"
    return f" // default: {orjson.dumps(value).decode()}"


def _trailing(variant: Mapping[str, Any]) -> str:
    notes = [variant["description"]] if isinstance(variant.get("description"), str) else []
    default = _default(variant)
    if default:
        notes.append(default.removeprefix(" // "))
    return f" // {' '.join(notes)}" if notes else ""
