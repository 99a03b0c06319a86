"""A responder for tests of the answering families: it answers with the given choices in turn (then "done")
and remembers every conversation it saw."""

from __future__ import annotations

from aoai_mock.behaviour.responders.base import Choice, Context, Conversation, Reply


class Scripted:
    def __init__(self, *choices: Choice) -> None:
        self.choices = list(choices)
        self.seen: list[Conversation] = []

    def respond(self, conversation: Conversation, ctx: Context) -> Reply:
        self.seen.append(conversation)
        return Reply((self.choices.pop(0) if self.choices else Choice(content="done"),))
