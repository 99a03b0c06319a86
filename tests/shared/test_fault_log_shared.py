"""The log of injected faults shared through Redis: every process's injections, in order, with totals, on any
process; a reset clears it for all; a Redis that goes away costs no answer the faults did not already need it
for. Books on one real redis-server first, then real ``serve`` processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
import httpx
import pytest
from aoai_mock.behaviour.faults import FaultBook
from aoai_mock.behaviour.scenarios.matching import RequestView
from aoai_mock.behaviour.shared_counters import SharedCounters
from aoai_mock.behaviour.shared_fault_log import SharedFaultLog
from aoai_mock.state.redis_state import RedisState, RedisUnavailable

from tests.processes import running
from tests.redis_server import RedisServer
from tests.shared.test_fault_schedules import CHAT, KEY, until
from tests.shared.test_fault_script import view

on_session_loop = pytest.mark.asyncio(loop_scope="session")  # the loop the client fixture was made in


@pytest.fixture()
async def state(redis_url: str) -> AsyncIterator[RedisState]:
    state = RedisState.from_url(redis_url)
    yield state
    await state.close()


def book(state: RedisState, size: int = 1000) -> FaultBook:
    """One process's book: its own counters' name and its own log writer, on the shared Redis."""
    made = FaultBook(log_size=size)
    counters = SharedCounters(state)
    made.share(counters, SharedFaultLog(state, size, counters.process))
    return made


def asked(book: FaultBook, kind: str, n: int) -> int:
    """A request that names its fault (``rid-N``): the injection's number in the book's own log."""
    request = view(n)
    request = RequestView(request.operation, request.deployment, request.api_version, {"x-aoai-mock-fault": kind},
                          request.body)
    fault = book.decide(request, request_id=f"rid-{n}")
    assert fault is not None
    return fault.record


def listed(summary: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(i["n"], i["kind"], i["request_id"], i["source"]) for i in summary["injected"]]


def without_waits(summary: dict[str, Any]) -> tuple[Any, ...]:
    """What every process lists alike: all but how long each injection has waited for a retry, so far."""
    return [{k: v for k, v in i.items() if k != "client"} for i in summary["injected"]], summary["totals"]


async def summary(book: FaultBook) -> dict[str, Any]:
    return book.summary(log=await book.shared_listing())


@on_session_loop
async def test_two_books_list_each_other_s_injections_in_order_with_totals(state: RedisState) -> None:
    a, b = book(state), book(state)
    for n, (one, kind) in enumerate([(a, "429"), (b, "503"), (a, "500"), (b, "429")]):
        asked(one, kind, n)
    # Nothing was written yet (no writer task runs here): each reader writes its own queue first, so a sees
    # its own two, then b's reading writes b's after them.
    assert [i[2] for i in listed(await summary(a))] == ["rid-0", "rid-2"]
    assert listed(await summary(b)) == [(1, "429", "rid-0", "header"), (2, "500", "rid-2", "header"),
                                        (3, "503", "rid-1", "header"), (4, "429", "rid-3", "header")]
    first, second = await summary(a), await summary(b)
    assert without_waits(first) == without_waits(second)  # the same numbers, times and totals on both
    assert second["totals"] == {"injected": 4, "kept": 4, "by_kind": {"429": 2, "500": 1, "503": 1}, "retried": 0,
                                "not_retried": 4}


@on_session_loop
async def test_a_delivery_reported_after_the_entry_was_written_replaces_it_where_it_stands(
    state: RedisState,
) -> None:
    a, b = book(state), book(state)
    record = asked(a, "503", 1)
    assert listed(await summary(b)) == []  # a's queue is a's until something writes it
    assert [i["request_id"] for i in (await summary(a))["injected"]] == ["rid-1"]
    a.delivered(record, client_closed=False, chunks_sent=0)
    a.record_outcome(record, answer="gave up")
    asked(b, "429", 2)
    seen = (await summary(a))["injected"]
    assert [(i["n"], i["request_id"]) for i in seen] == [(1, "rid-1")]  # b's is still b's
    seen = (await summary(b))["injected"]
    assert [(i["n"], i["request_id"]) for i in seen] == [(1, "rid-1"), (2, "rid-2")]
    assert seen[0]["transport"] == {"client_closed": False, "chunks_sent": 0}
    assert seen[0]["client"] == {"answer": "gave up"}
    assert seen[0]["delivered_s"] is not None and seen[0]["delivered_s"] >= seen[0]["time_s"]


@on_session_loop
async def test_the_writer_task_writes_an_injection_decided_in_a_worker_thread(state: RedisState) -> None:
    a, b = book(state), book(state)
    writing = asyncio.create_task(a.shared_log.keep_writing())
    await asyncio.sleep(0)  # the task waits for the queue now
    try:
        await anyio.to_thread.run_sync(asked, a, "503", 1)  # as a request the seam answers in a thread
        deadline = time.monotonic() + 5
        while not (await summary(b))["injected"]:  # b writes nothing: a's task wrote it
            assert time.monotonic() < deadline, "a's writer did not write the injection"
            await asyncio.sleep(0.01)
    finally:
        writing.cancel()
        await asyncio.gather(writing, return_exceptions=True)
    assert listed(await summary(b)) == [(1, "503", "rid-1", "header")]


@on_session_loop
async def test_the_log_keeps_its_size_and_counts_every_injection(state: RedisState) -> None:
    a, b = book(state, size=3), book(state, size=3)
    for n in range(5):
        asked(a if n % 2 else b, "500", n)
        await (a if n % 2 else b).shared_listing()  # written in the order they came
    found = await summary(a)
    assert [i["request_id"] for i in found["injected"]] == ["rid-2", "rid-3", "rid-4"]
    assert (found["totals"]["injected"], found["totals"]["kept"]) == (5, 3)


@on_session_loop
async def test_a_clear_empties_the_log_for_every_book_and_drops_what_was_queued_before(state: RedisState) -> None:
    a, b = book(state), book(state)
    asked(a, "500", 1)
    await a.shared_listing()
    asked(b, "503", 2)  # made before the clear, still on b's queue
    a.reset()
    await a.shared_log.clear()
    assert (await summary(b))["injected"] == []
    assert (await summary(b))["totals"]["injected"] == 0
    asked(b, "429", 3)
    assert listed(await summary(a)) == []  # b's not written yet
    assert [i["request_id"] for i in (await summary(b))["injected"]] == ["rid-3"]
    assert [i["request_id"] for i in (await summary(a))["injected"]] == ["rid-3"]


@on_session_loop
async def test_injections_made_while_redis_is_gone_are_written_once_it_is_back(
    redis_server: RedisServer, state: RedisState
) -> None:
    a = book(state)
    redis_server.stop()
    try:
        asked(a, "429", 1)  # the header decides: no Redis needed, no error
        with pytest.raises(RedisUnavailable):
            await a.shared_listing()
        asked(a, "503", 2)
    finally:
        redis_server.start()
    assert [(i["n"], i["request_id"]) for i in (await summary(a))["injected"]] == [(1, "rid-1"), (2, "rid-2")]


# -- real processes ---------------------------------------------------------------------------------------


def chat(url: str, fault: str | None = None, text: str = "hi", retry: str | None = None) -> httpx.Response:
    """A chat request (its own ``text``, so the journal takes no other request for its retry)."""
    headers = {**KEY, "x-aoai-mock-fault": fault} if fault else dict(KEY)
    if retry is not None:
        headers["x-stainless-retry-count"] = retry
    body = {"messages": [{"role": "user", "content": text}]}
    return httpx.post(url + CHAT, json=body, headers=headers, timeout=30)


def faults(url: str) -> dict[str, Any]:
    found = httpx.get(url + "/_mock/faults", timeout=30)
    assert found.status_code == 200, found.text
    return found.json()


def injected(url: str) -> list[tuple[Any, ...]]:
    return [(i["n"], i["request_id"], i["kind"], i["source"], i["time_s"]) for i in faults(url)["injected"]]


def test_two_servers_list_every_injection_in_order_and_a_reset_clears_both(redis_url: str) -> None:
    with running("serve", "--state", redis_url) as (a, _), running("serve", "--state", redis_url) as (b, _):
        assert httpx.post(a + "/_mock/faults", json=[{"kind": "503", "every": 2}], headers=KEY).status_code == 201
        until(lambda: bool(faults(b)["installed"]))
        sent = [chat(a, "429", "one"), chat(b, text="two"), chat(b, "500", "three"), chat(a, text="four")]
        assert [r.status_code for r in sent] == [429, 200, 500, 503]
        ids = [r.headers["x-request-id"] for r in sent]
        want = [(ids[0], "429", "header"), (ids[2], "500", "header"), (ids[3], "503", "control")]
        # Each read writes the reader's own queue first; the other's arrives within milliseconds.
        until(lambda: [i[1:4] for i in injected(a)] == want and [i[1:4] for i in injected(b)] == want)
        assert injected(a) == injected(b)  # the same numbers and times, whichever process is asked
        assert [i[0] for i in injected(a)] == sorted(i[0] for i in injected(a))
        for url in (a, b):
            assert faults(url)["totals"] == {"injected": 3, "kept": 3, "by_kind": {"429": 1, "500": 1, "503": 1},
                                             "retried": 0, "not_retried": 3}

        retry = chat(b, text="four", retry="1")
        assert retry.status_code == 200  # a retry of the plan's 503, served by the other process
        until(lambda: faults(a)["totals"]["retried"] == 1)

        assert httpx.post(b + "/_mock/reset", headers=KEY).status_code == 200
        until(lambda: faults(a)["injected"] == [] and faults(b)["injected"] == [])
        assert faults(a)["totals"]["injected"] == 0
        assert chat(a, "408").status_code == 408
        until(lambda: [i[:3:2] for i in injected(b)] == [(1, "408")])  # numbered from 1 again, as in one process


def test_a_header_fault_is_answered_while_redis_is_gone_and_logged_once_it_is_back(
    redis_server: RedisServer, redis_url: str
) -> None:
    with running("serve", "--state", redis_url) as (url, proc):
        assert chat(url, "429").status_code == 429
        until(lambda: len(faults(url)["injected"]) == 1)
        redis_server.stop()
        try:
            during = [chat(url, kind) for kind in ("503", "500")]
            assert [r.status_code for r in during] == [503, 500]  # as asked: the header needs no Redis
            unread = httpx.get(url + "/_mock/faults", timeout=30)
            assert unread.status_code == 500 and unread.json()["error"]["type"] == "server_error"
        finally:
            redis_server.start()
        # Redis came back empty: the first injection went with it; those made meanwhile are written.
        kept = [r.headers["x-request-id"] for r in during]
        until(lambda: [i[1] for i in injected(url)] == kept, timeout=15)
    log = proc.stdout.read().decode()
    assert log.count("the fault log keeps this process's injections") == 1
    assert "the fault log is writing the injections kept meanwhile" in log
    assert "Traceback" not in log
