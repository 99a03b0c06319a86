"""Streamed runs end to end: the SDK's runs.stream() with an AssistantEventHandler (sync and async), function
calls answered with submit_tool_outputs_stream, and the event stream's bytes checked against the spec."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.testing import LiveServer
from openai import (
    AssistantEventHandler,
    AsyncAssistantEventHandler,
    AsyncAzureOpenAI,
    AzureOpenAI,
)
from typing_extensions import override

from tests.conftest import KEY
from tests.e2e.assistants.support import PREVIEW, spec_check, use_scenario

pytestmark = pytest.mark.filterwarnings("ignore:.*(deprecated|Assistants API).*:DeprecationWarning")
from tests.e2e.assistants.test_assistants import QUESTION, WEATHER_TOOL

CODE_SCENARIO = r"""
name: math
rules:
  - match: {tool_result: {name: code_interpreter}}
    reply: {text: "x = 1, Jane Doe."}
  - match: {tools: [code_interpreter]}
    reply:
      tool_calls:
        - {name: code_interpreter, arguments: {input: "print((14 - 11) // 3)", output: "1"}}
"""


# The event handler of Azure's assistants how-to (streaming), as written there.
class EventHandler(AssistantEventHandler):
    @override
    def on_text_created(self, text) -> None:
        print("\nassistant > ", end="", flush=True)

    @override
    def on_text_delta(self, delta, snapshot):
        print(delta.value, end="", flush=True)

    def on_tool_call_created(self, tool_call):
        print(f"\nassistant > {tool_call.type}\n", flush=True)

    def on_tool_call_delta(self, delta, snapshot):
        if delta.type == 'code_interpreter':
            if delta.code_interpreter.input:
                print(delta.code_interpreter.input, end="", flush=True)
            if delta.code_interpreter.outputs:
                print("\n\noutput >", flush=True)
                for output in delta.code_interpreter.outputs:
                    if output.type == "logs":
                        print(f"\n{output.logs}", flush=True)


def test_a_streamed_run_with_the_how_tos_event_handler(
    client: AzureOpenAI, runtime: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    use_scenario(runtime, CODE_SCENARIO)
    assistant = client.beta.assistants.create(model="gpt-4-1106-preview", tools=[{"type": "code_interpreter"}])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": QUESTION}])
    with client.beta.threads.runs.stream(
        thread_id=thread.id,
        assistant_id=assistant.id,
        instructions="Please address the user as Jane Doe. The user has a premium account.",
        event_handler=EventHandler(),
    ) as stream:
        stream.until_done()
    assert capsys.readouterr().out == (
        "\nassistant > code_interpreter\n\nprint((14 - 11) // 3)\n\noutput >\n\n1\n\nassistant > x = 1, Jane Doe."
    )
    run = stream.get_final_run()
    assert run.status == "completed" and run.usage is not None
    (message,) = stream.get_final_messages()
    assert message.content[0].text.value == "x = 1, Jane Doe."
    assert [s.type for s in stream.get_final_run_steps()] == ["tool_calls", "message_creation"]
    listed = client.beta.threads.messages.list(thread.id).data[0]
    assert listed.id == message.id and listed.content == message.content


class Collecting(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self.text = ""

    @override
    def on_event(self, event: Any) -> None:
        self.names.append(event.event)

    @override
    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.text += delta.value


def test_a_streamed_function_call_and_its_outputs(client: AzureOpenAI, runtime: Runtime) -> None:
    use_scenario(runtime, shipped="weather-agent")
    assistant = client.beta.assistants.create(model="gpt-4o", tools=[WEATHER_TOOL])
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What's the weather in Oslo?"}])
    first = Collecting()
    with client.beta.threads.runs.stream(thread_id=thread.id, assistant_id=assistant.id, event_handler=first) as stream:
        stream.until_done()
    assert first.names[-1] == "thread.run.requires_action"
    run = first.current_run
    assert run.status == "requires_action"
    call = run.required_action.submit_tool_outputs.tool_calls[0]
    assert json.loads(call.function.arguments)["location"] == "Oslo"
    second = Collecting()
    output = json.dumps({"location": "Oslo", "temperature": 3})
    with client.beta.threads.runs.submit_tool_outputs_stream(
        thread_id=thread.id, run_id=run.id, tool_outputs=[{"tool_call_id": call.id, "output": output}], event_handler=second
    ) as stream:
        stream.until_done()
    assert second.text == "In Oslo it is 3 degrees celsius."
    assert second.names[0] == "thread.run.step.completed" and second.names[-1] == "thread.run.completed"
    assert client.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"


async def test_an_async_stream(server: LiveServer, runtime: Runtime) -> None:
    use_scenario(runtime, "name: s\ndefault: {text: Streaming without blocking.}\n")

    class Handler(AsyncAssistantEventHandler):
        def __init__(self) -> None:
            super().__init__()
            self.text = ""

        @override
        async def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            self.text += delta.value

    async with AsyncAzureOpenAI(api_key=KEY, api_version=PREVIEW, azure_endpoint=server.url, max_retries=0) as sdk:
        assistant = await sdk.beta.assistants.create(model="gpt-4o")
        handler = Handler()
        async with sdk.beta.threads.create_and_run_stream(
            assistant_id=assistant.id, thread={"messages": [{"role": "user", "content": "go"}]}, event_handler=handler
        ) as stream:
            await stream.until_done()
        assert handler.text == "Streaming without blocking."
        assert (await stream.get_final_run()).status == "completed"


RUN_SETTINGS = {"max_completion_tokens": None, "max_prompt_tokens": None, "incomplete_details": None,
                "truncation_strategy": {"type": "auto", "last_messages": None}}


def test_the_event_streams_bytes_and_schemas(server: LiveServer, client: AzureOpenAI, runtime: Runtime) -> None:
    use_scenario(runtime, "name: s\ndefault: {text: Two words.}\n")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}) as http:
        url = f"/openai/threads/{thread.id}/runs?api-version={PREVIEW}"
        with http.stream("POST", url, json={"assistant_id": assistant.id, "stream": True}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            raw = response.read()
    assert b"\r" not in raw and raw.endswith(b"event: done\ndata: [DONE]\n\n")
    events = []
    for block in raw.decode().split("\n\n")[:-1]:
        head, data = block.split("\n")
        assert head.startswith("event: ") and data.startswith("data: ")
        events.append((head.removeprefix("event: "), data.removeprefix("data: ")))
    for name, data in events[:-1]:
        body = json.loads(data)
        if name in ("thread.run.in_progress", "thread.run.completed"):  # 2024-05-01-preview leaves these out
            assert not RUN_SETTINGS.keys() & body.keys()  # [captured: recordings/assistants/net-StreamingRunWorks]
            body |= RUN_SETTINGS
        spec_check({"event": name, "data": body}, "assistantStreamEvent")
    spec_check({"event": "done", "data": "[DONE]"}, "doneEvent")
    assert [name for name, _ in events] == [
        "thread.run.created", "thread.run.queued", "thread.run.in_progress", "thread.run.step.created",
        "thread.run.step.in_progress", "thread.message.created", "thread.message.in_progress", "thread.message.delta",
        "thread.message.delta", "thread.message.delta", "thread.message.completed", "thread.run.step.completed",
        "thread.run.completed", "done",
    ]  # fmt: skip


def test_a_bad_stream_request_is_an_ordinary_error(server: LiveServer, runtime: Runtime) -> None:
    with httpx.Client(base_url=server.url, headers={"api-key": KEY}) as http:
        thread = http.post(f"/openai/threads?api-version={PREVIEW}", json={}).json()
        answer = http.post(f"/openai/threads/{thread['id']}/runs?api-version={PREVIEW}", json={"assistant_id": "asst_x", "stream": True})
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/json"
