"""Recorded exchanges: the normalised request, its fingerprint, and the fixture files (no HTTP here).

One file per distinct normalised request, ``<method>-<path words>-<hash>.json``::

    {
      "format": "aoai-mock-recording/1",
      "request": {"method": "POST", "path": "/openai/deployments/gpt-4o/chat/completions",
                  "query": {"api-version": "2024-10-21"}, "body": {...keys sorted...},
                  "headers": {"content-type": "application/json", ...}},      # informative, never matched
      "responses": [                                                          # in the order they came
        {"status": 200, "latency_ms": 12, "headers": {"content-type": "application/json", ...},
         "body": {...}},                                   # JSON that re-serialises to the same bytes
        {"status": 200, ..., "events": [{"ms": 0, "data": "{...}"}, ..., {"ms": 41, "data": "[DONE]"}]}
      ]
    }

A response body is ``body`` (JSON, compact, checked to give the received bytes back), ``text`` (the exact
text, when re-serialising would change a byte), ``base64`` (anything else) or ``events`` (an SSE stream:
each event's data, or its ``raw`` lines when it has more than one ``data:`` line, and its offset in ms
from the response's start). The request's ``body`` is the JSON with its keys sorted, or for other bodies
``body_sha256`` (multipart boundaries replaced first, so uploads match again).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import orjson

from aoai_mock.state.journal import MASK, is_secret

__all__ = [
    "FORMAT",
    "NormalisedRequest",
    "RecordedResponse",
    "Recording",
    "RecordingError",
    "differences",
    "event_entry",
    "load_dir",
    "load_file",
    "normalise",
    "request_headers_kept",
    "response_headers_kept",
    "scrub",
    "scrub_across_events",
    "split_events",
]

FORMAT = "aoai-mock-recording/1"

# Never written: hop-by-hop headers, per-request ids and dates, what the transport decides, and anything the
# mock's front door adds to every answer itself (so a replayed answer carries them once).
_DROPPED_RESPONSE = frozenset(
    {
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "content-length", "content-encoding", "date", "server", "set-cookie",
        "apim-request-id", "x-request-id", "x-ms-client-request-id", "x-ms-region", "azureml-model-session",
        "x-content-type-options", "strict-transport-security", "x-envoy-upstream-service-time",
        "x-ms-rai-invoked", "x-ms-deployment-name",
    }
)
_DROPPED_REQUEST = frozenset(
    {
        "host", "connection", "keep-alive", "content-length", "accept-encoding", "user-agent", "te", "upgrade",
        "transfer-encoding", "x-ms-client-request-id", "traceparent", "tracestate", "x-stainless-retry-count",
    }
)
_BOUNDARY = re.compile(rb"boundary=\"?([^\";]+)\"?")


class RecordingError(ValueError):
    """A fixture file that cannot be read as a recording."""


@dataclass(frozen=True, slots=True)
class NormalisedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None  # parsed JSON (keys sorted when written), or None
    body_sha256: str | None = None  # a body that is not JSON
    headers: dict[str, str] = field(default_factory=dict)  # informative, not part of the match

    def key(self) -> dict[str, Any]:
        found: dict[str, Any] = {"method": self.method, "path": self.path, "query": self.query}
        if self.body is not None:
            found["body"] = self.body
        if self.body_sha256 is not None:
            found["body_sha256"] = self.body_sha256
        return found

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(orjson.dumps(self.key(), option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]

    def file_name(self) -> str:
        words = [w for w in self.path.split("/") if w and w not in ("openai", "deployments")]
        slug = re.sub(r"[^a-z0-9]+", "-", "-".join(words[-3:]).lower()).strip("-") or "root"
        return f"{self.method.lower()}-{slug[:60]}-{self.fingerprint}.json"

    def as_dict(self) -> dict[str, Any]:
        return {**self.key(), "headers": self.headers}


@dataclass(slots=True)
class RecordedResponse:
    status: int
    headers: dict[str, str]
    latency_ms: int = 0
    body: Any = None  # "body" / "text" / "base64" / "events": exactly one is set
    text: str | None = None
    base64: str | None = None
    events: list[dict[str, Any]] | None = None
    tail: str | None = None  # bytes after the last complete event (a stream cut short)

    @classmethod
    def complete(cls, status: int, headers: dict[str, str], latency_ms: int, raw: bytes) -> RecordedResponse:
        found = cls(status, headers, latency_ms)
        if raw and "json" in headers.get("content-type", ""):
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                parsed = None
            if parsed is not None and orjson.dumps(parsed) == raw:
                found.body = parsed
                return found
        try:
            found.text = raw.decode("utf-8")
        except UnicodeDecodeError:
            found.base64 = base64.b64encode(raw).decode()
        return found

    @property
    def is_stream(self) -> bool:
        return self.events is not None

    def payload(self) -> bytes:
        """The body of a complete (not streamed) response, as received."""
        if self.text is not None:
            return self.text.encode("utf-8")
        if self.base64 is not None:
            return base64.b64decode(self.base64)
        return b"" if self.body is None else orjson.dumps(self.body)

    def event_bytes(self) -> list[tuple[int, bytes]]:
        """A stream's events as sent: (offset ms, bytes), the cut-off tail last."""
        sent = []
        for event in self.events or ():
            raw = event["raw"] if "raw" in event else "data: " + event["data"]
            sent.append((int(event.get("ms", 0)), raw.encode("utf-8") + b"\n\n"))
        if self.tail:
            sent.append((sent[-1][0] if sent else 0, self.tail.encode("utf-8")))
        return sent

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"status": self.status, "latency_ms": self.latency_ms, "headers": self.headers}
        for name in ("body", "text", "base64", "events", "tail"):
            value = getattr(self, name)
            if value is not None:
                found[name] = value
        return found

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> RecordedResponse:
        return cls(
            int(raw["status"]), {str(k).lower(): str(v) for k, v in (raw.get("headers") or {}).items()},
            int(raw.get("latency_ms", 0)), raw.get("body"), raw.get("text"), raw.get("base64"),
            raw.get("events"), raw.get("tail"),
        )


@dataclass(slots=True)
class Recording:
    request: NormalisedRequest
    responses: list[RecordedResponse]
    source: Path | None = None

    def to_bytes(self, secrets: Sequence[str] = ()) -> bytes:
        responses = []
        for response in self.responses:
            found = response.as_dict()
            if response.events:
                found["events"] = scrub_across_events(response.events, secrets)
            responses.append(found)
        document = {"format": FORMAT, "request": self.request.as_dict(), "responses": responses}
        return scrub(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n", secrets)


def normalise(
    method: str, path: str, query: bytes | str, headers: Iterable[tuple[bytes, bytes]], body: bytes
) -> NormalisedRequest:
    """What identifies a request: method, path, query (credentials dropped), the body's JSON."""
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    text = query.decode("latin-1") if isinstance(query, bytes) else query
    pairs = {k: v for k, v in parse_qsl(text, keep_blank_values=True) if not is_secret(k.lower())}
    kept = request_headers_kept(headers)
    parsed: Any = None
    digest = None
    if body:
        try:
            parsed = orjson.loads(orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS))
        except orjson.JSONDecodeError:
            digest = hashlib.sha256(_without_boundary(body, kept.get("content-type", ""))).hexdigest()
    return NormalisedRequest(method.upper(), path, dict(sorted(pairs.items())), parsed, digest, kept)


def _without_boundary(body: bytes, content_type: str) -> bytes:
    found = _BOUNDARY.search(content_type.encode("latin-1"))
    return body.replace(found.group(1), b"BOUNDARY") if found else body


def request_headers_kept(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The request headers a recording shows: credentials masked, volatile ones left out."""
    kept = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if name in _DROPPED_REQUEST or name.startswith("x-stainless-"):
            continue
        kept[name] = MASK if is_secret(name) else raw_value.decode("latin-1")
    return dict(sorted(kept.items()))


def response_headers_kept(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The response headers worth replaying: content type, rate-limit figures, retry advice, ..."""
    return {
        name.lower(): value
        for name, value in headers
        if name.lower() not in _DROPPED_RESPONSE and not is_secret(name.lower())
    }


def split_events(raw: bytes) -> tuple[list[str], bytes]:
    """Complete SSE events (without their blank line) and what is left over."""
    parts = raw.split(b"\n\n")
    return [p.decode("utf-8") for p in parts[:-1]], parts[-1]


def event_entry(event: str, ms: int) -> dict[str, Any]:
    lines = event.split("\n")
    if len(lines) == 1 and lines[0].startswith("data: "):
        return {"ms": ms, "data": lines[0][len("data: ") :]}
    return {"ms": ms, "raw": event}


def scrub(data: bytes, secrets: Sequence[str]) -> bytes:
    """Every occurrence of a secret, plain or JSON-escaped, replaced by the mask."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret.encode(), orjson.dumps(secret)[1:-1]}:
            data = data.replace(form, MASK.encode())
    return data


def _leaves(value: Any, path: tuple[Any, ...], into: list[tuple[tuple[Any, ...], str]]) -> None:
    if isinstance(value, str):
        into.append((path, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            _leaves(item, (*path, key), into)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _leaves(item, (*path, index), into)


def _set_leaf(value: Any, path: tuple[Any, ...], text: str) -> None:
    for part in path[:-1]:
        value = value[part]
    value[path[-1]] = text


def _event_json(event: Mapping[str, Any]) -> tuple[Any, int | None]:
    """An event's JSON payload, and the line of its ``raw`` text it is on (None: the ``data`` entry)."""
    if "data" in event:
        lines, at = [event["data"]], None
    else:
        lines = str(event.get("raw", "")).split("\n")
        at = next((i for i, line in enumerate(lines) if line.startswith("data: ")), -1)
        if at < 0:
            return None, None
        lines = [lines[at][len("data: ") :]]
    try:
        return orjson.loads(lines[0]), at
    except orjson.JSONDecodeError:
        return None, None


def scrub_across_events(events: Sequence[Mapping[str, Any]], secrets: Sequence[str]) -> list[dict[str, Any]]:
    """A stream's events with every secret masked even where it arrives split across events: the text of each
    field (``choices.0.delta.content``, a Responses ``delta``) is read across the events in order, and the
    pieces a secret spans are masked in each event. (A secret whole within one event is left to ``scrub``.)"""
    secrets = [s for s in secrets if s]
    out = [dict(e) for e in events]
    if not secrets:
        return out
    payloads = [_event_json(e) for e in out]
    streams: dict[tuple[Any, ...], list[tuple[int, tuple[Any, ...], str]]] = {}
    for index, (payload, _) in enumerate(payloads):
        found: list[tuple[tuple[Any, ...], str]] = []
        _leaves(payload, (), found)
        for path, text in found:
            streams.setdefault(path, []).append((index, path, text))
    changed: set[int] = set()
    for pieces in streams.values():
        joined = "".join(text for _, _, text in pieces)
        covered = [False] * len(joined)
        starts: set[int] = set()
        for secret in secrets:
            at = joined.find(secret)
            while at >= 0:
                covered[at : at + len(secret)] = [True] * len(secret)
                starts.add(at)
                at = joined.find(secret, at + 1)
        if not starts:
            continue
        offset = 0
        for index, path, text in pieces:
            kept = []
            for i, char in enumerate(text):
                if offset + i in starts:
                    kept.append(MASK)
                if not covered[offset + i]:
                    kept.append(char)
            offset += len(text)
            new = "".join(kept)
            if new != text:
                _set_leaf(payloads[index][0], path, new)
                changed.add(index)
    for index in changed:
        payload, at = payloads[index]
        data = orjson.dumps(payload).decode()
        if at is None:
            out[index]["data"] = data
        else:
            lines = str(out[index]["raw"]).split("\n")
            lines[at] = "data: " + data
            out[index]["raw"] = "\n".join(lines)
    return out


def load_file(path: Path) -> Recording:
    try:
        raw = orjson.loads(path.read_bytes())
        if raw.get("format") != FORMAT:
            raise RecordingError(f"{path}: not a recording (format {raw.get('format')!r}, expected {FORMAT!r})")
        req = raw["request"]
        request = NormalisedRequest(
            str(req["method"]).upper(), str(req["path"]), {str(k): str(v) for k, v in (req.get("query") or {}).items()},
            req.get("body"), req.get("body_sha256"), dict(req.get("headers") or {}),
        )
        responses = [RecordedResponse.from_dict(r) for r in raw["responses"]]
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, RecordingError):
            raise
        raise RecordingError(f"{path}: cannot read the recording: {exc}") from None
    if not responses:
        raise RecordingError(f"{path}: the recording has no responses")
    return Recording(request, responses, path)


def load_dir(folder: Path) -> dict[str, Recording]:
    """Every recording under a folder, by the fingerprint of its (possibly hand-edited) request."""
    if not folder.is_dir():
        raise RecordingError(f"{folder}: no such folder of recordings")
    found: dict[str, Recording] = {}
    try:
        paths = sorted(folder.rglob("*.json"))
    except OSError as exc:
        raise RecordingError(f"{folder}: cannot list the recordings: {exc}") from None
    for path in paths:
        recording = load_file(path)
        found[recording.request.fingerprint] = recording
    return found


def differences(wanted: NormalisedRequest, recorded: NormalisedRequest, limit: int = 3) -> list[str]:
    """How a recorded request differs from the one asked, in words, the first few."""
    found: list[str] = []
    if wanted.method != recorded.method:
        found.append(f"method {recorded.method} (asked {wanted.method})")
    if wanted.path != recorded.path:
        found.append(f"path {recorded.path} (asked {wanted.path})")
    _diff("query", wanted.query, recorded.query, found)
    if wanted.body_sha256 != recorded.body_sha256:
        found.append("the (non-JSON) body differs")
    _diff("body", wanted.body, recorded.body, found)
    shown = found[:limit]
    if len(found) > limit:
        shown.append(f"and {len(found) - limit} more")
    return shown


def _diff(where: str, asked: Any, recorded: Any, found: list[str]) -> None:
    if isinstance(asked, dict) and isinstance(recorded, dict):
        for key in sorted(set(asked) | set(recorded)):
            if key not in recorded:
                found.append(f"{where}.{key} not recorded")
            elif key not in asked:
                found.append(f"{where}.{key} recorded as {_short(recorded[key])} (absent here)")
            else:
                _diff(f"{where}.{key}", asked[key], recorded[key], found)
    elif isinstance(asked, list) and isinstance(recorded, list) and len(asked) == len(recorded):
        for index, (a, r) in enumerate(zip(asked, recorded)):
            _diff(f"{where}[{index}]", a, r, found)
    elif asked != recorded:
        found.append(f"{where} recorded as {_short(recorded)}, here {_short(asked)}")


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 40 else text[:37] + "..."
