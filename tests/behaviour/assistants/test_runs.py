"""The run lifecycle without HTTP: schedules, outcomes, function calls, tools, cancel, expiry, usage."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aoai_mock.behaviour.assistants import runs, threads
from aoai_mock.behaviour.assistants.common import MESSAGE, ListQuery
from aoai_mock.behaviour.assistants.requests import (
    CreateMessage,
    CreateThreadAndRun,
    SubmitToolOutputs,
)
from aoai_mock.behaviour.ids import Clock
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import InvalidRequest
from aoai_mock.settings import resolve
from aoai_mock.state.sqlite import SqliteStore

from tests.behaviour.assistants.conftest import (
    FakeClock,
    assistant,
    last_answer,
    poll,
    put_file,
    scenario,
    start_run,
    thread_with,
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
WEATHER_SCENARIO = """
name: weather
rules:
  - match: {operation: assistants, tool_result: {name: get_weather}}
    reply: {text: "In {{ match.city | default('the city') }} it is {{ tool_results[0].text }}."}
  - match: {operation: assistants, tools: [get_weather], message: {regex: "weather in (?P<city>\\\\w+)"}}
    reply: {tool_calls: [{name: get_weather, arguments: {city: "{{ match.city }}"}}]}
"""


async def steps_of(runtime: Runtime, run: dict) -> list[dict]:
    return (await runs.list_steps(runtime, run["thread_id"], run["id"], ListQuery(order="asc")))["data"]


# -- the schedule -----------------------------------------------------------------------------------


async def test_by_default_the_first_poll_finishes_the_run(runtime: Runtime) -> None:
    helper, thread = await assistant(runtime), await thread_with(runtime, "Hello there")
    run = await start_run(runtime, thread, helper)
    assert run["status"] == "queued" and run["usage"] is None and run["expires_at"] == run["created_at"] + 600
    done = await poll(runtime, run)
    assert done["status"] == "completed" and done["completed_at"] is not None and done["expires_at"] is None
    assert await last_answer(runtime, thread) == "Hello there"  # the echo responder of the deployment
    assert done["usage"]["total_tokens"] == done["usage"]["prompt_tokens"] + done["usage"]["completion_tokens"] > 0


async def test_complete_after_polls(runtime: Runtime) -> None:
    scenario(runtime, "name: slow\nruns: {complete_after_polls: 3}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    run = await start_run(runtime, thread, helper)
    statuses = [(await poll(runtime, run))["status"] for _ in range(4)]
    assert statuses == ["in_progress", "in_progress", "completed", "completed"]
    await threads.list_messages(runtime, thread["id"], ListQuery())  # looks do not count as polls


async def test_looking_is_not_polling(runtime: Runtime) -> None:
    scenario(runtime, "name: slow\nruns: {complete_after_polls: 2}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    run = await start_run(runtime, thread, helper)
    await runs.list_runs(runtime, thread["id"], ListQuery())
    assert (await runs.list_runs(runtime, thread["id"], ListQuery()))["data"][0]["status"] == "queued"
    assert [(await poll(runtime, run))["status"] for _ in range(2)] == ["in_progress", "completed"]


async def test_complete_after_seconds_reads_the_injected_clock(runtime: Runtime, clock: FakeClock) -> None:
    scenario(runtime, "name: timed\nruns: {complete_after_seconds: 30, poll_after_ms: 250}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    run = await start_run(runtime, thread, helper)
    assert runs.poll_after_ms(run) == 250
    clock.now += 29
    assert (await poll(runtime, run))["status"] == "in_progress"
    clock.now += 1
    assert (await poll(runtime, run))["status"] == "completed"


@pytest.mark.parametrize(
    ("runs_section", "status", "error"),
    [
        ("{outcome: failed}", "failed", {"code": "server_error", "message": "Sorry, something went wrong."}),
        ("{outcome: failed, last_error: {code: rate_limit_exceeded, message: Slow down.}}", "failed",
         {"code": "rate_limit_exceeded", "message": "Slow down."}),
        ("{outcome: expired}", "expired", None),
    ],
)  # fmt: skip
async def test_outcomes(runtime: Runtime, runs_section: str, status: str, error: dict | None) -> None:
    scenario(runtime, f"name: ends\nruns: {runs_section}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    done = await poll(runtime, await start_run(runtime, thread, helper))
    assert done["status"] == status and done["last_error"] == error
    assert [m["role"] for m in (await threads.list_messages(runtime, thread["id"], ListQuery()))["data"]] == ["user"]
    if status == "failed":
        assert done["failed_at"] is not None and done["usage"] == {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}


async def test_outcome_incomplete_cuts_the_answer(runtime: Runtime) -> None:
    scenario(runtime, "name: cut\nruns: {outcome: incomplete}\ndefault: {text: one two three four five six seven eight}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "count")
    done = await poll(runtime, await start_run(runtime, thread, helper))
    assert done["status"] == "incomplete" and done["incomplete_details"] == {"reason": "max_completion_tokens"}
    message = (await threads.list_messages(runtime, thread["id"], ListQuery()))["data"][0]
    kept = await runtime.store.get(MESSAGE, message["id"])  # a JSON answer leaves the progress out; the stream says it
    assert kept["status"] == "incomplete" and kept["incomplete_details"] == {"reason": "max_tokens"}
    assert threads.message_text(message) == "one two three four"


async def test_max_completion_tokens_ends_incomplete(runtime: Runtime) -> None:
    scenario(runtime, "name: long\ndefault: {text: one two three four five six seven eight}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "count")
    done = await poll(runtime, await start_run(runtime, thread, helper, max_completion_tokens=3))
    assert done["status"] == "incomplete" and done["usage"]["completion_tokens"] == 3
    assert await last_answer(runtime, thread) == "one two three"


async def test_schedules_per_assistant_name(runtime: Runtime) -> None:
    scenario(runtime, "name: per\nruns:\n  complete_after_polls: 2\n  assistants:\n    Flaky: {outcome: failed}\n")
    flaky, steady = await assistant(runtime, name="Flaky"), await assistant(runtime, name="Steady")
    one, two = await thread_with(runtime, "a"), await thread_with(runtime, "b")
    flaky_run, steady_run = await start_run(runtime, one, flaky), await start_run(runtime, two, steady)
    assert [(await poll(runtime, flaky_run))["status"] for _ in range(2)] == ["in_progress", "failed"]
    assert [(await poll(runtime, steady_run))["status"] for _ in range(2)] == ["in_progress", "completed"]


async def test_one_active_run_per_thread(runtime: Runtime) -> None:
    scenario(runtime, "name: slow\nruns: {complete_after_polls: 5}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    run = await start_run(runtime, thread, helper)
    with pytest.raises(InvalidRequest, match=f"Thread {thread['id']} already has an active run {run['id']}."):
        await start_run(runtime, thread, helper)


# -- what the model sees ----------------------------------------------------------------------------


async def test_instructions_and_additional_instructions_reach_the_rules(runtime: Runtime) -> None:
    scenario(runtime, """
name: polite
rules:
  - match: {message: {contains: Jane Doe, where: system}}
    reply: {text: "Hello Jane Doe. {{ system }}"}
""")  # fmt: skip
    helper = await assistant(runtime, instructions="You are terse.")
    thread = await thread_with(runtime, "hi")
    run = await start_run(
        runtime, thread, helper, instructions="Address the user as Jane Doe.", additional_instructions="Be brief."
    )
    assert run["instructions"] == "Address the user as Jane Doe.\nBe brief."
    await poll(runtime, run)
    assert await last_answer(runtime, thread) == "Hello Jane Doe. Address the user as Jane Doe.\nBe brief."


async def test_additional_messages_join_the_thread(runtime: Runtime) -> None:
    helper, thread = await assistant(runtime), await thread_with(runtime, "first")
    run = await start_run(runtime, thread, helper, additional_messages=[CreateMessage(role="user", content="second")])
    await poll(runtime, run)
    texts = [
        threads.message_text(m)
        for m in (await threads.list_messages(runtime, thread["id"], ListQuery(order="asc")))["data"]
    ]
    assert texts == ["first", "second", "second"]


async def test_rules_see_the_assistant_by_name_and_the_run_metadata(runtime: Runtime) -> None:
    scenario(runtime, """
name: names
rules:
  - match: {body: {"$.assistant_name": Librarian, "$.metadata.user": ada}}
    reply: {text: "Shh."}
""")  # fmt: skip
    helper, thread = await assistant(runtime, name="Librarian"), await thread_with(runtime, "hello")
    await poll(runtime, await start_run(runtime, thread, helper, metadata={"user": "ada"}))
    assert await last_answer(runtime, thread) == "Shh."


async def test_a_scripted_error_fails_the_run(runtime: Runtime) -> None:
    scenario(runtime, "name: broken\ndefault: {error: {preset: rate_limit}}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    done = await poll(runtime, await start_run(runtime, thread, helper))
    assert done["status"] == "failed" and done["last_error"]["code"] == "rate_limit_exceeded"


async def test_create_thread_and_run(runtime: Runtime) -> None:
    helper = await assistant(runtime)
    request = CreateThreadAndRun(assistant_id=helper["id"], thread={"messages": [{"role": "user", "content": "yo"}]})
    run = await runs.create_thread_and_run(runtime, request, {})
    assert (await poll(runtime, run))["status"] == "completed"
    assert await last_answer(runtime, {"id": run["thread_id"]}) == "yo"


# -- function calls ---------------------------------------------------------------------------------


async def test_function_calls_wait_for_their_outputs(runtime: Runtime) -> None:
    scenario(runtime, WEATHER_SCENARIO)
    helper, thread = (
        await assistant(runtime, tools=[WEATHER]),
        await thread_with(runtime, "What's the weather in Paris?"),
    )
    run = await poll(runtime, await start_run(runtime, thread, helper))
    assert run["status"] == "requires_action" and run["usage"] is None
    (call,) = run["required_action"]["submit_tool_outputs"]["tool_calls"]
    assert call["type"] == "function" and call["function"] == {"name": "get_weather", "arguments": '{"city":"Paris"}'}
    (step,) = await steps_of(runtime, run)
    assert step["status"] == "in_progress" and step["step_details"]["tool_calls"][0]["function"]["output"] is None
    with pytest.raises(InvalidRequest, match="Expected tool outputs for call_ids"):
        await runs.submit_tool_outputs(runtime, thread["id"], run["id"], SubmitToolOutputs(tool_outputs=[]))
    with pytest.raises(InvalidRequest, match="Invalid tool_call_id: call_other"):
        await runs.submit_tool_outputs(runtime, thread["id"], run["id"], SubmitToolOutputs(
            tool_outputs=[{"tool_call_id": "call_other", "output": "x"}]))  # fmt: skip
    queued = await runs.submit_tool_outputs(runtime, thread["id"], run["id"], SubmitToolOutputs(
        tool_outputs=[{"tool_call_id": call["id"], "output": "22 degrees"}]))  # fmt: skip
    assert queued["status"] == "queued" and queued["required_action"] is None
    done = await poll(runtime, run)
    assert done["status"] == "completed"
    assert await last_answer(runtime, thread) == "In the city it is 22 degrees."
    first, second = await steps_of(runtime, run)
    assert (
        first["status"] == "completed" and first["step_details"]["tool_calls"][0]["function"]["output"] == "22 degrees"
    )
    assert second["type"] == "message_creation" and first["usage"] and second["usage"]
    assert done["usage"]["total_tokens"] == first["usage"]["total_tokens"] + second["usage"]["total_tokens"]


async def test_outputs_only_while_the_run_waits_for_them(runtime: Runtime) -> None:
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    run = await poll(runtime, await start_run(runtime, thread, helper))
    with pytest.raises(InvalidRequest, match='Runs in status "completed" do not accept tool outputs.'):
        await runs.submit_tool_outputs(runtime, thread["id"], run["id"], SubmitToolOutputs(tool_outputs=[]))


async def test_a_run_waiting_for_outputs_expires(runtime: Runtime, clock: FakeClock) -> None:
    scenario(runtime, WEATHER_SCENARIO)
    helper, thread = await assistant(runtime, tools=[WEATHER]), await thread_with(runtime, "weather in Oslo")
    run = await poll(runtime, await start_run(runtime, thread, helper))
    clock.now += 599
    assert (await poll(runtime, run))["status"] == "requires_action"
    clock.now += 1
    assert (await poll(runtime, run))["status"] == "expired"
    assert (await steps_of(runtime, run))[0]["status"] == "expired"


# -- cancel -----------------------------------------------------------------------------------------


async def test_cancel_then_cancelled(runtime: Runtime) -> None:
    scenario(runtime, "name: slow\nruns: {complete_after_polls: 5}\n")
    helper, thread = await assistant(runtime), await thread_with(runtime, "hi")
    run = await start_run(runtime, thread, helper)
    assert (await runs.cancel_run(runtime, thread["id"], run["id"]))["status"] == "cancelling"
    done = await poll(runtime, run)
    assert done["status"] == "cancelled" and done["cancelled_at"] is not None
    with pytest.raises(InvalidRequest, match="Cannot cancel run with status 'cancelled'."):
        await runs.cancel_run(runtime, thread["id"], run["id"])
    await threads.create_message(runtime, thread["id"], CreateMessage(role="user", content="the thread is free again"))


async def test_cancel_a_run_waiting_for_outputs(runtime: Runtime) -> None:
    scenario(runtime, WEATHER_SCENARIO)
    helper, thread = await assistant(runtime, tools=[WEATHER]), await thread_with(runtime, "weather in Rome")
    run = await poll(runtime, await start_run(runtime, thread, helper))
    await runs.cancel_run(runtime, thread["id"], run["id"])
    assert (await poll(runtime, run))["status"] == "cancelled"
    assert (await steps_of(runtime, run))[0]["status"] == "cancelled"


# -- built-in tools ---------------------------------------------------------------------------------


async def test_code_interpreter_makes_a_step_with_code_and_output(runtime: Runtime) -> None:
    scenario(runtime, r"""
name: math
rules:
  - match: {tool_result: {name: code_interpreter}}
    reply: {text: "x = {{ tool_results[0].text | trim }}"}
  - match: {tools: [code_interpreter]}
    reply:
      tool_calls:
        - name: code_interpreter
          arguments: {input: "print((14 - 11) / 3)", output: "1.0\n"}
""")  # fmt: skip
    helper = await assistant(runtime, tools=[{"type": "code_interpreter"}])
    thread = await thread_with(runtime, "Solve 3x + 11 = 14")
    run = await poll(runtime, await start_run(runtime, thread, helper))
    assert run["status"] == "completed" and await last_answer(runtime, thread) == "x = 1.0"
    code, message = await steps_of(runtime, run)
    (call,) = code["step_details"]["tool_calls"]
    assert code["type"] == "tool_calls" and call["type"] == "code_interpreter" and call["id"].startswith("call_")
    assert call["code_interpreter"] == {"input": "print((14 - 11) / 3)", "outputs": [{"type": "logs", "logs": "1.0\n"}]}
    assert message["step_details"]["type"] == "message_creation"


async def test_file_search_cites_the_attached_files(runtime: Runtime) -> None:
    await put_file(runtime, "file-paris", "Paris is the capital of France. The Eiffel Tower is in Paris.", "paris.txt")
    await put_file(runtime, "file-rome", "Rome is the capital of Italy. The Colosseum is in Rome.", "rome.txt")
    from aoai_mock.behaviour.assistants.requests import CreateVectorStore
    from aoai_mock.behaviour.assistants.vector_stores import create_store

    store = await create_store(runtime, CreateVectorStore(name="cities", file_ids=["file-paris", "file-rome"]))
    helper = await assistant(
        runtime, tools=[{"type": "file_search"}], tool_resources={"file_search": {"vector_store_ids": [store["id"]]}}
    )
    thread = await thread_with(runtime, "Where is the Eiffel Tower?")
    run = await poll(runtime, await start_run(runtime, thread, helper))
    search, _ = await steps_of(runtime, run)
    (call,) = search["step_details"]["tool_calls"]
    results = call["file_search"]["results"]
    assert call["type"] == "file_search" and results[0]["file_name"] == "paris.txt" and "content" not in results[0]
    assert results[0]["score"] > results[1]["score"]
    shown = (await runs.list_steps(runtime, thread["id"], run["id"], ListQuery(order="asc"),
                            ("step_details.tool_calls[*].file_search.results[*].content",)))["data"][0]  # fmt: skip
    assert "Eiffel" in shown["step_details"]["tool_calls"][0]["file_search"]["results"][0]["content"][0]["text"]
    message = (await threads.list_messages(runtime, thread["id"], ListQuery()))["data"][0]
    text = message["content"][0]["text"]
    first = text["annotations"][0]
    assert first["type"] == "file_citation" and first["file_citation"]["file_id"] == "file-paris"
    assert text["value"][first["start_index"] : first["end_index"]] == first["text"] == "【0:0†paris.txt】"
    assert {a["file_citation"]["file_id"] for a in text["annotations"]} == {"file-paris", "file-rome"}
    assert text["value"].startswith("Where is the Eiffel Tower?")


async def test_a_file_attached_to_a_message_is_searched(runtime: Runtime) -> None:
    await put_file(runtime, "file-notes", "The launch code is 4242.", "notes.txt")
    helper = await assistant(runtime, tools=[{"type": "file_search"}])
    thread = await thread_with(runtime)
    await threads.create_message(runtime, thread["id"], CreateMessage(
        role="user", content="What is the launch code?", attachments=[{"file_id": "file-notes", "tools": [{"type": "file_search"}]}]
    ))  # fmt: skip
    run = await poll(runtime, await start_run(runtime, thread, helper))
    assert (await steps_of(runtime, run))[0]["step_details"]["tool_calls"][0]["file_search"]["results"][0][
        "file_id"
    ] == "file-notes"
    assert "【0:0†notes.txt】" in await last_answer(runtime, thread)


async def test_same_seed_same_run(runtime: Runtime) -> None:
    helper, thread = await assistant(runtime, tools=[WEATHER]), await thread_with(runtime, "hello")
    run = await poll(runtime, await start_run(runtime, thread, helper, model="gpt-4o"))
    assert run["id"].startswith("run_") and run["model"] == "gpt-4o"
    assert (await runs.retrieve_step(runtime, thread["id"], run["id"], (await steps_of(runtime, run))[0]["id"]))[
        "run_id"
    ] == run["id"]


async def test_a_forced_function_and_json_mode(runtime: Runtime) -> None:
    helper = await assistant(runtime, tools=[WEATHER])
    forced = {"type": "function", "function": {"name": "get_weather"}}
    run = await poll(runtime, await start_run(runtime, await thread_with(runtime, "hi"), helper, tool_choice=forced))
    assert run["status"] == "requires_action" and run["tool_choice"] == forced
    arguments = run["required_action"]["submit_tool_outputs"]["tool_calls"][0]["function"]["arguments"]
    assert isinstance(json.loads(arguments)["city"], str)  # generated from the function's parameters
    other = await thread_with(runtime, "hello")
    done = await poll(
        runtime, await start_run(runtime, other, helper, response_format={"type": "json_object"}, tool_choice="none")
    )
    assert done["tool_choice"] == "none" and done["response_format"] == {"type": "json_object"}
    assert json.loads(await last_answer(runtime, other)) == {"response": "hello"}


async def test_a_restarted_server_keeps_assistants_threads_and_runs(tmp_path: Path, clock: FakeClock) -> None:
    def started() -> Runtime:
        made = Runtime.create(resolve({"port": 0, "seed": 5, "run_seconds": 0}, env={}))
        made.clock, made.store = Clock(now=clock), SqliteStore(tmp_path / "state.sqlite")
        return made

    first = started()
    helper, thread = await assistant(first, name="Keeper"), await thread_with(first, "remember me")
    run = await poll(first, await start_run(first, thread, helper))
    first.store.close()  # type: ignore[attr-defined]
    second = started()
    assert (await runs.retrieve_run(second, thread["id"], run["id"]))["status"] == "completed"
    assert await last_answer(second, thread) == "remember me"
    assert (await assistant(second))["id"] != helper["id"]  # seeded ids go on from where they were
    second.store.close()  # type: ignore[attr-defined]


async def test_no_rule_matching_in_a_strict_scenario_fails_the_run(runtime: Runtime) -> None:
    scenario(
        runtime, "name: strict\non_no_match: error\nrules:\n  - match: {message: weather}\n    reply: {text: Sunny.}\n"
    )
    helper, thread = await assistant(runtime), await thread_with(runtime, "hello")
    done = await poll(runtime, await start_run(runtime, thread, helper))
    assert done["status"] == "failed" and done["last_error"]["code"] == "server_error"
    assert "no rule of scenario 'strict' matched" in done["last_error"]["message"]
