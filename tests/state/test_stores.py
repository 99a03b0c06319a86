"""What every store does the same way (in memory, a SQLite file, Redis: the ``store`` fixture): transactions
held until their commit, id counters, large and empty blobs; and what only the Redis store has to show: ids
unique and transactions whole across clients (as across processes), ``reset`` keeping other keys, values
shelved for a while, outages."""

from __future__ import annotations

import asyncio
import logging
import os

import pytest
import redis
from aoai_mock.state.redis_state import RedisUnavailable
from aoai_mock.state.redis_store import PIECE, RedisStore
from aoai_mock.state.store import Store, no_transaction, transaction

from tests.redis_server import RedisServer


async def test_a_transaction_is_seen_by_itself_only_until_its_commit(store: Store) -> None:
    await store.put("thread", {"id": "t0", "v": 0})
    with transaction(store) as writes:
        await store.put("thread", {"id": "t1", "v": 1})
        await store.put("thread", {"id": "t0", "v": 2})
        await store.put_blob("b1", b"held")
        assert await store.get("thread", "t1") == {"id": "t1", "v": 1} and await store.get_blob("b1") == b"held"
        with no_transaction():  # everybody else
            assert await store.get("thread", "t1") is None and await store.get_blob("b1") is None
            assert await store.all("thread") == [{"id": "t0", "v": 0}]
        await writes.commit()
    assert [(d["id"], d["v"]) for d in await store.all("thread")] == [("t0", 2), ("t1", 1)]
    assert await store.get_blob("b1") == b"held"


async def test_a_transaction_left_without_a_commit_writes_nothing(store: Store) -> None:
    await store.put("file", {"id": "f0"})
    with pytest.raises(RuntimeError), transaction(store):
        await store.put("file", {"id": "f1"})
        await store.delete("file", "f0")
        await store.put_blob("f1", b"never")
        raise RuntimeError("the request failed")
    assert await store.all("file") == [{"id": "f0"}] and await store.get_blob("f1") is None


async def test_listing_in_a_transaction_keeps_places_and_moves_what_came_back(store: Store) -> None:
    for name in ("a", "b", "c"):
        await store.put("run", {"id": name, "v": 0})
    with transaction(store) as writes:
        await store.put("run", {"id": "b", "v": 1})  # changed in place
        await store.delete("run", "a")
        await store.put("run", {"id": "a", "v": 2})  # deleted, then written again: last
        await store.put("run", {"id": "d", "v": 3})
        expected = [("b", 1), ("c", 0), ("a", 2), ("d", 3)]
        assert [(d["id"], d["v"]) for d in await store.all("run")] == expected
        await writes.commit()
    assert [(d["id"], d["v"]) for d in await store.all("run")] == expected


async def test_serials_count_per_family_and_are_written_at_once(store: Store) -> None:
    with transaction(store):  # never committed: id counters are not held
        assert [await store.next_serial("file") for _ in range(3)] == [1, 2, 3]
    assert await store.next_serial("batch") == 1 and await store.next_serial("file") == 4
    assert await store.get("serial", "file") == {"id": "file", "next": 5}


async def test_large_and_empty_blobs(store: Store) -> None:
    data = os.urandom(2 * PIECE + 12345)  # more than one piece in Redis
    await store.put_blob("big", data)
    await store.put_blob("empty", b"")
    assert await store.get_blob("big") == data and await store.get_blob("empty") == b""
    await store.put_blob("big", b"smaller")  # no piece of the old blob is left behind
    assert await store.get_blob("big") == b"smaller"
    assert await store.delete_blob("empty") is True and await store.get_blob("empty") is None


async def test_kinds_and_where(store: Store) -> None:
    await store.put("vector_store", {"id": "vs1", "n": 1})
    await store.put("vector_store", {"id": "vs2", "n": 2})
    await store.put("response", {"id": "r1"})
    assert set(await store.kinds()) >= {"vector_store", "response"}  # type: ignore[attr-defined]
    found = await store.where("vector_store", lambda d: d["n"] > 1)  # type: ignore[attr-defined]
    assert found == [{"id": "vs2", "n": 2}]


# -- only Redis --------------------------------------------------------------------------------------------------
async def test_serials_from_many_clients_never_repeat(redis_url: str) -> None:
    """Two clients (as two processes), four tasks each taking numbers at once: every number handed out once."""
    stores = [RedisStore.from_url(redis_url) for _ in range(2)]

    async def take(store: RedisStore) -> list[int]:
        return [await store.next_serial("file") for _ in range(50)]

    taken = await asyncio.gather(*(take(stores[n % 2]) for n in range(8)))
    assert sorted(number for numbers in taken for number in numbers) == list(range(1, 401))
    for store in stores:
        await store.close()


async def test_another_client_sees_a_transaction_whole_or_not_at_all(redis_url: str) -> None:
    mine, other = RedisStore.from_url(redis_url), RedisStore.from_url(redis_url)
    with transaction(mine) as writes:
        await mine.put("file", {"id": "f1"})
        await mine.put_blob("f1", b"content")
        await mine.put("batch", {"id": "b1"})
        assert await other.get("file", "f1") is None and await other.get_blob("f1") is None
        assert await other.all("batch") == []
        await writes.commit()
    assert await other.get("file", "f1") == {"id": "f1"} and await other.get_blob("f1") == b"content"
    assert await other.all("batch") == [{"id": "b1"}]
    await mine.close()
    await other.close()


async def test_reset_forgets_the_stores_keys_only(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    raw = redis.Redis.from_url(redis_url)
    raw.set("someone-else:key", b"kept")
    raw.set("aoai-mock:quota:gpt-4o", b"kept")  # the mock's other shared state
    for i in range(1200):  # more than one SCAN batch
        await store.put("message", {"id": f"msg_{i}"})
    await store.put_blob("f1", b"x")
    await store.reset()
    assert await store.all("message") == [] and await store.get_blob("f1") is None and list(await store.kinds()) == []
    assert raw.get("someone-else:key") == b"kept" and raw.get("aoai-mock:quota:gpt-4o") == b"kept"
    assert raw.keys("aoai-mock:store:*") == []
    raw.close()
    await store.close()


async def test_a_redis_that_goes_away_is_a_500_and_comes_back_by_itself(
    redis_server: RedisServer, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisStore.from_url(redis_url)
    await store.put("assistant", {"id": "asst_1"})
    redis_server.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="aoai_mock"):
            for _ in range(3):
                with pytest.raises(RedisUnavailable) as caught:
                    await store.get("assistant", "asst_1")
                assert caught.value.status == 500 and f"Redis at {redis_url} is unavailable" in str(caught.value)
        assert sum("is unavailable" in r.getMessage() for r in caplog.records) == 1  # once an outage
    finally:
        redis_server.start()
    with caplog.at_level(logging.WARNING, logger="aoai_mock"):
        await store.put("assistant", {"id": "asst_2"})  # Redis restarted empty (the fixture keeps nothing)
    assert await store.all("assistant") == [{"id": "asst_2"}]
    assert any("answers again" in r.getMessage() for r in caplog.records)
    await store.close()


async def test_shelved_values_expire_and_go_with_a_reset(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    raw = redis.Redis.from_url(redis_url)
    await store.shelve("image:a.png", b'{"prompt": "x"}', 60)
    assert await store.fetch("image:a.png") == b'{"prompt": "x"}' and await store.fetch("image:b.png") is None
    assert 0 < raw.ttl("aoai-mock:store:shelf:image:a.png") <= 60
    await store.reset()
    assert await store.fetch("image:a.png") is None
    raw.close()
    await store.close()
