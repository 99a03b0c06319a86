"""A run's states, declared (:mod:`aoai_mock.behaviour.lifecycle`), with its engine as their context.

::

    queued -> in_progress        at a poll, or once the schedule is met (any look)
    in_progress -> outcome       once the schedule is met: completed, incomplete, failed, expired or
                                 requires_action, as the engine's turns of the model decide
    requires_action -> expired   10 minutes after the run was created (``_mock.expires``)
    requires_action -> queued    by hand: tool outputs were submitted (the schedule starts again)
    queued, in_progress, requires_action -> cancelling   by hand: a cancel
    cancelling -> cancelled      at the next look

The schedule (the scenario's ``runs:`` section, :mod:`aoai_mock.behaviour.scenarios.runs_schema`) is met
after ``complete_after_polls`` polls and ``complete_after_seconds`` on the clock since the run was queued.
A streamed run's look is ``forced``: it does not wait for the schedule (the stream has waited its seconds).
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


def _started(engine: RunEngine, run: Doc, look: Look) -> bool:
    return look.polled or scheduled(engine, run, look)


def _outcome(engine: RunEngine, _run: Doc) -> Move:
    return engine.outcome()


def _expiry(_engine: RunEngine, run: Doc, _entered: float) -> float:
    return float(run["_mock"]["expires"]) - float(run["_t0"])


def _entered(engine: RunEngine, _run: Doc, entry: Entry) -> None:
    engine.entered(entry)


RUN_LIFECYCLE: Lifecycle[RunEngine] = Lifecycle(
    State("queued", then="in_progress", ready=_started, manual=("cancelling",)),
    State("in_progress", then=_outcome, ready=scheduled, manual=("cancelling",)),
    State("requires_action", then="expired", ends=_expiry, manual=("queued", "cancelling")),
    State("cancelling", then="cancelled"),
    *(State(status) for status in TERMINAL),
    on_enter=_entered,
)
