"""``store``: each store the mock has (in memory, a SQLite file, Redis), for the behaviour they all share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aoai_mock.state.store import MemoryStore, Store


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        from aoai_mock.state.sqlite import SqliteStore

        found = SqliteStore(tmp_path / "state.db")
    else:
        from aoai_mock.state.redis_store import RedisStore

        found = RedisStore.from_url(request.getfixturevalue("redis_url"))  # an empty Redis
    yield found
    found.close()
