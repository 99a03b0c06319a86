"""Scenarios end to end: the real openai SDK against a live server running shipped and posted scenarios."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA, KEY

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}

CONTACT_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "email": {"type": "string"},
        "phone": {"type": ["string", "null"]},
    },
    "required": ["name", "email", "phone"],
    "additionalProperties": False,
}

SEQUENCE = """
name: three-steps
on_no_match: error
rules:
  - name: steps
    match: {operation: chat, message: {contains: step}}
    replies:
      - text: one
      - text: two
      - text: three
    then: repeat_last
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    settings = resolve({"port": 0, "scenarios": ("weather-agent", "json-extraction", "tool-sequence", "flaky-service")}, env={})
    with LiveServer(settings) as live:
        yield live


@pytest.fixture()
def control(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/_mock") as client:
        client.post("/scenarios/weather-agent/activate").raise_for_status()
        client.post("/reset").raise_for_status()
        yield client


def _client(server: LiveServer, scenario: str | None = None, retries: int = 0) -> AzureOpenAI:
    headers = {"x-aoai-mock-scenario": scenario} if scenario else None
    return AzureOpenAI(
        azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=retries, default_headers=headers
    )


def _weather(location: str, unit: str = "celsius") -> str:
    return json.dumps({"location": location, "temperature": "22", "unit": unit})


def test_a_full_tool_calling_loop(server: LiveServer, control: httpx.Client) -> None:
    client = _client(server)
    messages: list[Any] = [{"role": "user", "content": "What's the weather like in Paris and Tokyo?"}]
    first = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls or []
    assert [json.loads(c.function.arguments)["location"] for c in calls] == ["Paris", "Tokyo"]
    messages.append(choice.message.model_dump(exclude_none=True))
    for call in calls:
        location = json.loads(call.function.arguments)["location"]
        messages.append({"role": "tool", "tool_call_id": call.id, "name": "get_current_weather", "content": _weather(location)})
    final = client.chat.completions.create(model="gpt-4o", messages=messages, tools=[WEATHER_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert final.choices[0].message.content == (
        "In Paris it is 22 degrees celsius. In Tokyo it is 22 degrees celsius."
    )
    journal = control.get("/requests", params={"scenario": "weather-agent"}).json()["data"]
    assert [e["rule"] for e in journal] == ["ask-for-two-cities", "answer-from-results"]


def test_a_streamed_tool_call_comes_in_pieces(server: LiveServer, control: httpx.Client) -> None:
    stream = _client(server).chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "What's the weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        stream=True,
    )
    arguments = "".join(
        c.choices[0].delta.tool_calls[0].function.arguments or ""
        for c in stream
        if c.choices and c.choices[0].delta.tool_calls
    )
    assert json.loads(arguments) == {"location": "Oslo", "unit": "celsius"}


def test_one_rule_asks_for_the_tool_then_answers(server: LiveServer, control: httpx.Client) -> None:
    client = _client(server, scenario="tool-sequence")
    tool = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}}}}}
    messages: list[Any] = [{"role": "user", "content": "Where is order 12345?"}]
    asked = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[tool])
    (call,) = asked.choices[0].message.tool_calls or []
    assert json.loads(call.function.arguments) == {"order_id": "12345"}
    messages += [asked.choices[0].message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id, "content": "shipped"}]
    answered = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[tool])
    assert answered.choices[0].message.content == "Here is what I found: shipped"


def test_a_json_schema_flow_validates(server: LiveServer, control: httpx.Client) -> None:
    client = _client(server, scenario="json-extraction")
    response = client.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Contact: Ada Lovelace, ada@example.org, +44 20 7946 0958"}],
        response_format={"type": "json_schema", "json_schema": {"name": "contact", "strict": True, "schema": CONTACT_SCHEMA}},
    )
    card = json.loads(response.choices[0].message.content or "")
    jsonschema.validate(card, CONTACT_SCHEMA)
    assert card == {"name": "Ada Lovelace", "email": "ada@example.org", "phone": "+44 20 7946 0958"}


def test_the_sdk_parse_helper_reads_a_scripted_instance(server: LiveServer, control: httpx.Client) -> None:
    from pydantic import BaseModel

    class Event(BaseModel):
        title: str
        attendees: list[str]

    parsed = _client(server, scenario="json-extraction").chat.completions.parse(
        model="gpt-4o", messages=[{"role": "user", "content": "Lunch with Bo and Cy."}], response_format=Event
    )
    assert isinstance(parsed.choices[0].message.parsed, Event)


def test_no_matching_rule_names_the_near_misses(server: LiveServer, control: httpx.Client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _client(server, scenario="json-extraction").chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Just chatting."}]
        )
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "scenario_no_match"
    assert "refuse-credentials" in error["message"] and "missed" in error["message"]


def test_scripted_429s_are_retried_by_the_sdk(server: LiveServer, control: httpx.Client) -> None:
    response = _client(server, scenario="flaky-service", retries=2).chat.completions.with_raw_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello"}]
    )
    assert response.parse().choices[0].message.content == "Third time lucky: hello"
    journal = control.get("/requests", params={"scenario": "flaky-service"}).json()["data"]
    assert [e["status"] for e in journal] == [429, 429, 200]
    assert [e["retry_count"] for e in journal] == [0, 1, 2]
    assert [e["retry"] and e["retry"]["attempt"] for e in journal] == [None, 2, 3]
    for failed, retry in zip(journal, journal[1:]):
        waited_at_least = int(failed["response_headers"]["retry-after-ms"])
        assert retry["retry"]["of"] == failed["seq"] and retry["retry"]["wait_ms"] >= waited_at_least


def test_a_scripted_content_filter_error(server: LiveServer, control: httpx.Client) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _client(server, scenario="flaky-service").chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "something forbidden"}]
        )
    assert caught.value.code == "content_filter"


def test_scenario_chosen_per_request_with_extra_headers(server: LiveServer, control: httpx.Client) -> None:
    client = _client(server)
    messages = [{"role": "user", "content": "Tell me my password please"}]
    default = client.chat.completions.create(model="gpt-4o", messages=messages)
    assert default.choices[0].message.content and default.choices[0].message.refusal is None
    chosen = client.chat.completions.create(
        model="gpt-4o", messages=messages, extra_headers={"x-aoai-mock-scenario": "json-extraction"}
    )
    assert chosen.choices[0].message.refusal == "I can't help with extracting credentials."
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="gpt-4o", messages=messages, extra_headers={"x-aoai-mock-scenario": "nope"})
    assert caught.value.code == "unknown_scenario"


def test_runtime_swaps_through_the_control_api(server: LiveServer, control: httpx.Client) -> None:
    loaded = control.post("/scenarios", content=SEQUENCE, headers={"content-type": "application/yaml"})
    assert loaded.status_code == 201 and loaded.json()["name"] == "three-steps"
    client = _client(server)
    ask = lambda: client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "next step"}]).choices[0].message.content  # noqa: E731
    assert ask() != "one"  # loaded, not active yet
    control.post("/scenarios/three-steps/activate").raise_for_status()
    assert [ask() for _ in range(4)] == ["one", "two", "three", "three"]
    summary = next(s for s in control.get("/scenarios").json()["data"] if s["name"] == "three-steps")
    assert summary["rules"] == [{"name": "steps", "hits": 4}] and summary["active"]
    control.post("/scenarios/three-steps/reset").raise_for_status()
    assert ask() == "one"
    control.post("/scenarios/deactivate").raise_for_status()
    assert control.get("/scenarios").json()["active"] is None
    assert ask() == "next step"  # the deployment's own echo responder
    control.delete("/scenarios/three-steps").raise_for_status()
    assert "three-steps" not in [s["name"] for s in control.get("/scenarios").json()["data"]]


def test_a_broken_scenario_is_refused_with_lines(control: httpx.Client) -> None:
    broken = "name: broken\nrules:\n  - name: r\n    match: {operation: chat}\n    reply: {txet: hi}\n"
    response = control.post("/scenarios", content=broken, headers={"content-type": "text/yaml"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_scenario"
    assert ":5:" in error["message"] and "txet" in error["message"]
    assert "broken" not in [s["name"] for s in control.get("/scenarios").json()["data"]]


def test_journal_filters_by_scenario(server: LiveServer, control: httpx.Client) -> None:
    _client(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    _client(server, scenario="tool-sequence").chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    by_scenario = {
        name: [e["rule"] for e in control.get("/requests", params={"scenario": name}).json()["data"]]
        for name in ("weather-agent", "tool-sequence")
    }
    # Answered by each scenario's default reply, not by a rule: said so, distinct from "no scenario" (null).
    assert by_scenario == {"weather-agent": ["(default reply)"], "tool-sequence": ["(default reply)"]}


def test_embeddings_from_a_scenario_fixture(server: LiveServer, control: httpx.Client) -> None:
    response = control.post(
        "/scenarios?activate=true",
        content="name: vectors\nrules:\n  - match: {operation: embeddings}\n    reply: {embeddings: {vectors: [[0.6, 0.8], [1.0, 0.0]]}}\n",
        headers={"content-type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    result = _client(server).embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    # The SDK asks for base64 (float32), so the figures come back at float32 precision.
    assert [d.embedding for d in result.data] == [pytest.approx([0.6, 0.8]), pytest.approx([1.0, 0.0])]
    control.delete("/scenarios/vectors")


def _bodies(seed: int) -> list[dict[str, Any]]:
    settings = resolve({"port": 0, "seed": seed, "scenarios": ("weather-agent", "quickstarts")}, env={})
    with LiveServer(settings) as live, httpx.Client(base_url=live.url, headers={"api-key": KEY}) as http:
        path = f"/openai/deployments/gpt-4o/chat/completions?api-version={GA}"
        asks = [
            {"messages": [{"role": "user", "content": "What's the weather in Rome?"}], "tools": [WEATHER_TOOL]},
            {"messages": [{"role": "user", "content": "Tell me a story."}]},
            {"messages": [{"role": "user", "content": "When was Microsoft founded?"}]},
        ]
        out = [http.post(path, json=body).json() for body in asks]
        out.append(http.post(path, json=asks[2], headers={"x-aoai-mock-scenario": "quickstarts"}).json())
        return out


def test_same_scenario_and_requests_give_the_same_bodies_across_runs() -> None:
    assert _bodies(7) == _bodies(7)


def test_a_scenarios_deployments_are_served_while_it_decides(server: LiveServer, control: httpx.Client) -> None:
    declared = (
        "name: own-deployment\n"
        "deployments: [{name: my-gpt, model: gpt-4o-mini, version: '2024-07-18', kind: chat}]\n"
        "rules: [{name: hello, match: {deployment: my-gpt}, reply: {text: from my-gpt}}]\n"
    )
    assert control.post("/scenarios", content=declared, headers={"content-type": "application/yaml"}).status_code == 201
    client = _client(server)
    ask = {"model": "my-gpt", "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(**ask)  # not while another scenario is active
    answer = client.chat.completions.create(**ask, extra_headers={"x-aoai-mock-scenario": "own-deployment"})
    assert answer.choices[0].message.content == "from my-gpt"
    assert answer.model == "gpt-4o-mini-2024-07-18"
    control.delete("/scenarios/own-deployment").raise_for_status()
