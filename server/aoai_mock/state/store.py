"""The store layer: every stateful object (files, assistants, threads, runs, batches, ...) lives here.

Objects are JSON documents (dicts with an ``"id"``) grouped by ``kind`` (``"file"``, ``"assistant"``,
``"thread"``, ``"message"``, ...), plus raw blobs (file contents) by id. The API families build their
wire objects on top; this layer knows nothing of HTTP or of any one API.

:class:`MemoryStore` is the default; a SQLite-backed store (``--state PATH``) implements the same
:class:`Store` protocol so a restarted server keeps its objects, and a Redis-backed one (``--state redis://...``,
:mod:`aoai_mock.state.redis_store`) so that every process given that Redis shares them. Listing pages the way the OpenAI API
pages: ``limit``, ``order`` (by ``created_at``, then insertion), ``after`` / ``before`` cursors, and a
:class:`Page` with ``first_id``, ``last_id`` and ``has_more``.

Callers get copies: changing a returned dict never changes the store; ``put`` stores a copy.

**Asynchronous.** Every operation is a coroutine (``await store.get(...)``), and so is
:meth:`Transaction.commit`: the Redis store awaits its round trips, so a request waiting for Redis holds up
no other. The memory and SQLite stores do their work inside the coroutine, at once (it never waits), on the
thread that runs it: as fast as a plain call, with no hand-off to a worker thread.

**Transactions.** Inside :func:`transaction` (every request that may write: ``http/resource.py``'s routes, the
Responses create), writes are held back: the request reads its own writes, nobody else sees them, and they
reach the store together, in one step, when the request commits, once its answer is built and rendered. A
request that fails (an error raised or answered) commits nothing, so a create that fails stores nothing, in
every store. Id counters (kind ``"serial"``) are the exception: written at once, so that ids stay unique.

Contracts between the API families (keep them: other families read these objects):

* **Files.** An uploaded or generated file is the doc ``await store.get("file", file_id)``: exactly the wire
  object ``GET /openai/files/{id}`` answers (``{"id": "file-...", "object": "file", "bytes", "created_at",
  "filename", "purpose", "status": "processed", "status_details": None}``, plus ``expires_at`` when the upload
  set one), with no private keys. Its bytes are ``await store.get_blob(file_id)``. Deleting a file deletes both.
  Purposes: ``assistants``, ``batch``, ``fine-tune``, ``vision`` (uploads) and ``batch_output``,
  ``fine-tune-results`` (written by the mock).
* **Batches** are kind ``"batch"``, **fine-tuning jobs** kind ``"fine_tuning.job"``: the wire object plus
  private keys whose names start with ``_`` (timing, validation results), which the routes never render.
* Kind ``"serial"`` holds one counter per id family (``{"id": "file", "next": 7}``), so that ids made from
  ``--seed`` stay unique across a restart with ``--state``; ``next_serial(family)`` takes the next number
  (one atomic step in a store that processes share, :mod:`aoai_mock.state.redis_store`).
* ``reset()`` forgets every kind and every blob; ``POST /_mock/state/reset`` calls it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = [
    "Store", "MemoryStore", "Page", "paginate", "Order", "Transactional", "Transaction", "transaction",
    "no_transaction", "UNHELD_KINDS", "SERIAL", "StateFileError",
]  # fmt: skip


class StateFileError(Exception):
    """A ``--state`` file that cannot be used; the message names the file and says why (raised by
    :mod:`aoai_mock.state.sqlite`, here so that what reports it need not load SQLite)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"state file {path}: {reason}")
        self.path = path
        self.reason = reason

Order = Literal["asc", "desc"]
Doc = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    data: list[Doc]
    first_id: str | None
    last_id: str | None
    has_more: bool

    def body(self) -> Doc:
        """The wire shape of a list: ``{"object": "list", "data", "first_id", "last_id", "has_more"}``."""
        return {
            "object": "list",
            "data": self.data,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "has_more": self.has_more,
        }


class Store(Protocol):
    """Every operation is a coroutine: the Redis store awaits its round trips on the event loop; the memory and
    SQLite stores do their work inside the coroutine, without a thread."""

    async def put(self, kind: str, doc: Doc) -> None: ...
    async def get(self, kind: str, id: str) -> Doc | None: ...
    async def delete(self, kind: str, id: str) -> bool: ...
    async def all(self, kind: str) -> list[Doc]: ...  # in insertion order
    async def put_blob(self, id: str, data: bytes) -> None: ...
    async def get_blob(self, id: str) -> bytes | None: ...
    async def delete_blob(self, id: str) -> bool: ...
    async def reset(self) -> None: ...
    async def next_serial(self, family: str) -> int: ...


def paginate(
    docs: list[Doc],
    limit: int = 20,
    order: Order = "desc",
    after: str | None = None,
    before: str | None = None,
) -> Page:
    """One page of ``docs`` (given in insertion order) as the API pages them."""
    ranked = sorted(enumerate(docs), key=lambda pair: (pair[1].get("created_at", 0), pair[0]))
    ordered = [doc for _, doc in ranked]
    if order == "desc":
        ordered.reverse()
    ids = [doc["id"] for doc in ordered]
    start, end = 0, len(ordered)
    if after is not None and after in ids:
        start = ids.index(after) + 1
    if before is not None and before in ids:
        end = ids.index(before)
    window = ordered[start:end]
    if before is not None and after is None:  # the items just before the cursor
        chosen = window[-limit:] if limit else []
        has_more = len(window) > len(chosen)
    else:
        chosen = window[:limit] if limit else []
        has_more = len(window) > len(chosen)
    return Page(
        data=chosen,
        first_id=chosen[0]["id"] if chosen else None,
        last_id=chosen[-1]["id"] if chosen else None,
        has_more=has_more,
    )


class _Pending:
    """The writes of one transaction: replayed in order at its commit, and seen by its own reads meanwhile."""

    __slots__ = ("store", "ops", "docs", "moved", "blobs")

    def __init__(self, store: Transactional) -> None:
        self.store: Transactional | None = store  # None once committed or ended: later writes go straight in
        self.ops: list[tuple[Any, ...]] = []
        self.docs: dict[tuple[str, str], Any] = {}  # (kind, id) -> the encoded doc, or _GONE; in first-write order
        self.moved: set[tuple[str, str]] = set()  # deleted, then written again: now last in insertion order
        self.blobs: dict[str, bytes | None] = {}  # None: deleted


_PENDING: ContextVar[_Pending | None] = ContextVar("aoai_mock_store_transaction", default=None)
_GONE = object()
SERIAL = "serial"
# Id counters are written at once, even inside a transaction: two requests that interleave must never mint the
# same id (a failed request may use up a number; the ids stay unique).
UNHELD_KINDS = frozenset({SERIAL})


class Transactional:
    """The :class:`Store` protocol over a few primitives (``_put``, ``_get``, ...), with transactions: inside
    :func:`transaction`, writes are held in the transaction (its own reads see them) and reach the store
    together, in one step, at its commit; never, if it does not commit."""

    # -- what a store implements ---------------------------------------------------------------------------
    async def _put(self, kind: str, doc: Doc) -> None:
        raise NotImplementedError

    async def _get(self, kind: str, id: str) -> Doc | None:
        raise NotImplementedError

    async def _delete(self, kind: str, id: str) -> bool:
        raise NotImplementedError

    async def _all(self, kind: str) -> list[Doc]:
        raise NotImplementedError

    async def _put_blob(self, id: str, data: bytes) -> None:
        raise NotImplementedError

    async def _get_blob(self, id: str) -> bytes | None:
        raise NotImplementedError

    async def _delete_blob(self, id: str) -> bool:
        raise NotImplementedError

    async def _reset(self) -> None:
        raise NotImplementedError

    async def _kinds(self) -> list[str]:
        raise NotImplementedError

    def _encode(self, doc: Doc) -> Any:
        """A doc as the store will keep it (a private copy; the JSON text): a doc it cannot keep fails here."""
        raise NotImplementedError

    def _decode(self, kept: Any) -> Doc:
        raise NotImplementedError

    async def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        """Carry out a transaction's writes (``_encode``d), in order, all or none."""
        raise NotImplementedError

    # -- the Store protocol ----------------------------------------------------------------------------------
    def _held(self) -> _Pending | None:
        pending = _PENDING.get()
        return pending if pending is not None and pending.store is self else None

    async def put(self, kind: str, doc: Doc) -> None:
        pending = self._held()
        if pending is None or kind in UNHELD_KINDS:
            await self._put(kind, doc)
            return
        key = (kind, doc["id"])
        kept = self._encode(doc)
        if pending.docs.get(key) is _GONE:
            del pending.docs[key]
            pending.moved.add(key)
        pending.docs[key] = kept
        pending.ops.append(("put", kind, doc["id"], kept))

    async def get(self, kind: str, id: str) -> Doc | None:
        pending = self._held()
        if pending is not None and (kind, id) in pending.docs:
            kept = pending.docs[(kind, id)]
            return None if kept is _GONE else self._decode(kept)
        return await self._get(kind, id)

    async def delete(self, kind: str, id: str) -> bool:
        pending = self._held()
        if pending is None or kind in UNHELD_KINDS:
            return await self._delete(kind, id)
        key = (kind, id)
        existed = pending.docs[key] is not _GONE if key in pending.docs else (await self._get(kind, id)) is not None
        pending.docs.pop(key, None)
        pending.docs[key] = _GONE
        pending.ops.append(("delete", kind, id))
        return existed

    async def all(self, kind: str) -> list[Doc]:  # in insertion order
        found = await self._all(kind)
        pending = self._held()
        if pending is None or not pending.docs:
            return found
        changed = {id: kept for (k, id), kept in pending.docs.items() if k == kind}
        if not changed:
            return found
        out: list[Doc] = []
        for doc in found:
            if doc["id"] not in changed:
                out.append(doc)
                continue
            kept = changed[doc["id"]]
            if kept is not _GONE and (kind, doc["id"]) not in pending.moved:
                out.append(self._decode(changed.pop(doc["id"])))  # changed in place
        known = {doc["id"] for doc in found}
        out += [
            self._decode(kept)
            for id, kept in changed.items()
            if kept is not _GONE and (id not in known or (kind, id) in pending.moved)
        ]
        return out

    async def put_blob(self, id: str, data: bytes) -> None:
        pending = self._held()
        if pending is None:
            await self._put_blob(id, data)
            return
        pending.blobs[id] = bytes(data)
        pending.ops.append(("put_blob", id, pending.blobs[id]))

    async def get_blob(self, id: str) -> bytes | None:
        pending = self._held()
        if pending is not None and id in pending.blobs:
            return pending.blobs[id]
        return await self._get_blob(id)

    async def delete_blob(self, id: str) -> bool:
        pending = self._held()
        if pending is None:
            return await self._delete_blob(id)
        existed = pending.blobs[id] is not None if id in pending.blobs else (await self._get_blob(id)) is not None
        pending.blobs[id] = None
        pending.ops.append(("delete_blob", id))
        return existed

    async def reset(self) -> None:
        pending = self._held()
        if pending is not None:
            pending.ops.clear()
            pending.docs.clear()
            pending.moved.clear()
            pending.blobs.clear()
        await self._reset()

    async def next_serial(self, family: str) -> int:
        """The next number of the id family ``family`` (1, 2, ...), from its doc of kind ``"serial"``, written at
        once. A store that processes share overrides this with one atomic step, so that no two get one number."""
        found = (await self.get(SERIAL, family)) or {"id": family, "next": 1}
        await self.put(SERIAL, {"id": family, "next": int(found["next"]) + 1})
        return int(found["next"])

    async def kinds(self) -> Iterator[str]:
        found = await self._kinds()
        pending = self._held()
        if pending is not None:
            found += [kind for (kind, _), kept in pending.docs.items() if kept is not _GONE and kind not in found]
        return iter(dict.fromkeys(found))

    async def where(self, kind: str, test: Callable[[Doc], bool]) -> list[Doc]:
        return [doc for doc in await self.all(kind) if test(doc)]


@dataclass(slots=True)
class Transaction:
    """What :func:`transaction` yields: :meth:`commit` writes what the transaction holds, in one step."""

    _pending: _Pending | None  # None: the writes are not held (joined an open transaction, or a plain store)

    async def commit(self) -> None:
        """Write everything held, all or nothing; writes after this go straight to the store."""
        pending = self._pending
        if pending is None or pending.store is None:
            return
        store, ops = pending.store, pending.ops
        pending.store = None
        if ops:
            await store._apply(ops)


@contextmanager
def transaction(store: Store) -> Iterator[Transaction]:
    """Hold this context's writes to ``store`` until :meth:`Transaction.commit`; leaving without a commit (an
    error) forgets them, so a request that fails stores nothing. Reads in the context see its own writes; other
    requests see none of them until the commit. Inside a transaction already open on ``store`` this one joins
    it (the outer one commits). A store without transactions (not :class:`Transactional`) is written at once."""
    outer = _PENDING.get()
    if not isinstance(store, Transactional) or (outer is not None and outer.store is store):
        yield Transaction(None)
        return
    pending = _Pending(store)
    token = _PENDING.set(pending)
    try:
        yield Transaction(pending)
    finally:
        pending.store = None  # a task started inside and still running writes straight to the store
        _PENDING.reset(token)


@contextmanager
def no_transaction() -> Iterator[None]:
    """Writes in this context go straight to the store, whatever transaction the context was started in (a
    batch's lines, run in a task of their own, are kept whatever becomes of the request that set them off)."""
    token = _PENDING.set(None)
    try:
        yield
    finally:
        _PENDING.reset(token)


@dataclass
class MemoryStore(Transactional):
    """Everything in dicts, lost when the process ends. Its coroutines never wait: each does its work at once,
    on the thread that runs it. Safe to share between threads (each with its event loop)."""

    _docs: dict[str, dict[str, Doc]] = field(default_factory=dict)
    _blobs: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # Copies are made outside the lock (a stored doc is replaced, never changed in place), so a large document
    # being stored by one thread never holds up another's small reads and writes.
    async def _put(self, kind: str, doc: Doc) -> None:
        kept = copy.deepcopy(doc)
        with self._lock:
            self._docs.setdefault(kind, {})[doc["id"]] = kept

    async def _get(self, kind: str, id: str) -> Doc | None:
        with self._lock:
            found = self._docs.get(kind, {}).get(id)
        return copy.deepcopy(found) if found is not None else None

    async def _delete(self, kind: str, id: str) -> bool:
        with self._lock:
            return self._docs.get(kind, {}).pop(id, None) is not None

    async def _all(self, kind: str) -> list[Doc]:
        with self._lock:
            found = list(self._docs.get(kind, {}).values())
        return [copy.deepcopy(doc) for doc in found]

    async def _put_blob(self, id: str, data: bytes) -> None:
        with self._lock:
            self._blobs[id] = bytes(data)

    async def _get_blob(self, id: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(id)

    async def _delete_blob(self, id: str) -> bool:
        with self._lock:
            return self._blobs.pop(id, None) is not None

    async def _reset(self) -> None:
        with self._lock:
            self._docs.clear()
            self._blobs.clear()

    async def _kinds(self) -> list[str]:
        with self._lock:
            return list(self._docs)

    def _encode(self, doc: Doc) -> Any:
        return copy.deepcopy(doc)

    def _decode(self, kept: Any) -> Doc:
        return copy.deepcopy(kept)  # type: ignore[no-any-return]

    async def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        with self._lock:
            for op in ops:
                if op[0] == "put":
                    self._docs.setdefault(op[1], {})[op[2]] = op[3]
                elif op[0] == "delete":
                    self._docs.get(op[1], {}).pop(op[2], None)
                elif op[0] == "put_blob":
                    self._blobs[op[1]] = op[2]
                else:
                    self._blobs.pop(op[1], None)
