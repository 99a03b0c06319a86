"""``generated``: fluent text from faker, seeded by the request, so the same request reads the same.

Options: ``min_tokens`` and ``max_tokens`` (the length drawn for an answer, about tokens; the request's own
``max_tokens`` still cuts it), ``tokens`` (an exact length, for benchmarks), ``locale``, and ``tools``
(``auto``: call a tool when the last message is the user's, the default; ``never``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.responders.base import (
    Context,
    Conversation,
    TextResponder,
    register,
)

__all__ = ["GeneratedResponder"]

@cache
def _faker(locale: str) -> Any:
    from faker import (
        Faker,  # imported on first use: faker is slow to import and start-up should be fast
    )

    return Faker(locale)


class GeneratedResponder(TextResponder):
    def __init__(self, options: Mapping[str, Any]) -> None:
        exact = options.get("tokens")
        self.min_tokens = int(exact or options.get("min_tokens", 20))
        self.max_tokens = int(exact or options.get("max_tokens", 120))
        self.exact = exact is not None
        self.locale = str(options.get("locale", "en_US"))
        self.call_tools = options.get("tools", "auto") != "never"

    def wants_tool(self, conversation: Conversation) -> bool:
        last = conversation.messages[-1] if conversation.messages else None
        return self.call_tools and last is not None and last.role == "user"

    def text(self, conversation: Conversation, ctx: Context, index: int) -> str:
        rng = conversation.rng(index)
        target = rng.randint(self.min_tokens, max(self.min_tokens, self.max_tokens))
        if conversation.max_tokens is not None and not self.exact:
            target = min(target, conversation.max_tokens + 1)
        fake = _faker(self.locale)
        fake.seed_instance(rng.getrandbits(64))
        encoding = tokens.encoding_name_for(ctx.model)
        sentences: list[str] = []
        counted = 0
        while counted < target:
            sentence = fake.sentence(nb_words=rng.randint(6, 16))
            sentences.append(sentence)
            counted += tokens.count(" " + sentence, encoding)
        text = " ".join(sentences)
        if self.exact:
            text = tokens.decode(tokens.encode(text, encoding)[:target], encoding)
        return text


register("generated")(GeneratedResponder)
