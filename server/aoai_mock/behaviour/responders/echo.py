"""``echo``: answers with the last user message, word for word."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aoai_mock.behaviour.responders.base import (
    Context,
    Conversation,
    TextResponder,
    register,
)

__all__ = ["EchoResponder"]


class EchoResponder(TextResponder):
    def __init__(self, options: Mapping[str, Any]) -> None:
        self.prefix = str(options.get("prefix", ""))

    def text(self, conversation: Conversation, ctx: Context, index: int) -> str:
        return self.prefix + conversation.last_user_text


register("echo")(EchoResponder)
