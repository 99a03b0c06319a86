"""The store layer: every stateful object (files, assistants, threads, runs, batches, ...) lives here.

Objects are JSON documents (dicts with an ``"id"``) grouped by ``kind`` (``"file"``, ``"assistant"``,
``"thread"``, ``"message"``, ...), plus raw blobs (file contents) by id. The API families build their
wire objects on top; this layer knows nothing of HTTP or of any one API.

:class:`MemoryStore` is the default; a SQLite-backed store (``--state PATH``) implements the same
:class:`Store` protocol so a restarted server keeps its objects. Listing pages the way the OpenAI API
pages: ``limit``, ``order`` (by ``created_at``, then insertion), ``after`` / ``before`` cursors, and a
:class:`Page` with ``first_id``, ``last_id`` and ``has_more``.

Callers get copies: changing a returned dict never changes the store; ``put`` stores a copy.

Contracts between the API families (keep them: other families read these objects):

* **Files.** An uploaded or generated file is the doc ``store.get("file", file_id)``: exactly the wire object
  ``GET /openai/files/{id}`` answers (``{"id": "file-...", "object": "file", "bytes", "created_at",
  "filename", "purpose", "status": "processed", "status_details": None}``, plus ``expires_at`` when the upload
  set one), with no private keys. Its bytes are ``store.get_blob(file_id)``. Deleting a file deletes both.
  Purposes: ``assistants``, ``batch``, ``fine-tune``, ``vision`` (uploads) and ``batch_output``,
  ``fine-tune-results`` (written by the mock).
* **Batches** are kind ``"batch"``, **fine-tuning jobs** kind ``"fine_tuning.job"``: the wire object plus
  private keys whose names start with ``_`` (timing, validation results), which the routes never render.
* Kind ``"serial"`` holds one counter per id family (``{"id": "file", "next": 7}``), so that ids made from
  ``--seed`` stay unique across a restart with ``--state``.
* ``reset()`` forgets every kind and every blob; ``POST /_mock/state/reset`` calls it.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

__all__ = ["Store", "MemoryStore", "Page", "paginate", "Order"]

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
    def put(self, kind: str, doc: Doc) -> None: ...
    def get(self, kind: str, id: str) -> Doc | None: ...
    def delete(self, kind: str, id: str) -> bool: ...
    def all(self, kind: str) -> list[Doc]: ...  # in insertion order
    def put_blob(self, id: str, data: bytes) -> None: ...
    def get_blob(self, id: str) -> bytes | None: ...
    def delete_blob(self, id: str) -> bool: ...
    def reset(self) -> None: ...


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


@dataclass
class MemoryStore:
    """Everything in dicts, lost when the process ends. Safe to share between threads."""

    _docs: dict[str, dict[str, Doc]] = field(default_factory=dict)
    _blobs: dict[str, bytes] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # Copies are made outside the lock (a stored doc is replaced, never changed in place), so a large document
    # being stored in a worker thread never holds up the event loop's own small reads and writes.
    def put(self, kind: str, doc: Doc) -> None:
        kept = copy.deepcopy(doc)
        with self._lock:
            self._docs.setdefault(kind, {})[doc["id"]] = kept

    def get(self, kind: str, id: str) -> Doc | None:
        with self._lock:
            found = self._docs.get(kind, {}).get(id)
        return copy.deepcopy(found) if found is not None else None

    def delete(self, kind: str, id: str) -> bool:
        with self._lock:
            return self._docs.get(kind, {}).pop(id, None) is not None

    def all(self, kind: str) -> list[Doc]:
        with self._lock:
            found = list(self._docs.get(kind, {}).values())
        return [copy.deepcopy(doc) for doc in found]

    def put_blob(self, id: str, data: bytes) -> None:
        with self._lock:
            self._blobs[id] = bytes(data)

    def get_blob(self, id: str) -> bytes | None:
        with self._lock:
            return self._blobs.get(id)

    def delete_blob(self, id: str) -> bool:
        with self._lock:
            return self._blobs.pop(id, None) is not None

    def reset(self) -> None:
        with self._lock:
            self._docs.clear()
            self._blobs.clear()

    def kinds(self) -> Iterator[str]:
        return iter(list(self._docs))

    def where(self, kind: str, test: Callable[[Doc], bool]) -> list[Doc]:
        return [doc for doc in self.all(kind) if test(doc)]
