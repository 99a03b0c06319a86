"""Requests, books and a fake clock for the fault tests."""

from __future__ import annotations

from typing import Any

from aoai_mock.behaviour.fault_build import Fault
from aoai_mock.behaviour.faults import FaultBook
from aoai_mock.behaviour.scenarios.request_facts import RequestView

GA = "2024-10-21"


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def view(text: str = "hello", *, stream: bool = False, operation: str = "chat.completions",
         deployment: str = "gpt-4o", headers: dict[str, str] | None = None, **body: Any) -> RequestView:
    content = {"messages": [{"role": "user", "content": text}], **body}
    if stream:
        content["stream"] = True
    return RequestView(operation, deployment, GA, headers or {}, content)


def asked(header: str, **kw: Any) -> Fault:
    fault = FaultBook(FakeClock()).decide(view(headers={"x-aoai-mock-fault": header}, **kw), request_id="rid-1")
    assert fault is not None
    return fault


def book_with(*entries: dict[str, Any], clock: FakeClock | None = None) -> FaultBook:
    book = FaultBook(clock or FakeClock())
    book.install(list(entries), "test")
    return book


def kinds(book: FaultBook, n: int, **kw: Any) -> list[str | None]:
    """The fault kind of each of n requests (None: no fault)."""
    out = []
    for i in range(n):
        fault = book.decide(view(f"request {i}", **kw))
        out.append(fault.kind if fault else None)
    return out


def fired_at(book: FaultBook, n: int, **kw: Any) -> list[int]:
    return [i + 1 for i, kind in enumerate(kinds(book, n, **kw)) if kind]
