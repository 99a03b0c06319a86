"""Assistants v2 end to end with the real openai SDK: the quickstart as written, function calling through
requires_action, polling on a scenario's schedule, code interpreter steps, cancel, paging, spec checks.

Seed 001 is the assistants quickstart (api-version 2024-05-01-preview): only its endpoint and key change, read
from the environment as the page reads them.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import httpx
import pytest
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI, BadRequestError, NotFoundError

from tests.conftest import KEY
from tests.e2e.assistants.support import PREVIEW, spec_check, undeclared, use_scenario

pytestmark = pytest.mark.filterwarnings("ignore:.*(deprecated|Assistants API).*:DeprecationWarning")

QUESTION = "I need to solve the equation `3x + 11 = 14`. Can you help me?"
PAGE_ANSWER = "The solution to the equation \\(3x + 11 = 14\\) is \\(x = 1\\)."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["location"],
        },
    },
}


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, server: LiveServer, runtime: Runtime) -> None:
    """What a reader of the page exports before running it."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", server.url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)


def printed(capsys: pytest.CaptureFixture[str]) -> tuple[str, dict[str, Any]]:
    status, _, listing = capsys.readouterr().out.partition("\n")
    return status, json.loads(listing)


# -- 001: the quickstart --------------------------------------------------------------------------------


def run_quickstart_with_key() -> None:
    # 001, "To use the service API key for authentication" -- verbatim.
    client = AzureOpenAI(
        api_key=os.environ["AZURE_OPENAI_API_KEY"],
        azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
        api_version="2024-05-01-preview",
    )

    # Create an assistant
    assistant = client.beta.assistants.create(
        name="Math Assist",
        instructions="You are an AI assistant that can write code to help answer math questions.",
        tools=[{"type": "code_interpreter"}],
        model="gpt-4-1106-preview" # You must replace this value with the deployment name for your model.
    )

    # Create a thread
    thread = client.beta.threads.create()

    # Add a user question to the thread
    message = client.beta.threads.messages.create(
        thread_id=thread.id,
        role="user",
        content="I need to solve the equation `3x + 11 = 14`. Can you help me?"
    )

    # Run the thread and poll for the result
    run = client.beta.threads.runs.create_and_poll(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
    )

    print("Run completed with status: " + run.status)

    if run.status == "completed":
        messages = client.beta.threads.messages.list(thread_id=thread.id)
        print(messages.to_json(indent=2))


def test_001_quickstart_answers_as_the_page_shows(page_env: None, runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    use_scenario(runtime, shipped="quickstarts")
    run_quickstart_with_key()
    status, listing = printed(capsys)
    assert status == "Run completed with status: completed"
    answer, question = listing["data"]
    page_keys = {"id", "assistant_id", "attachments", "content", "created_at", "metadata", "object", "role", "run_id",
                 "thread_id"}  # fmt: skip
    assert page_keys <= answer.keys() and page_keys <= question.keys()
    assert answer["content"] == [{"text": {"annotations": [], "value": PAGE_ANSWER}, "type": "text"}]
    assert answer["role"] == "assistant" and answer["assistant_id"].startswith("asst_") and answer["run_id"].startswith("run_")
    assert question["content"][0]["text"]["value"] == QUESTION and question["assistant_id"] is None
    assert question["run_id"] is None and question["attachments"] == [] and question["metadata"] == {}
    assert listing["object"] == "list" and listing["has_more"] is False
    assert (listing["first_id"], listing["last_id"]) == (answer["id"], question["id"])
    assert answer["thread_id"] == question["thread_id"]
    spec_check(listing, "listMessagesResponse")


def test_001_quickstart_without_a_scenario_echoes(page_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    run_quickstart_with_key()
    status, listing = printed(capsys)
    assert status == "Run completed with status: completed"
    assert listing["data"][0]["content"][0]["text"]["value"] == QUESTION  # the deployment's echo responder


def test_001_passwordless_variant(page_env: None, runtime: Runtime) -> None:
    issued: list[str] = []

    def token_provider() -> str:  # stands in for get_bearer_token_provider(DefaultAzureCredential(), ...)
        issued.append("fake-entra-token")
        return "fake-entra-token"

    client = AzureOpenAI(
        azure_ad_token_provider=token_provider,
        azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
        api_version="2024-05-01-preview",
    )
    assistant = client.beta.assistants.create(name="Math Assist", tools=[{"type": "code_interpreter"}], model="gpt-4-1106-preview")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed" and issued


# -- objects --------------------------------------------------------------------------------------------


def test_assistant_create_modify_delete(client: AzureOpenAI) -> None:
    made = client.beta.assistants.create(
        model="gpt-4o", name="Helper", description="Helps", instructions="Be kind.", tools=[WEATHER_TOOL],
        metadata={"team": "a"}, temperature=0.5, top_p=0.9, response_format={"type": "json_object"},
    )  # fmt: skip
    raw = client.beta.assistants.with_raw_response.retrieve(made.id)
    body = raw.http_response.json()
    spec_check(body, "assistantObject")
    assert undeclared(body, "assistantObject") == set()
    assert body["tools"] == [WEATHER_TOOL] and body["response_format"] == {"type": "json_object"}
    changed = client.beta.assistants.update(made.id, name="Renamed", tools=[{"type": "code_interpreter"}])
    assert changed.name == "Renamed" and changed.instructions == "Be kind." and changed.tools[0].type == "code_interpreter"
    deleted = client.beta.assistants.delete(made.id)
    assert deleted.deleted and deleted.object == "assistant.deleted"
    with pytest.raises(NotFoundError) as caught:
        client.beta.assistants.retrieve(made.id)
    assert caught.value.body["message"] == f"No assistant found with id '{made.id}'."


def test_threads_and_messages(client: AzureOpenAI) -> None:
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi", "metadata": {"n": "1"}}], metadata={"k": "v"})
    spec_check(client.beta.threads.with_raw_response.retrieve(thread.id).http_response.json(), "threadObject")
    message = client.beta.threads.messages.create(thread.id, role="user", content=[{"type": "text", "text": "there"}])
    body = client.beta.threads.messages.with_raw_response.retrieve(message.id, thread_id=thread.id).http_response.json()
    spec_check(body, "messageObject")
    assert undeclared(body, "messageObject") == set()
    updated = client.beta.threads.messages.update(message.id, thread_id=thread.id, metadata={"seen": "yes"})
    assert updated.metadata == {"seen": "yes"}
    assert client.beta.threads.update(thread.id, metadata={"k": "w"}).metadata == {"k": "w"}
    assert client.beta.threads.messages.delete(message.id, thread_id=thread.id).deleted
    assert [m.content[0].text.value for m in client.beta.threads.messages.list(thread.id)] == ["hi"]
    assert client.beta.threads.delete(thread.id).object == "thread.deleted"
    with pytest.raises(NotFoundError):
        client.beta.threads.messages.list(thread.id)


# -- runs -----------------------------------------------------------------------------------------------


def test_function_calling_through_requires_action(client: AzureOpenAI, runtime: Runtime) -> None:
    use_scenario(runtime, shipped="weather-agent")
    assistant = client.beta.assistants.create(model="gpt-4o", instructions="You tell the weather.", tools=[WEATHER_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What's the weather in Paris?"}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "requires_action" and run.required_action.type == "submit_tool_outputs"
    (call,) = run.required_action.submit_tool_outputs.tool_calls
    assert call.function.name == "get_current_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris", "unit": "celsius"}
    spec_check(client.beta.threads.runs.with_raw_response.retrieve(run.id, thread_id=thread.id).http_response.json(), "runObject")
    with pytest.raises(BadRequestError, match="already has an active run"):
        client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    output = json.dumps({"location": "Paris", "temperature": 21, "unit": "celsius", "forecast": ["sunny"]})
    run = client.beta.threads.runs.submit_tool_outputs_and_poll(
        thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": output}]
    )
    assert run.status == "completed" and run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    answer = client.beta.threads.messages.list(thread_id=thread.id).data[0]
    assert answer.content[0].text.value == "In Paris it is 21 degrees celsius and sunny."
    steps = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc")
    function_step, message_step = steps.data
    assert function_step.step_details.tool_calls[0].function.output == output
    assert message_step.step_details.message_creation.message_id == answer.id
    for step in client.beta.threads.runs.steps.with_raw_response.list(run.id, thread_id=thread.id).http_response.json()["data"]:
        spec_check(step, "runStepObject")
        assert undeclared(step, "runStepObject") == {"usage", "expires_at"}  # each step's tokens; its run's expiry


def test_a_hand_written_polling_loop_on_the_scenarios_schedule(client: AzureOpenAI, runtime: Runtime) -> None:
    use_scenario(runtime, "name: slow\nruns: {complete_after_polls: 3, poll_after_ms: 5}\ndefault: {text: Done.}\n")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "take your time"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    seen = [run.status]
    while run.status in ("queued", "in_progress"):
        time.sleep(0.001)
        run = client.beta.threads.runs.retrieve(thread_id=thread.id, run_id=run.id)
        seen.append(run.status)
    assert seen == ["queued", "in_progress", "in_progress", "completed"]
    raw = client.beta.threads.runs.with_raw_response.retrieve(thread_id=thread.id, run_id=run.id)
    assert raw.headers["openai-poll-after-ms"] == "5"
    polled = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)  # waits 5 ms a poll
    assert polled.status == "completed"


def test_code_interpreter_steps(client: AzureOpenAI, runtime: Runtime) -> None:
    use_scenario(runtime, r"""
name: math
rules:
  - match: {tool_result: {name: code_interpreter}}
    reply: {text: "The solution is x = {{ tool_results[0].text | trim }}."}
  - match: {tools: [code_interpreter], message: {contains: "3x + 11 = 14"}}
    reply:
      tool_calls:
        - name: code_interpreter
          arguments:
            input: "from sympy import symbols, Eq, solve\nx = symbols('x')\nsolve(Eq(3*x + 11, 14), x)"
            output: "[1]"
""")  # fmt: skip
    assistant = client.beta.assistants.create(model="gpt-4-1106-preview", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert client.beta.threads.messages.list(thread.id).data[0].content[0].text.value == "The solution is x = [1]."
    code_step, _ = client.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc").data
    (call,) = code_step.step_details.tool_calls
    assert call.type == "code_interpreter" and call.code_interpreter.input.startswith("from sympy import")
    assert call.code_interpreter.outputs[0].type == "logs" and call.code_interpreter.outputs[0].logs == "[1]"
    same = client.beta.threads.runs.steps.retrieve(code_step.id, thread_id=thread.id, run_id=run.id)
    assert same == code_step


def test_cancel(client: AzureOpenAI, runtime: Runtime) -> None:
    use_scenario(runtime, "name: slow\nruns: {complete_after_polls: 50, poll_after_ms: 1}\n")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "never mind"}])
    run = client.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    cancelling = client.beta.threads.runs.cancel(run.id, thread_id=thread.id)
    assert cancelling.status == "cancelling"
    done = client.beta.threads.runs.poll(run.id, thread_id=thread.id)
    assert done.status == "cancelled" and done.cancelled_at is not None
    with pytest.raises(BadRequestError, match="Cannot cancel run with status 'cancelled'."):
        client.beta.threads.runs.cancel(run.id, thread_id=thread.id)


def test_failed_and_expired_runs_as_the_scenario_says(client: AzureOpenAI, runtime: Runtime) -> None:
    use_scenario(runtime, """
name: ends
runs:
  assistants:
    Broken: {outcome: failed, last_error: {code: rate_limit_exceeded, message: Rate limit reached.}}
    Late: {outcome: expired}
""")  # fmt: skip
    broken = client.beta.assistants.create(model="gpt-4o", name="Broken")
    late = client.beta.assistants.create(model="gpt-4o", name="Late")
    run = client.beta.threads.create_and_run_poll(assistant_id=broken.id, thread={"messages": [{"role": "user", "content": "x"}]})
    assert run.status == "failed" and run.last_error.code == "rate_limit_exceeded" and run.last_error.message == "Rate limit reached."
    run = client.beta.threads.create_and_run_poll(assistant_id=late.id, thread={"messages": [{"role": "user", "content": "x"}]})
    assert run.status == "expired"


def test_runs_list_modify_and_thread_and_run(client: AzureOpenAI) -> None:
    assistant = client.beta.assistants.create(model="gpt-4o", instructions="Echo.")
    run = client.beta.threads.create_and_run(assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "a"}]})
    assert run.status == "queued"
    client.beta.threads.runs.poll(run.id, thread_id=run.thread_id)
    second = client.beta.threads.runs.create_and_poll(
        thread_id=run.thread_id, assistant_id=assistant.id, additional_messages=[{"role": "user", "content": "b"}],
        metadata={"try": "2"}, model="gpt-4o-mini",
    )  # fmt: skip
    assert second.model == "gpt-4o-mini" and second.instructions == "Echo."
    listed = client.beta.threads.runs.list(thread_id=run.thread_id)
    assert [r.id for r in listed.data] == [second.id, run.id]
    updated = client.beta.threads.runs.update(second.id, thread_id=run.thread_id, metadata={"try": "3"})
    assert updated.metadata == {"try": "3"}
    texts = [m.content[0].text.value for m in client.beta.threads.messages.list(run.thread_id, order="asc")]
    assert texts == ["a", "a", "b", "b"]


# -- paging ---------------------------------------------------------------------------------------------


def test_paging_across_many_assistants(client: AzureOpenAI) -> None:
    made = [client.beta.assistants.create(model="gpt-4o", name=f"assistant {n}").id for n in range(55)]
    assert [a.id for a in client.beta.assistants.list(limit=20)] == made[::-1]  # the SDK follows has_more
    first = client.beta.assistants.with_raw_response.list(limit=20).http_response.json()
    assert first["object"] == "list" and first["has_more"] is True and len(first["data"]) == 20
    assert (first["first_id"], first["last_id"]) == (made[54], made[35])
    spec_check(first, "listAssistantsResponse")
    last = client.beta.assistants.list(limit=20, after=made[15])
    assert [a.id for a in last.data] == made[14::-1] and last.has_more is False
    back = client.beta.assistants.list(limit=5, order="asc", before=made[10])
    assert [a.id for a in back.data] == made[5:10] and back.has_more is True
    assert [a.id for a in client.beta.assistants.list(order="asc", limit=100)] == made


def test_paging_across_many_messages(client: AzureOpenAI) -> None:
    thread = client.beta.threads.create()
    made = [client.beta.threads.messages.create(thread.id, role="user", content=f"message {n}").id for n in range(60)]
    page = client.beta.threads.messages.list(thread.id, limit=25, order="asc")
    assert [m.id for m in page.data] == made[:25] and page.has_more
    assert [m.id for m in page.iter_pages().__next__().data] == made[:25]
    assert [m.id for m in client.beta.threads.messages.list(thread.id, limit=25, order="asc")] == made
    assert [m.id for m in client.beta.threads.messages.list(thread.id, limit=7)] == made[::-1]


# -- refusals -------------------------------------------------------------------------------------------


def test_refusals_in_the_services_shape(server: LiveServer, runtime: Runtime) -> None:
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}) as http:
        def post(path: str, body: Any, version: str = PREVIEW) -> httpx.Response:
            return http.post(f"/openai/{path}?api-version={version}", content=body if isinstance(body, bytes) else json.dumps(body),
                             headers={"content-type": "application/json"})  # fmt: skip

        assert post("assistants", b"{not json").json()["error"]["message"].startswith("We could not parse the JSON body")
        unknown = post("assistants", {"model": "gpt-4o", "colour": "blue"})
        assert unknown.status_code == 400 and unknown.json()["error"]["message"] == "Unrecognized request argument supplied: colour"
        wrong = post("assistants", {"model": "gpt-4o", "temperature": "hot"}).json()["error"]
        assert wrong["param"] == "temperature" and wrong["code"] == "invalid_type"
        missing = http.get(f"/openai/threads/thread_nope/runs/run_nope?api-version={PREVIEW}")
        assert missing.status_code == 404
        assert missing.json() == {"error": {"message": "No thread found with id 'thread_nope'.", "type": "invalid_request_error",
                                            "param": None, "code": None}}  # fmt: skip
        assert post("assistants", {"model": "gpt-4o"}, "2024-10-21").status_code == 404  # no assistants in that GA
        assert post("assistants", {"model": "gpt-4o"}, "2099-01-01").status_code == 400
        assert http.post(f"/openai/assistants?api-version={PREVIEW}", json={"model": "gpt-4o"},
                         headers={"api-key": ""}).status_code == 401  # fmt: skip
        bad_limit = http.get(f"/openai/assistants?api-version={PREVIEW}&limit=1000").json()["error"]
        assert bad_limit["param"] == "limit" and bad_limit["code"] == "integer_above_max_value"
        run = post("threads/runs", {"assistant_id": "asst_nope"})  # the create-thread-and-run route, not a thread
        assert run.status_code == 404 and run.json()["error"]["message"] == "No assistant found with id 'asst_nope'."
        assert post("threads", {"messages": "hello"}).json()["error"]["param"] == "messages"
        assert http.delete(f"/openai/assistants?api-version={PREVIEW}").status_code == 404
