"""One lifecycle for every long-running object: a declared sequence of states, moved on the injected clock.

Batches, fine-tuning jobs, assistant runs and vector-store files all "advance on look": nothing runs in
the background; whenever somebody reads the object, it is moved on as far as the clock (``runtime.clock.now``,
which tests replace) and its declaration allow, and the moves are kept in the object. In the spirit of
moto's ``ManagedState``, every state declares how it is left:

* **timed**: ``ends`` gives the moment (seconds since the object started) it moves on. The move is dated at
  that moment, not at the look that notices it, so ``in_progress_at`` and friends come out the same
  whichever look finds them;
* **immediate**: no ``ends``; it moves at the next look, once ``ready`` (if given) says so. A ``forced``
  look (a streamed run, which goes at once) does not ask ``ready``;
* **manual**: only :meth:`Lifecycle.move` leaves it (a cancel, submitted tool outputs), and only for the
  states its ``manual`` names. A state without ``then`` and without ``manual`` is final.

``then`` is the next state, or a function that chooses it from the object (a batch with bad lines fails) and
may do the work that decides it (a run's turns of the model); a chooser returns a state name, or a
:class:`Move` with fields to set on the way in. Hooks run when a state is entered (``State.on_enter``, then
the lifecycle-wide ``on_enter``): a batch writes its output files, a job registers its model, a run saves
itself and tells its stream. Every function gets the family's context first (its runtime, or a run's
engine), so one declaration serves every server. Choosers and hooks are coroutine functions, as are
:meth:`Lifecycle.start`, :meth:`~Lifecycle.advance` and :meth:`~Lifecycle.move`: they may await the store.

The record is kept in the object, under private keys the wire never shows (:func:`~.objects.public`):
``_t0`` (the clock reading at the start) and ``_states`` (``[[state, seconds since _t0], ...]``, oldest
first); ``status`` mirrors the current state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "Lifecycle",
    "State",
    "Move",
    "Entry",
    "Look",
    "IllegalMove",
    "until",
    "lasting",
    "entered",
    "ORIGIN",
    "PATH",
    "STATUS",
    "MAX_MOVES",
]

C = TypeVar("C")  # the family's context: what every hook, chooser, guard and timing is given first
Doc = dict[str, Any]
ORIGIN = "_t0"
PATH = "_states"
STATUS = "status"
MAX_MOVES = 32  # automatic moves one look may make; more means the declaration loops


class IllegalMove(ValueError):
    """A move the declaration does not allow: a programming error, not a client's (they get AzureErrors)."""


@dataclass(frozen=True, slots=True)
class Look:
    """One reading of an object: the clock, the object's age then, and what kind of reading it is."""

    now: float  # the clock reading (``runtime.clock.now()``)
    at: float  # seconds since the object started
    polled: bool = False  # a retrieve that counts as a poll (a run's ``complete_after_polls``)
    forced: bool = False  # immediate moves do not wait for ``ready``


@dataclass(frozen=True, slots=True)
class Entry:
    """A state the object entered, and when (seconds since it started)."""

    state: str
    at: float


@dataclass(frozen=True, slots=True)
class Move:
    """Where a chooser sends the object, and the fields that go with it (a run's ``last_error``)."""

    to: str
    fields: Mapping[str, Any] = field(default_factory=dict)


Ends = Callable[[C, Doc, float], float]  # (context, object, entered at) -> when the state ends
Choose = Callable[[C, Doc], Awaitable["str | Move"]]
Ready = Callable[[C, Doc, Look], bool]
Hook = Callable[[C, Doc, Entry], Awaitable[None]]


def until(offset: Callable[[C, Doc], float]) -> Ends[C]:
    """A state that ends ``offset`` seconds after the object started (whenever it was entered)."""
    return lambda ctx, doc, _entered: offset(ctx, doc)


def lasting(seconds: Callable[[C, Doc], float]) -> Ends[C]:
    """A state that ends ``seconds`` after it was entered."""
    return lambda ctx, doc, entered_at: entered_at + seconds(ctx, doc)


@dataclass(frozen=True, slots=True)
class State(Generic[C]):
    """One declared state: how it is left (see the module's docstring) and what runs when it is entered."""

    name: str
    then: str | Choose[C] | None = None
    ends: Ends[C] | None = None
    ready: Ready[C] | None = None
    manual: tuple[str, ...] = ()
    on_enter: Hook[C] | None = None


def entered(doc: Mapping[str, Any], state: str) -> float | None:
    """When (seconds since the start) the object last entered ``state``; None if it never did."""
    for name, at in reversed(doc.get(PATH) or ()):
        if name == state:
            return float(at)
    return None


class Lifecycle(Generic[C]):
    """The declared states of one family (the first is where objects start), and the moves between them."""

    def __init__(self, *states: State[C], on_enter: Hook[C] | None = None) -> None:
        self.states: dict[str, State[C]] = {}
        for state in states:
            if state.name in self.states:
                raise ValueError(f"state {state.name!r} is declared twice")
            self.states[state.name] = state
        self.initial = states[0].name
        self.on_enter = on_enter
        for state in states:
            targets = [*state.manual, *([state.then] if isinstance(state.then, str) else [])]
            self._known(targets, f"state {state.name!r} moves to")

    # -- reading ---------------------------------------------------------------------------------------------
    def current(self, doc: Mapping[str, Any]) -> str:
        """The state the object is in. A doc kept before it had a record is in its stored ``status``."""
        path = doc.get(PATH)
        if path:
            return str(path[-1][0])
        status = doc.get(STATUS)
        return status if status in self.states else self.initial

    def age(self, doc: Mapping[str, Any], now: float) -> float:
        """Seconds since the object started, at the clock reading ``now`` (never negative)."""
        return max(0.0, now - float(doc.get(ORIGIN, now)))

    def allows(self, doc: Mapping[str, Any], to: str) -> bool:
        """Whether :meth:`move` may take the object from its current state to ``to``."""
        return to in self.states[self.current(doc)].manual

    # -- moving ----------------------------------------------------------------------------------------------
    async def start(self, ctx: C, doc: Doc, now: float) -> Entry:
        """The object begins, in the first declared state, at ``now``; its hooks run."""
        doc[ORIGIN] = now
        doc[PATH] = []
        return await self._enter(ctx, doc, Move(self.initial), 0.0)

    async def advance(self, ctx: C, doc: Doc, now: float, *, polled: bool = False, forced: bool = False) -> list[Entry]:
        """Take every automatic move due by ``now``, in order; the states entered (none: nothing changed)."""
        doc.setdefault(ORIGIN, now)  # a doc kept before it had a record starts its clock at its first look
        look = Look(now, self.age(doc, now), polled, forced)
        moved: list[Entry] = []
        while (when := self._due(ctx, doc, look)) is not None:
            if len(moved) >= MAX_MOVES:
                raise IllegalMove(f"more than {MAX_MOVES} moves in one look: the lifecycle loops")
            then = self.states[self.current(doc)].then
            choice = then if isinstance(then, str) else await then(ctx, doc)  # type: ignore[misc]
            moved.append(await self._enter(ctx, doc, choice if isinstance(choice, Move) else Move(choice), when))
        return moved

    async def move(self, ctx: C, doc: Doc, to: str, now: float, **fields: Any) -> Entry:
        """A manual move (a cancel, submitted tool outputs) at ``now``; ``fields`` are set on the way in."""
        if not self.allows(doc, to):
            raise IllegalMove(f"no move from {self.current(doc)!r} to {to!r} is declared")
        doc.setdefault(ORIGIN, now)
        return await self._enter(ctx, doc, Move(to, fields), self.age(doc, now))

    def _due(self, ctx: C, doc: Doc, look: Look) -> float | None:
        """When the current state's automatic move happens, if it happens by this look; else None."""
        state = self.states[self.current(doc)]
        if state.then is None:
            return None
        since = entered(doc, state.name) or 0.0
        if state.ends is not None:
            ends = max(state.ends(ctx, doc, since), since)
            return ends if look.at >= ends else None
        if look.forced or state.ready is None or state.ready(ctx, doc, look):
            return max(look.at, since)
        return None

    async def _enter(self, ctx: C, doc: Doc, move: Move, at: float) -> Entry:
        """Record the entry, write the status and the move's fields, then run the state's hook and the common one."""
        self._known([move.to], "a move goes to")
        at = float(at)
        doc.setdefault(PATH, []).append([move.to, at])
        doc[STATUS] = move.to
        doc.update(move.fields)
        entry = Entry(move.to, at)
        for hook in (self.states[move.to].on_enter, self.on_enter):
            if hook is not None:
                await hook(ctx, doc, entry)
        return entry

    def _known(self, names: Iterable[str], what: str) -> None:
        """Refuse a state the declaration does not have (a typo would otherwise strand objects in it)."""
        for name in names:
            if name not in self.states:
                raise IllegalMove(f"{what} {name!r}, which is not declared")
