"""Helpers for the realtime tests that speak the protocol with the websockets client."""

from __future__ import annotations

import json
from typing import Any

from websockets.sync.client import ClientConnection


def recv(socket: ClientConnection) -> dict[str, Any]:
    return json.loads(socket.recv(timeout=10))


def send(socket: ClientConnection, event: dict[str, Any]) -> None:
    socket.send(json.dumps(event))


def text_turn(socket: ClientConnection, text: str) -> list[dict[str, Any]]:
    send(socket, {"type": "conversation.item.create",
                   "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}})
    assert recv(socket)["type"] == "conversation.item.created"
    send(socket, {"type": "response.create", "response": {"modalities": ["text"]}})
    events = []
    while not events or events[-1]["type"] not in ("response.done", "error"):
        events.append(recv(socket))
    return events
