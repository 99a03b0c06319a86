"""Input items: the request's ``input`` as the stored items the API lists, and any items as a chat.

Stored items have the shapes ``GET /responses/{id}/input_items`` returns: a string input becomes one user
message with an ``input_text`` part; messages get ids and ``status: completed``; an assistant message's
text is ``output_text`` (with ``annotations: []``), as the service lists it. Function calls and their
outputs keep their ``call_id``. An ``item_reference`` is the kept item it names (``resolve`` finds it), stored
and read as if it had been sent in full.

The responder, the token count and scenario rules see the conversation as a chat: instructions as the
system message, function calls as an assistant message's ``tool_calls``, outputs as ``tool`` messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from aoai_mock.behaviour.responders.base import Message
from aoai_mock.behaviour.responses.request import (
    FunctionCallItem,
    FunctionCallOutputItem,
    ItemReference,
    MessageItem,
    ReasoningItem,
    ResponsesRequest,
)
from aoai_mock.errors import InvalidRequest

__all__ = [
    "stored_input",
    "chat_messages",
    "messages",
    "image_count",
    "check_calls",
    "IMAGE_TOKENS",
    "ID_PREFIXES",
]

Item = dict[str, Any]
# What an image costs, by detail: low is a flat 85; high or auto is counted as a 1024x1024 image
# (85 + 170 per 512-pixel tile), since the mock never looks at the picture.
IMAGE_TOKENS = {"low": 85, "high": 765, "auto": 765}
# The id prefix of each item type, as the service writes them.
ID_PREFIXES = {"message": "msg_", "function_call": "fc_", "function_call_output": "fco_", "reasoning": "rs_"}


_ASSISTANT_PARTS = ("output_text", "refusal")
_INPUT_PARTS = ("input_text", "input_image", "input_file")


def _parts(content: Any, role: str, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        if role == "assistant":
            return [{"type": "output_text", "text": content, "annotations": []}]
        return [{"type": "input_text", "text": content}]
    allowed = _ASSISTANT_PARTS if role == "assistant" else _INPUT_PARTS
    parts = []
    for index, part in enumerate(content):
        shown = part.model_dump(by_alias=True, exclude_none=True)
        param = f"{where}.content[{index}]"
        if shown["type"] not in allowed:
            listed = "', '".join(allowed[:-1]) + f"', and '{allowed[-1]}"
            raise InvalidRequest(
                f"Invalid value: '{shown['type']}'. Supported values are: '{listed}'.",
                param=f"{param}.type",
                code="invalid_value",
            )
        if shown["type"] == "input_image":
            if not shown.get("image_url") and not shown.get("file_id"):
                raise InvalidRequest(
                    f"Missing required parameter: '{param}.image_url'.",
                    param=f"{param}.image_url",
                    code="missing_required_parameter",
                )
            shown.setdefault("image_url", None)
            shown.setdefault("file_id", None)
        parts.append(shown)
    return parts


def _stored(item: Any, new_id: Callable[[str], str], where: str, resolve: Callable[[str], Item]) -> Item:
    if isinstance(item, ItemReference):
        return resolve(item.id)
    if isinstance(item, MessageItem):
        return {
            "id": item.id or new_id(ID_PREFIXES["message"]),
            "type": "message",
            "role": item.role,
            "status": item.status or "completed",
            "content": _parts(item.content, item.role, where),
        }
    if isinstance(item, FunctionCallItem | FunctionCallOutputItem):
        shown = item.model_dump(exclude_none=True)
        shown["id"] = item.id or new_id(ID_PREFIXES[item.type])
        shown["status"] = item.status or "completed"
        return shown
    assert isinstance(item, ReasoningItem)
    return item.model_dump(exclude_none=True)


def stored_input(
    request: ResponsesRequest, new_id: Callable[[str], str], resolve: Callable[[str], Item]
) -> list[Item]:
    """This request's ``input`` as stored items; ``new_id(prefix)`` names the items that came without one,
    ``resolve(id)`` gives the kept item an ``item_reference`` names (or raises the service's error)."""
    if isinstance(request.input, str):
        return [{"id": new_id("msg_"), "type": "message", "role": "user", "status": "completed",
                 "content": [{"type": "input_text", "text": request.input}]}]
    return [_stored(item, new_id, f"input[{i}]", resolve) for i, item in enumerate(request.input)]


def _text(parts: Sequence[Mapping[str, Any]]) -> str:
    return "".join(str(p.get("text") or p.get("refusal") or "") for p in parts)


def chat_messages(instructions: str | None, items: Iterable[Item]) -> list[dict[str, Any]]:
    """The conversation as chat messages: what tokens are counted on and what scenario rules match."""
    chat: list[dict[str, Any]] = [{"role": "system", "content": instructions}] if instructions else []
    for item in items:
        kind = item.get("type")
        if kind == "message":
            chat.append({"role": item["role"], "content": _text(item["content"])})
        elif kind == "function_call":
            call = {"id": item["call_id"], "type": "function",
                    "function": {"name": item["name"], "arguments": item["arguments"]}}
            last = chat[-1] if chat else None
            if last is not None and last["role"] == "assistant":
                last["tool_calls"] = [*last.get("tool_calls", ()), call]
            else:
                chat.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            chat.append({"role": "tool", "tool_call_id": item["call_id"], "content": item["output"]})
    return chat


def messages(chat: Iterable[Mapping[str, Any]]) -> tuple[Message, ...]:
    """Chat messages as the responder's :class:`Message` objects."""
    return tuple(
        Message(m["role"], m.get("content") or "", None, m.get("tool_call_id"), tuple(m.get("tool_calls") or ()))
        for m in chat
    )


def image_count(items: Iterable[Item]) -> int:
    """The tokens the images of ``items`` cost."""
    total = 0
    for item in items:
        if item.get("type") == "message":
            for part in item["content"]:
                if part.get("type") == "input_image":
                    total += IMAGE_TOKENS.get(part.get("detail", "auto"), IMAGE_TOKENS["auto"])
    return total


def check_calls(history: Sequence[Item], new: Sequence[Item]) -> None:
    """The service's pairing rules: every output answers a call, and every call is answered before the
    conversation goes on."""
    calls = [i["call_id"] for i in [*history, *new] if i.get("type") == "function_call"]
    answered = {i["call_id"] for i in [*history, *new] if i.get("type") == "function_call_output"}
    for item in new:
        if item.get("type") == "function_call_output" and item["call_id"] not in calls:
            raise InvalidRequest(
                f"No tool call found for function call output with call_id {item['call_id']}.", param="input"
            )
    for call_id in calls:
        if call_id not in answered:
            raise InvalidRequest(f"No tool output found for function call {call_id}.", param="input")
