"""A polled run's pace, as Azure was recorded: queued at its first look, in_progress from the next, its outcome
once ``run_seconds`` have passed (recordings/assistants/net-BasicRunOperationsWork-2024-05-01-preview), on the
injected clock."""

from __future__ import annotations

from dataclasses import replace

import pytest
from aoai_mock.behaviour.assistants import runs, threads
from aoai_mock.behaviour.assistants.common import ListQuery
from aoai_mock.behaviour.assistants.requests import SubmitToolOutputs
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.settings import ConfigError, resolve

from tests.behaviour.assistants.conftest import FakeClock, assistant, poll, scenario, start_run, thread_with
from tests.behaviour.assistants.test_runs import WEATHER, WEATHER_SCENARIO


@pytest.fixture()
def paced(runtime: Runtime) -> Runtime:
    """The runtime at the server's default pace (2 s)."""
    runtime.settings = replace(runtime.settings, run_seconds=resolve({"port": 0}, env={}).run_seconds)
    return runtime


async def listed(runtime: Runtime, run: dict) -> dict:
    return (await runs.list_runs(runtime, run["thread_id"], ListQuery()))["data"][0]


async def test_queued_at_the_first_look_in_progress_at_the_next_done_after_the_pace(
    paced: Runtime, clock: FakeClock
) -> None:
    thread = await thread_with(paced, "Hello, assistant!")
    run = await start_run(paced, thread, await assistant(paced))
    first = await poll(paced, run)
    assert first["status"] == "queued" and first["started_at"] is None
    seen = await listed(paced, run)  # a look, not a poll
    assert seen["status"] == "in_progress" and seen["started_at"] is not None and seen["expires_at"] is not None
    assert [m["role"] for m in (await threads.list_messages(paced, thread["id"], ListQuery()))["data"]] == ["user"]
    clock.now += 1.9
    assert (await poll(paced, run))["status"] == "in_progress"
    clock.now += 0.1
    done = await poll(paced, run)
    assert done["status"] == "completed" and done["expires_at"] is None and done["usage"]["prompt_tokens"] > 0


async def test_a_run_nobody_looks_at_is_picked_up_after_half_the_pace(paced: Runtime, clock: FakeClock) -> None:
    run = await start_run(paced, await thread_with(paced, "hi"), await assistant(paced))
    clock.now += 1
    assert (await poll(paced, run))["status"] == "in_progress"
    clock.now += 1
    assert (await poll(paced, run))["status"] == "completed"


async def test_the_pace_and_the_scenarios_schedule_both_hold(paced: Runtime, clock: FakeClock) -> None:
    scenario(paced, "name: slow\nruns: {complete_after_polls: 4}\n")
    run = await start_run(paced, await thread_with(paced, "hi"), await assistant(paced))
    clock.now += 5
    assert [(await poll(paced, run))["status"] for _ in range(4)] == [
        "in_progress",
        "in_progress",
        "in_progress",
        "completed",
    ]


async def test_tool_outputs_start_the_pace_again(paced: Runtime, clock: FakeClock) -> None:
    scenario(paced, WEATHER_SCENARIO)
    run = await start_run(paced, await thread_with(paced, "weather in Oslo"), await assistant(paced, tools=[WEATHER]))
    clock.now += 2
    waiting = await poll(paced, run)
    assert waiting["status"] == "requires_action"
    (call,) = waiting["required_action"]["submit_tool_outputs"]["tool_calls"]
    outputs = SubmitToolOutputs(tool_outputs=[{"tool_call_id": call["id"], "output": "cold"}])
    await runs.submit_tool_outputs(paced, run["thread_id"], run["id"], outputs)
    assert [(await poll(paced, run))["status"] for _ in range(2)] == ["queued", "in_progress"]
    clock.now += 2
    assert (await poll(paced, run))["status"] == "completed"


async def test_at_pace_zero_the_first_look_finishes_a_run(runtime: Runtime) -> None:
    assert runtime.settings.run_seconds == 0
    assert (await poll(runtime, await start_run(runtime, await thread_with(runtime, "hi"), await assistant(runtime))))[
        "status"
    ] == "completed"


def test_the_pace_is_a_setting() -> None:
    assert resolve({"port": 0}, env={}).run_seconds == 2.0
    assert resolve({"port": 0}, env={"AOAI_MOCK_RUN_SECONDS": "0.5"}).run_seconds == 0.5
    assert resolve({"port": 0, "run_seconds": 0}, env={"AOAI_MOCK_RUN_SECONDS": "3"}).run_seconds == 0
    with pytest.raises(ConfigError, match="run_seconds must not be negative"):
        resolve({"port": 0, "run_seconds": -1}, env={})
