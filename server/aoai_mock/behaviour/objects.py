"""What the resource families (files, batches, fine-tuning jobs) share: ids, timing, list parameters, JSONL.

* **Ids** come from ``runtime.ids``: random, or derived from ``--seed`` and a per-family serial kept in the
  store (kind ``"serial"``), so that seeded ids repeat from run to run and stay unique across a restart with
  ``--state``. Children of an object (a job's events and checkpoints) derive their ids from the parent's.
* **Timing**: a lifecycle measures the seconds since its object was created with ``runtime.clock.now`` (which
  tests replace), kept in the private key ``_t0``. The wire timestamps are ``created_at`` (frozen with
  ``--seed``) plus the scheduled offsets, so they are deterministic too.
* **Private keys** start with ``_``; :func:`public` drops them before a doc goes on the wire.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import InvalidResourceRequest
from aoai_mock.state.store import Order, Page, Store, paginate
from aoai_mock.wire.json_depth import MAX_DEPTH, too_deep

__all__ = [
    "ListQuery",
    "JsonlLine",
    "mint_hex",
    "mint_uuid",
    "derived_hex",
    "as_uuid",
    "public",
    "elapsed",
    "offset_time",
    "parse_jsonl",
    "each_shown",
    "each_looked",
    "MAX_LIMIT",
]

MAX_LIMIT = 100
SERIAL_KIND = "serial"
Doc = dict[str, Any]
T = TypeVar("T")
log = logging.getLogger("aoai_mock")


async def _next_serial(store: Store, family: str) -> int:
    return await store.next_serial(family)  # one atomic step where processes share the store (Redis)


async def mint_hex(runtime: Runtime, family: str) -> str:
    """32 hex digits for a new object of ``family`` (``file``, ``batch``, ``ftjob``, ...)."""
    key = f"{family}:{await _next_serial(runtime.store, family)}".encode()
    raw = runtime.ids.object_id("", key, length=24)
    return hashlib.blake2b(raw.encode("ascii"), digest_size=16).hexdigest()


def as_uuid(hex32: str) -> str:
    return f"{hex32[:8]}-{hex32[8:12]}-{hex32[12:16]}-{hex32[16:20]}-{hex32[20:32]}"


async def mint_uuid(runtime: Runtime, family: str) -> str:
    """A uuid-shaped id part (Azure's batch ids and batch output file ids look like ``batch_<uuid>``)."""
    return as_uuid(await mint_hex(runtime, family))


def derived_hex(parent: str, what: str, length: int = 32) -> str:
    """Hex digits for a child object: the same parent and name always give the same id."""
    return hashlib.blake2b(f"{parent}/{what}".encode(), digest_size=(length + 1) // 2).hexdigest()[:length]


def each_shown(docs: Iterable[Doc], show: Callable[[Doc], T]) -> list[T]:
    """``show`` of every doc, for a list answer. A doc it fails on (a stored object this mock cannot read: kept
    by another version in a ``--state`` file, or broken) is left out, and logged: one bad object never takes
    a whole list down."""
    shown: list[T] = []
    for doc in docs:
        try:
            shown.append(show(doc))
        except Exception as exc:  # noqa: BLE001 -- whatever it is, the rest of the list is still answered
            what, found = doc.get("object"), doc.get("id")
            log.error("left out of a list: the stored %s %r cannot be shown", what, found, exc_info=exc)
    return shown


async def each_looked(docs: Iterable[Doc], look: Callable[[Doc], Awaitable[T]]) -> list[T]:
    """:func:`each_shown` for a ``look`` that awaits (it moves the object on and stores it), one doc at a time."""
    shown: list[T] = []
    for doc in docs:
        try:
            shown.append(await look(doc))
        except Exception as exc:  # noqa: BLE001 -- whatever it is, the rest of the list is still answered
            what, found = doc.get("object"), doc.get("id")
            log.error("left out of a list: the stored %s %r cannot be shown", what, found, exc_info=exc)
    return shown


def public(doc: Mapping[str, Any]) -> Doc:
    """The wire object: every key except the private ones (``_...``)."""
    return {key: value for key, value in doc.items() if not key.startswith("_")}


def elapsed(runtime: Runtime, doc: Mapping[str, Any]) -> float:
    """Seconds since the object was created, on the injected clock (never negative)."""
    return max(0.0, runtime.clock.now() - float(doc["_t0"]))


def offset_time(doc: Mapping[str, Any], seconds: float) -> int:
    """The wire timestamp ``seconds`` after the object's ``created_at`` (whole seconds, rounded up)."""
    return int(doc["created_at"]) + math.ceil(seconds)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """``limit`` (1 to 100, default 20), ``order`` (``asc`` / ``desc``), ``after`` and ``before`` cursors."""

    limit: int = 20
    order: Order = "desc"
    after: str | None = None
    before: str | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str], default_order: Order = "desc", default_limit: int = 20) -> "ListQuery":
        raw_limit = params.get("limit")
        limit = default_limit
        if raw_limit is not None:
            try:
                limit = int(raw_limit)
            except ValueError:
                limit = 0
            if not 1 <= limit <= MAX_LIMIT:
                raise InvalidResourceRequest(
                    f"The limit must be a whole number from 1 to {MAX_LIMIT}, not '{raw_limit}'."
                )
        order = params.get("order", default_order)
        if order not in ("asc", "desc"):
            raise InvalidResourceRequest(f"The order must be 'asc' or 'desc', not '{order}'.")
        return cls(limit, order, params.get("after") or None, params.get("before") or None)  # type: ignore[arg-type]

    def page(self, docs: Iterable[Doc]) -> Page:
        """One page of ``docs`` (in insertion order), private keys dropped."""
        found = paginate([public(doc) for doc in docs], self.limit, self.order, self.after, self.before)
        return found


@dataclass(frozen=True, slots=True)
class JsonlLine:
    number: int  # 1-based, counting blank lines too
    value: Any = None
    error: str | None = None  # why the line is not JSON


def parse_jsonl(data: bytes) -> list[JsonlLine]:
    """Every non-blank line of a JSON Lines file (a UTF-8 byte-order mark is allowed, as Azure asks for one)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    lines: list[JsonlLine] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        text = raw.strip()
        if not text:
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            lines.append(JsonlLine(number, error=str(exc)))
            continue
        if too_deep(text, value):
            lines.append(JsonlLine(number, error=f"nested deeper than {MAX_DEPTH} levels"))
        else:
            lines.append(JsonlLine(number, value))
    return lines
