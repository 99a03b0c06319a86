"""The shared fault decision's Lua script against the in-process book, on a real redis-server: the same plan and
the same requests give the same faults, shadowed entries and counters."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aoai_mock.behaviour.faults import FaultBook
from aoai_mock.behaviour.scenarios.matching import RequestView
from aoai_mock.behaviour.shared_counters import SharedCounters
from aoai_mock.state.redis_state import RedisState, RedisUnavailable

from tests.redis_server import RedisServer

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the loop the client fixture was made in


@pytest.fixture()
async def counters(redis_url: str) -> AsyncIterator[SharedCounters]:
    state = RedisState.from_url(redis_url)
    yield SharedCounters(state)
    await state.close()


def view(n: int, deployment: str = "gpt-4o", text: str = "hi") -> RequestView:
    body = {"messages": [{"role": "user", "content": f"{text} {n}"}]}
    return RequestView("chat.completions", deployment, "2024-10-21", {}, body)


PLANS: list[list[dict[str, Any]]] = [
    [{"kind": "429", "next": 2}],
    [{"kind": "503", "every": 3, "after": 2}],
    [{"kind": "500", "every": 2, "times": 3}],
    [{"id": "a", "kind": "429", "every": 2}, {"id": "b", "kind": "503", "every": 3}],  # b shadowed at 6, 12
    [{"kind": "429", "after": 4, "next": 3, "deployment": ["other"]}, {"kind": "500", "every": 5}],
]


@pytest.mark.parametrize("plan", PLANS, ids=["next", "every-after", "every-times", "shadowed", "scoped"])
async def test_the_fault_script_decides_as_the_in_process_book_does(counters: SharedCounters, plan: list) -> None:
    local, remote = FaultBook(clock=lambda: 0.0), FaultBook(clock=lambda: 0.0)
    remote.share(counters)
    local.install(plan, "control")
    remote.install(plan, "control", version=1)
    for n in range(30):
        request = view(n, "other" if n % 3 == 0 else "gpt-4o")
        expected = local.decide(request)
        got = await remote.decide_shared(request)
        assert (got and (got.entry, got.kind)) == (expected and (expected.entry, expected.kind)), n
    want = [{k: e[k] for k in ("id", "seen", "fired", "shadowed")} for e in local.summary()["installed"]]
    counts = await remote.shared_counts()
    have = [{k: e[k] for k in ("id", "seen", "fired", "shadowed")} for e in remote.summary(counts=counts)["installed"]]
    assert have == want
    assert any(e["fired"] for e in want)


async def test_a_fault_window_is_opened_by_the_process_clock(counters: SharedCounters) -> None:
    now = [0.0]
    book = FaultBook(clock=lambda: now[0])
    book.share(counters)
    book.install([{"kind": "500", "window": {"start_s": 10, "end_s": 20}}], "control", version=1)
    assert await book.decide_shared(view(1)) is None
    now[0] = 15.0
    assert (await book.decide_shared(view(2))).kind == "500"
    now[0] = 20.0
    assert await book.decide_shared(view(3)) is None


async def test_a_redis_out_of_reach_is_azures_500(redis_server: RedisServer, counters: SharedCounters) -> None:
    book = FaultBook()
    book.share(counters)
    book.install([{"kind": "429", "next": 1}], "control", version=1)
    redis_server.stop()
    try:
        with pytest.raises(RedisUnavailable) as raised:
            await book.decide_shared(view(1), request_id="1234")
        assert raised.value.status == 500 and "1234" in raised.value.body()["error"]["message"]
    finally:
        redis_server.start()
    assert (await book.decide_shared(view(2))).kind == "429"


async def test_a_plan_matching_on_call_numbers_its_calls_in_redis(counters: SharedCounters) -> None:
    plan = [{"kind": "500", "match": {"call": {"every": 4}}}, {"kind": "429", "match": {"call": [2, 3]}, "times": 1}]
    local, one, two = FaultBook(), FaultBook(), FaultBook()
    for book in (one, two):  # two processes' books, one plan
        book.share(counters)
        book.install(plan, "control", version=7)
    local.install(plan, "control")
    for n in range(12):
        expected = local.decide(view(n))
        got = await (one if n % 2 else two).decide_shared(view(n))
        assert (got and got.kind) == (expected and expected.kind), n
    assert [e["fired"] for e in local.summary()["installed"]] == [3, 1]
