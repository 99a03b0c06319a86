"""The shipped scenarios do what their descriptions say, request by request."""

from __future__ import annotations

import json

import pytest
from aoai_mock.behaviour.scenarios import load_paths, shipped
from aoai_mock.behaviour.scenarios.engine import ScenarioBook
from aoai_mock.errors import AzureError, InvalidRequest

from tests.behaviour.scenarios.helpers import WEATHER_TOOL, ask, chat, text, view


@pytest.fixture()
def book() -> ScenarioBook:
    return ScenarioBook(load_paths(shipped()))


def test_every_shipped_scenario_loads_by_name():
    assert {"quickstarts", "weather-agent", "json-extraction", "rag-demo", "tool-sequence", "flaky-service"} <= set(
        shipped()
    )
    assert [s.name for s in load_paths(["weather-agent"])] == ["weather-agent"]


# -- quickstarts -------------------------------------------------------------------------------------

CHATML = (
    "<|im_start|>system\nThe system is an AI assistant that helps people find information.\n<|im_end|>\n"
    "<|im_start|>user\nDoes Azure OpenAI support customer managed keys?\n<|im_end|>\n<|im_start|>assistant"
)


@pytest.mark.parametrize(
    ("body", "where", "starts"),
    [
        ({"prompt": CHATML, "max_tokens": 800, "stop": ["<|im_end|>"]},
         {"operation": "completions", "deployment": "gpt-35-turbo", "api_version": "2022-12-01"},
         "Yes, Azure OpenAI supports customer managed keys, which allow"),
        ({"prompt": "Once upon a time"}, {"operation": "completions", "api_version": "2022-06-01-preview"},
         " there was a girl who"),
        (chat({"role": "system", "content": "You are a helpful assistant."},
              "Does Azure OpenAI support customer managed keys?",
              {"role": "assistant", "content": "Yes, customer managed keys are supported by Azure OpenAI."},
              "Do other Azure AI services support this too?"),
         {"deployment": "gpt-35-turbo", "api_version": "2023-05-15"},
         "Yes, other Azure AI services also support customer managed keys."),
        (chat({"role": "system", "content": "You are a helpful assistant."}, "When was Microsoft founded?"), {},
         "Microsoft was founded on April 4, 1975, by Bill Gates and Paul Allen in Albuquerque, New Mexico."),
        (chat({"role": "system", "content": "You are a helpful assistant."}, "When was Microsoft founded?",
              stream=True), {},
         "Microsoft was founded on April 4, 1975, by Bill Gates and Paul Allen."),
        (chat({"role": "user", "content": [{"type": "text", "text": "What's in this image?"},
                                           {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
              max_tokens=300), {}, "This image is a watercolor painting of a city skyline"),
        ({"prompt": "Hello World!", "max_tokens": 100, "temperature": 0},
         {"operation": "completions", "deployment": "gpt-35-turbo-instruct"}, "\n\nHello World!\n\nHello World!"),
        ({"instructions": "Please address the user as Jane Doe.",
          "messages": [{"role": "user", "content": "I need to solve the equation `3x + 11 = 14`. Can you help me?"}]},
         {"operation": "assistants", "api_version": "2024-05-01-preview"},
         "The solution to the equation \\(3x + 11 = 14\\) is \\(x = 1\\)."),
    ],
)
def test_quickstarts_answer_as_their_pages_show(book, body, where, starts):
    decision, reply = ask(book, body, "quickstarts", **where)
    assert decision.matched, decision
    assert reply.choices[0].content.startswith(starts)


def test_quickstart_rest_completion_stops_for_length_and_curl_chat_reports_the_pages_usage(book):
    _, reply = ask(book, {"prompt": "Once upon a time"}, "quickstarts", operation="completions")
    assert reply.choices[0].finish_reason == "length"
    _, reply = ask(book, chat("Do other Azure AI services support this too?"), "quickstarts")
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (58, 68)


def test_quickstarts_anything_else_gets_generated_text(book):
    decision, reply = ask(book, chat("Tell me about quokkas."), "quickstarts")
    assert not decision.matched and decision.default.name == "generated"
    assert len(reply.choices[0].content.split()) > 5


# -- weather agent ------------------------------------------------------------------------------------


def test_weather_agent_runs_a_whole_tool_loop(book):
    question = chat("What's the weather like in Paris?", tools=[WEATHER_TOOL])
    decision, reply = ask(book, question, "weather-agent")
    call = reply.choices[0].tool_calls[0]
    assert decision.rule == "ask-for-one-city"
    assert (call.name, json.loads(call.arguments)) == ("get_current_weather", {"location": "Paris", "unit": "celsius"})
    result = {"location": "Paris", "temperature": 22, "unit": "celsius", "forecast": ["sunny", "windy"]}
    follow_up = chat(
        *question["messages"],
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(result)},
        tools=[WEATHER_TOOL],
    )
    decision, reply = ask(book, follow_up, "weather-agent")
    assert decision.rule == "answer-from-results"
    assert reply.choices[0].content == "In Paris it is 22 degrees celsius and sunny, windy."
    # The next user turn starts over: old results no longer count.
    again = chat(*follow_up["messages"], {"role": "assistant", "content": "..."}, "And the weather in Oslo?",
                 tools=[WEATHER_TOOL])
    assert ask(book, again, "weather-agent")[0].rule == "ask-for-one-city"


def test_weather_agent_asks_for_two_cities_in_parallel_and_answers_both(book):
    _, reply = ask(book, chat("What is the weather in Paris and Tokyo?", tools=[WEATHER_TOOL]), "weather-agent")
    calls = reply.choices[0].tool_calls
    assert [json.loads(c.arguments)["location"] for c in calls] == ["Paris", "Tokyo"]
    assert calls[0].id != calls[1].id
    results = [{"role": "tool", "tool_call_id": c.id, "content": json.dumps(
        {"location": json.loads(c.arguments)["location"], "temperature": t})} for c, t in zip(calls, (20, 25))]
    assistant = {"role": "assistant", "tool_calls": [
        {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls]}
    answer = text(book, chat("What is the weather in Paris and Tokyo?", assistant, *results, tools=[WEATHER_TOOL]),
                  scenario_name="weather-agent")
    assert answer == "In Paris it is 20 degrees celsius. In Tokyo it is 25 degrees celsius."


def test_weather_agent_generates_arguments_when_no_city_is_readable_and_has_a_default(book):
    _, reply = ask(book, chat("weather please", tools=[WEATHER_TOOL]), "weather-agent")
    assert "location" in json.loads(reply.choices[0].tool_calls[0].arguments)
    assert text(book, chat("hello"), scenario_name="weather-agent").startswith("I am a weather assistant.")


# -- tool sequence, json extraction, rag, errors ------------------------------------------------------


def test_tool_sequence_cycles_call_then_answer(book):
    tool = {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}}
    first = ask(book, chat("Where is order 123456?", tools=[tool]), "tool-sequence")[1]
    assert json.loads(first.choices[0].tool_calls[0].arguments) == {"order_id": "123456"}
    call_id = first.choices[0].tool_calls[0].id
    body = chat("Where is order 123456?", {"role": "assistant", "tool_calls": [{"id": call_id}]},
                {"role": "tool", "tool_call_id": call_id, "content": "shipped"}, tools=[tool])
    assert text(book, body, scenario_name="tool-sequence") == "Here is what I found: shipped"
    assert ask(book, chat("and order 99?", tools=[tool]), "tool-sequence")[1].choices[0].tool_calls


def _schema_format(name: str, schema: dict) -> dict:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def test_json_extraction_reads_a_contact_card(book):
    body = chat("Please save Jane Doe, jane.doe@example.com, +1 (555) 010-0100 to my contacts.",
                response_format=_schema_format("contact", {"type": "object"}))
    assert json.loads(text(book, body, scenario_name="json-extraction")) == {
        "name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+1 (555) 010-0100"}
    no_phone = chat("Contact: Jane Doe, jane.doe@example.com.", response_format=_schema_format("contact", {}))
    assert json.loads(text(book, no_phone, scenario_name="json-extraction"))["phone"] is None


def test_json_extraction_other_schemas_json_mode_refusal_and_strictness(book):
    schema = {"type": "object", "properties": {"total": {"type": "number"}, "items": {"type": "array",
              "items": {"type": "string"}}}, "required": ["total", "items"]}
    value = json.loads(text(book, chat("the bill", response_format=_schema_format("bill", schema)),
                            scenario_name="json-extraction"))
    assert isinstance(value["total"], float) and isinstance(value["items"], list)
    mode = json.loads(text(book, chat("one two three", response_format={"type": "json_object"}),
                           scenario_name="json-extraction"))
    assert mode == {"summary": "one two three", "words": 3}
    refusal = ask(book, chat("find the password in this", response_format={"type": "json_object"}),
                  "json-extraction")[1].choices[0]
    assert refusal.content is None and refusal.refusal == "I can't help with extracting credentials."
    with pytest.raises(InvalidRequest, match="Nearest rules"):
        book.decide(view(chat("plain")), "json-extraction")


def test_rag_demo_vectors_from_the_fixture_retrieve_the_right_page_and_the_answer_cites_it(book):
    docs = ["Contoso employees get 25 days of paid vacation per year.",
            "The Contoso office in Seattle opens at 8 am on weekdays.",
            "Expense reports at Contoso are due within 30 days of purchase."]
    where = {"operation": "embeddings", "deployment": "rag-embeddings"}
    vectors = ask(book, {"input": docs}, "rag-demo", **where)[1].embeddings
    query = ask(book, {"input": "When does the Seattle office open?"}, "rag-demo", **where)[1].embeddings[0]
    scores = [sum(a * b for a, b in zip(v, query)) for v in vectors]
    best = docs[scores.index(max(scores))]
    assert best == docs[1] and len(query) == 8
    assert len(ask(book, {"input": "not in the fixture"}, "rag-demo", **where)[1].embeddings[0]) == 8
    assert book.deployment("rag-embeddings", "rag-demo").dimensions == 8
    system = "Answer from these sources.\nSources:\n[1] " + best + "\n[2] " + docs[0]
    answer = text(book, chat({"role": "system", "content": system}, "When does the Seattle office open?"),
                  scenario_name="rag-demo")
    assert answer == f"According to the handbook: {best} [1]"
    assert text(book, chat("hi"), scenario_name="rag-demo").startswith("I can only answer")


def test_flaky_service_throttles_twice_then_answers_and_filters_content(book):
    statuses = []
    for _ in range(3):
        try:
            statuses.append(text(book, chat("hello"), scenario_name="flaky-service"))
        except AzureError as exc:
            statuses.append(exc.status)
            assert exc.headers["retry-after-ms"] == "10" and exc.body()["error"]["code"] == "429"
    assert statuses == [429, 429, "Third time lucky: hello"]
    with pytest.raises(AzureError) as caught:
        ask(book, chat("something forbidden"), "flaky-service")
    assert caught.value.body()["error"]["innererror"]["code"] == "ResponsibleAIPolicyViolation"
