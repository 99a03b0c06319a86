"""The shared scenario decision's Lua script against the in-process book, on a real redis-server: the same
scenario and requests give the same rules, replies, ``call`` and ``rule_call`` numbers and counters."""

from __future__ import annotations

from typing import Any

import pytest
from aoai_mock.behaviour.scenarios.engine import ScenarioBook
from aoai_mock.behaviour.scenarios.loader import load_text
from aoai_mock.behaviour.scenarios.matching import RequestView
from aoai_mock.behaviour.shared_counters import SharedCounters

from tests.behaviour.scenarios.helpers import CTX, chat, conversation
from tests.shared.test_fault_script import counters, view

pytestmark = pytest.mark.asyncio(loop_scope="session")  # the loop the client fixture was made in
__all__ = ["counters"]  # the fixture


SCENARIO = """name: counted
rules:
  - name: twice
    match: {message: {contains: special}}
    times: 2
    reply: {text: "special {{ rule_call }} of call {{ call }}"}
  - name: third-calls
    match: {call: {every: 3}}
    reply: {text: "every third: {{ call }}"}
  - name: cycle
    then: cycle
    replies: [{text: "a"}, {text: "b"}]
    match: {message: {contains: cycle}}
  - name: fall
    then: fall_through
    replies: [{text: "one"}, {text: "two"}]
default: {text: "default at {{ call }}"}
"""


async def test_the_rule_script_decides_as_the_in_process_book_does(counters: SharedCounters) -> None:
    scenario = load_text(SCENARIO)
    local, remote = ScenarioBook([scenario]), ScenarioBook()
    remote.share(counters)
    remote.load(scenario)
    texts = ["special", "cycle", "hi", "special", "cycle", "special", "cycle", "hi", "hi", "hi", "cycle", "hi", "hi"]
    seen = []
    for n, text in enumerate(texts):
        request = view(n, text=text)
        expected, got = local.decide(request), await remote.decide_shared(request)
        assert (got.rule, got.call) == (expected.rule, expected.call), n
        assert _text(got) == _text(expected), n
        seen.append(_text(got))
    assert seen == ["special 1 of call 1", "a", "every third: 3", "special 2 of call 4", "b", "every third: 6", "a",
                    "one", "every third: 9", "two", "b", "every third: 12", "default at 13"]
    assert await remote.shared_summary() == local.summary()


def _text(decision: Any) -> str | None:
    if decision.responder is None:
        return None
    return decision.responder.respond(conversation(chat("x")), CTX).choices[0].content




NAMED = """name: named
rules:
  - name: files-fail-then-pass
    match: {operation: files}
    then: cycle
    replies:
      - {error: {status: 503, message: "busy"}}
      - {text: "fine"}
      - {error: {status: 500, message: "broken"}}
  - name: images-twice
    match: {operation: images.generations}
    times: 2
    reply: {error: {status: 429, message: "slow down"}}
"""


async def test_rules_for_the_resource_operations_decide_as_the_in_process_book_does(counters: SharedCounters) -> None:
    scenario = load_text(NAMED)
    local, remote = ScenarioBook([scenario]), ScenarioBook()
    remote.share(counters)
    remote.load(scenario)
    operations = ["files", "images.generations", "files", "files", "images.generations", "images.generations",
                  "files", "files", "chat.completions"]
    decided = []
    for operation in operations:
        request = RequestView(operation, "", "2024-10-21", {}, {})
        expected, got = local.decide_named(request), await remote.decide_named_shared(request)
        assert (got and (got.rule, got.call)) == (expected and (expected.rule, expected.call)), operation
        decided.append(got and got.rule)
    # The files rule's second reply is text, which no route takes from a rule: it stays there.
    assert decided == ["files-fail-then-pass", "images-twice", None, None, "images-twice", None, None, None, None]
    assert await remote.shared_summary() == local.summary()
