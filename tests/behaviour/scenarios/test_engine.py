"""The scenario book: sequences, times, counters and resets, near misses, and choosing the scenario."""

from __future__ import annotations

import threading

import pytest
from aoai_mock.behaviour.scenarios import ScenarioError
from aoai_mock.behaviour.scenarios.engine import Decision, ScenarioBook
from aoai_mock.behaviour.scenarios.schema import Scenario
from aoai_mock.errors import InvalidRequest, UnknownScenario

from tests.behaviour.scenarios.helpers import (
    CTX,
    ask,
    book_of,
    chat,
    conversation,
    scenario,
    text,
    view,
)


def answers(book: ScenarioBook, count: int) -> list[str | None]:
    """The first choice's text of ``count`` identical requests; None where no responder was chosen."""
    out = []
    for _ in range(count):
        decision = book.decide(view(chat("x")))
        reply = decision.responder.respond(conversation(chat("x")), CTX) if decision.responder else None
        out.append(reply.choices[0].content if reply else None)
    return out


SEQUENCE = """\
name: seq
default: {{text: default}}
rules:
  - name: steps
    replies: [{{text: one}}, {{text: two}}, {{text: three}}]
    {extra}
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", ["one", "two", "three", "three", "three"]),
        ("then: repeat_last", ["one", "two", "three", "three", "three"]),
        ("then: cycle", ["one", "two", "three", "one", "two"]),
        ("then: fall_through", ["one", "two", "three", "default", "default"]),
        ("times: 2", ["one", "two", "default", "default", "default"]),
        ("then: cycle\n    times: 4", ["one", "two", "three", "one", "default"]),
    ],
)
def test_sequences(extra, expected):
    assert answers(book_of(SEQUENCE.format(extra=extra)), 5) == expected


def test_times_on_a_single_reply_then_later_rules_answer():
    book = book_of("name: t\nrules:\n  - {name: once, times: 1, reply: {text: first}}\n  - {name: rest, reply: {text: later}}\n")
    assert answers(book, 3) == ["first", "later", "later"]


def test_call_numbers_count_every_request_of_the_scenario_and_rules_count_their_own():
    book = book_of(
        "name: t\nrules:\n"
        "  - {name: third, match: {call: 3}, reply: {text: 'third call'}}\n"
        "  - {name: other, reply: {text: 'call {{ call }}, my {{ rule_call }}'}}\n"
    )
    assert answers(book, 4) == ["call 1, my 1", "call 2, my 2", "third call", "call 4, my 3"]


def test_reset_zeroes_counters_of_one_or_every_scenario_and_reloading_does_too():
    book = ScenarioBook([scenario(SEQUENCE.format(extra="")), scenario("name: other\nrules:\n  - reply: {text: '{{ call }}'}\n")])
    assert answers(book, 2) == ["one", "two"]
    assert [text(book, chat("x"), scenario_name="other") for _ in range(2)] == ["1", "2"]
    book.reset("seq")
    assert answers(book, 1) == ["one"] and text(book, chat("x"), scenario_name="other") == "3"
    book.reset()
    assert answers(book, 1) == ["one"] and text(book, chat("x"), scenario_name="other") == "1"
    book.load(scenario(SEQUENCE.format(extra="")))
    assert answers(book, 1) == ["one"]
    assert book.summary()[0]["calls"] == 1 and book.summary()[0]["rules"] == [{"name": "steps", "hits": 1}]


NEAR = """\
name: strict
on_no_match: error
rules:
  - name: weather
    match: {operation: chat, message: weather, tools: [get_weather]}
    reply: {text: a}
  - name: greeting
    match: {message: {regex: "^(hi|hello)\\\\b", ignore_case: true}}
    reply: {text: b}
  - name: embeddings-only
    match: {operation: embeddings, deployment: ada, api_version: "2023-05-15"}
    reply: {text: c}
  - name: used-up
    times: 1
    reply: {text: d}
"""


def test_no_match_with_on_no_match_error_names_the_nearest_rules_and_why_each_missed():
    book = book_of(NEAR)
    assert text(book, chat("anything")) == "d"
    with pytest.raises(InvalidRequest) as caught:
        book.decide(view(chat("Good morning")))
    error = caught.value
    assert (error.status, error.code, error.param) == (400, "scenario_no_match", None)
    assert error.message == (
        "aoai-mock: no rule of scenario 'strict' matched this request (call 2). Nearest rules: "
        "'greeting' (rule 2) missed: message: the last user message 'Good morning' does not match /^(hi|hello)\\b/ | "
        "'used-up' (rule 4) missed: times: already answered 1 time | "
        "'weather' (rule 1) missed: tools: no tool named get_weather is offered (offered: none); "
        "message: the last user message 'Good morning' does not contain 'weather'."
    )


def test_no_match_without_rules_and_the_default_answer():
    with pytest.raises(InvalidRequest, match="has no rules"):
        book_of("name: empty\non_no_match: error\n").decide(view(chat("x")))
    decision = book_of("name: plain\n").decide(view(chat("x")))
    assert decision == Decision(scenario="plain", call=1) and not decision.matched
    decision = book_of("name: d\ndefault: {responder: generated, options: {tokens: 5}}\n").decide(view(chat("x")))
    assert decision.responder is not None and decision.default.name == "generated"
    assert decision.default.options == {"tokens": 5}


def test_the_decision_names_scenario_rule_and_call():
    decision = book_of(NEAR).decide(view(chat("hello you")))
    assert (decision.scenario, decision.rule, decision.rule_index, decision.call, decision.matched) == (
        "strict", "greeting", 1, 1, True)
    assert book_of("name: n\nrules:\n  - reply: {text: x}\n").decide(view(chat("q"))).rule == "rule 1"


def test_choosing_the_scenario_active_named_or_none():
    book = ScenarioBook()
    assert book.decide(view(chat("x"))) == Decision() and book.active is None
    book.load(scenario("name: a\nrules:\n  - reply: {text: from a}\n"))
    book.load(scenario("name: b\nrules:\n  - reply: {text: from b}\n"))
    assert book.names() == ["a", "b"] and book.active == "a"
    assert text(book, chat("x")) == "from a" and text(book, chat("x"), scenario_name="b") == "from b"
    book.activate("b")
    assert text(book, chat("x")) == "from b"
    assert [s["active"] for s in book.summary()] == [False, True]
    book.activate(None)
    assert book.decide(view(chat("x"))).scenario is None
    with pytest.raises(UnknownScenario) as caught:
        book.decide(view(chat("x")), "c")
    assert caught.value.status == 400 and "loaded: a, b" in caught.value.message
    with pytest.raises(UnknownScenario):
        book.activate("c")
    book.remove("a")
    assert book.names() == ["b"] and book.get("b").name == "b"


def test_scenario_deployments_override_by_name_for_the_active_or_named_scenario():
    book = book_of("name: s\ndeployments:\n  - {name: mine, model: gpt-4o, kind: chat, responder: generated}\n")
    found = book.deployment("mine")
    assert found.model == "gpt-4o" and found.responder.name == "generated" and found.operations
    assert book.deployment("gpt-4o") is None and book.deployment("mine", "s") == found
    book.activate(None)
    assert book.deployment("mine") is None


def test_loading_needs_a_name_and_working_fixtures(tmp_path):
    with pytest.raises(ScenarioError, match="needs a name"):
        ScenarioBook([Scenario()])
    (tmp_path / "a.txt").write_text("x")
    loaded = scenario("name: f\ndefault: {fixture: a.txt}\n", base_dir=tmp_path)
    (tmp_path / "a.txt").unlink()
    with pytest.raises(ScenarioError, match="not found"):
        ScenarioBook([loaded])
    with pytest.raises(ScenarioError, match="needs a 'file' option"):
        ScenarioBook([scenario("name: r\ndefault: {responder: fixture}\n")])


def test_counters_are_exact_under_concurrent_decisions():
    book = book_of("name: c\nrules:\n  - reply: {text: x}\n")
    threads = [threading.Thread(target=lambda: [book.decide(view(chat("x"))) for _ in range(200)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert book.summary()[0]["calls"] == 800 and book.summary()[0]["rules"][0]["hits"] == 800


def test_same_requests_same_decisions_and_answers_across_books():
    def run() -> list:
        book = book_of(SEQUENCE.format(extra="then: cycle"))
        return [ask(book, chat("q", n=2), seed=5)[1] for _ in range(4)]

    assert run() == run()
