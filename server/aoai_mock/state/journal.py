"""The request journal: the :class:`~aoai_mock.state.record.Record` of the last ``capacity`` requests,
kept raw and described only when read.

Recording sits on the hot path, so :meth:`Journal.add` appends the record the front door made (raw
header list, query and body bytes, monotonic readings) to a bounded deque: no decoding, no masking, no
JSON. All of that happens in :meth:`Journal.entries`.

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
      "deployment": "gpt-4o", "operation": "chat.completions", "api_version": "2024-10-21",
      "scenario": "weather", "rule": "forecast",  # the scenario and rule that answered; rule "(default reply)"
                                    # when the scenario's default answered; both null when no scenario did
      "responder": "echo",          # the responder that wrote the answer, when one did
      "fault": {"kind": "cut", "source": "header", "effect": "cut after 3 events"},   # or null
      "quota": {"cost": 1040, "admitted": true},   # an enforced quota's decision, or null; a provisioned
                                    # deployment's has "utilization" too (percent, after it), and, when a standard
                                    # deployment answered in its place, "spillover": {"from": "gpt-4o-ptu", "to":
                                    # "gpt-4o-paygo", "status": 429 (why), "error": null (the standard one's status
                                    # when it failed too), "quota": null (its own quota's decision)}
                                    # (docs/provisioned.md)
      "tokens": {"prompt": 12, "completion": 30},  # where the family reports usage, else null
      "status": 200,                # the status line sent; null when none was (hung, closed, reset)
      "outcome": "sent",            # "sent", "hung", "closed", "reset", "cut", "malformed", "error_event",
                                    # "client_closed"
      "stream": false, "events": null,   # events: how many SSE events went out, for a stream
      "duration_ms": 1.234,         # arrival to the end of the response
      "timings": {"received": "...", "first_byte_ms": 0.9, "last_byte_ms": 1.234},
      "response_headers": {},       # on errors: retry-after, retry-after-ms, x-should-retry, x-ratelimit-*
      "response": {"body": {...}, "body_encoding": "json", "body_size": 512, "body_truncated": false}
    }

A streamed response's ``body`` is the event stream as sent (``"text"``); its ``response`` also has
``"sse"``, the stream's whole events in order, each ``{"event": name or null, "data": parsed JSON, else the
text}`` (``"[DONE]"`` stays text), so a reader need not parse the stream itself. An event the 64 KiB cut
ends inside is left out, and an event a fault broke keeps its data as text.

Two more keys tell retries apart: ``"retry_count"`` is the SDK's ``x-stainless-retry-count`` header (null
when not sent), and ``"retry"`` is null for a first attempt, else ``{"of": seq of the previous attempt,
"attempt": 2 for the first retry..., "wait_ms": from the end of that attempt's response to this arrival,
"after_status": what that attempt got, "after_outcome": how it ended}``. A request is a retry of the
latest earlier one with the same method, path, query and body when the SDK says so
(``x-stainless-retry-count`` above 0), or when that earlier one failed (an error status or a broken
delivery) and this one arrived within the wait it asked for (``retry-after-ms``, ``retry-after``, else
the SDK's longest backoff, :data:`DEFAULT_BACKOFF`), plus :data:`RETRY_MARGIN` and a tenth. Clients
that retry on their own (sending ``x-stainless-retry-count: 0`` on every attempt, or nothing) are linked
by the second rule. ``GET /_mock/faults`` reads the same links, so the two never disagree.

The shape is open: readers must ignore keys they do not know. Masked
values are ``"***"`` whatever their length: a header whose name is ``api-key``, ``authorization``,
``x-aoai-mock-admin-key``, ``ocp-apim-subscription-key``, ``cookie``, or contains ``key``, ``token``,
``secret``, ``auth``, ``password`` or ``signature``; query parameters by the same rule (plus ``sig``).

Filters (:class:`Filters`, parsed from strings by :meth:`Filters.parse`): ``deployment``, ``operation``,
``scenario``, ``rule``, ``id`` (the request id), ``path``, ``fault`` (its kind) and ``outcome`` (exact),
``status`` (``429`` or a class, ``4xx``), ``since`` and ``limit``. ``since`` is a
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
from typing import Any
from urllib.parse import parse_qsl

import orjson

from aoai_mock.state.record import BODY_LIMIT, SENT, Headers, Record

__all__ = [
    "Journal", "Record", "Filters", "FilterError", "BODY_LIMIT", "MASK", "is_secret", "describe", "listing",
    "retries_of",
]

MASK = "***"

_SECRET_NAMES = frozenset(
    {"api-key", "authorization", "x-aoai-mock-admin-key", "ocp-apim-subscription-key", "cookie", "sig"}
)
_SECRET_PARTS = ("key", "token", "secret", "auth", "password", "signature")


def is_secret(name: str) -> bool:
    """Whether a header or query parameter (lower-case name) carries a credential."""
    return name in _SECRET_NAMES or any(part in name for part in _SECRET_PARTS)


class Journal:
    """A ring buffer of the last ``capacity`` requests; ``clock`` gives wall time (``time.time``)."""

    def __init__(self, capacity: int, clock: Callable[[], float] = time.time) -> None:
        if capacity < 1:
            raise ValueError("the journal keeps at least one request")
        self.capacity = capacity
        self._clock = clock
        self._entries: deque[Record] = deque(maxlen=capacity)
        self._seq = itertools.count(1)

    def add(self, record: Record) -> int:
        """Keep one request's record; call once, when its response has ended. Returns its ``seq``.

        The record is kept by reference: nothing may change it afterwards.
        """
        record.seq = seq = next(self._seq)
        record.wall = self._clock()
        self._entries.append(record)
        return seq

    def entries(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """The entries that pass ``filters``, described, in order of arrival."""
        return listing(self._entries, filters)

    def retries(self) -> dict[int, Retry]:
        """Which kept entries retry an earlier one, by ``seq`` (the rule of :func:`_retries`)."""
        return retries_of(self._entries)

    def clear(self) -> int:
        """Forget every entry (sequence numbers carry on); returns how many there were."""
        count = len(self._entries)
        self._entries.clear()
        return count

    async def read(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        """:meth:`entries` as ``GET /_mock/requests`` gives them: of every process when the journal is shared
        (:class:`~aoai_mock.state.shared_journal.SharedJournal`), else this one's."""
        return self.entries(filters)

    async def clear_all(self) -> int:
        """:meth:`clear`, for every process when the journal is shared."""
        return self.clear()

    async def gather(self) -> list[Record]:
        """The raw entries (a snapshot), of every process when the journal is shared."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Record]:
        """The raw entries, oldest recorded first (a snapshot)."""
        return iter(list(self._entries))


def _arrival(entry: Record) -> float:
    return entry.start


def listing(records: Iterable[Record], filters: Filters | None = None) -> list[dict[str, Any]]:
    """The ``records`` that pass ``filters``, described, in order of arrival, each with its retry link."""
    chosen = filters or Filters()
    every = sorted(records, key=_arrival)
    retries = _retries(every)
    found = [entry for entry in every if chosen.matches(entry)]
    if chosen.limit is not None:
        found = found[-chosen.limit :]
    return [describe(entry, retries.get(entry.seq)) for entry in found]


def retries_of(records: Iterable[Record]) -> dict[int, Retry]:
    """Which of ``records`` retry an earlier one, by ``seq`` (the rule of :func:`is_retry`)."""
    return _retries(sorted(records, key=_arrival))


# Reading: filters ---------------------------------------------------------------------------------------


class FilterError(ValueError):
    """A filter the journal does not know, or a value it cannot use; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


_FILTER_NAMES = ("deployment", "operation", "status", "scenario", "rule", "id", "path", "fault", "outcome", "since",
                 "limit")
_EXACT = ("deployment", "operation", "scenario", "rule", "id", "path", "fault", "outcome")


@dataclass(frozen=True, slots=True)
class Filters:
    """Which entries to read; ``None`` means any. See the module docstring for each one's meaning."""

    deployment: str | None = None
    operation: str | None = None
    scenario: str | None = None
    rule: str | None = None
    id: str | None = None  # the request id (x-request-id)
    path: str | None = None
    fault: str | None = None  # the kind of fault injected
    outcome: str | None = None  # "sent", "cut", "hung", ...
    status: int | None = None  # exact
    status_class: int | None = None  # 4 for "4xx"
    since_seq: int | None = None  # seq > since_seq
    since_time: float | None = None  # arrived at or after, seconds since the epoch
    limit: int | None = None  # the newest n matches

    def matches(self, entry: Record) -> bool:
        return (
            (self.deployment is None or entry.deployment == self.deployment)
            and (self.operation is None or entry.operation == self.operation)
            and (self.scenario is None or entry.scenario == self.scenario)
            and (self.rule is None or entry.rule == self.rule)
            and (self.id is None or entry.request_id == self.id)
            and (self.path is None or entry.path == self.path)
            and (self.fault is None or entry.fault == self.fault)
            and (self.outcome is None or entry.outcome == self.outcome)
            and (self.status is None or entry.status == self.status)
            and (self.status_class is None or (entry.status or 0) // 100 == self.status_class)
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
        values: dict[str, Any] = {k: given[k] for k in _EXACT if k in given}
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


# A request without the SDK's attempt number is taken for a retry of the same request that failed just
# before when it arrives within the wait the failure asked for (retry-after-ms, retry-after), or the openai
# SDK's longest backoff when it asked for none, plus a margin for the client's own work and jitter.
DEFAULT_BACKOFF = 8.0  # seconds: the openai SDKs' longest wait between attempts
RETRY_MARGIN = 2.0  # seconds, plus a tenth of the wait asked for
_RETRY_HEADER = b"x-stainless-retry-count"


@dataclass(frozen=True, slots=True)
class Retry:
    """How one request follows an earlier attempt of the same request."""

    of: int  # seq of the previous attempt
    attempt: int  # 2 for the first retry, 3 for the second, ...
    wait_ms: float  # from the end of the previous attempt's response to this request's arrival
    after_status: int | None  # what the previous attempt got (None: no status line, see its outcome)
    after_outcome: str  # how the previous attempt's response ended ("sent", "reset", "cut", ...)


def _header(entry: Record, name: bytes) -> bytes | None:
    for key, value in entry.headers:
        if key == name:
            return value
    return None


def _retry_count(entry: Record) -> int | None:
    value = _header(entry, _RETRY_HEADER)
    return int(value) if value is not None and value.isdigit() else None


def failed(entry: Record) -> bool:
    """The attempt did not get a whole successful answer: an error status, or a broken delivery."""
    return entry.status is None or entry.status >= 400 or entry.outcome not in (SENT,)


def asked_wait(entry: Record) -> float:
    """Seconds the failed attempt asked the client to wait: retry-after-ms, retry-after, else the SDK's backoff."""
    for name, scale in ((b"retry-after-ms", 0.001), (b"retry-after", 1.0)):
        for key, value in entry.response_headers or ():
            if key == name:
                try:
                    return float(value) * scale
                except ValueError:
                    break
    return DEFAULT_BACKOFF


def is_retry(entry: Record, before: Record) -> bool:
    """``entry`` (the same method, path, query and body as ``before``) retries ``before``: the SDK says so
    (``x-stainless-retry-count`` above 0), or ``before`` failed and ``entry`` came within the wait it asked for."""
    counted = _retry_count(entry)
    if counted is not None and counted > 0:
        return True
    if not failed(before):
        return False
    wait = entry.start - (before.end if before.end is not None else before.start)
    allowed = asked_wait(before)
    return 0 <= wait <= allowed * 1.1 + RETRY_MARGIN


def _retries(entries: Sequence[Record]) -> dict[int, Retry]:
    """Which entries retry an earlier one (see :func:`is_retry`), by ``seq``; ``entries`` in order of arrival."""
    last: dict[tuple[str, str, bytes, bytes], tuple[Record, int]] = {}
    found: dict[int, Retry] = {}
    for entry in entries:
        key = (entry.method, entry.path, entry.query, entry.body)
        previous = last.get(key)
        attempt = 1
        if previous is not None and is_retry(entry, previous[0]):
            before, before_attempt = previous
            attempt = before_attempt + 1
            wait = entry.start - (before.end if before.end is not None else before.start)
            found[entry.seq] = Retry(before.seq, attempt, round(wait * 1000, 3), before.status, before.outcome)
        last[key] = (entry, attempt)
    return found


def _ms(since: float, moment: float | None) -> float | None:
    return round((moment - since) * 1000, 3) if moment is not None else None


def describe(entry: Record, retry: Retry | None = None) -> dict[str, Any]:
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
        "api_version": entry.api_version,
        "scenario": entry.scenario,
        "rule": entry.rule,
        "responder": entry.responder,
        "fault": None
        if entry.fault is None
        else {"kind": entry.fault, "source": entry.fault_source, "effect": entry.fault_effect},
        "quota": entry.quota,
        "tokens": None
        if entry.tokens_in is None and entry.tokens_out is None
        else {"prompt": entry.tokens_in, "completion": entry.tokens_out},
        "status": entry.status,
        "outcome": entry.outcome,
        "stream": entry.stream,
        "events": entry.events,
        "duration_ms": round(entry.duration * 1000, 3),
        "timings": {
            "received": _iso(entry.arrived),
            "first_byte_ms": _ms(entry.start, entry.first_byte),
            "last_byte_ms": _ms(entry.start, entry.end),
        },
        # Written by the mock itself, so nothing to hide (and rate-limit names contain "tokens").
        "response_headers": _header_dict(entry.response_headers or (), mask=False),
        "response": _response(entry),
        "retry_count": _retry_count(entry),
        "retry": None
        if retry is None
        else {"of": retry.of, "attempt": retry.attempt, "wait_ms": retry.wait_ms, "after_status": retry.after_status,
              "after_outcome": retry.after_outcome},
    }


def _response(entry: Record) -> dict[str, Any]:
    """What was sent back: the body (the first BODY_LIMIT bytes), as JSON, text or base64."""
    truncated = entry.response_size > len(entry.response_body)
    body, encoding = _decode_body(entry.response_body, truncated=truncated)
    found = {"body": body, "body_encoding": encoding, "body_size": entry.response_size, "body_truncated": truncated}
    if entry.stream and encoding == "text":
        found["sse"] = _sse_events(body, truncated)
    return found


def _sse_events(text: str, truncated: bool) -> list[dict[str, Any]]:
    """The events of a stream as sent: ``event:`` and ``data:`` lines, blocks separated by a blank line."""
    blocks = text.replace("\r\n", "\n").split("\n\n")
    if truncated:
        blocks.pop()  # the 64 KiB cut ends inside it
    events = []
    for block in blocks:
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if name is not None or data:
            events.append({"event": name, "data": _event_data("\n".join(data))})
    return events


def _event_data(data: str) -> Any:
    if data[:1] not in ("{", "["):
        return data
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return data


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
            value = orjson.loads(body)
            if body.count(b"[") + body.count(b"{") > 200:  # deep enough that writing it back may fail
                orjson.dumps(value)  # a body nested past what orjson writes is kept as text
            return value, "json"
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
    # A cut body may end inside a character: drop at most three bytes of it.
    for cut in range(4 if truncated else 1):
        try:
            return body[: len(body) - cut].decode("utf-8"), "text"
        except UnicodeDecodeError:
            continue
    return base64.b64encode(body).decode("ascii"), "base64"
