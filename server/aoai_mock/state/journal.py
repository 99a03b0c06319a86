"""The request journal: the last ``capacity`` requests, kept raw and described only when read.

Recording sits on the hot path, so :meth:`Journal.record` stores what the front door already holds (the
ASGI header list, the raw query and body bytes, two monotonic readings) in one tuple and appends it to a
bounded deque: no decoding, no masking, no JSON. All of that happens in :meth:`Journal.entries`.

One entry, as :meth:`Journal.entries` and ``GET /_mock/requests`` give it::

    {
      "seq": 17,                    # numbers entries in the order they were recorded (their response ended),
                                    # from 1; never reused, not even after clear()
      "id": "5f0c...",              # the request id the mock answered with (x-request-id), or null
      "time": "2025-01-01T00:00:00.123Z",   # arrival, UTC, milliseconds
      "method": "POST",
      "path": "/openai/deployments/gpt-4o/chat/completions",
      "query": {"api-version": "2024-10-21"},   # a repeated name gives a list of its values
      "headers": {"api-key": "***", ...},       # lower-case names, repeats joined with ", ", secrets masked
      "body": {...},                # parsed JSON, else text, else base64 (see body_encoding); null if empty
      "body_encoding": "json",      # "json", "text", "base64", or null when there was no body
      "body_size": 123,             # bytes received
      "body_truncated": false,      # true: only the first 64 KiB were kept (and shown as text or base64)
      "deployment": "gpt-4o", "operation": "chat.completions", "scenario": null, "rule": null,
      "status": 200, "stream": false,
      "duration_ms": 1.234,         # arrival to the end of the response
      "response_headers": {}        # on errors: retry-after, retry-after-ms, x-should-retry, x-ratelimit-*
    }

Two more keys tell retries apart: ``"retry_count"`` is the SDK's ``x-stainless-retry-count`` header (null
when not sent), and ``"retry"`` is null for a first attempt, else ``{"of": seq of the previous attempt,
"attempt": 2 for the first retry..., "wait_ms": from the end of that attempt's response to this arrival,
"after_status": what that attempt got}``. A request is a retry of an earlier one with the same method,
path, query and body when it says so (``x-stainless-retry-count`` above 0), or, without that header, when
the earlier one failed (status 400 or more) at most :data:`RETRY_WINDOW` seconds before.

The shape is open: readers must ignore keys they do not know. Masked
values are ``"***"`` whatever their length: a header whose name is ``api-key``, ``authorization``,
``x-aoai-mock-admin-key``, ``ocp-apim-subscription-key``, ``cookie``, or contains ``key``, ``token``,
``secret``, ``auth``, ``password`` or ``signature``; query parameters by the same rule (plus ``sig``).

Filters (:class:`Filters`, parsed from strings by :meth:`Filters.parse`): ``deployment``, ``operation``,
``scenario`` (exact), ``status`` (``429`` or a class, ``4xx``), ``since`` and ``limit``. ``since`` is a
sequence number (entries recorded after it: ``seq > since``, so polling with the highest ``seq`` seen
never misses or repeats one) or an ISO-8601 time (entries that arrived at or after it; no offset means
UTC). ``limit`` keeps the newest ``n`` matches. Entries come back in order of arrival.
"""

from __future__ import annotations

import base64
import itertools
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson

__all__ = ["Journal", "Entry", "Filters", "FilterError", "BODY_LIMIT", "MASK", "is_secret"]

BODY_LIMIT = 64 * 1024  # bytes of a body the journal keeps
MASK = "***"

Headers = Sequence[tuple[bytes, bytes]]

_SECRET_NAMES = frozenset(
    {"api-key", "authorization", "x-aoai-mock-admin-key", "ocp-apim-subscription-key", "cookie", "sig"}
)
_SECRET_PARTS = ("key", "token", "secret", "auth", "password", "signature")


def is_secret(name: str) -> bool:
    """Whether a header or query parameter (lower-case name) carries a credential."""
    return name in _SECRET_NAMES or any(part in name for part in _SECRET_PARTS)


class Entry(NamedTuple):
    """One request as recorded: raw values only. New fields go at the end (and into ``record``)."""

    seq: int
    wall: float  # the injected clock when recorded (the end of the response)
    start: float  # monotonic, arrival
    end: float  # monotonic, end of the response
    method: str
    path: str
    query: bytes
    headers: Headers
    body: bytes  # at most BODY_LIMIT bytes
    body_size: int
    status: int
    stream: bool
    request_id: str | None
    deployment: str | None
    operation: str | None
    scenario: str | None
    rule: str | None
    response_headers: Headers | None

    @property
    def arrived(self) -> float:
        """Wall time of arrival, in seconds since the epoch."""
        return self.wall - (self.end - self.start)


_new_entry = tuple.__new__  # builds an Entry from one tuple without NamedTuple's Python-level __new__


class Journal:
    """A ring buffer of the last ``capacity`` requests; ``clock`` gives wall time (``time.time``)."""

    def __init__(self, capacity: int, clock: Callable[[], float] = time.time) -> None:
        if capacity < 1:
            raise ValueError("the journal keeps at least one request")
        self.capacity = capacity
        self._clock = clock
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._seq = itertools.count(1)

    def record(
        self,
        start: float,
        end: float,
        method: str,
        path: str,
        query: bytes,
        headers: Headers,
        body: bytes,
        status: int,
        stream: bool = False,
        request_id: str | None = None,
        deployment: str | None = None,
        operation: str | None = None,
        scenario: str | None = None,
        rule: str | None = None,
        response_headers: Headers | None = None,
    ) -> int:
        """Keep one request; call once, when its response has ended. Returns the entry's ``seq``.

        ``start``/``end``: ``time.monotonic()`` (or ``perf_counter``) at arrival and at the end of the
        response; ``query``: ``scope["query_string"]``; ``headers``: ``scope["headers"]`` as is (kept by
        reference: do not change it afterwards); ``body``: the bytes received (only the first
        :data:`BODY_LIMIT` are kept); ``response_headers``: the few worth keeping, as ASGI pairs.
        """
        size = len(body)
        if size > BODY_LIMIT:
            body = body[:BODY_LIMIT]
        seq = next(self._seq)
        self._entries.append(
            _new_entry(
                Entry,
                (
                    seq, self._clock(), start, end, method, path, query, headers, body, size, status,
                    stream, request_id, deployment, operation, scenario, rule, response_headers,
                ),
            )
        )
        return seq

    def entries(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """The entries that pass ``filters``, described, in order of arrival."""
        chosen = filters or Filters()
        every = sorted(self._entries, key=_arrival)
        retries = _retries(every)
        found = [entry for entry in every if chosen.matches(entry)]
        if chosen.limit is not None:
            found = found[-chosen.limit :]
        return [describe(entry, retries.get(entry.seq)) for entry in found]

    def clear(self) -> int:
        """Forget every entry (sequence numbers carry on); returns how many there were."""
        count = len(self._entries)
        self._entries.clear()
        return count

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        """The raw entries, oldest recorded first (a snapshot)."""
        return iter(list(self._entries))


def _arrival(entry: Entry) -> float:
    return entry.start


# Reading: filters ---------------------------------------------------------------------------------------


class FilterError(ValueError):
    """A filter the journal does not know, or a value it cannot use; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


_FILTER_NAMES = ("deployment", "operation", "status", "scenario", "since", "limit")


@dataclass(frozen=True, slots=True)
class Filters:
    """Which entries to read; ``None`` means any. See the module docstring for each one's meaning."""

    deployment: str | None = None
    operation: str | None = None
    scenario: str | None = None
    status: int | None = None  # exact
    status_class: int | None = None  # 4 for "4xx"
    since_seq: int | None = None  # seq > since_seq
    since_time: float | None = None  # arrived at or after, seconds since the epoch
    limit: int | None = None  # the newest n matches

    def matches(self, entry: Entry) -> bool:
        return (
            (self.deployment is None or entry.deployment == self.deployment)
            and (self.operation is None or entry.operation == self.operation)
            and (self.scenario is None or entry.scenario == self.scenario)
            and (self.status is None or entry.status == self.status)
            and (self.status_class is None or entry.status // 100 == self.status_class)
            and (self.since_seq is None or entry.seq > self.since_seq)
            and (self.since_time is None or entry.arrived >= self.since_time)
        )

    @classmethod
    def parse(cls, params: Iterable[tuple[str, str]]) -> Filters:
        """Filters from query-string pairs; raises :class:`FilterError` on unknown names or bad values."""
        given: dict[str, str] = {}
        for name, value in params:
            if name not in _FILTER_NAMES:
                known = ", ".join(_FILTER_NAMES)
                raise FilterError(name, f"Unknown filter {name!r}; the filters are: {known}.")
            if name in given:
                raise FilterError(name, f"The filter {name!r} is given more than once.")
            if not value.strip():
                raise FilterError(name, f"The filter {name!r} needs a value.")
            given[name] = value.strip()
        values: dict[str, Any] = {k: given[k] for k in ("deployment", "operation", "scenario") if k in given}
        if "status" in given:
            values.update(_parse_status(given["status"]))
        if "since" in given:
            values.update(_parse_since(given["since"]))
        if "limit" in given:
            values["limit"] = _parse_limit(given["limit"])
        return cls(**values)


def _whole(value: str) -> int | None:
    """A whole number written in ASCII digits (``"²".isdigit()`` is true, but ``int`` refuses it)."""
    return int(value) if value.isascii() and value.isdigit() else None


def _parse_status(value: str) -> dict[str, int]:
    if len(value) == 3 and value[1:].lower() == "xx" and value[0] in "12345":
        return {"status_class": int(value[0])}
    number = _whole(value)
    if number is not None and 100 <= number <= 599:
        return {"status": number}
    raise FilterError("status", f"The status filter takes a status (429) or a class (4xx), not {value!r}.")


def _parse_since(value: str) -> dict[str, int | float]:
    number = _whole(value)
    if number is not None:
        return {"since_seq": number}
    # A "+" of an unencoded offset arrives as a space: "...T10:00:00 01:00".
    for text in (value, "+".join(value.rsplit(" ", 1))):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return {"since_time": moment.timestamp()}
    raise FilterError(
        "since", f"The since filter takes a sequence number or an ISO-8601 time, not {value!r}."
    )


def _parse_limit(value: str) -> int:
    number = _whole(value)
    if number is not None and number >= 1:
        return number
    raise FilterError("limit", f"The limit filter takes a whole number of at least 1, not {value!r}.")


# Reading: describing an entry ---------------------------------------------------------------------------


RETRY_WINDOW = 300.0  # seconds: an identical request after a failure this recent is taken for a retry
_RETRY_HEADER = b"x-stainless-retry-count"


@dataclass(frozen=True, slots=True)
class Retry:
    """How one request follows an earlier attempt of the same request."""

    of: int  # seq of the previous attempt
    attempt: int  # 2 for the first retry, 3 for the second, ...
    wait_ms: float  # from the end of the previous attempt's response to this request's arrival
    after_status: int  # what the previous attempt got


def _retry_count(entry: Entry) -> int | None:
    for name, value in entry.headers:
        if name == _RETRY_HEADER:
            return int(value) if value.isdigit() else None
    return None


def _retries(entries: Sequence[Entry]) -> dict[int, Retry]:
    """Which entries retry an earlier one: the same method, path, query and body, and either the SDK's
    ``x-stainless-retry-count`` above 0 or an earlier attempt that failed (status >= 400) shortly before."""
    last: dict[tuple[str, str, bytes, bytes], tuple[Entry, int]] = {}
    found: dict[int, Retry] = {}
    for entry in entries:
        key = (entry.method, entry.path, entry.query, entry.body)
        previous = last.get(key)
        attempt = 1
        if previous is not None:
            before, before_attempt = previous
            wait = entry.start - before.end
            counted = _retry_count(entry)
            failed_recently = before.status >= 400 and 0 <= wait <= RETRY_WINDOW
            if (counted is not None and counted > 0) or (counted is None and failed_recently):
                attempt = before_attempt + 1
                found[entry.seq] = Retry(before.seq, attempt, round(wait * 1000, 3), before.status)
        last[key] = (entry, attempt)
    return found


def describe(entry: Entry, retry: Retry | None = None) -> dict[str, Any]:
    """The documented dict of one entry: decoded, parsed and masked."""
    body, encoding = _decode_body(entry.body, truncated=entry.body_size > len(entry.body))
    return {
        "seq": entry.seq,
        "id": entry.request_id,
        "time": _iso(entry.arrived),
        "method": entry.method,
        "path": entry.path,
        "query": _query_dict(entry.query),
        "headers": _header_dict(entry.headers, mask=True),
        "body": body,
        "body_encoding": encoding,
        "body_size": entry.body_size,
        "body_truncated": entry.body_size > len(entry.body),
        "deployment": entry.deployment,
        "operation": entry.operation,
        "scenario": entry.scenario,
        "rule": entry.rule,
        "status": entry.status,
        "stream": entry.stream,
        "duration_ms": round((entry.end - entry.start) * 1000, 3),
        # Written by the mock itself, so nothing to hide (and rate-limit names contain "tokens").
        "response_headers": _header_dict(entry.response_headers or (), mask=False),
        "retry_count": _retry_count(entry),
        "retry": None
        if retry is None
        else {"of": retry.of, "attempt": retry.attempt, "wait_ms": retry.wait_ms, "after_status": retry.after_status},
    }


def _iso(moment: float) -> str:
    text = datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds")
    return text.removesuffix("+00:00") + "Z"


def _header_dict(headers: Headers, mask: bool) -> dict[str, str]:
    found: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        value = MASK if mask and is_secret(name) else raw_value.decode("latin-1")
        found[name] = f"{found[name]}, {value}" if name in found else value
    return found


def _query_dict(query: bytes) -> dict[str, str | list[str]]:
    found: dict[str, str | list[str]] = {}
    for name, raw_value in parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True):
        value = MASK if is_secret(name.lower()) else raw_value
        if name not in found:
            found[name] = value
            continue
        previous = found[name]
        found[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
    return found


def _decode_body(body: bytes, truncated: bool) -> tuple[Any, str | None]:
    """``(value, encoding)``: JSON when the whole body parses, else UTF-8 text, else base64."""
    if not body:
        return None, None
    if not truncated:
        try:
            return orjson.loads(body), "json"
        except orjson.JSONDecodeError:
            pass
    # A cut body may end inside a character: drop at most three bytes of it.
    for cut in range(4 if truncated else 1):
        try:
            return body[: len(body) - cut].decode("utf-8"), "text"
        except UnicodeDecodeError:
            continue
    return base64.b64encode(body).decode("ascii"), "base64"
