"""Shared pieces for the files / batches / fine-tuning behaviour tests: a runtime on a clock that moves only
when told, and JSONL builders."""

from __future__ import annotations

import json
from typing import Any

from aoai_mock.behaviour import files
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.settings import resolve

T0 = 1_800_000_000.0


class FakeClock:
    """``runtime.clock.now``: wall time that moves only when a test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def runtime_on(clock: FakeClock, **settings: Any) -> Runtime:
    runtime = Runtime.create(resolve({"port": 0, **settings}, env={}))
    runtime.clock.now = clock
    return runtime


def jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def chat_line(custom_id: str, content: str = "hello", model: str = "gpt-4o", **extra: Any) -> dict[str, Any]:
    line = {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/chat/completions",
        "body": {"model": model, "messages": [{"role": "user", "content": content}]},
    }
    line.update(extra)
    return line


def example(i: int) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "system", "content": "Clippy is a factual chatbot."},
            {"role": "user", "content": f"Question {i}?"},
            {"role": "assistant", "content": f"Answer {i}."},
        ]
    }


async def upload(runtime: Runtime, data: bytes, purpose: str, name: str = "data.jsonl") -> str:
    doc = await files.upload(runtime, files.Upload(purpose, name, "application/octet-stream", data), "2024-10-21")
    return str(doc["id"])
