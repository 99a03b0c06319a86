"""Every kind of match: what passes, and the reason given when it does not (the near-miss text)."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_mock.behaviour.scenarios.matching import RequestFacts, compile_match
from aoai_mock.behaviour.scenarios.schema import Match

from tests.behaviour.scenarios.helpers import WEATHER_TOOL, chat, view


def misses(match: dict[str, Any], body: dict[str, Any], call: int = 1, **where: Any) -> list[str]:
    return compile_match(Match.model_validate(match)).misses(RequestFacts(view(body, **where), call))


def captures(match: dict[str, Any], body: dict[str, Any]) -> dict[Any, Any] | None:
    return compile_match(Match.model_validate(match)).matches(RequestFacts(view(body), 1))


HELLO = chat({"role": "system", "content": "Be brief."}, "Hello there", {"role": "assistant", "content": "Hi!"},
             "What's the weather in Paris?")


def test_an_empty_match_matches_anything():
    assert misses({}, {}) == [] and captures({}, {}) == {}


@pytest.mark.parametrize(
    ("match", "where", "reason"),
    [
        ({"operation": "chat"}, {}, None),
        ({"operation": ["completions", "embeddings"]}, {},
         "operation: is 'chat.completions', wanted one of 'completions', 'embeddings'"),
        ({"deployment": "gpt-4o"}, {}, None),
        ({"deployment": "gpt-4"}, {}, "deployment: is 'gpt-4o', wanted 'gpt-4'"),
        ({"api_version": ["2024-10-21", "v1"]}, {}, None),
        ({"api_version": "2023-05-15"}, {}, "api_version: is '2024-10-21', wanted '2023-05-15'"),
        ({"headers": {"X-Test": "yes"}}, {"headers": {"x-test": "yes"}}, None),
        ({"headers": {"x-test": {"regex": "^y"}}}, {"headers": {"x-test": "no"}},
         "headers: x-test is 'no', wanted matching /^y/"),
        ({"headers": {"x-test": {"exists": False}}}, {}, None),
        ({"headers": {"x-test": "yes"}}, {}, "headers: x-test is absent"),
    ],
)
def test_operation_deployment_api_version_and_headers(match, where, reason):
    assert misses(match, HELLO, **where) == ([reason] if reason else [])


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("weather", None),
        ({"contains": "WEATHER", "ignore_case": True}, None),
        ({"contains": "WEATHER"}, "message: the last user message \"What's the weather in Paris?\" does not contain 'WEATHER'"),
        ({"exact": "  What's the weather in Paris? "}, None),
        ({"exact": "weather"}, "message: the last user message \"What's the weather in Paris?\" does not equal 'weather'"),
        ({"regex": "in (\\w+)"}, None),
        ({"contains": "brief", "where": "system"}, None),
        ({"contains": "Hello", "where": "system"}, "message: the system message 'Be brief.' does not contain 'Hello'"),
        ({"contains": "Hello", "where": "any"}, None),
        ({"contains": "Hi!", "where": "last"}, "message: the last message \"What's the weather in Paris?\" does not contain 'Hi!'"),
        ({"exact": "Hi!", "where": "role:assistant"}, None),
        ({"contains": "x", "where": "role:tool"}, "message: there is no tool message"),
        ({"exact": "Hello there", "where": "index:1"}, None),
        ({"contains": "Paris", "where": "index:-1"}, None),
        ({"contains": "x", "where": "index:9"}, "message: there is no message 9"),
        (["weather", {"contains": "Paris"}], None),
        (["weather", "London"], "message: the last user message \"What's the weather in Paris?\" does not contain 'London'"),
    ],
)
def test_message_text(message, reason):
    assert misses({"message": message}, HELLO) == ([reason] if reason else [])


def test_message_text_of_content_parts_prompts_and_inputs():
    parts = chat({"role": "user", "content": [{"type": "text", "text": "look"}, {"type": "image_url"}]})
    assert misses({"message": {"exact": "look"}}, parts) == []
    chatml = {"prompt": "<|im_start|>system\nsys\n<|im_end|>\n<|im_start|>user\nquestion\n<|im_end|>"}
    assert misses({"message": [{"exact": "question"}, {"exact": "sys", "where": "system"}]}, chatml) == []
    assert misses({"message": {"exact": "b"}}, {"input": ["a", "b"]}) == []
    assert misses({"message": "x"}, {}) == ["message: there is no user message"]


def test_regex_groups_are_captured_by_number_and_name():
    found = captures({"message": {"regex": "weather in (?P<city>\\w+)"}}, HELLO)
    assert found == {0: "weather in Paris", 1: "Paris", "city": "Paris"}


TOOLS = chat("hi", tools=[WEATHER_TOOL], tool_choice={"type": "function", "function": {"name": "get_current_weather"}})


@pytest.mark.parametrize(
    ("tools", "body", "reason"),
    [
        (True, TOOLS, None),
        (False, TOOLS, "tools: the request offers tools"),
        (True, HELLO, "tools: the request offers no tools"),
        ("get_current_weather", TOOLS, None),
        (["get_current_weather", "search"], TOOLS,
         "tools: no tool named search is offered (offered: get_current_weather)"),
        ({"choice": "get_current_weather"}, TOOLS, None),
        ({"choice": "auto"}, TOOLS, "tools: tool_choice is 'get_current_weather', wanted 'auto'"),
        (["f"], chat("hi", functions=[{"name": "f"}]), None),
    ],
)
def test_tools(tools, body, reason):
    assert misses({"tools": tools}, body) == ([reason] if reason else [])


ASSISTANT = {"role": "assistant", "content": None, "tool_calls": [
    {"id": "call_1", "type": "function", "function": {"name": "get_current_weather", "arguments": "{}"}}]}
WITH_RESULT = chat("weather?", ASSISTANT, {"role": "tool", "tool_call_id": "call_1", "content": "22C"})
OLD_RESULT = chat(*WITH_RESULT["messages"], {"role": "assistant", "content": "22C it is"}, "thanks")


@pytest.mark.parametrize(
    ("tool_result", "body", "reason"),
    [
        (True, WITH_RESULT, None),
        ("get_current_weather", WITH_RESULT, None),
        ({"tool_call_id": "call_1"}, WITH_RESULT, None),
        ({"name": "search"}, WITH_RESULT, "tool_result: no tool result for search after the last user message"),
        ({"tool_call_id": "call_2"}, WITH_RESULT,
         "tool_result: no tool result with tool_call_id 'call_2' after the last user message"),
        (True, OLD_RESULT, "tool_result: no tool result after the last user message"),
        ({"name": "get_current_weather", "anywhere": True}, OLD_RESULT, None),
        (False, HELLO, None),
        (False, WITH_RESULT, "tool_result: there is a tool result after the last user message"),
        ("legacy", chat("q", {"role": "function", "name": "legacy", "content": "r"}), None),
    ],
)
def test_tool_results(tool_result, body, reason):
    assert misses({"tool_result": tool_result}, body) == ([reason] if reason else [])


SCHEMA = {"type": "json_schema", "json_schema": {"name": "contact", "schema": {}}}


@pytest.mark.parametrize(
    ("fmt", "body", "reason"),
    [
        ("text", HELLO, None),
        ("json_object", chat("x", response_format={"type": "json_object"}), None),
        ("json_schema", chat("x", response_format=SCHEMA), None),
        ({"type": "json_schema", "name": "contact"}, chat("x", response_format=SCHEMA), None),
        ({"type": "json_schema", "name": "invoice"}, chat("x", response_format=SCHEMA),
         "response_format: json_schema name is 'contact', wanted 'invoice'"),
        ("json_object", HELLO, "response_format: is not set, wanted json_object"),
    ],
)
def test_response_format(fmt, body, reason):
    assert misses({"response_format": fmt}, body) == ([reason] if reason else [])


@pytest.mark.parametrize(
    ("body_match", "reason"),
    [
        ({"temperature": 0}, None),
        ({"temperature": 0.0}, None),
        ({"temperature": False}, "body: temperature is 0, wanted = False"),
        ({"$.temperature": {"lte": 0.5}}, None),
        ({"temperature": {"gt": 0}}, "body: temperature is 0, wanted > 0"),
        ({"messages[0].role": "system"}, None),
        ({"$.messages[-1].content": {"contains": "weather"}}, None),
        ({"messages[*].role": "assistant"}, None),
        ({"messages[?role == 'assistant'].content": {"regex": "^Hi"}}, None),
        ({"stream": {"exists": False}}, None),
        ({"stream": True}, "body: stream is absent"),
        ({"user": {"in": ["a", "b"]}}, "body: user is absent"),
        ({"n": {"in": [1, 2]}}, None),
        ({"metadata": {"equals": {"k": "v"}}}, None),
        ({"model": {"contains": "GPT", "ignore_case": True}}, None),
    ],
)
def test_body_by_json_path(body_match, reason):
    body = {**HELLO, "temperature": 0, "n": 2, "metadata": {"k": "v"}, "model": "gpt-4o"}
    assert misses({"body": body_match}, body) == ([reason] if reason else [])


@pytest.mark.parametrize(
    ("call_match", "call", "reason"),
    [
        (2, 2, None),
        (2, 3, "call: this is call 3, wanted one of [2]"),
        ([1, 3], 3, None),
        ({"min": 2, "max": 4}, 4, None),
        ({"min": 2}, 1, "call: this is call 1, wanted at least 2"),
        ({"max": 2}, 3, "call: this is call 3, wanted at most 2"),
        ({"every": 3}, 6, None),
        ({"every": 3}, 7, "call: this is call 7, wanted a multiple of 3"),
    ],
)
def test_call_number(call_match, call, reason):
    assert misses({"call": call_match}, HELLO, call=call) == ([reason] if reason else [])


def test_every_failing_test_is_reported_cheap_ones_first():
    reasons = misses({"message": "nope", "operation": "embeddings", "body": {"n": 3}}, HELLO)
    assert [r.split(":")[0] for r in reasons] == ["operation", "body", "message"]


def test_names_yaml_reads_as_dates_or_numbers_are_names():
    import yaml

    match = yaml.safe_load("api_version: 2024-10-21\ndeployment: [0125, gpt-4o]\n")
    assert misses(match, HELLO) == []
