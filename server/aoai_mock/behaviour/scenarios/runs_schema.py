"""The ``runs:`` section of a scenario: how assistant runs move through their lifecycle.

A run is created ``queued``. It reaches its outcome once both of its waits are over: ``complete_after_polls``
retrieves (``0``: the first look of any kind) and ``complete_after_seconds`` since it was created or its tool
outputs were submitted (read from the server's clock, which tests inject), and no sooner than the server's
pace, ``run_seconds`` (:mod:`aoai_mock.behaviour.assistants.run_lifecycle`). Before that a retrieve shows it
``in_progress`` (at the server's pace, the first look still finds it ``queued``). The outcome is what the scenario's rules answer (a message, tool calls that need outputs, an
error), unless ``outcome`` says the run ends otherwise::

    runs:
      complete_after_polls: 2       # the second retrieve shows the outcome
      poll_after_ms: 50             # openai-poll-after-ms: how long the SDK's poll helpers wait
      assistants:                   # per assistant name; fields given here win
        Flaky Helper: {outcome: failed, last_error: {code: rate_limit_exceeded, message: Slow down.}}
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from aoai_mock.behaviour.scenarios.match_schema import StrictModel

__all__ = ["RunError", "RunSchedule", "RunsSpec", "RUN_OUTCOMES"]

RUN_OUTCOMES = ("completed", "failed", "expired", "incomplete")


class RunError(StrictModel):
    """The run's ``last_error`` when it fails."""

    code: Literal["server_error", "rate_limit_exceeded", "invalid_prompt"] = Field(
        "server_error", description="last_error.code"
    )
    message: str = Field("Sorry, something went wrong.", description="last_error.message")


class RunSchedule(StrictModel):
    """When a run reaches its outcome, and which outcome."""

    complete_after_polls: int = Field(
        0,
        ge=0,
        description="The retrieve (poll) that shows the outcome: 2 means the second one; 0 (default) means the first "
        "look of any kind (a retrieve, or listing the thread's messages, runs or steps).",
    )
    complete_after_seconds: float = Field(
        0,
        ge=0,
        description="Seconds after creation (or after tool outputs are submitted) before the outcome shows, by the "
        "server's clock. A streamed run waits this long before it answers.",
    )
    outcome: Literal[RUN_OUTCOMES] = Field(  # type: ignore[valid-type]
        "completed",
        description="completed (default): the scenario's rules answer (a message, function calls that need outputs, "
        "or an error, which fails the run); failed: the run fails with last_error; expired: the run expires; "
        "incomplete: the answer is cut short (incomplete_details.reason = incomplete_reason).",
    )
    last_error: RunError | None = Field(None, description="last_error of a failed run (default: server_error).")
    incomplete_reason: Literal["max_completion_tokens", "max_prompt_tokens"] = Field(
        "max_completion_tokens", description="incomplete_details.reason of an incomplete run."
    )
    poll_after_ms: int | None = Field(
        None,
        ge=0,
        description="Sent as the openai-poll-after-ms header on runs; the SDK's poll helpers wait that long between "
        "retrieves (1000 ms without it).",
    )


class RunsSpec(RunSchedule):
    """The schedule of every run, with overrides for assistants by name."""

    assistants: dict[str, RunSchedule] = Field(
        default_factory=dict,
        description="Schedules for the runs of assistants with these names; the fields an entry gives replace the "
        "section's.",
    )

    def schedule_for(self, assistant_name: str | None) -> RunSchedule:
        """The section's schedule, with the named assistant's fields on top."""
        base = RunSchedule.model_validate(self.model_dump(exclude={"assistants"}))
        override = self.assistants.get(assistant_name or "") if assistant_name else None
        if override is None:
            return base
        return base.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})
