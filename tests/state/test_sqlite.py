"""The SQLite store: the same behaviour as MemoryStore and the Redis store (the ``store`` fixture runs the
shared tests against all three), kept across reopening, and a clear refusal of any file that is not an
aoai-mock state file."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from aoai_mock.state.sqlite import APPLICATION_ID, SqliteStore, StateFileError
from aoai_mock.state.store import Store, paginate


async def test_put_get_delete_and_copies(store: Store) -> None:
    doc = {"id": "file-1", "object": "file", "nested": {"a": [1, 2]}}
    await store.put("file", doc)
    doc["nested"]["a"].append(3)  # the store kept a copy
    got = await store.get("file", "file-1")
    assert got == {"id": "file-1", "object": "file", "nested": {"a": [1, 2]}}
    got["object"] = "changed"  # and hands out copies
    assert (await store.get("file", "file-1"))["object"] == "file"
    assert await store.get("file", "missing") is None and await store.get("thread", "file-1") is None
    assert await store.delete("file", "file-1") is True and await store.delete("file", "file-1") is False


async def test_all_keeps_insertion_order_and_updates_keep_their_place(store: Store) -> None:
    for name in ("a", "b", "c"):
        await store.put("batch", {"id": name, "v": 1})
    await store.put("batch", {"id": "a", "v": 2})
    await store.put("other", {"id": "z"})
    assert [(d["id"], d["v"]) for d in await store.all("batch")] == [("a", 2), ("b", 1), ("c", 1)]
    assert await store.all("nothing") == []


async def test_blobs_and_reset(store: Store) -> None:
    await store.put_blob("file-1", b"\x00\xffbytes")
    await store.put_blob("file-1", b"replaced")
    await store.put("file", {"id": "file-1"})
    assert await store.get_blob("file-1") == b"replaced" and await store.get_blob("nope") is None
    await store.reset()
    assert await store.get_blob("file-1") is None and await store.all("file") == []
    assert await store.delete_blob("file-1") is False


async def test_paging_many_docs_from_either_store(store: Store) -> None:
    for i in range(120):
        await store.put("file", {"id": f"file-{i:03}", "created_at": 1000 + i // 10})
    seen: list[str] = []
    after = None
    while True:
        page = paginate(await store.all("file"), limit=25, order="asc", after=after)
        seen += [d["id"] for d in page.data]
        if not page.has_more:
            break
        after = page.last_id
    assert seen == [f"file-{i:03}" for i in range(120)]


async def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "kept.db"
    first = SqliteStore(path)
    await first.put("assistant", {"id": "asst_1", "name": "kept"})
    await first.put_blob("file-1", b"content")
    first.close()
    again = SqliteStore(path)
    assert await again.get("assistant", "asst_1") == {"id": "asst_1", "name": "kept"}
    assert await again.get_blob("file-1") == b"content"
    await again.put("assistant", {"id": "asst_2"})
    assert [d["id"] for d in await again.all("assistant")] == ["asst_1", "asst_2"]
    again.close()


async def test_writes_are_on_disk_before_close(tmp_path: Path) -> None:
    """A killed process loses nothing a response reported: another connection sees each write at once."""
    path = tmp_path / "live.db"
    store = SqliteStore(path)
    await store.put("thread", {"id": "thread_1"})
    other = sqlite3.connect(path)
    assert other.execute("SELECT id FROM docs WHERE kind = 'thread'").fetchall() == [("thread_1",)]
    other.close()
    store.close()


async def test_shared_between_threads(tmp_path: Path) -> None:
    """Each thread with its own event loop (as the workers of a test's own code may be)."""
    store = SqliteStore(tmp_path / "threads.db")

    async def put_all(n: int) -> None:
        for i in range(50):
            await store.put("file", {"id": f"{n}-{i}"})

    def write(n: int) -> None:
        asyncio.run(put_all(n))

    workers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(await store.all("file")) == 200
    store.close()


def test_an_empty_file_becomes_a_state_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.write_bytes(b"")
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    db.close()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes, not a database\n" * 10)
    with pytest.raises(StateFileError) as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value) and "not a SQLite database" in str(caught.value)
    assert path.read_text().startswith("my notes")  # untouched


def test_another_programs_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE customers (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StateFileError, match="another program's SQLite database") as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value)


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    SqliteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    with pytest.raises(StateFileError, match="schema version 99"):
        SqliteStore(path)


async def test_a_damaged_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    store = SqliteStore(path)
    for i in range(200):
        await store.put("message", {"id": f"msg_{i}", "text": "x" * 200})
    store.close()
    raw = bytearray(path.read_bytes())
    raw[200:8000] = b"\xa5" * 7800  # the header stays, pages after it are garbage
    path.write_bytes(bytes(raw))
    with pytest.raises(StateFileError) as caught:
        SqliteStore(path)
    assert str(path) in str(caught.value) and ("damaged" in str(caught.value))


@pytest.mark.parametrize("kind", ["folder", "missing-folder"])
def test_unusable_paths_are_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path if kind == "folder" else tmp_path / "no" / "such" / "state.db"
    with pytest.raises(StateFileError, match="folder"):
        SqliteStore(path)
