"""A run, once its schedule lets it go: turns of the model until a message, function calls, or an end.

Each turn asks the scenario engine (see :mod:`.conversation`) and acts on the reply:

* text (or a refusal, or JSON): a ``message_creation`` step and the assistant's message; the run completes.
  Cut at ``max_completion_tokens`` (or by ``outcome: incomplete``), both end ``incomplete``;
* function calls: a ``tool_calls`` step left ``in_progress`` and ``requires_action`` until the outputs come;
* ``code_interpreter`` calls (arguments ``{"input": code, "output": logs}``) and ``file_search`` calls
  (``{"query": ...}``): a completed ``tool_calls`` step, whose results go back to the model for another turn;
* an error (a scripted one, or an unknown deployment): the run fails with ``last_error``.

With the ``file_search`` tool on and vector stores to search, the first turn searches them with the user's
last message before the model answers (the results are a tool result it can use), and the answer cites the
best files with ``【turn:n†filename】`` markers and ``file_citation`` annotations.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import orjson

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.assistants import steps
from aoai_mock.behaviour.assistants.common import (
    MESSAGE,
    RUN,
    STEP,
    THREAD,
    Doc,
    new_id,
    now,
    public,
)
from aoai_mock.behaviour.assistants.conversation import (
    BUILTIN_TOOLS,
    ModelCall,
    chat_tool_calls,
    prepare,
)
from aoai_mock.behaviour.assistants.events import (
    Emit,
    message_deltas,
    run_event,
    tool_call_deltas,
)
from aoai_mock.behaviour.assistants.threads import (
    message_text,
    text_content,
    thread_messages,
)
from aoai_mock.behaviour.assistants.vector_stores import search_stores
from aoai_mock.behaviour.chat import usage_of
from aoai_mock.behaviour.lifecycle import Entry, Move
from aoai_mock.behaviour.responders.base import Choice, ToolCall, UsageOverride
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.runs_schema import RunError, RunSchedule
from aoai_mock.behaviour.shaping import shape_text
from aoai_mock.errors import AzureError
from aoai_mock.state.record import current

__all__ = ["RunEngine", "TERMINAL", "MAX_TURNS"]

TERMINAL = ("completed", "failed", "cancelled", "expired", "incomplete")
MAX_TURNS = 8
_SEARCH_RESULTS = 20
_CITED = 3  # the best results of different files an answer cites


def _arguments(call: ToolCall) -> dict[str, Any]:
    try:
        value = orjson.loads(call.arguments or "{}")
    except orjson.JSONDecodeError:
        return {"input": call.arguments}
    return value if isinstance(value, dict) else {"input": call.arguments}


def _failed(error: RunError) -> Move:
    return Move("failed", {"last_error": error.model_dump()})


class RunEngine:
    """Works one run (a stored doc, changed in place and saved) and reports every change to ``emit``.

    The run's states are declared in :mod:`.run_lifecycle`; the engine is their context: :meth:`outcome`
    chooses where an ``in_progress`` run goes, and :meth:`entered` is the hook of every state.
    """

    def __init__(self, runtime: Runtime, run: Doc, emit: Emit, include: tuple[str, ...] = ()) -> None:
        self.runtime = runtime
        self.run = run
        self.mock: Doc = run["_mock"]
        self.emit = emit
        self.include = include

    # -- statuses -----------------------------------------------------------------------------------

    async def save(self) -> None:
        await self.runtime.store.put(RUN, self.run)

    @cached_property
    def schedule(self) -> RunSchedule:
        return RunSchedule.model_validate(self.mock["schedule"])

    async def entered(self, entry: Entry) -> None:
        """The hook of every state: a waiting step closed, the timestamps and usage, saved, and told."""
        run, status, stamp = self.run, entry.state, now(self.runtime)
        if status in ("failed", "expired", "cancelled"):
            await self._close_pending(status)
        if status == "in_progress":
            run["started_at"] = run.get("started_at") or stamp
        elif status in ("completed", "failed", "cancelled"):
            run[f"{status}_at"] = stamp
        if status in TERMINAL:
            run["expires_at"] = None
            run["required_action"] = None
            if status in ("completed", "incomplete", "failed"):
                run["usage"] = steps.usage(self.mock["prompt_tokens"], self.mock["completion_tokens"])
        await self.save()
        self.emit(run_event(status), public(run))

    async def _close_pending(self, status: str) -> None:
        pending = self.mock.get("pending_step")
        step = await self.runtime.store.get(STEP, pending) if pending else None
        if step is not None and step["status"] == "in_progress":
            finished = await steps.finish_step(self.runtime, step, status)
            self.emit(f"thread.run.step.{status}", steps.render_step(finished, self.run))
        self.mock["pending_step"] = None

    # -- executing ----------------------------------------------------------------------------------

    async def outcome(self) -> Move:
        """Where the run goes now: as the schedule says, else as the model answers (steps and messages written)."""
        schedule = self.schedule
        if schedule.outcome == "failed":
            return _failed(schedule.last_error or RunError())
        if schedule.outcome == "expired":
            return Move("expired")
        try:
            return await self._turns(schedule)
        except AzureError as exc:
            code = "rate_limit_exceeded" if exc.status == 429 else "server_error"
            return _failed(RunError(code=code, message=exc.message))

    async def _turns(self, schedule: RunSchedule) -> Move:
        for _ in range(MAX_TURNS):
            if await self._wants_search():
                await self._builtins([ToolCall(await self._call_id(), "file_search", "{}")], None)
            call = await prepare(self.runtime, self.run)
            limit = self.run.get("max_prompt_tokens")
            if limit is not None and call.prompt_tokens > limit:
                self.mock["prompt_tokens"] += limit
                return Move("incomplete", {"incomplete_details": {"reason": "max_prompt_tokens"}})
            reply = call.responder.respond(call.conversation, call.context)
            self.mock["turn"] += 1
            choice = reply.choices[0] if reply.choices else Choice(content="")
            if not choice.tool_calls:
                return await self._answer(choice, call, schedule, reply.usage)
            written = sum(tokens.count(c.arguments, call.encoding) for c in choice.tool_calls)
            spent = self._spend(call, written, reply.usage)
            functions = [c for c in choice.tool_calls if c.name not in BUILTIN_TOOLS]
            builtins = [c for c in choice.tool_calls if c.name in BUILTIN_TOOLS]
            if builtins:
                await self._builtins(builtins, None if functions else spent)
            if functions:
                return await self._requires_action(functions, spent)
        return _failed(RunError(message=f"The run made more than {MAX_TURNS} rounds of tool calls."))

    def _spend(self, call: ModelCall, completion: int, override: UsageOverride | None) -> Doc:
        counted = usage_of(override, call.prompt_tokens, completion, 0)
        self.mock["prompt_tokens"] += counted.prompt_tokens
        self.mock["completion_tokens"] += counted.completion_tokens
        record = current()  # the request whose poll or stream took this turn reports its tokens
        if record is not None:
            record.tokens_in = (record.tokens_in or 0) + counted.prompt_tokens
            record.tokens_out = (record.tokens_out or 0) + counted.completion_tokens
        return steps.usage(counted.prompt_tokens, counted.completion_tokens)

    async def _call_id(self) -> str:
        return await new_id(self.runtime, "call_")

    # -- steps ----------------------------------------------------------------------------------------

    async def _open_step(self, details: Doc, calls: list[Doc] | None = None) -> Doc:
        step = await steps.new_step(self.runtime, self.run, details)
        shown = steps.render_step(step, self.run, self.include)
        if calls is not None:
            shown["step_details"] = {"type": "tool_calls", "tool_calls": []}
        self.emit("thread.run.step.created", shown)
        self.emit("thread.run.step.in_progress", shown)
        for delta in tool_call_deltas(step["id"], calls or []):
            self.emit("thread.run.step.delta", delta)
        return step

    async def _close_step(self, step: Doc, spent: Doc) -> None:
        await steps.finish_step(self.runtime, step, "completed", spent)
        self.emit("thread.run.step.completed", steps.render_step(step, self.run, self.include))

    async def _requires_action(self, functions: list[ToolCall], spent: Doc) -> Move:
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments, "output": None}}
            for c in functions
        ]
        step = await self._open_step({"type": "tool_calls", "tool_calls": calls}, calls)
        step["_usage"] = spent
        await self.runtime.store.put(STEP, step)
        self.mock["pending_step"] = step["id"]
        self.mock["transcript"].append(chat_tool_calls([(c.id, c.name, c.arguments) for c in functions]))
        wanted = [{"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in functions]
        action = {"type": "submit_tool_outputs", "submit_tool_outputs": {"tool_calls": wanted}}
        return Move("requires_action", {"required_action": action})

    async def _builtins(self, builtins: list[ToolCall], spent: Doc | None) -> None:
        calls, outputs = [], []
        for call in builtins:
            made, output = self._code(call) if call.name == "code_interpreter" else await self._search(call)
            calls.append(made)
            outputs.append(output)
        step = await self._open_step({"type": "tool_calls", "tool_calls": calls}, calls)
        await self._close_step(step, spent or steps.usage(0, 0))
        transcript = self.mock["transcript"]
        transcript.append(chat_tool_calls([(c.id, c.name, c.arguments) for c in builtins]))
        transcript += [{"role": "tool", "tool_call_id": c.id, "content": o} for c, o in zip(builtins, outputs)]

    @staticmethod
    def _code(call: ToolCall) -> tuple[Doc, str]:
        args = _arguments(call)
        code = str(args.get("input", args.get("code", "")))
        logs = str(args.get("output", args.get("logs", "")))
        outputs = [{"type": "logs", "logs": logs}] if logs else []
        return {"id": call.id, "type": "code_interpreter", "code_interpreter": {"input": code, "outputs": outputs}}, logs

    async def _search(self, call: ToolCall) -> tuple[Doc, str]:
        query = str(_arguments(call).get("query") or await self._last_user_text())
        hits = await search_stores(self.runtime, await self._vector_stores(), query, self._max_results())
        self.mock["searched"] = True
        self.mock["hits"] = [{"file_id": h.file_id, "filename": h.filename, "text": h.text} for h in hits]
        results = [
            {"file_id": h.file_id, "file_name": h.filename, "score": h.score, "content": [{"type": "text", "text": h.text}]}
            for h in hits
        ]
        ranking = {"ranker": "default_2024_08_21", "score_threshold": 0.0}
        made = {"id": call.id, "type": "file_search", "file_search": {"ranking_options": ranking, "results": results}}
        return made, "\n\n".join(h.text for h in hits)

    # -- file search --------------------------------------------------------------------------------

    async def _vector_stores(self) -> list[str]:
        ids = list(((self.mock.get("assistant_resources") or {}).get("file_search") or {}).get("vector_store_ids", ()))
        thread = await self.runtime.store.get(THREAD, self.run["thread_id"]) or {}
        ids += ((thread.get("tool_resources") or {}).get("file_search") or {}).get("vector_store_ids", ())
        return list(dict.fromkeys(ids))

    def _max_results(self) -> int:
        for tool in self.run["tools"]:
            if tool["type"] == "file_search":
                return int((tool.get("file_search") or {}).get("max_num_results") or _SEARCH_RESULTS)
        return _SEARCH_RESULTS

    async def _wants_search(self) -> bool:
        choice = self.run.get("tool_choice")
        return (
            not self.mock.get("searched")
            and any(t["type"] == "file_search" for t in self.run["tools"])
            and choice != "none"
            and not (isinstance(choice, dict) and choice.get("type") == "function")
            and bool(await self._vector_stores())
        )

    async def _last_user_text(self) -> str:
        users = [m for m in await thread_messages(self.runtime, self.run["thread_id"]) if m["role"] == "user"]
        return message_text(users[-1]) if users else ""

    def _citations(self, text: str) -> tuple[str, list[Doc]]:
        """Markers for the best hit of each of the first files found, appended, with their annotations."""
        cited, annotations = set(), []
        for index, hit in enumerate(self.mock.get("hits") or ()):
            if hit["file_id"] in cited or len(cited) >= _CITED:
                continue
            cited.add(hit["file_id"])
            marker = f"【{max(self.mock['turn'] - 1, 0)}:{index}†{hit['filename'] or 'source'}】"
            annotations.append({
                "type": "file_citation",
                "text": marker,
                "start_index": len(text),
                "end_index": len(text) + len(marker),
                "file_citation": {"file_id": hit["file_id"], "quote": hit["text"][:200]},
            })
            text += marker
        return text, annotations

    # -- the answer -----------------------------------------------------------------------------------

    async def _answer(
        self, choice: Choice, call: ModelCall, schedule: RunSchedule, override: UsageOverride | None
    ) -> Move:
        text = choice.content if choice.content is not None else (choice.refusal or "")
        shaped = shape_text(text, stop=(), max_tokens=self.run.get("max_completion_tokens"), encoding=call.encoding)
        pieces = list(shaped.pieces)
        reason = "max_completion_tokens" if shaped.finish_reason == "length" else None
        if schedule.outcome == "incomplete":
            pieces, reason = pieces[: max(1, len(pieces) // 2)] if pieces else [], schedule.incomplete_reason
        spent = self._spend(call, len(pieces), override)
        body = "".join(pieces)
        full, annotations = self._citations(body)
        if full != body:
            pieces.append(full[len(body) :])
        await self._write_message(full, pieces, annotations, reason, spent)
        if reason is None:
            return Move("completed")
        return Move("incomplete", {"incomplete_details": {"reason": reason}})

    async def _write_message(
        self, text: str, pieces: list[str], annotations: list[Doc], reason: str | None, spent: Doc
    ) -> None:
        message = await steps.new_message(self.runtime, self.run)
        step = await self._open_step({"type": "message_creation", "message_creation": {"message_id": message["id"]}})
        self.emit("thread.message.created", public(message))
        self.emit("thread.message.in_progress", public(message))
        for delta in message_deltas(message["id"], pieces, annotations):
            self.emit("thread.message.delta", delta)
        message["content"] = [text_content(text, annotations)]
        if reason is None:
            message.update(status="completed", completed_at=now(self.runtime))
        else:
            message.update(status="incomplete", incomplete_at=now(self.runtime), incomplete_details={"reason": "max_tokens"})
        await self.runtime.store.put(MESSAGE, message)
        self.emit("thread.message.completed" if reason is None else "thread.message.incomplete", public(message))
        await self._close_step(step, spent)
