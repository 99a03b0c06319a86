"""The assistant event stream without HTTP: event order, deltas that add up, waits through runtime.sleep."""

from __future__ import annotations

from typing import Any

from aoai_mock.behaviour.assistants import runs
from aoai_mock.behaviour.assistants.events import (
    Recorder,
    message_deltas,
    tool_call_deltas,
)
from aoai_mock.behaviour.assistants.requests import (
    CreateRun,
    CreateThreadAndRun,
    SubmitToolOutputs,
)
from aoai_mock.behaviour.assistants.streaming import run_events
from aoai_mock.behaviour.runtime import Runtime

from tests.behaviour.assistants.conftest import assistant, scenario, thread_with
from tests.behaviour.assistants.test_runs import WEATHER, WEATHER_SCENARIO


async def stream(runtime: Runtime, thread: dict[str, Any], helper: dict[str, Any]) -> list[tuple[str, Any]]:
    recorder = Recorder()
    run = await runs.create_run(
        runtime, thread["id"], CreateRun(assistant_id=helper["id"], stream=True), {}, None, recorder
    )
    return [event async for event in run_events(runtime, run["id"], recorder.events)]


async def test_a_streamed_answer(runtime: Runtime) -> None:
    scenario(runtime, "name: s\ndefault: {text: The answer is forty-two.}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "question")
    events = await stream(runtime, thread, helper)
    names = [name for name, _ in events]
    assert names[:4] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created"]
    assert names[4:7] == ["thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress"]
    assert names[-5:] == ["thread.message.delta", "thread.message.completed", "thread.run.step.completed",
                          "thread.run.completed", "done"]  # fmt: skip
    assert events[-1] == ("done", "[DONE]")
    deltas = [data for name, data in events if name == "thread.message.delta"]
    assert "".join(d["delta"]["content"][0]["text"]["value"] for d in deltas) == "The answer is forty-two."
    assert (
        deltas[0]["delta"]["content"][0]["text"]["annotations"] == [] and deltas[0]["object"] == "thread.message.delta"
    )
    created = dict(events)["thread.message.created"]
    assert created["content"] == [] and created["status"] == "in_progress"
    completed = dict(events)["thread.run.completed"]
    assert completed["status"] == "completed" and completed["usage"]["completion_tokens"] == len(deltas)
    assert dict(events)["thread.run.created"]["status"] == "queued"


async def test_a_streamed_function_call_and_its_outputs(runtime: Runtime) -> None:
    scenario(runtime, WEATHER_SCENARIO)
    helper, thread = await assistant(runtime, tools=[WEATHER]), await thread_with(runtime, "weather in Lima")
    events = await stream(runtime, thread, helper)
    assert [n for n, _ in events][-5:] == ["thread.run.step.in_progress", "thread.run.step.delta",
                                           "thread.run.step.delta", "thread.run.requires_action", "done"]  # fmt: skip
    step = dict(events)["thread.run.step.created"]
    assert step["step_details"] == {"type": "tool_calls", "tool_calls": []}  # the deltas fill it in
    opening, arguments = [
        d["delta"]["step_details"]["tool_calls"][0] for n, d in events if n == "thread.run.step.delta"
    ]
    assert opening["index"] == 0 and opening["function"] == {"name": "get_weather", "arguments": "", "output": None}
    assert arguments == {"index": 0, "type": "function", "function": {"arguments": '{"city":"Lima"}'}}
    run = dict(events)["thread.run.requires_action"]
    call_id = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["id"]
    recorder = Recorder()
    request = SubmitToolOutputs(tool_outputs=[{"tool_call_id": call_id, "output": "mild"}], stream=True)
    await runs.submit_tool_outputs(runtime, thread["id"], run["id"], request, recorder)
    after = [event async for event in run_events(runtime, run["id"], recorder.events)]
    assert [n for n, _ in after][:3] == ["thread.run.step.completed", "thread.run.queued", "thread.run.in_progress"]
    assert after[0][1]["step_details"]["tool_calls"][0]["function"]["output"] == "mild"
    assert dict(after)["thread.run.completed"]["status"] == "completed"


async def test_a_streamed_run_waits_its_seconds_through_the_runtime(runtime: Runtime) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    runtime.sleep = sleep
    scenario(runtime, "name: s\nruns: {complete_after_seconds: 2.5, complete_after_polls: 9}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    events = await stream(runtime, thread, helper)
    assert slept == [2.5] and dict(events)["thread.run.completed"]["status"] == "completed"


async def test_create_thread_and_run_streams_the_thread_first(runtime: Runtime) -> None:
    helper = await assistant(runtime)
    recorder = Recorder()
    request = CreateThreadAndRun(assistant_id=helper["id"], thread={"messages": [{"role": "user", "content": "x"}]})
    run = await runs.create_thread_and_run(runtime, request, {}, None, recorder)
    events = [e async for e in run_events(runtime, run["id"], recorder.events)]
    assert events[0][0] == "thread.created" and events[0][1]["id"] == run["thread_id"]


async def test_a_failed_run_streams_its_error(runtime: Runtime) -> None:
    scenario(runtime, "name: s\nruns: {outcome: failed}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    events = await stream(runtime, thread, helper)
    assert [n for n, _ in events][-2:] == ["thread.run.failed", "done"]
    assert dict(events)["thread.run.failed"]["last_error"]["code"] == "server_error"


def test_delta_shapes() -> None:
    annotation = {
        "type": "file_citation",
        "text": "【0:0†a】",
        "start_index": 2,
        "end_index": 8,
        "file_citation": {"file_id": "f"},
    }
    deltas = message_deltas("msg_1", ["Hi", " there"], [annotation])
    assert deltas[-1]["delta"]["content"][0]["text"]["annotations"] == [{"index": 0, **annotation}]
    assert message_deltas("msg_1", [], []) == []
    code = {
        "id": "call_1",
        "type": "code_interpreter",
        "code_interpreter": {"input": "1+1", "outputs": [{"type": "logs", "logs": "2"}]},
    }
    first, code_in, second = tool_call_deltas("step_1", [code])
    assert first["delta"]["step_details"]["tool_calls"][0]["code_interpreter"] == {"input": "", "outputs": []}
    assert code_in["delta"]["step_details"]["tool_calls"][0]["code_interpreter"] == {"input": "1+1"}
    assert second["delta"]["step_details"]["tool_calls"][0] == {
        "index": 0, "type": "code_interpreter", "code_interpreter": {"outputs": [{"index": 0, "type": "logs", "logs": "2"}]},
    }  # fmt: skip
