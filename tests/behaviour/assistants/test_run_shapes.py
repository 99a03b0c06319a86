"""Runs, messages and steps in the shapes Azure wrote them, per api-version era (recordings/assistants and the
Azure/azure-sdk-assets recordings behaviour/assistants/shapes.py names), and a run's prompt tokens."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_mock.behaviour.assistants import runs, threads
from aoai_mock.behaviour.assistants.common import ListQuery
from aoai_mock.behaviour.assistants.events import Recorder
from aoai_mock.behaviour.assistants.prompt import prompt_text, prompt_tokens
from aoai_mock.behaviour.assistants.requests import CreateMessage, CreateRun
from aoai_mock.behaviour.assistants.streaming import run_events
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.wire.eras import era_for

from tests.behaviour.assistants.conftest import assistant, poll, start_run, thread_with

SETTINGS = {"max_completion_tokens", "max_prompt_tokens", "truncation_strategy", "incomplete_details"}
PROGRESS = {"status", "incomplete_details", "completed_at", "incomplete_at"}


async def stream(runtime: Runtime, thread: dict[str, Any], helper: dict[str, Any], version: str) -> dict[str, Any]:
    """The streamed run's events (the first of each name), as ``version`` has them."""
    recorder = Recorder()
    request = CreateRun(assistant_id=helper["id"], stream=True)
    run = await runs.create_run(runtime, thread["id"], request, {}, version, recorder)
    events = [event async for event in run_events(runtime, run["id"], recorder.events)]
    firsts: dict[str, Any] = {}
    for name, data in events:
        firsts.setdefault(name, data)
    return firsts


# -- the era table ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "parallel", "settings"),
    [
        ("2024-02-15-preview", False, False),  # assistants v1: the recorded 2024-05 shape [inferred]
        ("2024-05-01-preview", False, False),  # recorded, Jun 2024
        ("2024-07-01-preview", False, True),  # its spec's runObject has no parallel_tool_calls
        ("2024-08-01-preview", False, True),
        ("2024-09-01-preview", True, True),  # the first spec with it
        ("2025-04-01-preview", True, True),  # recorded, Apr 2025
        ("preview", True, True),
    ],
)
def test_the_assistants_column_of_the_era_table(version: str, parallel: bool, settings: bool) -> None:
    shape = era_for(version).assistants
    assert (shape.run_parallel_tool_calls, shape.stream_run_settings) == (parallel, settings)


# -- runs ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("version", "parallel"), [("2024-05-01-preview", False), ("2024-09-01-preview", True)])
async def test_a_run_in_a_json_answer(runtime: Runtime, version: str, parallel: bool) -> None:
    run = await start_run(runtime, await thread_with(runtime, "hi"), await assistant(runtime))
    shown = runs.render(run, version)
    assert ("parallel_tool_calls" in shown) is parallel
    assert shown["tool_resources"] == {} and shown["instructions"] is None
    listed = (await runs.list_runs(runtime, run["thread_id"], ListQuery(), version))["data"][0]
    assert listed.keys() == shown.keys()


async def test_a_run_takes_the_era_of_the_version_that_created_it_unless_told(runtime: Runtime) -> None:
    request = CreateRun(assistant_id=(await assistant(runtime))["id"])
    run = await runs.create_run(runtime, (await thread_with(runtime, "hi"))["id"], request, {}, "2024-05-01-preview")
    assert "parallel_tool_calls" not in runs.render(run)
    assert runs.render(run, "2025-04-01-preview")["parallel_tool_calls"] is True


async def test_instructions_are_the_assistants_when_the_run_gives_none(runtime: Runtime) -> None:
    helper = await assistant(runtime, instructions="Be brief.")
    assert (await start_run(runtime, await thread_with(runtime, "hi"), helper))["instructions"] == "Be brief."
    bare = await start_run(
        runtime, await thread_with(runtime, "hi"), await assistant(runtime), additional_instructions="Smile."
    )
    assert bare["instructions"] == "Smile."


async def test_streamed_run_events_in_2024_05_leave_the_settings_out_after_queued(runtime: Runtime) -> None:
    firsts = await stream(runtime, await thread_with(runtime, "hi"), await assistant(runtime), "2024-05-01-preview")
    for name in ("thread.run.created", "thread.run.queued"):
        assert SETTINGS <= firsts[name].keys() and "parallel_tool_calls" not in firsts[name]
    for name in ("thread.run.in_progress", "thread.run.completed"):
        assert not SETTINGS & firsts[name].keys()
    assert firsts["thread.run.completed"]["tool_resources"] == {"code_interpreter": {"file_ids": []}}


async def test_streamed_run_events_later_keep_them(runtime: Runtime) -> None:
    firsts = await stream(runtime, await thread_with(runtime, "hi"), await assistant(runtime), "2025-04-01-preview")
    for name in ("thread.run.created", "thread.run.in_progress", "thread.run.completed"):
        assert SETTINGS <= firsts[name].keys() and firsts[name]["parallel_tool_calls"] is True
        assert firsts[name]["tool_resources"] == {"code_interpreter": {"file_ids": []}}


# -- messages and steps -------------------------------------------------------------------------------------------


async def test_messages_leave_their_progress_out_of_json_answers_not_out_of_streams(runtime: Runtime) -> None:
    thread = await thread_with(runtime, "hi")
    made = await threads.create_message(runtime, thread["id"], CreateMessage(role="user", content="more"))
    assert not PROGRESS & made.keys() and made["attachments"] == [] and made["metadata"] == {}
    firsts = await stream(runtime, thread, await assistant(runtime), "2024-05-01-preview")
    assert PROGRESS <= firsts["thread.message.created"].keys()
    assert firsts["thread.message.completed"]["status"] == "completed"
    for message in (await threads.list_messages(runtime, thread["id"], ListQuery()))["data"]:
        assert not PROGRESS & message.keys()
        assert not PROGRESS & (await threads.retrieve_message(runtime, thread["id"], message["id"])).keys()


async def test_steps_carry_their_runs_expiry_and_no_metadata(runtime: Runtime) -> None:
    firsts = await stream(runtime, await thread_with(runtime, "hi"), await assistant(runtime), "2024-05-01-preview")
    run = firsts["thread.run.created"]
    for name in ("thread.run.step.created", "thread.run.step.completed"):
        step = firsts[name]
        assert step["expires_at"] == run["expires_at"] and not {"expired_at", "metadata"} & step.keys()
    (listed,) = (await runs.list_steps(runtime, run["thread_id"], run["id"], ListQuery()))["data"]
    assert listed["expires_at"] is None and "expired_at" not in listed  # the run has ended
    assert await runs.retrieve_step(runtime, run["thread_id"], run["id"], listed["id"]) == listed


# -- prompt tokens ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "recorded"),
    [
        ("Hello, assistant!", 22),  # recordings/assistants/net-BasicRunOperationsWork-2024-05-01-preview #8
        ("Hello there, assistant! How are you today?", 28),  # net-StreamingRunWorks-2024-05-01-preview #2
    ],
)
def test_a_runs_prompt_is_its_chatml_text(text: str, recorded: int) -> None:
    messages = [{"role": "user", "content": text}]
    assert prompt_text(messages) == f"<|im_start|>user<|im_sep|>{text}<|im_end|>"
    assert prompt_tokens(messages, "cl100k_base") == recorded


async def test_a_runs_usage_counts_instructions_and_functions_in_the_system_message(runtime: Runtime) -> None:
    weather = {"name": "get_weather", "description": "The weather", "parameters": {"type": "object", "properties": {}}}
    helper = await assistant(runtime, model="gpt-4", instructions="Be brief.")
    done = await poll(runtime, await start_run(runtime, await thread_with(runtime, "Hello, assistant!"), helper))
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello, assistant!"}]
    assert done["usage"]["prompt_tokens"] == prompt_tokens(conversation, "cl100k_base")
    text = prompt_text(conversation, [weather])
    assert text.startswith("<|im_start|>system<|im_sep|>Be brief.\n\n## functions\n")
    assert text.count("<|im_start|>") == 2
