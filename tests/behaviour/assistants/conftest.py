"""A runtime without a server: the memory store, a clock the test moves, a seed, and helpers to script runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aoai_mock.behaviour.assistants import objects, runs, threads
from aoai_mock.behaviour.assistants.common import Doc
from aoai_mock.behaviour.assistants.requests import (
    CreateAssistant,
    CreateMessage,
    CreateRun,
    CreateThread,
)
from aoai_mock.behaviour.ids import Clock
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios import load_text
from aoai_mock.settings import resolve
from aoai_mock.state.sqlite import SqliteStore

T0 = 1_735_689_600.0  # 2025-01-01T00:00:00Z


class FakeClock:
    """Wall time that moves only when told."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "sqlite"])
def runtime(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> Iterator[Runtime]:
    """Every behaviour test runs on both stores: in memory, and in a SQLite file (``--state``). Runs go at once
    (``run_seconds: 0``) unless a test asks for the recorded pace."""
    made = Runtime.create(resolve({"port": 0, "seed": 7, "run_seconds": 0}, env={}))
    made.clock = Clock(now=clock)
    if request.param == "sqlite":
        made.store = SqliteStore(tmp_path / "state.sqlite")
    yield made
    if isinstance(made.store, SqliteStore):
        made.store.close()


def scenario(runtime: Runtime, text: str) -> None:
    """Load a scenario (YAML) and make it the active one."""
    loaded = load_text(text, "test.yaml")
    runtime.book.load(loaded)
    runtime.book.activate(loaded.name)


async def put_file(runtime: Runtime, file_id: str, text: str | bytes, filename: str = "notes.txt") -> None:
    """A file as the Files API stores it: its doc (kind "file") and its bytes."""
    data = text.encode() if isinstance(text, str) else text
    await runtime.store.put("file", {
        "id": file_id, "object": "file", "bytes": len(data), "created_at": int(T0), "filename": filename,
        "purpose": "assistants", "status": "processed", "status_details": None,
    })  # fmt: skip
    await runtime.store.put_blob(file_id, data)


async def assistant(runtime: Runtime, **fields: Any) -> Doc:
    return await objects.create_assistant(runtime, CreateAssistant(**({"model": "gpt-4o"} | fields)))


async def thread_with(runtime: Runtime, *texts: str) -> Doc:
    messages = [CreateMessage(role="user", content=t) for t in texts]
    return await threads.create_thread(runtime, CreateThread(messages=messages))


async def start_run(
    runtime: Runtime, thread: Doc, helper: Doc, headers: dict[str, str] | None = None, **fields: Any
) -> Doc:
    request = CreateRun(assistant_id=helper["id"], **fields)
    return await runs.create_run(runtime, thread["id"], request, headers or {})


async def poll(runtime: Runtime, run: Doc) -> Doc:
    return await runs.retrieve_run(runtime, run["thread_id"], run["id"])


async def last_answer(runtime: Runtime, thread: Doc) -> str:
    from aoai_mock.behaviour.assistants.common import ListQuery

    page = await threads.list_messages(runtime, thread["id"], ListQuery(limit=1))
    return threads.message_text(page["data"][0])
