"""Fault windows shared through Redis: a plan's window opens at the moment the first process installed it, for
every process, each judging it by its own clock from there. Two books on one real redis-server, each with its
own monotonic clock and one wall clock between them (injected: no sleeps); then real processes, one started
after the plan was installed."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest
from aoai_mock.behaviour import shared_control
from aoai_mock.behaviour.faults import FaultBook, load_plan
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.shared_control import attach, counters_reset, faults_changed
from aoai_mock.behaviour.shared_counters import SharedCounters
from aoai_mock.settings import resolve
from aoai_mock.state.redis_state import RedisState

from tests.processes import running
from tests.shared.test_fault_schedules import BODY, CHAT, KEY, installed, until
from tests.shared.test_fault_script import view

on_session_loop = pytest.mark.asyncio(loop_scope="session")  # the loop the client fixture was made in

WINDOW = [{"kind": "500", "window": {"start_s": 10, "end_s": 20}}]


class Clocks:
    """One wall clock, and each process's monotonic clock, far apart, all moved on together."""

    def __init__(self) -> None:
        self.wall = 1_800_000_000.0
        self.monotonic = {"a": 5.0, "b": 90_000.0}

    def of(self, process: str) -> Callable[[], float]:
        return lambda: self.monotonic[process]

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        for name in self.monotonic:
            self.monotonic[name] += seconds


@pytest.fixture()
async def state(redis_url: str) -> AsyncIterator[RedisState]:
    state = RedisState.from_url(redis_url)
    yield state
    await state.close()


def book(clocks: Clocks, process: str, state: RedisState) -> FaultBook:
    made = FaultBook(clock=clocks.of(process), wall=lambda: clocks.wall)
    made.share(SharedCounters(state))
    return made


async def fired(one: FaultBook, n: int) -> bool:
    return await one.decide_shared(view(n)) is not None


@on_session_loop
async def test_a_window_opens_and_closes_at_the_same_moments_for_a_process_that_installed_later(
    state: RedisState,
) -> None:
    clocks = Clocks()
    a, b = book(clocks, "a", state), book(clocks, "b", state)
    a.install(WINDOW, "control", version=1)
    await a.anchor_shared()  # as the control API does before it announces the plan
    clocks.advance(6)
    b.install(WINDOW, "control", version=1)  # by its own clock, its window would open at 16 and close at 26
    seen = []
    for second in range(6, 24):
        seen.append((second, await fired(a, 2 * second), await fired(b, 2 * second + 1)))
        clocks.advance(1)
    assert seen == [(s, 10 <= s < 20, 10 <= s < 20) for s in range(6, 24)]


@on_session_loop
async def test_the_first_process_to_decide_opens_a_window_no_process_announced(state: RedisState) -> None:
    clocks = Clocks()
    a, b = book(clocks, "a", state), book(clocks, "b", state)
    a.install(WINDOW, "scenario:outage")  # a scenario given at start: nobody wrote when its windows open
    clocks.advance(3)
    b.install(WINDOW, "scenario:outage")
    clocks.advance(4)
    assert not await fired(b, 1)  # b decides first: its install, 4 s ago, is the plan's
    clocks.advance(4)
    assert not await fired(a, 2)  # 11 s after a's install, 8 after b's
    clocks.advance(2)
    assert await fired(a, 3) and await fired(b, 4)
    clocks.advance(8)
    assert await fired(a, 5) and await fired(b, 6)  # 21 s after a's install, 18 after b's
    clocks.advance(2)
    assert not await fired(a, 7) and not await fired(b, 8)


def runtime(clocks: Clocks, process: str, state: RedisState) -> Runtime:
    """One process's runtime on the shared Redis, as ``create_app`` attaches it, its book on the test's clocks."""
    made = Runtime.create(resolve({"port": 0}, env={}))
    made.faults = FaultBook(clock=clocks.of(process), wall=lambda: clocks.wall)
    made.shared = state
    attach(made)
    return made


@on_session_loop
async def test_a_reset_opens_the_windows_again_from_that_moment_for_both(state: RedisState) -> None:
    clocks = Clocks()
    a, b = runtime(clocks, "a", state), runtime(clocks, "b", state)
    assert await faults_changed(a, load_plan(WINDOW)) == ["fault-1"]
    await shared_control._faults(b, b.faults.shared)  # what b does on the notice
    clocks.advance(25)
    assert not await fired(a.faults, 1) and not await fired(b.faults, 2)  # closed at 20
    a.reset()  # POST /_mock/reset, on a
    await counters_reset(a)
    clocks.advance(2)
    b.reset()  # the notice reaches b later: its windows still open from a's reset
    await b.faults.anchor_shared()
    clocks.advance(7.5)
    assert not await fired(a.faults, 3) and not await fired(b.faults, 4)
    clocks.advance(0.5)
    assert await fired(a.faults, 5) and await fired(b.faults, 6)  # 10 s after a's reset
    clocks.advance(10)
    assert not await fired(a.faults, 7) and not await fired(b.faults, 8)


@on_session_loop
async def test_without_redis_a_window_opens_by_the_book_s_own_install(state: RedisState) -> None:
    clocks = Clocks()
    alone = FaultBook(clock=clocks.of("a"), wall=lambda: clocks.wall)
    alone.install(WINDOW, "control")
    clocks.advance(10)
    assert alone.decide(view(1)) is not None
    assert alone.window_starts() == {}


# -- real processes ---------------------------------------------------------------------------------------

LATE = [{"kind": "500", "window": {"start_s": 4, "end_s": 12}}]


def test_a_server_started_after_the_plan_opens_and_closes_its_window_with_the_first(redis_url: str) -> None:
    """Every answer is timed from just before the plan was posted; a 500 must have been decided within the
    window, a 200 outside it. The second server starts 1 s after the plan was posted (in a thread, while the
    first is polled): judging the window by its own install, it would answer 500s until 13 s or later."""
    seen: dict[str, list[tuple[float, float, int]]] = {"one": [], "two": []}
    urls: dict[str, str] = {}

    def start_two(stack: ExitStack) -> None:
        url, _ = stack.enter_context(running("serve", "--state", redis_url, timeout=30))
        until(lambda: bool(installed(url)))
        urls["two"] = url

    with ExitStack() as stack, httpx.Client(timeout=30) as client, ThreadPoolExecutor(1) as pool:
        urls["one"], _ = stack.enter_context(running("serve", "--state", redis_url))
        posted = time.monotonic()
        assert client.post(urls["one"] + "/_mock/faults", json=LATE, headers=KEY).status_code == 201
        late = time.monotonic() - posted  # the plan was installed between 0 and this
        starting = None
        while time.monotonic() - posted < 15:
            if starting is None and time.monotonic() - posted >= 1.0:
                starting = pool.submit(start_two, stack)
            for name, url in list(urls.items()):
                sent = time.monotonic() - posted
                status = client.post(url + CHAT, json=BODY, headers=KEY).status_code
                seen[name].append((sent, time.monotonic() - posted, status))
            time.sleep(0.05)  # the polls' pace
        assert starting is not None
        starting.result()
    for name, answers in seen.items():
        for sent, answered, status in answers:
            if status == 500:
                assert answered >= 4 and sent < 12 + late, (name, sent, answered)
            else:
                assert status == 200 and (sent < 4 + late or answered >= 12), (name, sent, answered, status)
        assert any(status == 500 for _, _, status in answers), (name, answers)
        assert any(sent > 12 + late for sent, _, _ in answers), (name, answers)
