"""Requests as routes see them, and answers as responders write them, without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aoai_mock.behaviour.responders.base import Context, Conversation, Reply
from aoai_mock.behaviour.scenarios import Scenario, load_text
from aoai_mock.behaviour.scenarios.engine import Decision, RequestView, ScenarioBook
from aoai_mock.behaviour.scenarios.request_facts import messages_of

GA = "2024-10-21"
CTX = Context("gpt-4o", "gpt-4o", Path("."))
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
            "required": ["location"],
        },
    },
}


def scenario(text: str, **kw: Any) -> Scenario:
    return load_text(text, "test.yaml", **kw)


def book_of(text: str, **kw: Any) -> ScenarioBook:
    return ScenarioBook([scenario(text, **kw)])


def chat(*turns: Any, **body: Any) -> dict[str, Any]:
    """A chat body: strings are user turns, dicts are messages as given."""
    messages = [t if isinstance(t, dict) else {"role": "user", "content": t} for t in turns]
    return {"messages": messages, **body}


def view(body: dict[str, Any], operation: str = "chat.completions", deployment: str = "gpt-4o",
         api_version: str = GA, headers: dict[str, str] | None = None) -> RequestView:
    return RequestView(operation, deployment, api_version, headers or {}, body)


def conversation(body: dict[str, Any], operation: str = "chat.completions", seed: int = 7) -> Conversation:
    """A Conversation as chat.py builds it from the same body."""
    tools = tuple(t["function"] for t in body.get("tools") or ())
    return Conversation(
        operation=operation,
        messages=messages_of(body),
        seed=seed,
        n=body.get("n") or 1,
        tools=tools,
        tool_choice=body.get("tool_choice"),
        response_format=body.get("response_format"),
        body=body,
    )


def ask(book: ScenarioBook, body: dict[str, Any], scenario_name: str | None = None, seed: int = 7,
        **where: Any) -> tuple[Decision, Reply]:
    """Decide and answer, as a route does; the decision must carry a responder."""
    decision = book.decide(view(body, **where), scenario_name)
    assert decision.responder is not None, decision
    return decision, decision.responder.respond(conversation(body, where.get("operation", "chat.completions"), seed), CTX)


def text(book: ScenarioBook, body: dict[str, Any], **kw: Any) -> str | None:
    return ask(book, body, **kw)[1].choices[0].content
