"""A run's prompt as the service counts it: the ChatML text of the turn's conversation, read as plain text.

Each message is ``<|im_start|>{role}<|im_sep|>{text}<|im_end|>`` and the whole is tokenized as text (the
markers are not special tokens there), with no reply priming: a thread holding "Hello, assistant!" costs 22
prompt tokens and one holding "Hello there, assistant! How are you today?" 28, neither run with instructions
(gpt-4-turbo, cl100k) [captured: recordings/assistants/net-BasicRunOperationsWork-2024-05-01-preview (22) and
net-StreamingRunWorks-2024-05-01-preview (28)]. Chat's count of the same message (3 tokens a message, 3 of
priming) gives 11 and 17.

What the recordings do not show is [inferred]: the instructions are the first, system, message and function
tools are rendered after them as chat renders them (:func:`aoai_mock.behaviour.tool_text.functions_section`);
a turn's function calls are the assistant's text ``name(arguments)``, their results the tool's text.
A 2025-04-01-preview run of gpt-4o-mini counted 62 for the second thread (Azure/azure-sdk-assets
net/.../AssistantTests/StreamingRunWorks.json @d30b730): the service then added a prompt of its own that no
recording spells out, so it is not modelled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aoai_mock.behaviour import tokens, tool_text

__all__ = ["prompt_text", "prompt_tokens"]


def _text(message: Mapping[str, Any]) -> str:
    calls = message.get("tool_calls") or ()
    if calls:
        return "".join(f"{c['function']['name']}({c['function']['arguments']})" for c in calls)
    return str(message.get("content") or "")


def prompt_text(messages: Sequence[Mapping[str, Any]], functions: Sequence[Mapping[str, Any]] = ()) -> str:
    """The turn's conversation (instructions first, if any) in ChatML, the functions after the instructions."""
    turns = [(str(m["role"]), _text(m)) for m in messages]
    if functions:
        section = tool_text.functions_section(functions)
        if turns and turns[0][0] == "system":
            turns[0] = ("system", f"{turns[0][1]}\n\n{section}")
        else:
            turns.insert(0, ("system", section))
    return "".join(f"<|im_start|>{role}<|im_sep|>{text}<|im_end|>" for role, text in turns)


def prompt_tokens(
    messages: Sequence[Mapping[str, Any]], encoding: str, functions: Sequence[Mapping[str, Any]] = ()
) -> int:
    return tokens.count(prompt_text(messages, functions), encoding)
