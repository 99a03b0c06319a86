"""ChatML prompts (``<|im_start|>user ... <|im_end|>``) read as conversations.

Legacy completions answer a ChatML prompt as the conversation it spells out, and scenario rules match it
as one; both read it here.
"""

from __future__ import annotations

import re

from aoai_mock.behaviour.responders.base import Message

__all__ = ["chatml_messages"]

_CHATML = re.compile(r"<\|im_start\|>(\w+)\n(.*?)(?:<\|im_end\|>|$)", re.S)


def chatml_messages(prompt: str) -> tuple[Message, ...]:
    """A ChatML prompt (``<|im_start|>user ... <|im_end|>``) as messages; plain text is one user message."""
    found = [Message(role, text.strip()) for role, text in _CHATML.findall(prompt) if text.strip()]
    return tuple(found) if found else (Message("user", prompt),)
