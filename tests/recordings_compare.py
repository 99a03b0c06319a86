"""Compare one live answer with one recorded Azure answer, as ../shared/recordings/README.md says.

Compared: status; which headers are present; body structure (keys present or absent, null versus missing,
types, nesting; a list by its first element); the values that name a kind (`object`, `type`, `finish_reason`,
...); error codes and messages; prompt/input token counts (the same text went in); a stream's sequence of
event kinds and the shape of the first event of each kind. Not compared: ids, timestamps, generated text,
logprob numbers, request ids. Pure functions: no HTTP here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Answer", "compare", "id_pairs"]

# Set by the HTTP stack and the transport (chunked or not), not by the service.
TRANSPORT_HEADERS = frozenset({"date", "connection", "transfer-encoding", "content-length", "keep-alive"})
# Values that name a kind of thing, compared as values.
KIND_KEYS = frozenset(
    {"object", "type", "role", "finish_reason", "status", "code", "param", "filtered", "detected",
     "severity", "deleted", "purpose", "event"}
)
TOKEN_KEYS = frozenset({"prompt_tokens", "input_tokens"})


@dataclass
class Answer:
    """What the mock answered: status, headers (lower-case names), and the body in one of its forms."""

    status: int
    headers: dict[str, str]
    text: str
    sse: list[Any] | None = None  # chat/completions data payloads, "[DONE]" included
    events: list[dict[str, Any]] | None = None  # named events: {"event": name, "data": payload}
    notes: list[str] = field(default_factory=list)

    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


@dataclass
class _Ctx:
    pattern: str | None = None  # compare_message_pattern: error.message is searched with it
    tokens: bool = True  # compare prompt/input token counts


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def _diff(rec: Any, got: Any, path: str, ctx: _Ctx, out: list[str]) -> None:
    if _kind(rec) != _kind(got):
        path = path or "body"
        if rec is None:
            out.append(f"{path}: null expected, got {_kind(got)}")
        else:
            out.append(f"{path}: {_kind(rec)} expected, got {_kind(got)}")
        return
    if isinstance(rec, dict):
        _diff_dict(rec, got, path, ctx, out)
    elif isinstance(rec, list):
        if rec and got:
            _diff(rec[0], got[0], f"{path}[0]", ctx, out)
        elif rec and not got:
            out.append(f"{path}: items expected, got []")
        elif got and not rec:
            out.append(f"{path}: [] expected, got {len(got)} items")


def _diff_dict(rec: dict[str, Any], got: dict[str, Any], path: str, ctx: _Ctx, out: list[str]) -> None:
    prefix = f"{path}." if path else ""
    for key in rec:
        if key not in got:
            out.append(f"{prefix}{key} missing" + (" (null expected)" if rec[key] is None else ""))
    for key in got:
        if key not in rec:
            out.append(f"{prefix}{key} unexpected")
    for key in rec:
        if key not in got:
            continue
        where = f"{prefix}{key}"
        _diff(rec[key], got[key], where, ctx, out)
        _diff_value(key, rec[key], got[key], where, ctx, out)


def _diff_value(key: str, rec: Any, got: Any, where: str, ctx: _Ctx, out: list[str]) -> None:
    if isinstance(rec, (dict, list)) or _kind(rec) != _kind(got):
        return
    if key in KIND_KEYS and rec != got:
        out.append(f"{where}: {rec!r} expected, got {got!r}")
    elif key == "message" and ".error" in f".{where}" and isinstance(rec, str):
        if ctx.pattern is not None:
            if not re.search(ctx.pattern, got):
                out.append(f"{where}: does not match {ctx.pattern!r}: {got!r}")
        elif rec != got:
            out.append(f"{where}: {rec!r} expected, got {got!r}")
    elif key in TOKEN_KEYS and ctx.tokens and where.rsplit(".", 2)[-2:-1] == ["usage"] and rec != got:
        out.append(f"{where}: {rec} expected, got {got}")


def _headers(recorded: dict[str, Any], answer: Answer) -> list[str]:
    missing = [
        name for name in recorded
        if name.lower() not in TRANSPORT_HEADERS and name.lower() not in answer.headers
    ]
    return [f"headers missing: {', '.join(missing)}"] if missing else []


# -- streams -------------------------------------------------------------------------------------


def _chunk_kind(event: Any) -> str:
    if event == "[DONE]":
        return "[DONE]"
    if not isinstance(event, dict):
        return "malformed"
    if "error" in event:
        return "error"
    choices = event.get("choices") or []
    if not choices:
        if event.get("prompt_filter_results") is not None or event.get("prompt_annotations") is not None:
            return "prompt_filter"
        return "usage" if event.get("usage") else "empty"
    choice = choices[0]
    if "content_filter_offsets" in choice or ("delta" not in choice and "text" not in choice):
        return "annotation"
    if choice.get("finish_reason") is not None:
        return "finish"
    delta = choice.get("delta") or {}
    if "role" in delta:
        return "role"
    return "tool_call" if "tool_calls" in delta else "content"


def _collapse(kinds: list[str]) -> list[str]:
    return [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]


def _diff_stream(recorded: list[Any], got: list[Any], kind_of: Any, ctx: _Ctx, complete: bool) -> list[str]:
    """Kinds in order (repeats collapsed, so trimmed recordings compare), then each kind's first event."""
    rec_kinds = _collapse([kind_of(e) for e in recorded])
    got_kinds = _collapse([kind_of(e) for e in got])
    out: list[str] = []
    compared = got_kinds if complete else got_kinds[: len(rec_kinds)]
    if rec_kinds != compared:
        out.append(f"stream kinds {rec_kinds} expected, got {compared}")
    firsts: dict[str, Any] = {}
    for event in got:
        firsts.setdefault(kind_of(event), event)
    seen: set[str] = set()
    for event in recorded:
        kind = kind_of(event)
        if kind in seen or kind not in firsts or kind == "[DONE]":
            continue
        seen.add(kind)
        _diff(event, firsts[kind], f"<{kind}>", ctx, out)
    return out


def _event_kind(event: dict[str, Any]) -> str:
    return str(event.get("event"))


# -- the whole exchange ------------------------------------------------------------------------------


def compare(recorded: dict[str, Any], answer: Answer, request: dict[str, Any]) -> list[str]:
    """Every difference between the recorded response and the mock's answer; [] when they match."""
    out: list[str] = list(answer.notes)
    if recorded["status"] != answer.status:
        out.append(f"status {recorded['status']} expected, got {answer.status}")
    body = request.get("body") if isinstance(request.get("body"), dict) else {}
    ctx = _Ctx(recorded.get("compare_message_pattern"), tokens="previous_response_id" not in body)
    out += _diff_body(recorded, answer, ctx)
    for check in recorded.get("checks", []):
        out += _check(check, answer.json())
    # Headers last, in one line: the body's differences are the ones to read first.
    if "headers" in recorded and not recorded.get("headers_unknown") and not recorded.get("headers_partial"):
        out += _headers(recorded["headers"], answer)
    return out


def _diff_body(recorded: dict[str, Any], answer: Answer, ctx: _Ctx) -> list[str]:
    out: list[str] = []
    if "sse" in recorded:
        if answer.sse is None:
            return [f"a data: stream expected, got {answer.headers.get('content-type')}"]
        complete = recorded["sse"][-1:] == ["[DONE]"] or "sse_trimmed" in recorded
        out += _diff_stream(recorded["sse"], answer.sse, _chunk_kind, ctx, complete)
    elif "events" in recorded:
        if answer.events is None:
            return [f"a named-event stream expected, got {answer.headers.get('content-type')}"]
        out += _diff_stream(recorded["events"], answer.events, _event_kind, ctx, True)
    elif "body" in recorded:
        _diff(recorded["body"], answer.json(), "", ctx, out)
    elif "body_text" in recorded:
        try:
            _diff(json.loads(recorded["body_text"]), answer.json(), "", ctx, out)
        except ValueError:
            if recorded["body_text"] != answer.text:
                out.append("body text differs")
    return out


def _check(check: dict[str, Any], body: Any) -> list[str]:
    value = body
    for step in check["path"]:
        try:
            value = value[step]
        except (KeyError, IndexError, TypeError):
            return [f"{'.'.join(map(str, check['path']))} missing"]
    if "len" in check and len(value) != check["len"]:
        return [f"{'.'.join(map(str, check['path']))}: length {check['len']} expected, got {len(value)}"]
    return []


# -- ids the mock returned, for later requests ----------------------------------------------------------

_ID_VALUE = re.compile(r"^(asst_|thread_|run_|msg_|step_|file-|assistant-|batch_|ftjob-|resp_|call_|fc_|chatcmpl-)")


def id_pairs(recorded: Any, got: Any, key: str = "") -> list[tuple[str, str]]:
    """(recorded id, mock id) pairs found by walking both bodies in step."""
    if isinstance(recorded, dict) and isinstance(got, dict):
        return [pair for k in recorded if k in got for pair in id_pairs(recorded[k], got[k], k)]
    if isinstance(recorded, list) and isinstance(got, list):
        return [pair for r, g in zip(recorded, got) for pair in id_pairs(r, g, key)]
    if isinstance(recorded, str) and isinstance(got, str) and recorded != got:
        if key == "id" or key.endswith("_id") or _ID_VALUE.match(recorded):
            return [(recorded, got)]
    return []
