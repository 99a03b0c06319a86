"""200 realtime sessions at once on one worker, each holding a text turn."""

from __future__ import annotations

import asyncio
import json

from aoai_mock.testing import LiveServer
from websockets.asyncio.client import connect

from tests.realtime.conftest import AUTH, PREVIEW_Q, ws_url

SESSIONS = 200


async def _session(url: str, n: int, opened: asyncio.Barrier) -> str:
    async with connect(url, additional_headers=AUTH, open_timeout=30) as socket:
        assert json.loads(await socket.recv())["type"] == "session.created"
        await opened.wait()  # every session is open before any turn is asked for
        await socket.send(json.dumps({"type": "conversation.item.create", "item": {
            "type": "message", "role": "user", "content": [{"type": "input_text", "text": f"session {n}"}]}}))
        await socket.send(json.dumps({"type": "response.create", "response": {"modalities": ["text"]}}))
        while True:
            event = json.loads(await socket.recv())
            if event["type"] in ("response.done", "error"):
                return event["response"]["output"][0]["content"][0]["text"] if event["type"] == "response.done" else "error"


def test_200_concurrent_sessions_on_one_worker(server: LiveServer) -> None:
    url = ws_url(server, PREVIEW_Q)

    async def run() -> list[str]:
        opened = asyncio.Barrier(SESSIONS)
        return await asyncio.wait_for(asyncio.gather(*(_session(url, n, opened) for n in range(SESSIONS))), 120)

    answers = asyncio.run(run())
    assert answers == [f"session {n}" for n in range(SESSIONS)]
