"""The Responses API without HTTP: requests, conversations, answers, streams, chaining and storage."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aoai_mock.behaviour import responses, tokens
from aoai_mock.behaviour.responders.base import (
    Choice,
    ToolCall,
)
from aoai_mock.behaviour.responses import items
from aoai_mock.behaviour.responses.build import REASONING_TOKENS
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios import load_text
from aoai_mock.behaviour.scenarios.engine import ScenarioBook
from aoai_mock.errors import AzureError, InvalidRequest
from aoai_mock.settings import resolve
from aoai_mock.wire import api_versions as av

from tests.behaviour.scripted import Scripted

VERSION = "v1"  # the newest shape; the older api-versions' shapes: test_responses_eras.py
WEATHER = {
    "type": "function",
    "name": "get_current_weather",
    "description": "The weather in a city",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


@pytest.fixture()
def runtime() -> Runtime:
    return Runtime.create(resolve({"port": 0, "seed": 11}, env={}))


async def run(runtime: Runtime, responder: Any = None, deployment: str = "gpt-4o", **body: Any) -> responses.Created:
    found = runtime.deployment(deployment)
    assert found is not None
    prepared = await responses.prepare(runtime, found, VERSION, {"model": deployment, **body})
    return await responses.create(runtime, prepared, responder)


async def error_of(runtime: Runtime, **body: Any) -> AzureError:
    with pytest.raises(AzureError) as caught:
        await run(runtime, **body)
    return caught.value


# -- the request --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "param", "message"),
    [
        ({"input": "x", "temprature": 1}, 400, None, "Unrecognized request argument supplied: temprature"),
        ({"input": 3}, 400, "input", "Invalid type for 'input': expected one of a string or an array"),
        ({"input": []}, 400, "input", "Invalid 'input': empty array."),
        ({}, 400, "input", "Missing required parameter: 'input'."),
        ({"input": "x", "max_output_tokens": 5}, 400, "max_output_tokens", "Expected a value >= 16"),
        ({"input": "x", "temperature": 3}, 400, "temperature", "Expected a value <= 2"),
        ({"input": [{"role": "robot", "content": "x"}]}, 400, "input[0].role", "Invalid value: 'robot'."),
        ({"input": [{"type": "telepathy"}]}, 400, "input[0].type", "Invalid value: 'telepathy'."),
        ({"input": "x", "tools": [{"type": "web_search_preview"}]}, 400, "tools[0].type",
         "Invalid value: 'web_search_preview'. Supported values are: 'function'."),
        ({"input": "x", "tools": [WEATHER], "tool_choice": {"type": "function", "name": "nope"}}, 400,
         "tool_choice", "Tool choice 'function' not found in 'tools' parameter."),
        ({"input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]}]}, 400,
         "input[0].content[0].type", "Supported values are: 'output_text', and 'refusal'."),
        ({"input": [{"role": "user", "content": [{"type": "input_image"}]}]}, 400,
         "input[0].content[0].image_url", "Missing required parameter"),
        ({"input": "x", "previous_response_id": "resp_nothere"}, 400, "previous_response_id",
         "Previous response with id 'resp_nothere' not found."),
        ({"input": [{"type": "function_call_output", "call_id": "call_x", "output": "{}"}]}, 400, "input",
         "No tool call found for function call output with call_id call_x."),
        ({"input": [{"type": "function_call", "call_id": "call_y", "name": "f", "arguments": "{}"}]}, 400, "input",
         "No tool output found for function call call_y."),
        ({"input": "x", "background": True}, 400, "background", "background"),
    ],
)
async def test_bad_requests_are_the_services_400s(
    runtime: Runtime, body: dict, status: int, param: str | None, message: str
) -> None:
    error = await error_of(runtime, **body)
    assert error.status == status
    assert error.param == param
    assert message in error.message


@pytest.mark.parametrize(
    ("deployment", "body", "param"),
    [
        ("gpt-4o", {"reasoning": {"effort": "high"}}, "reasoning.effort"),
        ("o3-mini", {"temperature": 0.2}, "temperature"),
        ("o3-mini", {"top_p": 0.5}, "top_p"),
    ],
)
async def test_what_a_model_does_not_support(runtime: Runtime, deployment: str, body: dict, param: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await run(runtime, deployment=deployment, input="x", **body)
    assert caught.value.param == param and caught.value.code == "unsupported_parameter"
    assert caught.value.message == f"Unsupported parameter: '{param}' is not supported with this model."


async def test_previous_response_not_found_has_its_code(runtime: Runtime) -> None:
    assert (await error_of(runtime, input="x", previous_response_id="resp_x")).code == "previous_response_not_found"


# -- input items and the conversation -------------------------------------------------------------------


async def test_a_string_input_is_one_user_message_and_instructions_are_the_system_message(runtime: Runtime) -> None:
    responder = Scripted(Choice(content="Hi!"))
    created = await run(runtime, responder, input="Hello", instructions="Be brief.")
    seen = responder.seen[0]
    assert [(m.role, m.text) for m in seen.messages] == [("system", "Be brief."), ("user", "Hello")]
    assert seen.operation == av.RESPONSES
    kept = await runtime.store.get("response_input_items", created.response["id"])
    assert kept is not None and kept["history"] == []
    (item,) = kept["items"]
    assert item["type"] == "message" and item["role"] == "user" and item["status"] == "completed"
    assert item["id"].startswith("msg_") and item["content"] == [{"type": "input_text", "text": "Hello"}]


async def test_messages_and_parts_are_stored_as_the_api_lists_them() -> None:
    runtime = Runtime.create(resolve({"port": 0}, env={}))
    body = [
        {"role": "developer", "content": "Rules."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "low"},
            ],
        },
        {"role": "assistant", "content": "A cat."},
    ]
    created = await run(runtime, input=body)
    kept = await runtime.store.get("response_input_items", created.response["id"])
    assert kept is not None
    developer, user, assistant = kept["items"]
    assert developer["content"] == [{"type": "input_text", "text": "Rules."}]
    assert user["content"][1] == {
        "type": "input_image",
        "image_url": "data:image/png;base64,AAAA",
        "file_id": None,
        "detail": "low",
    }
    assert assistant["content"] == [{"type": "output_text", "text": "A cat.", "annotations": []}]
    assert items.image_count(kept["items"]) == items.IMAGE_TOKENS["low"]


async def test_input_tokens_are_the_conversation_as_chat_plus_tools_and_images(runtime: Runtime) -> None:
    body = [
        {
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Look"},
                {"type": "input_image", "image_url": "https://example.com/a.png"},
            ],
        }
    ]
    created = await run(runtime, input=body, instructions="Describe.", tools=[WEATHER])
    chat = [{"role": "system", "content": "Describe."}, {"role": "user", "content": "Look"}]
    tool = {"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}  # as chat's
    expected = tokens.count_chat(chat, "o200k_base", [tool], items.IMAGE_TOKENS["auto"])
    assert created.response["usage"]["input_tokens"] == expected


async def test_usage_counts_the_answer_and_adds_up(runtime: Runtime) -> None:
    created = await run(runtime, Scripted(Choice(content="Three small words")), input="x")
    usage = created.response["usage"]
    assert usage["output_tokens"] == tokens.count("Three small words", "o200k_base")
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["input_tokens_details"] == {"cached_tokens": 0}
    assert usage["output_tokens_details"] == {"reasoning_tokens": 0}


# -- the response object ----------------------------------------------------------------------------------


async def test_a_text_answer_is_one_message_item_with_output_text(runtime: Runtime) -> None:
    created = await run(runtime, Scripted(Choice(content="Hello back")), input="Hello", metadata={"k": "v"}, user="u1")
    body = created.response
    assert body["object"] == "response" and body["status"] == "completed" and body["id"].startswith("resp_")
    (message,) = body["output"]
    assert message["type"] == "message" and message["role"] == "assistant" and message["status"] == "completed"
    assert message["content"] == [{"type": "output_text", "text": "Hello back", "annotations": []}]
    assert body["metadata"] == {"k": "v"} and body["user"] == "u1"
    assert body["error"] is None and body["incomplete_details"] is None
    assert body["tool_choice"] == "auto" and body["tools"] == [] and body["store"] is True
    assert body["text"] == {"format": {"type": "text"}} and body["truncation"] == "disabled"
    assert body["model"] == "gpt-4o" and body["created_at"] == runtime.clock.created()  # the deployment's name


async def test_tool_calls_are_function_call_items_and_tools_are_echoed(runtime: Runtime) -> None:
    calls = (
        ToolCall("call_1", "get_current_weather", '{"location":"Paris"}'),
        ToolCall("call_2", "get_current_weather", '{"location":"Oslo"}'),
    )
    created = await run(runtime, Scripted(Choice(tool_calls=calls)), input="weather?", tools=[WEATHER])
    first, second = created.response["output"]
    assert first["type"] == "function_call" and first["id"].startswith("fc_")
    assert (first["call_id"], first["name"], first["arguments"]) == (
        "call_1",
        "get_current_weather",
        '{"location":"Paris"}',
    )
    assert second["call_id"] == "call_2" and first["status"] == "completed"
    assert created.response["tools"] == [{**WEATHER, "strict": True}]


async def test_without_parallel_tool_calls_one_call_is_made(runtime: Runtime) -> None:
    calls = (ToolCall("call_1", "f", "{}"), ToolCall("call_2", "f", "{}"))
    created = await run(
        runtime,
        Scripted(Choice(tool_calls=calls)),
        input="x",
        tools=[{**WEATHER, "name": "f"}],
        parallel_tool_calls=False,
    )
    assert [o["call_id"] for o in created.response["output"]] == ["call_1"]
    assert created.response["parallel_tool_calls"] is False


async def test_a_forced_tool_choice_reaches_the_responder(runtime: Runtime) -> None:
    choice = {"type": "function", "name": "get_current_weather"}
    created = await run(runtime, input="hello", tools=[WEATHER], tool_choice=choice)  # echo, but forced to call
    (call,) = created.response["output"]
    assert call["type"] == "function_call" and json.loads(call["arguments"])["location"]
    assert created.response["tool_choice"] == choice


async def test_max_output_tokens_cuts_the_text_and_marks_the_response_incomplete(runtime: Runtime) -> None:
    words = " ".join(["word"] * 40)
    created = await run(runtime, Scripted(Choice(content=words)), input="x", max_output_tokens=16)
    body = created.response
    assert body["status"] == "incomplete" and body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["output"][0]["status"] == "incomplete" and body["usage"]["output_tokens"] == 16
    assert body["max_output_tokens"] == 16


async def test_a_refusal_is_a_refusal_part(runtime: Runtime) -> None:
    created = await run(runtime, Scripted(Choice(refusal="I can't help with that.")), input="x")
    assert created.response["output"][0]["content"] == [{"type": "refusal", "refusal": "I can't help with that."}]


async def test_a_json_schema_format_gets_json_that_fits(runtime: Runtime) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    }
    fmt = {"type": "json_schema", "name": "place", "schema": schema, "strict": True}
    created = await run(runtime, input="where?", text={"format": fmt})
    text = created.response["output"][0]["content"][0]["text"]
    assert isinstance(json.loads(text)["city"], str)
    assert created.response["text"] == {"format": fmt}


async def test_a_reasoning_model_reasons_first(runtime: Runtime) -> None:
    created = await run(runtime, Scripted(Choice(content="ok")), deployment="o3-mini", input="x")
    reasoning, _ = created.response["output"]
    assert reasoning["type"] == "reasoning" and reasoning["summary"] == [] and reasoning["id"].startswith("rs_")
    usage = created.response["usage"]
    assert usage["output_tokens_details"]["reasoning_tokens"] == REASONING_TOKENS
    assert usage["output_tokens"] == REASONING_TOKENS + 1
    assert created.response["reasoning"] == {"effort": "medium", "summary": None}


# -- chaining and storage -----------------------------------------------------------------------------


async def test_chaining_continues_from_the_previous_input_and_output(runtime: Runtime) -> None:
    call = ToolCall("call_w", "get_current_weather", '{"location":"Paris"}')
    first = await run(
        runtime,
        Scripted(Choice(tool_calls=(call,))),
        input="Weather in Paris?",
        tools=[WEATHER],
        instructions="Old instructions are not carried over.",
    )
    responder = Scripted(Choice(content="Sunny."))
    output = {"type": "function_call_output", "call_id": "call_w", "output": '{"sky":"clear"}'}
    second = await run(runtime, responder, input=[output], previous_response_id=first.response["id"], tools=[WEATHER])
    seen = [(m.role, m.text, m.tool_call_id) for m in responder.seen[0].messages]
    assert seen == [("user", "Weather in Paris?", None), ("assistant", "", None), ("tool", '{"sky":"clear"}', "call_w")]
    assert responder.seen[0].messages[1].tool_calls[0]["function"]["name"] == "get_current_weather"
    assert second.response["previous_response_id"] == first.response["id"]
    kept = await runtime.store.get("response_input_items", second.response["id"])
    assert kept is not None and [i["type"] for i in kept["items"]] == ["function_call_output"]
    assert [i["type"] for i in kept["history"]] == ["message", "function_call"]


async def test_store_false_keeps_nothing_and_cannot_be_continued(runtime: Runtime) -> None:
    created = await run(runtime, input="secret", store=False)
    assert created.response["store"] is False
    assert await runtime.store.get("response", created.response["id"]) is None
    assert (await error_of(runtime, input="x", previous_response_id=created.response["id"])).status == 400
    with pytest.raises(InvalidRequest) as caught:
        await responses.retrieve(runtime, created.response["id"])
    assert caught.value.status == 404


async def test_retrieve_delete_and_a_deleted_response_cannot_be_continued(runtime: Runtime) -> None:
    created = await run(runtime, input="keep me")
    rid = created.response["id"]
    assert await responses.retrieve(runtime, rid) == created.response
    assert await responses.delete(runtime, rid) == {"id": rid, "object": "response.deleted", "deleted": True}
    for action in (responses.retrieve, responses.delete, responses.list_input_items):
        with pytest.raises(InvalidRequest) as caught:
            await action(runtime, rid)
        assert caught.value.status == 404 and rid in caught.value.message
    assert (await error_of(runtime, input="x", previous_response_id=rid)).code == "previous_response_not_found"


async def test_input_items_page_in_either_order(runtime: Runtime) -> None:
    body = [{"role": "user", "content": f"m{i}"} for i in range(5)]
    rid = (await run(runtime, input=body)).response["id"]
    texts = lambda page: [i["content"][0]["text"] for i in page["data"]]
    first = await responses.list_input_items(runtime, rid, limit="2")
    assert texts(first) == ["m0", "m1"] and first["has_more"] is True and first["object"] == "list"
    rest = await responses.list_input_items(runtime, rid, after=first["last_id"])
    assert texts(rest) == ["m2", "m3", "m4"] and rest["has_more"] is False
    assert texts(await responses.list_input_items(runtime, rid, order="desc", limit="1")) == ["m4"]
    assert texts(await responses.list_input_items(runtime, rid, default_order="desc", limit="1")) == ["m4"]
    for bad in ({"limit": "0"}, {"limit": "x"}, {"order": "sideways"}):
        with pytest.raises(InvalidRequest):
            await responses.list_input_items(runtime, rid, **bad)


async def test_the_same_request_gives_the_same_answer_and_ids_with_a_seed(runtime: Runtime) -> None:
    again = Runtime.create(resolve({"port": 0, "seed": 11}, env={}))
    answers = []
    for each, stream in ((runtime, True), (again, False)):  # streaming or not, the same answer
        deployment = each.deployment("gpt-4o")
        assert deployment is not None
        answers.append(await run(each, each.responder(deployment, "generated"), input="Tell me", stream=stream))
    one, two = answers
    assert one.response == two.response and len(one.response["output"][0]["content"][0]["text"]) > 20
    assert list(one.events()) == list(two.events())


# -- the stream -----------------------------------------------------------------------------------------


async def test_a_text_stream_has_the_events_the_sdk_expects_in_order(runtime: Runtime) -> None:
    created = await run(runtime, Scripted(Choice(content="one two three")), input="x")
    events = list(created.events())
    pieces = len(created.planned[0].pieces)
    assert [e["type"] for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * pieces,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    assert events[0]["response"]["usage"] is None
    deltas = [e for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(e["delta"] for e in deltas) == "one two three"
    assert all(e["logprobs"] == [] and (len(e["delta"]) + len(e["obfuscation"])) % 16 == 0 for e in deltas)
    item_id = created.response["output"][0]["id"]
    assert all(e["item_id"] == item_id for e in events[3:-2])
    assert events[2]["item"]["status"] == "in_progress" and events[2]["item"]["content"] == []
    assert events[-2]["item"] == created.response["output"][0]
    assert events[-1]["response"] == created.response


async def test_a_function_call_streams_its_arguments(runtime: Runtime) -> None:
    call = ToolCall("call_s", "get_current_weather", '{"location":"Rome"}')
    created = await run(
        runtime,
        Scripted(Choice(tool_calls=(call,))),
        input="x",
        tools=[WEATHER],
        stream_options={"include_obfuscation": False},
    )
    events = list(created.events())
    kinds = [e["type"] for e in events]
    assert kinds[2] == "response.output_item.added" and events[2]["item"]["arguments"] == ""
    deltas = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert "".join(e["delta"] for e in deltas) == call.arguments and "obfuscation" not in deltas[0]
    done = kinds.index("response.function_call_arguments.done")
    assert events[done]["arguments"] == call.arguments and kinds[done + 1] == "response.output_item.done"
    assert kinds[-1] == "response.completed"


async def test_a_cut_short_stream_ends_with_response_incomplete(runtime: Runtime) -> None:
    created = await run(runtime, Scripted(Choice(content=" ".join(["w"] * 50))), input="x", max_output_tokens=16)
    assert list(created.events())[-1]["type"] == "response.incomplete"


async def test_a_refusal_streams_as_refusal_events(runtime: Runtime) -> None:
    created = await run(runtime, Scripted(Choice(refusal="No.")), input="x")
    kinds = [e["type"] for e in created.events()]
    assert "response.refusal.delta" in kinds and "response.refusal.done" in kinds
    assert "response.output_text.delta" not in kinds


# -- scenarios ------------------------------------------------------------------------------------------


async def test_scenario_rules_see_the_chained_conversation(runtime: Runtime) -> None:
    runtime.book = ScenarioBook(
        [
            load_text(
                "name: r\nrules:\n"
                "  - match: {tool_result: {name: get_current_weather}}\n"
                "    reply: {text: 'from {{ tool_results[0].text }}'}\n"
                "  - match: {operation: responses, message: {contains: weather}, tools: [get_current_weather]}\n"
                "    reply: {tool_calls: [{name: get_current_weather, arguments: {location: Paris}}]}\n",
                "r.yaml",
            )
        ]
    )
    deployment = runtime.deployment("gpt-4o")
    assert deployment is not None

    async def turn(**body: Any) -> Mapping[str, Any]:
        prepared = await responses.prepare(
            runtime, deployment, VERSION, {"model": "gpt-4o", "tools": [WEATHER], **body}
        )
        chosen = responses.choose_responder(runtime, prepared, {}, None, None)
        assert chosen.scenario == "r"
        return (await responses.create(runtime, prepared, chosen.responder)).response

    first = await turn(input="What is the weather?")
    (call,) = first["output"]
    output = {"type": "function_call_output", "call_id": call["call_id"], "output": "rain"}
    second = await turn(input=[output], previous_response_id=first["id"])
    assert second["output"][0]["content"][0]["text"] == "from rain"


async def test_the_view_puts_the_conversation_in_input(runtime: Runtime) -> None:
    deployment = runtime.deployment("gpt-4o")
    assert deployment is not None
    prepared = await responses.prepare(
        runtime, deployment, VERSION, {"model": "gpt-4o", "input": "hi", "instructions": "sys"}
    )
    view = prepared.view({"x": "y"})
    assert view.operation == av.RESPONSES and view.deployment == "gpt-4o" and view.headers == {"x": "y"}
    assert view.body["input"] == [{"role": "user", "content": "hi"}] and view.body["instructions"] == "sys"
