"""``fixture``: a canned answer from a file under ``fixtures/``.

``file`` names it (relative to the fixtures folder). A ``.txt`` file is the answer's text; a ``.json`` or
``.yaml`` file holds either a whole ``chat.completion`` body (its choices are taken) or
``{"choices": [{"content": ..., "tool_calls": [...], "finish_reason": ...}]}``. The file is read once.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson
import yaml

from aoai_mock.behaviour.responders.base import (
    Choice,
    Context,
    Conversation,
    Reply,
    ToolCall,
    register,
)
from aoai_mock.wire import bounded_yaml

__all__ = ["FixtureResponder", "FixtureError"]


class FixtureError(ValueError):
    """A fixture that cannot be used; ``reason`` says why without naming where the file is."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason or message


def _tool_call(raw: Mapping[str, Any], index: int) -> ToolCall:
    function = raw.get("function") or raw
    arguments = function.get("arguments", {})
    if not isinstance(arguments, str):
        arguments = orjson.dumps(arguments).decode()
    return ToolCall(str(raw.get("id") or f"call_fixture_{index}"), str(function["name"]), arguments)


def _choice(raw: Mapping[str, Any]) -> Choice:
    message = raw.get("message") or raw
    calls = tuple(_tool_call(c, i) for i, c in enumerate(message.get("tool_calls") or ()))
    return Choice(
        content=message.get("content", raw.get("text")),
        tool_calls=calls,
        refusal=message.get("refusal"),
        finish_reason=raw.get("finish_reason"),
    )


def load_reply(path: Path) -> Reply:
    try:
        raw = path.read_bytes()
        if path.suffix == ".txt":
            return Reply((Choice(content=raw.decode("utf-8")),))
        data = orjson.loads(raw) if path.suffix == ".json" else bounded_yaml.load(raw)
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not all(isinstance(c, Mapping) for c in choices):
            raise FixtureError(f"fixture {path}: expected a 'choices' list", "expected a 'choices' list")
        return Reply(tuple(_choice(c) for c in choices))
    except OSError as exc:
        raise FixtureError(f"fixture {path}: cannot read: {exc.strerror}", f"cannot read: {exc.strerror}") from None
    except (UnicodeDecodeError, orjson.JSONDecodeError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else f"cannot be read as a reply ({type(exc).__name__})"
        raise FixtureError(f"fixture {path}: {reason}", reason) from None


class FixtureResponder:
    def __init__(self, options: Mapping[str, Any]) -> None:
        if "file" not in options:
            raise FixtureError("the fixture responder needs a 'file' option")
        self.file = Path(str(options["file"]))
        self._reply: Reply | None = None

    def respond(self, conversation: Conversation, ctx: Context) -> Reply:
        if self._reply is None:
            path = self.file if self.file.is_absolute() else ctx.fixtures_dir / self.file
            self._reply = load_reply(path)
        choices = self._reply.choices
        return Reply(tuple(choices[i % len(choices)] for i in range(conversation.n)))


register("fixture")(FixtureResponder)
