"""The log of injected faults and how the client answered each, for ``GET /_mock/faults``.

Each injection is recorded when it is decided; the HTTP layer adds how delivery went (``delivered``: when
it ended, whether the client closed the connection first). How the client answered is read from the
request journal at the time of asking (:func:`client_answers`): the journal links a retry to the attempt
it repeats (the SDK's ``x-stainless-retry-count``, or the same request within the wait the failure asked
for), so ``GET /_mock/faults`` and ``GET /_mock/requests`` always tell the same story. An injection whose
request has no retry in the journal reads ``not retried``.

With shared state (``--state redis://...``) the journal read is every process's
(:meth:`~aoai_mock.state.journal.Journal.gather`), so a retry that another process served counts, and the
injections listed are every process's (:mod:`aoai_mock.behaviour.shared_fault_log`, a :class:`Listing` read
from Redis); this log then keeps this process's own for the HTTP layer's word on their delivery.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aoai_mock.behaviour.scenarios.request_facts import RequestView
from aoai_mock.state.journal import retries_of
from aoai_mock.state.record import Record
from aoai_mock.wire.headers import RETRY_COUNT

__all__ = ["Injection", "FaultLog", "Listing", "Answers", "client_answers"]

# How the client answered an injection, read from the journal; None: no answer seen yet.
Answers = Callable[["Injection"], "dict[str, Any] | None"]


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
    delivered_at: float | None = None
    transport: dict[str, Any] = field(default_factory=dict)  # what the HTTP layer saw while delivering
    client: dict[str, Any] | None = None  # what the HTTP layer or a test said of the client's answer

    def as_dict(self, now: float, answered: dict[str, Any] | None = None) -> dict[str, Any]:
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
            "client": self.answer(now, answered),
        }

    def answer(self, now: float, answered: dict[str, Any] | None) -> dict[str, Any]:
        """What was said of the client's answer, else what the journal shows, else how long it has waited."""
        if self.client is not None:
            return dict(self.client)
        return dict(answered) if answered is not None else self._waiting(now)

    def _waiting(self, now: float) -> dict[str, Any]:
        since = self.delivered_at if self.delivered_at is not None else self.at
        return {"answer": "not retried", "waited_ms": _ms(max(0.0, now - since))}


class FaultLog:
    """The last ``size`` injections. The book locks it."""

    def __init__(self, size: int = 1000) -> None:
        self.size = size
        self._records: OrderedDict[int, Injection] = OrderedDict()
        self._count = 0

    def clear(self) -> None:
        self._records.clear()
        self._count = 0

    def add(self, at: float, view: RequestView, *, entry: str, source: str, kind: str, request_id: str | None,
            stream: bool) -> Injection:
        self._count += 1
        record = Injection(
            self._count, at, entry, source, kind, request_id, view.deployment, view.operation, stream,
            view.headers.get(RETRY_COUNT),
        )
        self._records[record.n] = record
        while len(self._records) > self.size:
            self._records.popitem(last=False)
        return record

    def get(self, n: int) -> Injection | None:
        return self._records.get(n)

    def records(self) -> list[Injection]:
        return list(self._records.values())

    def listing(self, now: float) -> Listing:
        return Listing(self.records(), self._count, now)


@dataclass(frozen=True, slots=True)
class Listing:
    """What a log lists: its ``records`` in order, how many were ``injected`` since it was last cleared (the
    oldest beyond its size are not kept), and ``now`` on the clock its records' times are read on."""

    records: list[Injection]
    injected: int
    now: float

    def totals(self, answers: dict[int, dict[str, Any]]) -> dict[str, Any]:
        records = self.records
        by_kind: dict[str, int] = {}
        for record in records:
            by_kind[record.kind] = by_kind.get(record.kind, 0) + 1
        retried = sum(1 for r in records if r.answer(0.0, answers.get(r.n)).get("answer") == "retried")
        return {"injected": self.injected, "kept": len(records), "by_kind": by_kind, "retried": retried,
                "not_retried": len(records) - retried}


def client_answers(journal: Iterable[Record]) -> Answers:
    """How the client answered each injection, as the journal links its requests (``journal``: a
    :class:`~aoai_mock.state.journal.Journal`, or the records :meth:`Journal.gather` gives): the retry of the
    faulted request (``after_ms`` from the end of the faulted response to the retry's arrival), or None."""
    records = list(journal)
    by_id = {record.request_id: record for record in records if record.request_id}
    by_seq = {record.seq: record for record in records}
    retry_of = {retry.of: (seq, retry) for seq, retry in retries_of(records).items()}

    def answer(injection: Injection) -> dict[str, Any] | None:
        faulted = by_id.get(injection.request_id) if injection.request_id else None
        found = retry_of.get(faulted.seq) if faulted is not None else None
        if found is None:
            return None
        seq, retry = found
        again = by_seq[seq]
        answered: dict[str, Any] = {
            "answer": "retried",
            "after_ms": retry.wait_ms,
            "measured_from": "response end",
            "request_id": again.request_id,
            "retry_count": next((v.decode("latin-1") for k, v in again.headers if k == b"x-stainless-retry-count"),
                                None),
        }
        if again.fault is not None:
            answered["faulted_again"] = True
        return answered

    return answer
