"""What a run makes: run steps (``message_creation``, ``tool_calls``) and the assistant's messages.

Steps are stored whole; file_search results keep their chunk text, shown only when a request asks with
``include[]=step_details.tool_calls[*].file_search.results[*].content``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aoai_mock.behaviour.assistants.common import (
    MESSAGE,
    STEP,
    Doc,
    new_id,
    now,
)
from aoai_mock.behaviour.assistants.shapes import step_wire
from aoai_mock.behaviour.runtime import Runtime

__all__ = ["FILE_SEARCH_CONTENT", "new_step", "finish_step", "render_step", "new_message", "usage"]

FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content"


def usage(prompt: int, completion: int) -> Doc:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def new_step(runtime: Runtime, run: Doc, details: Doc) -> Doc:
    """An ``in_progress`` step of ``run``; its type follows from ``details``."""
    doc: Doc = {
        "id": await new_id(runtime, "step_"),
        "object": "thread.run.step",
        "created_at": now(runtime),
        "run_id": run["id"],
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "type": details["type"],
        "status": "in_progress",
        "cancelled_at": None,
        "completed_at": None,
        "expired_at": None,
        "failed_at": None,
        "last_error": None,
        "step_details": details,
        "usage": None,
        "metadata": {},
    }
    await runtime.store.put(STEP, doc)
    return doc


async def finish_step(runtime: Runtime, step: Doc, status: str, spent: Doc | None = None) -> Doc:
    """``completed`` (with its usage), ``cancelled``, ``expired`` or ``failed``, stamped now."""
    step["status"] = status
    step[f"{status}_at"] = now(runtime)
    if spent is not None:
        step["usage"] = spent
    await runtime.store.put(STEP, step)
    return step


def render_step(step: Doc, run: Doc, include: Sequence[str] = ()) -> Doc:
    """The step as the wire has it (:func:`~.shapes.step_wire`, with its run's ``expires_at`` as it is now);
    file_search results without their content unless ``include`` asks for it."""
    out = step_wire(step, run.get("expires_at"))
    if FILE_SEARCH_CONTENT in include or out["type"] != "tool_calls":
        return out
    calls = []
    for call in out["step_details"]["tool_calls"]:
        if call["type"] == "file_search":
            results = [{k: v for k, v in r.items() if k != "content"} for r in call["file_search"].get("results", ())]
            call = {**call, "file_search": {**call["file_search"], "results": results}}
        calls.append(call)
    out["step_details"] = {**out["step_details"], "tool_calls": calls}
    return out


async def new_message(runtime: Runtime, run: Doc) -> Doc:
    """The assistant's message of a run, ``in_progress`` and empty until the engine fills it."""
    doc: Doc = {
        "id": await new_id(runtime, "msg_"),
        "object": "thread.message",
        "created_at": now(runtime),
        "assistant_id": run["assistant_id"],
        "thread_id": run["thread_id"],
        "run_id": run["id"],
        "role": "assistant",
        "content": [],
        "attachments": [],
        "metadata": {},
        "status": "in_progress",
        "incomplete_details": None,
        "completed_at": None,
        "incomplete_at": None,
    }
    await runtime.store.put(MESSAGE, doc)
    return doc
