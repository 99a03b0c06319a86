"""The fault format: what goes wrong (a kind and its parameters), when (a schedule) and to which requests (a scope).

A scenario file's ``faults:`` list, the control API and the ``x-aoai-mock-fault`` header all end up in
these models; ``behaviour/faults.py`` runs them. One entry, in YAML::

    - id: throttle-start
      kind: 429                       # 408, 500, 502, 503, 504, delay, hang, close, reset, cut, stall, ...
      retry_after_ms: 2000
      headers: {ratelimit_headers: false, should_retry: true}
      next: 2                         # schedule: next, every, after, window, probability + seed, times
      deployment: gpt-4o              # scope: deployment, operation, stream, match (as a rule's match)

Parameters are checked against the kind, so ``after_chunks`` on a 429 is a load error, not a silent no-op.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from aoai_mock.behaviour.scenarios.match_schema import Match, Names, Operations, StrictModel

__all__ = [
    "STATUS_KINDS",
    "CONNECTION_KINDS",
    "STREAM_KINDS",
    "FAULT_KINDS",
    "FaultKind",
    "HeaderSwitches",
    "FaultSpec",
    "Window",
    "FaultEntry",
    "FaultPlan",
    "unique_ids",
]

STATUS_KINDS = ("429", "408", "500", "502", "503", "504")
CONNECTION_KINDS = ("delay", "hang", "close", "reset")
STREAM_KINDS = ("cut", "stall", "malformed", "stream_error")
FAULT_KINDS = STATUS_KINDS + CONNECTION_KINDS + STREAM_KINDS
FaultKind = Literal[FAULT_KINDS]  # type: ignore[valid-type]
StatusNumber = Literal[429, 408, 500, 502, 503, 504]

# Which parameters a kind takes; the rest are refused (``message`` on a delay would say nothing).
_APPLIES: dict[str, tuple[str, ...]] = {
    "delay_ms": tuple(k for k in FAULT_KINDS if k != "hang"),
    "seconds": ("hang", "stall"),
    "after_chunks": STREAM_KINDS,
    "graceful": ("cut",),
    "retry_after_ms": STATUS_KINDS,
    "limit": ("429",),
    "headers": STATUS_KINDS,
    "message": (*STATUS_KINDS, "stream_error"),
}


def _kind(value: Any) -> Any:
    """YAML reads ``kind: 429`` as a number; the kind is its text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip().lower() if isinstance(value, str) else value


class HeaderSwitches(StrictModel):
    """Which throttling headers an HTTP-status fault sends; null leaves it to the kind (real deployments differ)."""

    retry_after: bool | None = Field(
        None,
        description="`retry-after` (whole seconds, rounded up). Default: sent by a 429, and by any status kind "
        "whose retry_after_ms is given.",
    )
    retry_after_ms: bool | None = Field(
        None, description="`retry-after-ms`. Default: as retry_after. Old deployments sent neither."
    )
    ratelimit_headers: bool | None = Field(
        None,
        description="`x-ratelimit-limit/remaining/reset-requests/-tokens` and `policy-id`. Default: a 429 sends them.",
    )
    should_retry: bool | None = Field(
        None, description="`x-should-retry: true|false`, which overrides the openai SDK's own rule; null: not sent."
    )


class FaultSpec(StrictModel):
    """What goes wrong: a kind and its parameters. Parameters a kind does not take are refused."""

    kind: Annotated[FaultKind, BeforeValidator(_kind, json_schema_input_type=FaultKind | StatusNumber)] = Field(
        description="429, 408, 500, 502, 503, 504: that error, with Azure's body and headers. delay: wait delay_ms, "
        "then answer normally. hang: send nothing (past the client's timeout); after `seconds`, if given, close. "
        "close / reset: the connection is closed (FIN) / reset (RST) before any byte. cut: a stream ends after "
        "after_chunks events with no [DONE] (non-streaming: the headers and half the body, then the connection "
        "closes). stall: a stream pauses `seconds` after after_chunks events, then goes on. malformed: one broken "
        "SSE event after after_chunks events. stream_error: an {\"error\": {...}} event after after_chunks events, "
        "then the stream ends. stall, malformed and stream_error apply to streaming requests only."
    )
    delay_ms: int | None = Field(
        None, ge=0, description="delay: the wait (default 1000). Other kinds: a wait before the fault (default 0)."
    )
    seconds: float | None = Field(
        None, gt=0, description="hang: close the connection after this long (default: never, until the client goes). "
        "stall: the pause (default 5)."
    )
    after_chunks: int | None = Field(
        None, ge=0, description="cut, stall, malformed, stream_error: the SSE events sent first (default 1; the first "
        "is Azure's prompt-annotation chunk). A stream with fewer has the fault where [DONE] would be."
    )
    graceful: bool | None = Field(
        None, description="cut: end the body properly, only without [DONE] (default false: the connection drops "
        "mid-body, so the client sees an incomplete read)."
    )
    retry_after_ms: int | None = Field(
        None, ge=0, description="Status kinds: the wait the headers and the 429 message ask for (default 1000)."
    )
    limit: Literal["token", "call"] | None = Field(
        None, description="429: which quota ran out, as the message says: token (default) or call (requests)."
    )
    headers: HeaderSwitches | None = Field(None, description="Status kinds: which throttling headers to send.")
    message: str | None = Field(None, description="Status kinds and stream_error: error.message instead of Azure's.")

    @model_validator(mode="after")
    def _applies(self) -> FaultSpec:
        for name, kinds in _APPLIES.items():
            if name in self.model_fields_set and getattr(self, name) is not None and self.kind not in kinds:
                raise ValueError(f"{name} does not apply to kind {self.kind} (it applies to: {', '.join(kinds)})")
        return self


class Window(StrictModel):
    """A span of time, in seconds since the plan was installed (or the mock reset): an outage window."""

    start_s: float = Field(0, ge=0, description="From this many seconds (inclusive).")
    end_s: float | None = Field(None, gt=0, description="Until this many seconds (exclusive); null: no end.")

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError(f"end_s ({self.end_s:g}) must be after start_s ({self.start_s:g})")
        return self


class FaultEntry(FaultSpec):
    """One fault of a plan: the fault, when it fires, and which requests it may fire on.

    The schedule counts the requests in the entry's scope (1, 2, 3, ...), whether or not another entry
    fired on them. With ``after`` A, ``next`` N and ``every`` E, request n is due when n > A, n - A <= N
    and (n - A) is a multiple of E; ``window`` and ``probability`` must hold too; ``times`` caps the
    faults injected. Nothing given: every request in scope. When several entries are due, the first listed fires.
    """

    id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="A name for the log (default: fault-<position>)."
    )
    description: str | None = Field(None, description="What the fault is for.")
    next: int | None = Field(None, ge=1, description="Fire on the next N requests in scope (after `after`, if given).")
    every: int | None = Field(None, ge=1, description="Fire on every Nth request in scope (the Nth, 2Nth, ...).")
    after: int | None = Field(None, ge=0, description="Leave the first N requests in scope alone.")
    window: Window | None = Field(None, description="Fire only within this time span since the plan was installed.")
    probability: float | None = Field(
        None, ge=0, le=1, description="Fire with this probability; the n-th request in scope always draws the n-th "
        "number of the seeded sequence, so the same seed gives the same faults."
    )
    seed: int | None = Field(None, description="The seed of `probability`'s sequence (default 0).")
    times: int | None = Field(None, ge=1, description="Inject this fault at most this many times.")
    deployment: Names | None = Field(None, description="Only requests to these deployments.")
    operation: Operations | None = Field(None, description="Only these operations: chat, completions, embeddings, ...")
    stream: bool | None = Field(None, description="true: only streaming requests; false: only non-streaming ones.")
    match: Match | None = Field(
        None, description="Only requests this rule-style match fits (its `call` is the request's number since the "
        "plan was installed)."
    )

    @model_validator(mode="after")
    def _schedule(self) -> FaultEntry:
        if self.seed is not None and self.probability is None:
            raise ValueError("seed goes with probability")
        if self.stream is False and self.kind in STREAM_KINDS[1:]:
            raise ValueError(f"kind {self.kind} applies to streaming requests only; drop `stream: false`")
        return self


def unique_ids(entries: list[FaultEntry]) -> list[FaultEntry]:
    ids = [e.id for e in entries if e.id]
    doubled = sorted({i for i in ids if ids.count(i) > 1})
    if doubled:
        raise ValueError(f"fault ids must be unique; repeated: {', '.join(doubled)}")
    return entries


class FaultPlan(StrictModel):
    """Faults in order; the control API takes this shape (``{"faults": [...]}``), as a scenario file's key."""

    faults: list[FaultEntry] = Field(default_factory=list, description="Fault entries, tried in order.")

    @field_validator("faults")
    @classmethod
    def _unique(cls, entries: list[FaultEntry]) -> list[FaultEntry]:
        return unique_ids(entries)
