"""Parse a request body into its model, or raise the 400 the service would send.

Pydantic reports what is wrong; this module words it as the service does: ``param`` names the field the
way the service writes it (``messages[0].role``) and the message and code follow its phrasing.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from aoai_mock.errors import InvalidJson, InvalidRequest
from aoai_mock.wire.json_depth import MAX_DEPTH, too_deep

__all__ = ["load_json", "validate", "error_from_validation", "unrecognized"]

M = TypeVar("M", bound=BaseModel)

_TYPE_NAMES = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a decimal",
    "bool_type": "a boolean",
    "list_type": "an array",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "none_required": "null",
}


def load_json(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or the service's 400 for text that is not one."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidJson() from None
    if len(raw) > 2 * MAX_DEPTH and too_deep(raw, data):  # nesting past the limit takes that many bytes
        raise InvalidJson()
    if not isinstance(data, dict):
        raise InvalidRequest(
            f"Invalid type for request body: expected an object, but got {_describe(data)} instead.",
            code="invalid_type",
        )
    return data


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error_from_validation(exc, data) from None


def _huge_integer(value: Any) -> bool:
    """A number that was written as an integer too large for 64 bits (orjson gives such a number as a float)."""
    return isinstance(value, float) and value.is_integer() and abs(value) >= 2**63


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _param(loc: tuple[Any, ...], data: Any) -> tuple[str, Any]:
    """Walk ``loc`` through the input; pydantic's union tags (not in the input) are skipped."""
    name = ""
    node = data
    for position, part in enumerate(loc):
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            name = f"{name}.{part}" if name else part
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            name = f"{name}[{part}]"
            node = node[part]
        elif position == len(loc) - 1 and isinstance(part, str) and isinstance(node, dict):
            name = f"{name}.{part}" if name else part  # a missing field
            node = None
    return name, node


def _supported(ctx: dict[str, Any]) -> str:
    expected = str(ctx.get("expected") or ctx.get("expected_tags") or "")
    values = [v.strip() for v in expected.replace(" or ", ",").split(",") if v.strip()]
    if len(values) > 1:
        return ", ".join(values[:-1]) + ", and " + values[-1]
    return values[0] if values else ""


def unrecognized(names: list[str]) -> InvalidRequest:
    """The service's 400 for top-level arguments it does not know: one named, or several, sorted and
    comma-separated [quoted in public issues: "Unrecognized request arguments supplied: tool_choice, tools"]."""
    if len(names) == 1:
        return InvalidRequest(f"Unrecognized request argument supplied: {names[0]}")
    return InvalidRequest(f"Unrecognized request arguments supplied: {', '.join(sorted(names))}")


def error_from_validation(exc: ValidationError, data: Any) -> InvalidRequest:
    errors = exc.errors(include_url=False)
    extra = [e for e in errors if e["type"] == "extra_forbidden" and len(e["loc"]) == 1]
    if extra:
        return unrecognized(sorted({str(e["loc"][-1]) for e in extra}))
    # The deepest problem is the one that names the field best (a union reports every branch).
    located = [(e, *_param(e["loc"], data)) for e in errors]
    first, param, value = max(located, key=lambda item: len(item[1]))
    same = [e for e, name, _ in located if name == param]
    kind = first["type"]
    ctx = first.get("ctx") or {}
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        if isinstance(value, dict):  # not a bare string a validator made into an object ("xml": {"type": "xml"})
            param = f"{param}.{str(ctx.get('discriminator', '')).strip(chr(39))}"
        value = ctx.get("tag")
        kind = "missing" if kind == "union_tag_not_found" else kind
    if kind == "extra_forbidden":
        return InvalidRequest(
            f"Unrecognized request argument supplied: {first['loc'][-1]}", param=param or None
        )
    if kind == "missing":
        return InvalidRequest(
            f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
        )
    if kind in ("literal_error", "union_tag_invalid", "enum"):
        return InvalidRequest(
            f"Invalid value: '{_plain(value)}'. Supported values are: {_supported(ctx)}.",
            param=param,
            code="invalid_value",
        )
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return _out_of_range(kind, ctx, param, value)
    if kind == "int_type" and _huge_integer(value):  # orjson reads integers past 64 bits as floats
        below = value < 0
        limit = -(2**63) if below else 2**63 - 1
        return _out_of_range("greater_than_equal" if below else "less_than_equal", {"limit": limit}, param, int(value))
    if kind == "too_short":
        return InvalidRequest(
            f"Invalid '{param}': empty array. Expected an array with minimum length "
            f"{ctx.get('min_length', 1)}, but got an empty array instead.",
            param=param,
            code="empty_array",
        )
    if kind == "too_long":
        return InvalidRequest(
            f"Invalid '{param}': array too long. Expected an array with maximum length "
            f"{ctx.get('max_length')}, but got an array with length {ctx.get('actual_length')} instead.",
            param=param,
            code="array_above_max_length",
        )
    if kind == "string_pattern_mismatch":
        return InvalidRequest(
            f"Invalid '{param}': string does not match pattern. Expected a string that matches the pattern "
            f"'{ctx.get('pattern')}'.",
            param=param,
            code="invalid_value",
        )
    expected = sorted({_TYPE_NAMES[e["type"]] for e in same if e["type"] in _TYPE_NAMES})
    if expected:
        wanted = expected[0] if len(expected) == 1 else "one of " + " or ".join(expected)
        return InvalidRequest(
            f"Invalid type for '{param}': expected {wanted}, but got {_describe(value)} instead.",
            param=param,
            code="invalid_type",
        )
    return InvalidRequest(f"Invalid value for '{param}': {first['msg']}.", param=param, code="invalid_value")


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def _out_of_range(kind: str, ctx: dict[str, Any], param: str, value: Any) -> InvalidRequest:
    # The parameter's type names the error (temperature 3 is a decimal), and the limit prints as the
    # service prints it: "Expected a value <= 2, but got 3.0 instead".
    limit = next(iter(ctx.values()), None)
    what = "decimal" if isinstance(limit, float) or not isinstance(value, int) else "integer"
    if what == "decimal":
        value = float(value)
        limit = int(limit) if isinstance(limit, float) and limit.is_integer() else limit
    below = kind.startswith("greater")
    sign = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}[kind]
    position = "below minimum" if below else "above maximum"
    return InvalidRequest(
        f"Invalid '{param}': {what} {position} value. Expected a value {sign} {limit}, but got {value} instead.",
        param=param,
        code=f"{what}_{'below_min' if below else 'above_max'}_value",
    )
