"""The store in a SQLite file (``--state PATH``): the same :class:`~aoai_mock.state.store.Store` as
:class:`~aoai_mock.state.store.MemoryStore`, kept on disk so that a restarted server still has its files,
batches, fine-tuning jobs, assistants and threads.

Layout (schema version 1)::

    docs  (kind TEXT, id TEXT, seq INTEGER, json TEXT, PRIMARY KEY (kind, id))  -- seq: insertion order
    blobs (id TEXT PRIMARY KEY, data BLOB)
    meta  (key TEXT PRIMARY KEY, value TEXT)    -- app = "aoai-mock", schema_version = "1"

The file is also marked with ``PRAGMA application_id`` (``0x414F4149``, "AOAI") and ``PRAGMA user_version``
(the schema version). Opening refuses, with a :class:`StateFileError` naming the file, anything that is not
such a file: a file that is not SQLite at all, another program's database, a newer schema, a damaged file
(``PRAGMA quick_check``). An empty or missing file becomes a new state file.

Every write commits at once (WAL journal, ``synchronous=NORMAL``): a clean stop, or even a killed process,
loses nothing that a response already reported. The writes of a transaction
(:func:`~aoai_mock.state.store.transaction`: one request's) commit together, in one SQLite transaction. The
store's coroutines do their file I/O at once, on the event loop's thread, as the blocking calls they were: a
small local write is quicker than a hand-off to a worker thread. Safe to share between threads.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from pathlib import Path
from typing import Any

import orjson

from aoai_mock.state.store import StateFileError, Transactional

__all__ = ["SqliteStore", "StateFileError", "APPLICATION_ID", "SCHEMA_VERSION"]

APPLICATION_ID = 0x414F4149  # "AOAI"
SCHEMA_VERSION = 1
_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE docs (kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, json TEXT NOT NULL, "
    "PRIMARY KEY (kind, id))",
    "CREATE INDEX docs_by_seq ON docs (kind, seq)",
    "CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB NOT NULL)",
)
_PUT = (
    "INSERT INTO docs (kind, id, seq, json) VALUES (?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM docs), ?) "
    "ON CONFLICT (kind, id) DO UPDATE SET json = excluded.json"
)
_PUT_BLOB = "INSERT INTO blobs (id, data) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data"
Doc = dict[str, Any]


class SqliteStore(Transactional):
    """Documents and blobs in one SQLite file; see the module docstring for the layout."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db = _open(self.path)
        self._finalizer = weakref.finalize(self, _close, self._db)

    # -- the primitives of the Store protocol (transactions: state.store.Transactional) ----------------------
    async def _put(self, kind: str, doc: Doc) -> None:
        text = self._encode(doc)
        with self._lock:
            self._db.execute(_PUT, (kind, doc["id"], text))

    async def _get(self, kind: str, id: str) -> Doc | None:
        with self._lock:
            row = self._db.execute("SELECT json FROM docs WHERE kind = ? AND id = ?", (kind, id)).fetchone()
        return orjson.loads(row[0]) if row is not None else None

    async def _delete(self, kind: str, id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, id)).rowcount > 0

    async def _all(self, kind: str) -> list[Doc]:
        with self._lock:
            rows = self._db.execute("SELECT json FROM docs WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [orjson.loads(text) for (text,) in rows]

    async def _put_blob(self, id: str, data: bytes) -> None:
        with self._lock:
            self._db.execute(_PUT_BLOB, (id, bytes(data)))

    async def _get_blob(self, id: str) -> bytes | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM blobs WHERE id = ?", (id,)).fetchone()
        return bytes(row[0]) if row is not None else None

    async def _delete_blob(self, id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM blobs WHERE id = ?", (id,)).rowcount > 0

    async def _reset(self) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM docs")
                self._db.execute("DELETE FROM blobs")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    async def _kinds(self) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT DISTINCT kind FROM docs ORDER BY kind").fetchall()
        return [kind for (kind,) in rows]

    def _encode(self, doc: Doc) -> str:
        return orjson.dumps(doc).decode("utf-8")

    def _decode(self, kept: Any) -> Doc:
        return orjson.loads(kept)  # type: ignore[no-any-return]

    async def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        """A transaction's writes in one SQLite transaction: all of them, or (on any error) none."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                for op in ops:
                    if op[0] == "put":
                        db.execute(_PUT, op[1:])
                    elif op[0] == "delete":
                        db.execute("DELETE FROM docs WHERE kind = ? AND id = ?", op[1:])
                    elif op[0] == "put_blob":
                        db.execute(_PUT_BLOB, op[1:])
                    else:
                        db.execute("DELETE FROM blobs WHERE id = ?", op[1:])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Checkpoint the journal into the file and close it (also done when the store is collected)."""
        with self._lock:
            self._finalizer()


def _close(db: sqlite3.Connection) -> None:
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except sqlite3.Error:
        pass
    db.close()


def _open(path: Path) -> sqlite3.Connection:
    _check_file(path)
    try:
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    except sqlite3.Error as exc:
        raise StateFileError(path, f"cannot be opened ({exc})") from None
    try:
        _check_or_create(db, path)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StateFileError(path, f"damaged or unreadable ({exc}); move it away or give --state another file") from None
    except StateFileError:
        db.close()
        raise
    return db


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise StateFileError(path, "is a folder; give --state the path of a file")
    if not path.parent.is_dir():
        raise StateFileError(path, f"the folder {path.parent} does not exist")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(len(_SQLITE_MAGIC))
    except OSError as exc:
        raise StateFileError(path, f"cannot be read ({exc.strerror})") from None
    if head != _SQLITE_MAGIC:
        raise StateFileError(path, "is not an aoai-mock state file (not a SQLite database); refusing to touch it")


def _check_or_create(db: sqlite3.Connection, path: Path) -> None:
    tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if tables == 0:
        _create(db)
        return
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    if app_id != APPLICATION_ID:
        raise StateFileError(
            path, f"is another program's SQLite database (application_id {app_id:#x}, not aoai-mock's); refusing to use it"
        )
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version != SCHEMA_VERSION:
        raise StateFileError(path, f"has state schema version {version}; this aoai-mock reads version {SCHEMA_VERSION}")
    problems = [row[0] for row in db.execute("PRAGMA quick_check").fetchall()]
    if problems != ["ok"]:
        raise StateFileError(path, f"is damaged ({'; '.join(problems[:3])})")
    marker = dict(db.execute("SELECT key, value FROM meta").fetchall())
    if marker.get("app") != "aoai-mock":
        raise StateFileError(path, "lacks the aoai-mock marker; refusing to use it")
    db.execute("SELECT kind, id, seq, json FROM docs LIMIT 0")
    db.execute("SELECT id, data FROM blobs LIMIT 0")


def _create(db: sqlite3.Connection) -> None:
    db.execute("BEGIN IMMEDIATE")
    for statement in _SCHEMA:
        db.execute(statement)
    db.executemany(
        "INSERT INTO meta (key, value) VALUES (?, ?)", [("app", "aoai-mock"), ("schema_version", str(SCHEMA_VERSION))]
    )
    db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    db.execute("COMMIT")
