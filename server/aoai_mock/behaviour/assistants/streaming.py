"""Streamed runs: the events of a run from its creation (or its tool outputs) to its end, then ``done``.

A streamed run does not wait for polls: it runs as soon as the stream starts, after ``complete_after_seconds``
of the scenario's schedule (through the runtime's ``sleep``, which tests replace), and its outcome is the
same as a polled run's. The events before it runs (``thread.created``, ``thread.run.created``,
``thread.run.queued``, a submitted step's ``thread.run.step.completed``) were recorded while the request was
checked, so a bad request is still an ordinary error response. Run events are shaped as the era of the
api-version that created the run says (:func:`~.shapes.run_event`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from aoai_mock.behaviour.assistants.common import RUN, public
from aoai_mock.behaviour.assistants.engine import RunEngine
from aoai_mock.behaviour.assistants.events import DONE, Recorder
from aoai_mock.behaviour.assistants.run_lifecycle import RUN_LIFECYCLE
from aoai_mock.behaviour.assistants.runs import fail_broken
from aoai_mock.behaviour.assistants.shapes import run_event, shape_for
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.runs_schema import RunSchedule
from aoai_mock.wire.eras import AssistantsShape

__all__ = ["run_events"]


async def run_events(
    runtime: Runtime, run_id: str, before: Sequence[tuple[str, Any]], include: tuple[str, ...] = ()
) -> AsyncIterator[tuple[str, Any]]:
    """``before``, then everything the run does until it ends or waits for tool outputs, then ``done``.

    A stream that ends before it has run the run (a cut, the client gone, an event that could not be sent)
    hands the run back to polls, as the service goes on with a run whose stream was dropped: it is never left
    waiting for a stream that is gone, which would keep its thread busy for good."""
    driven = False
    try:
        created = await runtime.store.get(RUN, run_id)
        shape = shape_for(created["_mock"].get("api_version") if created is not None else None)
        for event in before:
            yield _shaped(event, shape)
        run = await runtime.store.get(RUN, run_id)
        if run is not None:
            wait = RunSchedule.model_validate(run["_mock"]["schedule"]).complete_after_seconds
            if wait:
                await runtime.sleep(wait)
                run = await runtime.store.get(RUN, run_id)  # it may have been cancelled meanwhile
        if run is not None and run["status"] in ("queued", "in_progress", "cancelling"):
            run["_mock"]["streaming"] = False
            recorder = Recorder()  # a forced look: the run goes to its outcome (or is cancelled) at once
            try:
                engine = RunEngine(runtime, run, recorder, include)
                await RUN_LIFECYCLE.advance(engine, run, runtime.clock.now(), forced=True)
            except Exception as exc:  # noqa: BLE001 -- the run fails (logged), and the stream says so
                recorder("thread.run.failed", public(await fail_broken(runtime, run, exc)))
            driven = True
            for event in recorder.events:
                yield _shaped(event, shape)
        yield DONE
    finally:
        if not driven:
            await _release(runtime, run_id)


async def _release(runtime: Runtime, run_id: str) -> None:
    """The run of a stream that ended early goes on at its next look (a poll, a listing)."""
    run = await runtime.store.get(RUN, run_id)
    if run is not None and (run.get("_mock") or {}).get("streaming"):
        run["_mock"]["streaming"] = False
        await runtime.store.put(RUN, run)


def _shaped(event: tuple[str, Any], shape: AssistantsShape) -> tuple[str, Any]:
    name, data = event
    if name.startswith("thread.run.") and isinstance(data, dict) and data.get("object") == "thread.run":
        return name, run_event(name, data, shape)
    return event
