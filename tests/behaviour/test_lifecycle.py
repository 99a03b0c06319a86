"""The lifecycle mechanism on its own: timed, immediate and manual moves on a clock the test sets, no sleeps."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aoai_mock.behaviour.lifecycle import (
    Entry,
    IllegalMove,
    Lifecycle,
    Look,
    Move,
    State,
    entered,
    lasting,
    until,
)

T0 = 1_800_000_000.0


class Log:
    """The context every hook and guard gets: it notes the entries hooks saw and the looks guards saw."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.ready = False
        self.looks: list[Look] = []


async def _noted(ctx: Log, doc: dict[str, Any], entry: Entry) -> None:
    ctx.entries.append(entry)


async def _checked(ctx: Log, doc: dict[str, Any]) -> str:
    return "failed" if doc.get("bad") else "running"


def _ready(ctx: Log, doc: dict[str, Any], look: Look) -> bool:
    ctx.looks.append(look)
    return ctx.ready


# A small job: queued for 10 s, then checked (bad input fails), running until 30 s after the start, done.
JOB: Lifecycle[Log] = Lifecycle(
    State("queued", then=_checked, ends=until(lambda c, d: 10.0), manual=("cancelling",)),
    State("running", then="done", ends=until(lambda c, d: 30.0), manual=("cancelling",)),
    State("done", on_enter=_noted),
    State("failed"),
    State("cancelling", then="cancelled", ends=lasting(lambda c, d: 5.0)),
    State("cancelled"),
)  # fmt: skip


async def _job(ctx: Log, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": "job-1", "status": None, **fields}
    await JOB.start(ctx, doc, T0)
    return doc


async def test_start_records_the_first_state_at_the_clock_reading() -> None:
    doc = await _job(Log())
    assert doc["status"] == "queued" and doc["_t0"] == T0 and doc["_states"] == [["queued", 0.0]]
    assert JOB.current(doc) == "queued" and JOB.age(doc, T0 + 4) == 4.0 and JOB.age(doc, T0 - 9) == 0.0


async def test_a_timed_state_holds_until_its_moment_and_not_a_moment_longer() -> None:
    ctx = Log()
    doc = await _job(ctx)
    assert await JOB.advance(ctx, doc, T0 + 9.999) == [] and doc["status"] == "queued"
    assert await JOB.advance(ctx, doc, T0 + 10) == [Entry("running", 10.0)] and doc["status"] == "running"
    assert await JOB.advance(ctx, doc, T0 + 29) == []
    assert await JOB.advance(ctx, doc, T0 + 30) == [Entry("done", 30.0)]
    assert await JOB.advance(ctx, doc, T0 + 10_000) == []  # a final state stays
    assert ctx.entries == [Entry("done", 30.0)]  # its hook ran once, however often it was looked at


async def test_a_late_look_takes_every_move_due_dated_when_it_was_due() -> None:
    ctx = Log()
    doc = await _job(ctx)
    assert await JOB.advance(ctx, doc, T0 + 500) == [Entry("running", 10.0), Entry("done", 30.0)]
    assert doc["_states"] == [["queued", 0.0], ["running", 10.0], ["done", 30.0]]
    assert entered(doc, "running") == 10.0 and entered(doc, "cancelled") is None


async def test_a_chooser_picks_the_next_state_from_the_object() -> None:
    ctx = Log()
    doc = await _job(ctx, bad=True)
    assert await JOB.advance(ctx, doc, T0 + 60) == [Entry("failed", 10.0)] and doc["status"] == "failed"


async def test_a_manual_move_is_dated_now_and_a_lasting_state_counts_from_it() -> None:
    ctx = Log()
    doc = await _job(ctx)
    await JOB.advance(ctx, doc, T0 + 12)
    assert JOB.allows(doc, "cancelling") and not JOB.allows(doc, "done")
    assert await JOB.move(ctx, doc, "cancelling", T0 + 12.5) == Entry("cancelling", 12.5)
    assert await JOB.advance(ctx, doc, T0 + 17.4) == []  # 5 s after the cancel, not after the start
    assert await JOB.advance(ctx, doc, T0 + 17.5) == [Entry("cancelled", 17.5)]
    assert not JOB.allows(doc, "cancelling")


async def test_a_move_the_declaration_does_not_name_is_refused() -> None:
    ctx = Log()
    doc = await _job(ctx)
    await JOB.advance(ctx, doc, T0 + 40)
    with pytest.raises(IllegalMove, match="'done' to 'cancelling'"):
        await JOB.move(ctx, doc, "cancelling", T0 + 41)
    assert doc["status"] == "done" and len(doc["_states"]) == 3


async def test_immediate_moves_wait_for_ready_and_a_forced_look_does_not() -> None:
    flow: Lifecycle[Log] = Lifecycle(State("waiting", then="going", ready=_ready), State("going"))
    ctx, doc = Log(), {"status": None}
    await flow.start(ctx, doc, T0)
    assert await flow.advance(ctx, doc, T0 + 3, polled=True) == [] and doc["status"] == "waiting"
    assert ctx.looks == [Look(T0 + 3, 3.0, polled=True)]
    ctx.ready = True
    assert await flow.advance(ctx, doc, T0 + 7) == [Entry("going", 7.0)]  # dated at the look that found it ready

    forced: dict[str, Any] = {"status": None}
    ctx.ready = False
    await flow.start(ctx, forced, T0)
    assert await flow.advance(ctx, forced, T0 + 1, forced=True) == [Entry("going", 1.0)]


async def test_hooks_run_on_entering_with_the_fields_of_the_move_set() -> None:
    seen: list[tuple[str, Any]] = []

    async def outcome(ctx: Log, doc: dict[str, Any]) -> Move:
        return Move("answered", {"answer": 42})

    async def own(ctx: Log, doc: dict[str, Any], entry: Entry) -> None:
        seen.append(("own", doc["answer"]))

    async def every(ctx: Log, doc: dict[str, Any], entry: Entry) -> None:
        seen.append(("every", (entry.state, doc["status"])))

    flow: Lifecycle[Log] = Lifecycle(
        State("asked", then=outcome), State("answered", on_enter=own), on_enter=every
    )
    doc: dict[str, Any] = {"status": None, "answer": None}
    await flow.start(Log(), doc, T0)
    await flow.advance(Log(), doc, T0)
    assert seen == [("every", ("asked", "asked")), ("own", 42), ("every", ("answered", "answered"))]


async def test_a_declaration_that_loops_is_stopped() -> None:
    loop: Lifecycle[Log] = Lifecycle(State("a", then="b"), State("b", then="a"))
    doc: dict[str, Any] = {"status": None}
    await loop.start(Log(), doc, T0)
    with pytest.raises(IllegalMove, match="loops"):
        await loop.advance(Log(), doc, T0)


async def test_a_declaration_names_only_its_own_states() -> None:
    with pytest.raises(IllegalMove, match="'nowhere'"):
        Lifecycle(State("a", then="nowhere"))
    with pytest.raises(ValueError, match="twice"):
        Lifecycle(State("a"), State("a"))
    async def elsewhere(ctx: Log, doc: dict[str, Any]) -> str:
        return "elsewhere"

    chooser: Lifecycle[Log] = Lifecycle(State("a", then=elsewhere), State("b"))
    doc: dict[str, Any] = {"status": None}
    await chooser.start(Log(), doc, T0)
    with pytest.raises(IllegalMove, match="'elsewhere'"):
        await chooser.advance(Log(), doc, T0)


async def test_the_record_survives_a_json_store_and_carries_on() -> None:
    ctx = Log()
    doc = orjson.loads(orjson.dumps(await _job(ctx)))
    await JOB.advance(ctx, doc, T0 + 11)
    doc = orjson.loads(orjson.dumps(doc))
    assert await JOB.advance(ctx, doc, T0 + 31) == [Entry("done", 30.0)]


async def test_an_object_kept_before_it_had_a_record_goes_on_from_its_status() -> None:
    ctx = Log()
    doc: dict[str, Any] = {"status": "running", "_t0": T0}
    assert JOB.current(doc) == "running"
    assert await JOB.advance(ctx, doc, T0 + 30) == [Entry("done", 30.0)] and doc["_states"] == [["done", 30.0]]
    without_origin: dict[str, Any] = {"status": "queued"}  # its clock starts at its first look
    assert await JOB.advance(ctx, without_origin, T0) == [] and without_origin["_t0"] == T0
    assert await JOB.advance(ctx, without_origin, T0 + 10) == [Entry("running", 10.0)]
