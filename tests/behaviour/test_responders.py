"""Responders decide what the model says; the same conversation always gets the same answer."""

from pathlib import Path

import pytest
from aoai_mock.behaviour import responders
from aoai_mock.behaviour.responders.base import Context, Conversation, Message

CTX = Context("gpt-4o", "gpt-4o", Path(__file__).resolve().parent.parent / "data")
WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}},
                                                  "required": ["location"]}}


def conv(*messages, **kw):
    return Conversation(operation="chat.completions", messages=tuple(messages), seed=kw.pop("seed", 1), **kw)


def test_echo_answers_with_the_last_user_message():
    reply = responders.create("echo").respond(conv(Message("user", "one"), Message("assistant", "x"), Message("user", "two")), CTX)
    assert reply.choices[0].content == "two"


def test_generated_is_deterministic_per_seed_and_differs_across_seeds():
    gen = responders.create("generated")
    first = gen.respond(conv(Message("user", "hi"), seed=5), CTX).choices[0].content
    assert first == gen.respond(conv(Message("user", "hi"), seed=5), CTX).choices[0].content
    assert first != gen.respond(conv(Message("user", "hi"), seed=6), CTX).choices[0].content
    assert len(first.split()) > 5


def test_generated_exact_length_option():
    from aoai_mock.behaviour import tokens

    text = responders.create("generated", {"tokens": 300}).respond(conv(Message("user", "go")), CTX).choices[0].content
    assert tokens.count(text, "o200k_base") in range(295, 306)


def test_generated_calls_a_tool_after_a_user_turn_and_answers_after_the_tool_result():
    gen = responders.create("generated")
    first = gen.respond(conv(Message("user", "weather in Paris?"), tools=(WEATHER,), tool_choice="auto"), CTX)
    call = first.choices[0].tool_calls[0]
    assert call.name == "get_weather" and call.id.startswith("call_")
    second = gen.respond(conv(Message("user", "weather?"), Message("assistant", "", tool_calls=({"id": call.id},)),
                              Message("tool", "22C", tool_call_id=call.id), tools=(WEATHER,), tool_choice="auto"), CTX)
    assert second.choices[0].content and not second.choices[0].tool_calls


def test_forced_tool_choice_makes_echo_call_the_named_tool():
    forced = {"type": "function", "function": {"name": "get_weather"}}
    reply = responders.create("echo").respond(conv(Message("user", "x"), tools=(WEATHER,), tool_choice=forced), CTX)
    assert reply.choices[0].tool_calls[0].name == "get_weather"


def test_fixture_reads_text_and_json(tmp_path):
    (tmp_path / "a.txt").write_text("canned answer")
    (tmp_path / "b.json").write_text('{"choices": [{"message": {"content": "from json"}, "finish_reason": "stop"}]}')
    ctx = Context("d", "gpt-4o", tmp_path)
    assert responders.create("fixture", {"file": "a.txt"}).respond(conv(Message("user", "")), ctx).choices[0].content == "canned answer"
    assert responders.create("fixture", {"file": "b.json"}).respond(conv(Message("user", "")), ctx).choices[0].content == "from json"


def test_unknown_responder_is_refused_with_the_known_names():
    with pytest.raises(responders.UnknownResponder, match="echo"):
        responders.create("nope")
