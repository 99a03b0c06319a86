"""Runs: create (on a thread, or with a new thread), the lifecycle as polls see it, cancel, tool outputs, steps.

A run is ``queued`` when created. Looking at it advances it on the server's pace (``run_seconds``) and the
schedule of the scenario's ``runs:`` section (:mod:`aoai_mock.behaviour.scenarios.runs_schema`): a retrieve
counts as a poll; listing the thread's messages, runs or steps looks without polling. As Azure was recorded, the
first look finds a new run ``queued``, the next ``in_progress``, and it shows its outcome (executed by
:class:`~.engine.RunEngine`) once ``run_seconds`` have passed; with ``run_seconds: 0`` the first look finishes
it. ``requires_action`` waits for tool outputs (then the pace and the schedule start again) and expires 10
minutes after the run was created; ``cancel`` makes a run ``cancelling`` and the next look ``cancelled``. These
states and moves are declared in :mod:`.run_lifecycle`, the wire shapes built in :mod:`.shapes`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from aoai_mock.behaviour.assistants.common import (
    ASSISTANT,
    RUN,
    STEP,
    THREAD,
    Doc,
    ListQuery,
    check_metadata,
    list_body,
    new_id,
    now,
    public,
    require,
)
from aoai_mock.behaviour.assistants.engine import TERMINAL, RunEngine
from aoai_mock.behaviour.assistants.events import Emit, ignore
from aoai_mock.behaviour.assistants.objects import (
    model_deployment,
    resources_wire,
    tools_wire,
)
from aoai_mock.behaviour.assistants.requests import (
    CreateRun,
    CreateThread,
    CreateThreadAndRun,
    ModifyRun,
    RunOptions,
    SubmitToolOutputs,
    choice_wire,
)
from aoai_mock.behaviour.assistants.run_lifecycle import RUN_LIFECYCLE
from aoai_mock.behaviour.assistants.shapes import run_wire, shape_for
from aoai_mock.behaviour.assistants.steps import finish_step, render_step
from aoai_mock.behaviour.assistants.threads import (
    ACTIVE_RUN_STATUSES,
    add_message,
    create_thread,
)
from aoai_mock.behaviour.objects import each_shown
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.runs_schema import RunSchedule
from aoai_mock.errors import AssistantsObjectNotFound, InvalidRequest

__all__ = [
    "EXPIRES_AFTER",
    "schedule_for",
    "create_run",
    "create_thread_and_run",
    "advance",
    "advance_thread",
    "fail_broken",
    "retrieve_run",
    "list_runs",
    "modify_run",
    "cancel_run",
    "submit_tool_outputs",
    "list_steps",
    "retrieve_step",
    "render",
    "poll_after_ms",
]

log = logging.getLogger("aoai_mock")
EXPIRES_AFTER = 600  # seconds a run may wait (for tool outputs) before it expires
_PRIVATE_HEADERS = ("api-key", "authorization", "content-length", "cookie")


def schedule_for(runtime: Runtime, scenario: str | None, assistant_name: str | None) -> RunSchedule:
    """The ``runs:`` schedule of the named (else active) scenario, for this assistant; the default without."""
    name = scenario or runtime.book.active
    spec = runtime.book.get(name).runs if name is not None else None
    return spec.schedule_for(assistant_name) if spec is not None else RunSchedule()


def render(run: Doc, api_version: str | None = None) -> Doc:
    """The run in a JSON answer of ``api_version`` (the version that created it when not given)."""
    return run_wire(run, shape_for(api_version or run["_mock"].get("api_version")))


def poll_after_ms(run: Doc) -> int | None:
    """The ``openai-poll-after-ms`` the run's schedule asks for, if any."""
    return run["_mock"]["schedule"].get("poll_after_ms")


async def _run(runtime: Runtime, thread_id: str, run_id: str) -> Doc:
    await require(runtime, THREAD, thread_id, "thread")
    found = await runtime.store.get(RUN, run_id)
    if found is None or found["thread_id"] != thread_id:
        raise AssistantsObjectNotFound("run", run_id)
    return found


# -- creating ---------------------------------------------------------------------------------------


def _pick(request: RunOptions, name: str, assistant: Doc, default: object) -> object:
    value = getattr(request, name)
    if name in ("tool_choice", "response_format") and value is not None:
        return choice_wire(value)
    if value is not None:
        return value.model_dump() if hasattr(value, "model_dump") else value
    found = assistant.get(name)
    return default if found is None else found


def _instructions(request: RunOptions, assistant: Doc) -> str | None:
    """The run's own, else the assistant's, with the additional ones after; null when there are none
    [captured: recordings/assistants/net-BasicRunOperationsWork: an assistant without instructions]."""
    text = request.instructions if request.instructions is not None else assistant.get("instructions")
    extra = getattr(request, "additional_instructions", None)
    return f"{text}\n{extra}" if text and extra else text or extra or None


async def _new_run(runtime: Runtime, thread_id: str, assistant: Doc, request: RunOptions, context: Doc) -> Doc:
    created = now(runtime)
    return {
        "id": await new_id(runtime, "run_"),
        "object": "thread.run",
        "created_at": created,
        "assistant_id": assistant["id"],
        "thread_id": thread_id,
        "status": "queued",  # the keys in the order the service writes them [captured: recordings/assistants]
        "started_at": None,
        "expires_at": created + EXPIRES_AFTER,
        "cancelled_at": None,
        "failed_at": None,
        "completed_at": None,
        "required_action": None,
        "last_error": None,
        "model": request.model or assistant["model"],
        "instructions": _instructions(request, assistant),
        "tools": tools_wire(request.tools) if request.tools is not None else assistant["tools"],
        "tool_resources": {},  # not the assistant's: see .shapes
        "metadata": request.metadata or {},
        "temperature": _pick(request, "temperature", assistant, 1.0),
        "top_p": _pick(request, "top_p", assistant, 1.0),
        "max_completion_tokens": request.max_completion_tokens,
        "max_prompt_tokens": request.max_prompt_tokens,
        "truncation_strategy": _pick(request, "truncation_strategy", {}, {"type": "auto", "last_messages": None}),
        "incomplete_details": None,
        "usage": None,
        "response_format": _pick(request, "response_format", assistant, "auto"),
        "tool_choice": _pick(request, "tool_choice", {}, "auto"),
        "parallel_tool_calls": request.parallel_tool_calls is not False,
        "_mock": context,
    }


def _context(runtime: Runtime, assistant: Doc, headers: Mapping[str, str], api_version: str | None) -> Doc:
    scenario = headers.get("x-aoai-mock-scenario")
    schedule = schedule_for(runtime, scenario, assistant.get("name"))
    return {
        "scenario": scenario,
        "responder": headers.get("x-aoai-mock-responder"),
        "headers": {k: v for k, v in headers.items() if k not in _PRIVATE_HEADERS},
        "api_version": api_version,
        "schedule": schedule.model_dump(),
        "since": runtime.clock.now(),
        "expires": runtime.clock.now() + EXPIRES_AFTER,
        "polls": 0,
        "turn": 0,
        "transcript": [],
        "pending_step": None,
        "searched": False,
        "hits": [],
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "streaming": False,
        "assistant_name": assistant.get("name"),
        "assistant_resources": assistant.get("tool_resources") or {},
    }


async def create_run(
    runtime: Runtime,
    thread_id: str,
    request: CreateRun | CreateThreadAndRun,
    headers: Mapping[str, str],
    api_version: str | None = None,
    emit: Emit = ignore,
) -> Doc:
    """A queued run of ``thread_id`` (its ``additional_messages`` added first); refused while one is active."""
    await require(runtime, THREAD, thread_id, "thread")
    await advance_thread(runtime, thread_id)
    active = next((r for r in await _thread_runs(runtime, thread_id) if r["status"] in ACTIVE_RUN_STATUSES), None)
    if active is not None:
        raise InvalidRequest(f"Thread {thread_id} already has an active run {active['id']}.")
    assistant = await require(runtime, ASSISTANT, request.assistant_id, "assistant")
    check_metadata(request.metadata)
    model_deployment(runtime, request.model or assistant["model"], headers.get("x-aoai-mock-scenario"))
    for message in getattr(request, "additional_messages", None) or ():
        check_metadata(message.metadata)
        await add_message(runtime, thread_id, message)
    run = await _new_run(runtime, thread_id, assistant, request, _context(runtime, assistant, headers, api_version))
    run["_mock"]["streaming"] = bool(request.stream)
    emit("thread.run.created", public(run))
    await RUN_LIFECYCLE.start(RunEngine(runtime, run, emit), run, runtime.clock.now())  # stored, "thread.run.queued"
    return run


async def create_thread_and_run(
    runtime: Runtime,
    request: CreateThreadAndRun,
    headers: Mapping[str, str],
    api_version: str | None = None,
    emit: Emit = ignore,
) -> Doc:
    """``POST /threads/runs``: a new thread (with its messages) and a run of it."""
    await require(runtime, ASSISTANT, request.assistant_id, "assistant")
    thread = await create_thread(runtime, request.thread or CreateThread())
    if request.tool_resources is not None:
        stored = await runtime.store.get(THREAD, thread["id"]) or {}
        stored["tool_resources"] = await resources_wire(runtime, request.tool_resources, stored.get("tool_resources"))
        await runtime.store.put(THREAD, stored)
        thread = public(stored)
    emit("thread.created", thread)
    return await create_run(runtime, thread["id"], request, headers, api_version, emit)


# -- the lifecycle ----------------------------------------------------------------------------------


async def advance(runtime: Runtime, run: Doc, polled: bool, emit: Emit = ignore) -> Doc:
    """The run as it is now: counted as a poll or not, moved on as far as its lifecycle lets it.

    A streamed run is left to its stream (:mod:`.streaming`), which drives it itself. A run the mock cannot
    move on (a bug, or a run kept by another version in a ``--state`` file) fails, with a ``server_error``, as
    a run of the service does: it never keeps its thread busy, nor breaks the thread's lists.
    """
    try:
        return await _advance(runtime, run, polled, emit)
    except Exception as exc:  # noqa: BLE001 -- logged; the run ends, its thread goes on
        return await fail_broken(runtime, run, exc)


async def fail_broken(runtime: Runtime, run: Doc, exc: Exception) -> Doc:
    """A run that could not be moved on: logged, and ``failed`` with a ``server_error`` (saved)."""
    log.error("run %r of thread %r cannot go on: it fails", run.get("id"), run.get("thread_id"), exc_info=exc)
    if run.get("status") in TERMINAL:
        return run
    clock = runtime.clock.now()
    error = {"code": "server_error", "message": "Sorry, something went wrong."}
    run.update(status="failed", failed_at=now(runtime), expires_at=None, required_action=None, last_error=error)
    run.setdefault("_states", []).append(["failed", RUN_LIFECYCLE.age(run, clock)])
    if isinstance(run.get("_mock"), dict):
        run["_mock"]["streaming"] = False
    await runtime.store.put(RUN, run)
    return run


async def _advance(runtime: Runtime, run: Doc, polled: bool, emit: Emit) -> Doc:
    status, mock = run["status"], run["_mock"]
    if status in TERMINAL or mock.get("streaming"):
        return run
    counts = polled and status in ("queued", "in_progress")
    mock["polls"] += 1 if counts else 0
    moved = await RUN_LIFECYCLE.advance(RunEngine(runtime, run, emit), run, runtime.clock.now(), polled=polled)
    first_sight = status == "queued" and not mock.get("seen")
    if first_sight:
        mock["seen"] = True  # the next look picks it up (.run_lifecycle)
    if first_sight or (counts and not moved):  # every state entered saved the run; else this look still counts
        await runtime.store.put(RUN, run)
    return run


async def _thread_runs(runtime: Runtime, thread_id: str) -> list[Doc]:
    return [r for r in await runtime.store.all(RUN) if r.get("thread_id") == thread_id]


async def advance_thread(runtime: Runtime, thread_id: str) -> None:
    """Every run of the thread as it is now (a look, not a poll)."""
    for run in await _thread_runs(runtime, thread_id):
        if run.get("status") not in TERMINAL:
            await advance(runtime, run, polled=False)


async def retrieve_run(runtime: Runtime, thread_id: str, run_id: str) -> Doc:
    return await advance(runtime, await _run(runtime, thread_id, run_id), polled=True)


async def list_runs(runtime: Runtime, thread_id: str, query: ListQuery, api_version: str | None = None) -> Doc:
    await require(runtime, THREAD, thread_id, "thread")
    await advance_thread(runtime, thread_id)
    return list_body(each_shown(await _thread_runs(runtime, thread_id), lambda r: render(r, api_version)), query)


async def modify_run(runtime: Runtime, thread_id: str, run_id: str, request: ModifyRun) -> Doc:
    run = await _run(runtime, thread_id, run_id)
    check_metadata(request.metadata)
    if "metadata" in request.model_fields_set:
        run["metadata"] = request.metadata or {}
    await runtime.store.put(RUN, run)
    return run


async def cancel_run(runtime: Runtime, thread_id: str, run_id: str) -> Doc:
    """``cancelling`` now, ``cancelled`` at the next look; a finished run cannot be cancelled."""
    run = await _run(runtime, thread_id, run_id)
    if not RUN_LIFECYCLE.allows(run, "cancelling"):
        raise InvalidRequest(f"Cannot cancel run with status '{run['status']}'.")
    run["_mock"]["streaming"] = False
    await RUN_LIFECYCLE.move(RunEngine(runtime, run, ignore), run, "cancelling", runtime.clock.now())
    return run


async def submit_tool_outputs(
    runtime: Runtime, thread_id: str, run_id: str, request: SubmitToolOutputs, emit: Emit = ignore
) -> Doc:
    """Outputs for every call the run waits on: its step completes and the run is queued again."""
    run = await advance(runtime, await _run(runtime, thread_id, run_id), polled=False)
    if run["status"] != "requires_action":
        raise InvalidRequest(f"Runs in status \"{run['status']}\" do not accept tool outputs.")
    mock = run["_mock"]
    step = await runtime.store.get(STEP, mock["pending_step"]) or {}
    calls = step.get("step_details", {}).get("tool_calls", [])
    outputs = _outputs(request, [c["id"] for c in calls])
    for call in calls:
        call["function"]["output"] = outputs[call["id"]]
    await finish_step(runtime, step, "completed", step.pop("_usage", None))
    mock["transcript"] += [{"role": "tool", "tool_call_id": c["id"], "content": outputs[c["id"]]} for c in calls]
    clock = runtime.clock.now()
    mock.update(pending_step=None, polls=0, since=clock, seen=False, streaming=bool(request.stream))
    emit("thread.run.step.completed", render_step(step, run))
    await RUN_LIFECYCLE.move(RunEngine(runtime, run, emit), run, "queued", clock, required_action=None)
    return run


def _outputs(request: SubmitToolOutputs, wanted: Sequence[str]) -> dict[str, str]:
    given: dict[str, str] = {}
    for output in request.tool_outputs:
        if output.tool_call_id not in wanted:
            raise InvalidRequest(
                f"Invalid tool_call_id: {output.tool_call_id}. No tool call with this id is waiting for an output.",
                param="tool_outputs",
            )
        given[output.tool_call_id] = output.output or ""
    missing = [w for w in wanted if w not in given]
    if missing:
        raise InvalidRequest(
            f"Expected tool outputs for call_ids {list(wanted)}, got {list(given)}", param="tool_outputs"
        )
    return given


# -- steps ------------------------------------------------------------------------------------------


async def list_steps(
    runtime: Runtime, thread_id: str, run_id: str, query: ListQuery, include: Sequence[str] = ()
) -> Doc:
    run = await advance(runtime, await _run(runtime, thread_id, run_id), polled=False)
    steps = [s for s in await runtime.store.all(STEP) if s.get("run_id") == run["id"]]
    return list_body(each_shown(steps, lambda s: render_step(s, run, include)), query)


async def retrieve_step(
    runtime: Runtime, thread_id: str, run_id: str, step_id: str, include: Sequence[str] = ()
) -> Doc:
    run = await _run(runtime, thread_id, run_id)
    found = await runtime.store.get(STEP, step_id)
    if found is None or found["run_id"] != run_id:
        raise AssistantsObjectNotFound("run step", step_id)
    return render_step(found, run, include)
