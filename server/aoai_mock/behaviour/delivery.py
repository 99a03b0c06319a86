"""How an answer is delivered, apart from what it says: the plan the HTTP layer carries out, and the
typed fault effects that shape it.

Behaviour decides an outcome (a body, or an event iterator) and a :class:`DeliveryPlan`: wait first,
refuse with an error, drop or hang the connection, pace the content, cut, stall, break or end a stream
with an error event. A fault is a tuple of :class:`Effect` values; each one ``apply``-s itself to the
plan and says in words what it did (``describe``), the way WireMock's ``Fault`` values each carry their
own ``apply``. Nothing here knows HTTP: any body or event iterator of any family can be delivered under
any plan, and the HTTP layer reads only the plan.

What each effect means on the wire [inferred: the ways real networks and Azure's front ends fail]:

* :class:`Delay`: wait, then go on.
* :class:`Refuse`: answer an Azure error (its status, body and headers) instead of the answer.
* :class:`Drop`: close the connection (FIN) or reset it (RST) before any byte.
* :class:`Hang`: send nothing; after ``seconds`` (None: never) close the connection; stop when the client goes.
* :class:`Cut`: a stream: ``after`` events, then the connection dropped mid-body (or, ``graceful``, the
  body ended properly without the stream's normal end); a complete answer: the headers (full
  Content-Length) and half the body, then the connection dropped.
* :class:`Stall`: after ``after`` events pause ``seconds``, then the rest.
* :class:`Malformed`: after ``after`` events one event whose JSON stops short, then the rest.
* :class:`ErrorEvent`: after ``after`` events the family's error event, then the end of the body,
  without the stream's normal end.

A stream with fewer events than an effect's ``after`` has the effect where its normal end would be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from aoai_mock.behaviour.pacing import PaceSchedule
from aoai_mock.errors import AzureError

__all__ = [
    "DeliveryPlan",
    "Effect",
    "Delay",
    "Refuse",
    "Drop",
    "Hang",
    "Cut",
    "Stall",
    "Malformed",
    "ErrorEvent",
]


@dataclass(slots=True)
class DeliveryPlan:
    """What the HTTP layer does beyond sending the outcome as is. Every field's default: nothing."""

    delay_s: float = 0.0  # wait before anything else
    error: AzureError | None = None  # answered instead of the outcome
    drop: str | None = None  # "close" or "reset", before any byte
    hang: bool = False  # send nothing until the client goes (or hang_s pass, then close)
    hang_s: float | None = None
    pace: PaceSchedule | None = None  # content event i (or the whole answer) goes out pace.at(i) after arrival
    cut_after: int | None = None  # events of a stream; any number cuts a complete answer in half
    cut_graceful: bool = False
    stall_after: int | None = None
    stall_s: float = 0.0
    malformed_after: int | None = None
    error_after: int | None = None
    error_body: dict[str, Any] | None = None  # {"error": {...}}: the family's error event says it its own way
    fault: int | None = None  # the fault's number in the fault log, to report delivery
    effects: str | None = None  # what the fault does, in words, for the request's record

    @property
    def answers(self) -> bool:
        """The outcome is sent at all (no error, drop or hang takes its place)."""
        return self.error is None and self.drop is None and not self.hang

    @property
    def shapes_stream(self) -> bool:
        """Something happens to a stream on its way (beyond pacing)."""
        return (
            self.cut_after is not None
            or self.stall_after is not None
            or self.malformed_after is not None
            or self.error_after is not None
        )


class Effect(Protocol):
    """One thing a fault does to a delivery."""

    def apply(self, plan: DeliveryPlan) -> None: ...

    def describe(self) -> str: ...


def _events(n: int) -> str:
    return f"{n} event" if n == 1 else f"{n} events"


@dataclass(frozen=True, slots=True)
class Delay:
    seconds: float

    def apply(self, plan: DeliveryPlan) -> None:
        plan.delay_s += self.seconds

    def describe(self) -> str:
        return f"delayed {round(self.seconds * 1000)} ms"


@dataclass(frozen=True, slots=True)
class Refuse:
    error: AzureError

    def apply(self, plan: DeliveryPlan) -> None:
        plan.error = self.error

    def describe(self) -> str:
        return f"answered {self.error.status} {self.error.code}"


@dataclass(frozen=True, slots=True)
class Drop:
    reset: bool = False

    def apply(self, plan: DeliveryPlan) -> None:
        plan.drop = "reset" if self.reset else "close"

    def describe(self) -> str:
        return "connection reset before any byte" if self.reset else "connection closed before any byte"


@dataclass(frozen=True, slots=True)
class Hang:
    seconds: float | None = None

    def apply(self, plan: DeliveryPlan) -> None:
        plan.hang, plan.hang_s = True, self.seconds

    def describe(self) -> str:
        return "hung until the client gave up" if self.seconds is None else f"hung, closed after {self.seconds} s"


@dataclass(frozen=True, slots=True)
class Cut:
    after: int
    graceful: bool = False

    def apply(self, plan: DeliveryPlan) -> None:
        plan.cut_after, plan.cut_graceful = self.after, self.graceful

    def describe(self) -> str:
        how = "body ended" if self.graceful else "connection dropped"
        return f"cut after {_events(self.after)} ({how}); a complete answer: half its body"


@dataclass(frozen=True, slots=True)
class Stall:
    after: int
    seconds: float

    def apply(self, plan: DeliveryPlan) -> None:
        plan.stall_after, plan.stall_s = self.after, self.seconds

    def describe(self) -> str:
        return f"stalled {self.seconds} s after {_events(self.after)}"


@dataclass(frozen=True, slots=True)
class Malformed:
    after: int

    def apply(self, plan: DeliveryPlan) -> None:
        plan.malformed_after = self.after

    def describe(self) -> str:
        return f"a malformed event after {_events(self.after)}"


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    after: int
    body: dict[str, Any]  # the service's error body, {"error": {...}}

    def apply(self, plan: DeliveryPlan) -> None:
        plan.error_after, plan.error_body = self.after, self.body

    def describe(self) -> str:
        return f"an error event after {_events(self.after)}"
