"""``store``: each store the mock has (in memory, a SQLite file, Redis), for the behaviour they all share. The
store is asynchronous: the fixture runs in the test's own event loop, where the Redis store's client connects."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from aoai_mock.state.store import MemoryStore, Store


@pytest_asyncio.fixture(params=["memory", "sqlite", "redis"], loop_scope="function")
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        from aoai_mock.state.sqlite import SqliteStore

        kept = SqliteStore(tmp_path / "state.db")
        yield kept
        kept.close()
        return
    from aoai_mock.state.redis_store import RedisStore

    shared = RedisStore.from_url(request.getfixturevalue("redis_url"))  # an empty Redis
    yield shared
    await shared.close()
