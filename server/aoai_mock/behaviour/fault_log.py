"""The log of injected faults and how the client answered each, for ``GET /_mock/faults``.

Each injection is recorded when it is decided. The HTTP layer adds how delivery went (``delivered``:
when it ended, whether the client closed the connection first). How the client answered is worked out
here: the next request with the same fingerprint (operation, deployment, api-version and body: what an
SDK's retry sends again) is its retry, ``after_ms`` after the fault was delivered (or decided, when the
HTTP layer did not report delivery). An injection with no such request yet reads ``not retried``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import orjson

from aoai_mock.behaviour.request_facts import RequestView

__all__ = ["Injection", "FaultLog", "fingerprint", "RETRY_COUNT_HEADER"]

RETRY_COUNT_HEADER = "x-stainless-retry-count"  # the openai SDK's attempt number, 0 for the first


def fingerprint(view: RequestView) -> bytes:
    """What a retry of the same call sends again: operation, deployment, api-version and body."""
    data = [view.operation, view.deployment, view.api_version, view.body]
    return hashlib.blake2b(orjson.dumps(data, default=str, option=orjson.OPT_SORT_KEYS), digest_size=16).digest()


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


@dataclass(slots=True)
class Injection:
    """One injected fault: what, where, when, and what happened after."""

    n: int
    at: float  # seconds since the book's origin
    entry: str
    source: str
    kind: str
    request_id: str | None
    deployment: str | None
    operation: str
    stream: bool
    retry_count: str | None  # the faulted request's x-stainless-retry-count, if it sent one
    fingerprint: bytes
    delivered_at: float | None = None
    transport: dict[str, Any] = field(default_factory=dict)  # what the HTTP layer saw while delivering
    client: dict[str, Any] | None = None  # how the client answered; None: no answer seen yet

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "n": self.n,
            "time_s": round(self.at, 3),
            "entry": self.entry,
            "source": self.source,
            "kind": self.kind,
            "request_id": self.request_id,
            "deployment": self.deployment,
            "operation": self.operation,
            "stream": self.stream,
            "retry_count": self.retry_count,
            "delivered_s": round(self.delivered_at, 3) if self.delivered_at is not None else None,
            "transport": dict(self.transport),
            "client": dict(self.client) if self.client is not None else self._waiting(now),
        }

    def _waiting(self, now: float) -> dict[str, Any]:
        since = self.delivered_at if self.delivered_at is not None else self.at
        return {"answer": "not retried", "waited_ms": _ms(max(0.0, now - since))}


class FaultLog:
    """The last ``size`` injections, and those still waiting for a retry by fingerprint. The book locks it."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._records: OrderedDict[int, Injection] = OrderedDict()
        self._open: dict[bytes, int] = {}
        self._count = 0

    def clear(self) -> None:
        self._records.clear()
        self._open.clear()
        self._count = 0

    @property
    def waiting(self) -> bool:
        """Some injection still waits for its retry (so requests need a fingerprint)."""
        return bool(self._open)

    def add(self, at: float, view: RequestView, key: bytes, *, entry: str, source: str, kind: str,
            request_id: str | None, stream: bool) -> Injection:
        self._count += 1
        record = Injection(
            self._count, at, entry, source, kind, request_id, view.deployment, view.operation, stream,
            view.headers.get(RETRY_COUNT_HEADER), key,
        )
        self._records[record.n] = record
        self._open[key] = record.n
        while len(self._records) > self.size:
            _, old = self._records.popitem(last=False)
            if self._open.get(old.fingerprint) == old.n:
                del self._open[old.fingerprint]
        return record

    def observe(self, key: bytes, at: float, view: RequestView, request_id: str | None) -> Injection | None:
        """A request arrived: if it repeats a faulted one, that fault was retried. Returns the retried injection."""
        n = self._open.pop(key, None)
        record = self._records.get(n) if n is not None else None
        if record is None:
            return None
        since = record.delivered_at if record.delivered_at is not None else record.at
        record.client = {
            **(record.client or {}),
            "answer": "retried",
            "after_ms": _ms(max(0.0, at - since)),
            "measured_from": "delivered" if record.delivered_at is not None else "decided",
            "request_id": request_id,
            "retry_count": view.headers.get(RETRY_COUNT_HEADER),
        }
        return record

    def get(self, n: int) -> Injection | None:
        return self._records.get(n)

    def records(self) -> list[Injection]:
        return list(self._records.values())

    def totals(self) -> dict[str, Any]:
        records = self._records.values()
        by_kind: dict[str, int] = {}
        for record in records:
            by_kind[record.kind] = by_kind.get(record.kind, 0) + 1
        retried = sum(1 for r in records if r.client is not None and r.client.get("answer") == "retried")
        return {"injected": self._count, "kept": len(records), "by_kind": by_kind, "retried": retried,
                "not_retried": len(records) - retried}
