"""A run's states, declared (:mod:`aoai_mock.behaviour.lifecycle`), with its engine as their context.

::

    queued -> in_progress        once picked up, at a poll or once the schedule is met (any look)
    in_progress -> outcome       once the schedule is met and the server's pace allows: completed, incomplete,
                                 failed, expired or requires_action, as the engine's turns of the model decide
    requires_action -> expired   10 minutes after the run was created (``_mock.expires``)
    requires_action -> queued    by hand: tool outputs were submitted (the schedule starts again)
    queued, in_progress, requires_action -> cancelling   by hand: a cancel
    cancelling -> cancelled      at the next look

The pace is the server's ``run_seconds`` (default 2), as Azure was recorded: a new run's first look finds it
``queued``, the run is picked up (``in_progress``) at the next look or half the pace after it was queued,
whichever comes first, and reaches its outcome no sooner than the whole pace after it was queued [captured:
recordings/assistants/net-BasicRunOperationsWork-2024-05-01-preview: the retrieve right after the create
``queued``, the list after it ``in_progress`` (started 1 s after creation), ``completed`` 1 s later]. With
``run_seconds: 0`` the first look finishes the run (tests set it so, or move the injected clock).
The schedule (the scenario's ``runs:`` section, :mod:`aoai_mock.behaviour.scenarios.runs_schema`) is met
after ``complete_after_polls`` polls and ``complete_after_seconds`` on the clock since the run was queued.
A streamed run's look is ``forced``: it waits for neither (the stream has waited its seconds).
Every state entered runs :meth:`RunEngine.entered`, which saves the run and tells its stream.
"""

from __future__ import annotations

from aoai_mock.behaviour.assistants.common import Doc
from aoai_mock.behaviour.assistants.engine import TERMINAL, RunEngine
from aoai_mock.behaviour.lifecycle import Entry, Lifecycle, Look, Move, State

__all__ = ["RUN_LIFECYCLE", "scheduled"]


def scheduled(engine: RunEngine, run: Doc, look: Look) -> bool:
    """Whether the run's schedule is met: enough polls, and enough seconds since it was queued."""
    schedule, mock = engine.schedule, run["_mock"]
    return mock["polls"] >= schedule.complete_after_polls and (
        look.now - mock["since"] >= schedule.complete_after_seconds
    )


def _paced(engine: RunEngine, run: Doc, look: Look, share: float) -> bool:
    """Whether ``share`` of the server's pace has passed since the run was queued."""
    return look.now - run["_mock"]["since"] >= engine.runtime.settings.run_seconds * share


def _started(engine: RunEngine, run: Doc, look: Look) -> bool:
    picked_up = bool(run["_mock"].get("seen")) or _paced(engine, run, look, 0.5)
    return picked_up and (look.polled or scheduled(engine, run, look))


def _finished(engine: RunEngine, run: Doc, look: Look) -> bool:
    return scheduled(engine, run, look) and _paced(engine, run, look, 1.0)


async def _outcome(engine: RunEngine, _run: Doc) -> Move:
    return await engine.outcome()


def _expiry(_engine: RunEngine, run: Doc, _entered: float) -> float:
    return float(run["_mock"]["expires"]) - float(run["_t0"])


async def _entered(engine: RunEngine, _run: Doc, entry: Entry) -> None:
    await engine.entered(entry)


RUN_LIFECYCLE: Lifecycle[RunEngine] = Lifecycle(
    State("queued", then="in_progress", ready=_started, manual=("cancelling",)),
    State("in_progress", then=_outcome, ready=_finished, manual=("cancelling",)),
    State("requires_action", then="expired", ends=_expiry, manual=("queued", "cancelling")),
    State("cancelling", then="cancelled"),
    *(State(status) for status in TERMINAL),
    on_enter=_entered,
)
