"""Chat stream and body builders: tool calls, legacy function calls and the asynchronous filter's windows."""

from __future__ import annotations

from aoai_mock.wire.chat import chat_body, chat_chunks
from aoai_mock.wire.eras import era_for
from aoai_mock.wire.results import ChatResult, ChoiceResult, ToolCallOut, Usage

CALLS = (
    ToolCallOut("call_a", "lookup", '{"city":"Paris"}', ('{"', "city", '":"', "Paris", '"}')),
    ToolCallOut("call_b", "lookup", '{"city":"Oslo"}', ('{"', "city", '":"', "Oslo", '"}')),
)


def _result(choice: ChoiceResult, version: str) -> ChatResult:
    return ChatResult("chatcmpl-x", 1, "gpt-4o", "fp_x", (choice,), Usage(10, 5), era=era_for(version))


def _deltas(result: ChatResult) -> list[dict]:
    return [c["choices"][0]["delta"] for c in chat_chunks(result) if c.get("choices")]


def test_the_role_chunk_carries_the_first_tool_calls_header_and_later_calls_get_their_own() -> None:
    """[captured: recordings/chat/net-SimpleToolWorksStreaming-Required] the role chunk holds index, id, type, name
    and ``arguments: ""``; argument chunks only index and arguments."""
    choice = ChoiceResult(0, None, (), "tool_calls", CALLS, filter_results={})
    role, *rest, final = _deltas(_result(choice, "2024-10-21"))
    assert role == {"content": None, "role": "assistant", "tool_calls": [
        {"index": 0, "id": "call_a", "type": "function", "function": {"name": "lookup", "arguments": ""}}]}
    headers = [d["tool_calls"][0] for d in rest if "id" in d["tool_calls"][0]]
    second = {"index": 1, "id": "call_b", "type": "function", "function": {"name": "lookup", "arguments": ""}}
    assert headers == [second]
    pieces = [d["tool_calls"][0] for d in rest if "id" not in d["tool_calls"][0]]
    assert all(p.keys() == {"index", "function"} and p["function"].keys() == {"arguments"} for p in pieces)
    assert "".join(p["function"]["arguments"] for p in pieces if p["index"] == 1) == '{"city":"Oslo"}'
    assert final == {}


def test_the_2025_role_chunk_of_a_tool_call_says_refusal_null() -> None:
    choice = ChoiceResult(0, None, (), "tool_calls", CALLS[:1], filter_results={})
    role = _deltas(_result(choice, "2025-01-01-preview"))[0]
    assert role["refusal"] is None and role["content"] is None and role["tool_calls"][0]["id"] == "call_a"


def test_a_legacy_function_call_answers_as_function_call() -> None:
    choice = ChoiceResult(0, None, (), "function_call", CALLS[:1], filter_results={}, function_call=True)
    result = _result(choice, "2024-10-21")
    message = chat_body(result)["choices"][0]["message"]
    assert message == {"role": "assistant", "content": None,
                       "function_call": {"name": "lookup", "arguments": '{"city":"Paris"}'}}
    role, *pieces, final = _deltas(result)
    assert role == {"content": None, "role": "assistant", "function_call": {"name": "lookup", "arguments": ""}}
    assert all(p.keys() == {"function_call"} and p["function_call"].keys() == {"arguments"} for p in pieces)
    assert "".join(p["function_call"]["arguments"] for p in pieces) == '{"city":"Paris"}'
    assert final == {}
