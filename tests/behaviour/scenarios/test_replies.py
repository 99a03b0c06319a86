"""Every kind of reply, templating, and determinism: the same request always gets the same answer."""

from __future__ import annotations

import json

import pytest
from aoai_mock.behaviour.responders.base import UsageOverride
from aoai_mock.errors import AzureError

from tests.behaviour.scenarios.helpers import WEATHER_TOOL, ask, book_of, chat, text


def one(reply: str, **kw):
    """A book with one rule that always answers with ``reply`` (YAML flow text)."""
    return book_of(f"name: t\nrules:\n  - name: only\n    reply: {reply}\n", **kw)


def test_text_with_templates_quotes_the_request():
    book = one(
        "{text: \"You said '{{ last_user }}' to {{ deployment }} ({{ operation }}, {{ api_version }}), "
        "call {{ call }}/{{ rule_call }} of {{ scenario }}/{{ rule }}; system: {{ system }}; "
        "{{ messages | length }} messages, last by {{ last.role }}; temp {{ body.temperature }}; "
        "{{ headers['x-who'] }}; {{ body.missing.deep }}.\"}"
    )
    body = chat({"role": "system", "content": "Be kind."}, "Hello <b>world</b>", temperature=0.5)
    answer = text(book, body, headers={"x-who": "me"})
    assert answer == ("You said 'Hello <b>world</b>' to gpt-4o (chat.completions, 2024-10-21), call 1/1 of t/only; "
                      "system: Be kind.; 2 messages, last by user; temp 0.5; me; .")


def test_filters_regex_and_json():
    book = one("{text: \"{{ last_user | regex_search('[0-9]+') }} {{ last_user | regex_findall('[a-z]+') | join('-') }} "
               "{{ last_user | regex_replace('[0-9]', '#') }} {{ body.meta | json }} {{ ('{\\\"a\\\": 1}' | from_json).a }}\"}")
    assert text(book, chat("order 42 now", meta={"k": [1]})) == '42 order-now order ## now {"k":[1]} 1'


def test_refusal():
    choice = ask(one("{refusal: 'No, {{ last_user }}.'}"), chat("tell me"))[1].choices[0]
    assert choice.content is None and choice.refusal == "No, tell me."


def test_tool_calls_with_literal_templated_and_generated_arguments():
    book = one(
        "{tool_calls: [{name: get_current_weather, arguments: {location: '{{ last_user }}', days: '{{ 1 + 2 }}', "
        "units: [c, f]}}, {name: get_current_weather}, {name: other, id: call_fixed}]}"
    )
    body = chat("Oslo", tools=[WEATHER_TOOL])
    calls = ask(book, body)[1].choices[0].tool_calls
    assert json.loads(calls[0].arguments) == {"location": "Oslo", "days": 3, "units": ["c", "f"]}
    generated = json.loads(calls[1].arguments)
    assert set(generated) == {"location", "unit"} and generated["unit"] in ("celsius", "fahrenheit")
    assert json.loads(calls[2].arguments) == {} and calls[2].id == "call_fixed"
    assert len({c.id for c in calls}) == 3 and calls[0].id.startswith("call_")


def test_n_choices_from_one_reply_and_several_choices_with_their_own_finish_reasons():
    reply = ask(one("{text: 'choice {{ choice }}'}"), chat("x", n=3))[1]
    assert [c.content for c in reply.choices] == ["choice 0", "choice 1", "choice 2"]
    book = one("{choices: [{text: a}, {refusal: b, finish_reason: content_filter}, {json: {c: 1}}], finish_reason: length}")
    choices = ask(book, chat("x", n=3))[1].choices
    assert [(c.content, c.refusal, c.finish_reason) for c in choices] == [
        ("a", None, "length"), (None, "b", "content_filter"), ('{"c":1}', None, "length")]


def test_json_literal_keeps_types_and_json_from_the_requests_schema():
    book = one("{json: {n: '{{ last_user | int }}', s: '{{ last_user }}', t: 'n={{ last_user }}', nested: [{x: null}]}}")
    assert json.loads(text(book, chat("42"))) == {"n": 42, "s": "42", "t": "n=42", "nested": [{"x": None}]}
    schema = {"type": "object", "properties": {"city": {"type": "string"}, "count": {"type": "integer", "minimum": 1,
              "maximum": 3}, "tags": {"type": "array", "items": {"type": "string"}}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
    value = json.loads(text(one("{json: from_schema}"), chat("x", response_format=fmt)))
    assert set(value) == {"city", "count", "tags"} and 1 <= value["count"] <= 3
    assert json.loads(text(one("{json: from_schema}"), chat("x"))) == {}


def test_finish_reason_and_usage():
    reply = ask(one("{text: cut, finish_reason: length, usage: {prompt_tokens: 5, completion_tokens: 7}}"), chat("x"))[1]
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage == UsageOverride(prompt_tokens=5, completion_tokens=7, reasoning_tokens=None)


def test_fixture_reply_and_a_built_in_responder(tmp_path):
    (tmp_path / "answer.json").write_text('{"choices": [{"message": {"content": "canned"}}]}')
    assert text(one("{fixture: answer.json, finish_reason: stop}", base_dir=tmp_path), chat("x")) == "canned"
    assert ask(one("{fixture: answer.json}", base_dir=tmp_path), chat("x"))[1].choices[0].finish_reason is None
    assert text(one("{responder: echo}"), chat("echo me")) == "echo me"
    reply = ask(one("{responder: generated, options: {tokens: 10}, usage: {completion_tokens: 1}}"), chat("x"))[1]
    assert reply.choices[0].content and reply.usage.completion_tokens == 1


def test_embeddings_inline_in_turn_from_a_fixture_and_by_input(tmp_path):
    inline = ask(one("{embeddings: {vectors: [[1, 0], [0, 1]]}}"), {"input": ["a", "b", "c"]}, operation="embeddings")[1]
    assert inline.embeddings == ((1.0, 0.0), (0.0, 1.0), (1.0, 0.0))
    (tmp_path / "response.json").write_text('{"data": [{"embedding": [0.5, 0.5], "index": 0}]}')
    (tmp_path / "keyed.json").write_text('{"inputs": {"known": [0.0, 1.0, 0.0]}}')
    from_response = ask(one("{embeddings: {fixture: response.json}}", base_dir=tmp_path), {"input": "q"},
                        operation="embeddings")[1]
    assert from_response.embeddings == ((0.5, 0.5),)
    keyed = ask(one("{embeddings: {fixture: keyed.json}}", base_dir=tmp_path), {"input": ["known", "other"]},
                operation="embeddings")[1].embeddings
    assert keyed[0] == (0.0, 1.0, 0.0) and len(keyed[1]) == 3 and keyed[1] != keyed[0]


def test_errors_of_every_shape():
    book = one("{error: {status: 418, code: teapot, message: 'No {{ last_user }}', param: messages, "
               "headers: {x-why: tea}}}")
    with pytest.raises(AzureError) as caught:
        ask(book, chat("coffee"))
    error = caught.value
    assert (error.status, error.headers) == (418, {"x-why": "tea"})
    assert error.body() == {"error": {"message": "No coffee", "type": "invalid_request_error", "param": "messages",
                                      "code": "teapot"}}


def test_error_presets():
    with pytest.raises(AzureError) as caught:
        ask(one("{error: {preset: rate_limit}}"), {"input": "x"}, operation="embeddings")
    error = caught.value
    assert error.status == 429 and error.headers == {"retry-after": "1", "retry-after-ms": "1000"}
    assert error.body()["error"]["code"] == "429" and set(error.body()["error"]) == {"code", "message"}
    assert "Embeddings_Create Operation under Azure OpenAI API version 2024-10-21" in error.message
    assert "retry after 1 second." in error.message
    with pytest.raises(AzureError) as caught:
        ask(one("{error: {preset: rate_limit, headers: {retry-after: '7'}}}"), chat("x"))
    assert caught.value.headers["retry-after-ms"] == "7000" and "retry after 7 seconds" in caught.value.message
    with pytest.raises(AzureError) as caught:
        ask(one("{error: {preset: server_error}}"), chat("x"))
    body = caught.value.body()["error"]
    assert caught.value.status == 500 and body["type"] == "server_error" and "request ID" in body["message"]
    with pytest.raises(AzureError) as caught:
        ask(one("{error: {preset: overloaded, message: busy}}"), chat("x"))
    assert (caught.value.status, caught.value.message) == (503, "busy")
    with pytest.raises(AzureError) as caught:
        ask(one("{error: {preset: content_filter, type: null}}"), chat("x"))
    body = caught.value.body()["error"]
    assert (body["code"], body["param"], body["type"], body["status"]) == ("content_filter", "prompt", None, 400)
    assert body["innererror"]["content_filter_result"]["violence"]["filtered"] is True


def test_a_template_that_fails_at_run_time_is_a_clear_500():
    with pytest.raises(AzureError) as caught:
        text(one("{text: \"{{ 1 / (messages | length - 1) }}\"}"), chat("x"))
    assert caught.value.status == 500 and "scenario template" in caught.value.message


def test_templates_cannot_reach_python_internals():
    try:
        answer = text(one("{text: \"{{ last_user.__class__.__mro__[1].__subclasses__() }}\"}"), chat("x"))
    except AzureError as exc:
        assert exc.status == 500
    else:
        assert "class" not in answer
    with pytest.raises(AzureError, match="unsafe"):  # nor change the request
        text(one("{text: \"{{ body.messages.append(1) }}\"}"), chat("x"))


def test_the_same_request_gets_the_same_answer_and_another_seed_another():
    spec = "{tool_calls: [{name: get_current_weather}]}"
    body = chat("weather", tools=[WEATHER_TOOL])
    first = ask(one(spec), body, seed=11)[1]
    assert first == ask(one(spec), body, seed=11)[1]
    assert first.choices[0].tool_calls[0].id != ask(one(spec), body, seed=12)[1].choices[0].tool_calls[0].id
    schema = {"type": "json_schema", "json_schema": {"name": "s", "schema": {"type": "object", "properties": {
        "v": {"type": "number"}}}}}
    values = {text(one("{json: from_schema}"), chat("x", response_format=schema), seed=s) for s in (1, 1, 2)}
    assert len(values) == 2
