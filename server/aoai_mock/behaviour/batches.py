"""Batches (``/openai/batches``): an uploaded JSONL file of requests, answered by the mock's own engine.

Lifecycle, on the injected clock (``runtime.clock.now``), ``S = settings.batch_seconds`` split in thirds:

    validating [0, S/3) -> failed                          (when the input file has bad lines)
                        -> in_progress [S/3, 2S/3) -> finalizing [2S/3, S) -> completed
    cancel (validating or in_progress) at t -> cancelling [t, t + S/3) -> cancelled

The states are declared in :data:`LIFECYCLE` (:mod:`aoai_mock.behaviour.lifecycle`) and moved on whenever a
batch is read; nothing runs in the background. The first read that finds a line due runs its requests, one
after another in file order, through the :data:`Send` the route gives (the mock's own ASGI app, in
process): keys, scenarios, faults, rate limits and content filters apply to every line as to a live request. ``request_counts`` grow through ``in_progress`` in
proportion to the time spent; a cancelled batch keeps the lines done by the time it was cancelled. At
``completed`` (or ``cancelled``) the output and error files appear (purpose ``batch_output``): successes in
the output file, every other answer in the error file, each line in Azure's shape [docs]::

    {"custom_id": "task-0", "response": {"status_code": 200, "request_id": "...", "body": {...}}, "error": null}

As the service does, a finished batch always has an error file, empty when nothing failed.

From 2025-04-01-preview, as recorded [captured: batches/net-CanCancelBatch-2025-04-01-preview.json] (the
shape follows the api-version the batch was created with): ``endpoint`` is echoed without ``/v1``;
``output_file_id`` and ``error_file_id`` are ``""`` until the batch ends; a cancel counts every line in
``request_counts.total`` (also while validating); a batch cancelled with no line done gets no files (both
ids stay null).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson

from aoai_mock.behaviour import files
from aoai_mock.behaviour.batch_input import Task, batch_error, endpoint_key, read_input
from aoai_mock.behaviour.lifecycle import Entry, Lifecycle, State, entered, lasting, until
from aoai_mock.behaviour.objects import (
    Doc,
    ListQuery,
    mint_uuid,
    offset_time,
    public,
)
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import (
    InvalidResourceRequest,
    ObjectNotFound,
    UnexpectedEntityState,
)
from aoai_mock.state.store import Page, no_transaction
from aoai_mock.wire import api_versions as av

__all__ = ["Batches", "LineReply", "Send", "KIND", "LINE_TIMEOUT", "LIFECYCLE", "ERA_2025_04"]

ERA_2025_04 = "2025-04-01-preview"  # batches/net-CanCancelBatch-2025-04-01-preview.json
_UNDERWAY = ("validating", "in_progress", "finalizing", "cancelling")

KIND = "batch"
log = logging.getLogger("aoai_mock")
LINE_TIMEOUT = 60.0  # seconds one line may take (a hung fault) before it is answered with an error
WINDOW = 24 * 3600


@dataclass(frozen=True, slots=True)
class LineReply:
    """What the engine answered one line: the status, the parsed body, the ``x-request-id``."""

    status: int
    body: Any
    request_id: str


# (path and query, JSON body, extra headers) -> the answer; the route builds it around the ASGI app.
Send = Callable[[str, dict[str, Any], dict[str, str]], Awaitable[LineReply]]


class Batches:
    """The batch family of one server: its runtime, and how to send a line to the engine."""

    def __init__(self, runtime: Runtime, send: Send) -> None:
        self.runtime = runtime
        self.send = send
        self._running: dict[str, asyncio.Future[None]] = {}

    # -- the API ---------------------------------------------------------------------------------------------
    async def create(self, body: Mapping[str, Any], api_version: str, headers: Mapping[str, str]) -> Doc:
        input_file_id = _text(body, "input_file_id")
        endpoint = endpoint_key(_text(body, "endpoint"))
        if endpoint is None:
            raise InvalidResourceRequest(
                f"The endpoint '{body['endpoint']}' is not supported; "
                "use /chat/completions, /completions or /embeddings."
            )
        window = _text(body, "completion_window")
        metadata = _metadata(body.get("metadata"))
        data = await self._input(input_file_id)
        scenario = headers.get("x-aoai-mock-scenario")
        parsed = read_input(data, endpoint, lambda name: self.runtime.deployment(name, scenario) is not None)
        errors = parsed.errors
        if window != "24h":  # the service fails such a batch [docs]
            wrong = batch_error("invalid_request", None, "completion_window", "The completion window must be 24h.")
            errors = [wrong, *errors]
        shown = endpoint if _newer(api_version) else body["endpoint"]
        doc = await self._new(shown, input_file_id, window, metadata)
        doc.update(
            _api_version=api_version, _endpoint=endpoint, _deployment=parsed.deployment, _errors=errors,
            _lines=parsed.lines, _tasks=len(parsed.tasks), _headers=dict(headers), _outcomes=None,
        )  # fmt: skip
        await LIFECYCLE.start(self.runtime, doc, self.runtime.clock.now())
        if not errors:
            await self.runtime.store.put_blob(_blob(doc["id"], "input"), data)
        await self.runtime.store.put(KIND, doc)
        return _render(doc, 0.0, self.runtime.settings.batch_seconds)

    async def retrieve(self, batch_id: str) -> Doc:
        return await self._advance(await self._get(batch_id))

    async def list(self, query: ListQuery) -> Page:
        current = []
        for doc in await self.runtime.store.all(KIND):
            try:
                current.append(await self._advance(doc))
            except Exception as exc:  # noqa: BLE001 -- one batch the mock cannot read leaves the list whole
                log.error("left out of a list: the stored batch %r cannot be shown", doc.get("id"), exc_info=exc)
        return query.page(current)

    async def cancel(self, batch_id: str) -> Doc:
        view = await self._advance(await self._get(batch_id))
        doc = await self._get(batch_id)
        if not LIFECYCLE.allows(doc, "cancelling"):
            raise UnexpectedEntityState(f"The batch cannot be cancelled because it is {view['status']}.")
        await LIFECYCLE.move(self.runtime, doc, "cancelling", self.runtime.clock.now())
        await self.runtime.store.put(KIND, doc)
        return await self._advance(doc)

    # -- pieces ----------------------------------------------------------------------------------------------
    async def _get(self, batch_id: str) -> Doc:
        found = await self.runtime.store.get(KIND, batch_id)
        if found is None:
            raise ObjectNotFound("Batch", batch_id)
        return found

    async def _input(self, file_id: str) -> bytes:
        found = await self.runtime.store.get(files.KIND, file_id)
        if found is None:
            raise InvalidResourceRequest(f"The input file '{file_id}' was not found.")
        if found.get("purpose") != "batch":
            raise InvalidResourceRequest(f"The input file must have purpose 'batch', not '{found.get('purpose')}'.")
        return await self.runtime.store.get_blob(file_id) or b""

    async def _new(self, endpoint: str, input_file_id: str, window: str, metadata: dict[str, str] | None) -> Doc:
        created = self.runtime.clock.created()
        return {
            "id": "batch_" + await mint_uuid(self.runtime, "batch"),
            "object": "batch",
            "endpoint": endpoint,
            "errors": None,
            "input_file_id": input_file_id,
            "completion_window": window,
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": created,
            "in_progress_at": None,
            "expires_at": created + WINDOW,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": metadata,
        }

    async def _advance(self, doc: Doc) -> Doc:
        """The batch as of now: its lines answered once the first is due, then moved on; stored back.

        The lines run first (awaited, outside the lifecycle, in a task of their own): a batch that finishes in
        this look writes its files from them (:func:`_write_files`).
        """
        span, now = self.runtime.settings.batch_seconds, self.runtime.clock.now()
        at = LIFECYCLE.age(doc, now)
        if not doc["_errors"] and doc.get("_outcomes") is None and _visible(doc, at, span) > 0:
            await self._run_once(doc["id"])
            doc = await self.runtime.store.get(KIND, doc["id"]) or doc
        moved = await LIFECYCLE.advance(self.runtime, doc, now)
        view = _render(doc, at, span)
        if moved or view != public(doc):
            await self.runtime.store.put(KIND, {**doc, **view})
        return view

    async def _run_once(self, batch_id: str) -> None:
        running = self._running.get(batch_id)
        if running is None:
            running = self._running[batch_id] = asyncio.ensure_future(self._run(batch_id))
            running.add_done_callback(lambda _: self._running.pop(batch_id, None))
        await asyncio.shield(running)

    async def _run(self, batch_id: str) -> None:
        """Answer every line, once; the answers are kept whatever becomes of the look that set this off (it is
        a task of its own, outside that request's transaction, which may end first or fail)."""
        with no_transaction():
            doc = await self._get(batch_id)
            data = await self.runtime.store.get_blob(_blob(batch_id, "input")) or b""
            tasks = read_input(data, doc["_endpoint"], lambda _: True).tasks
            lines: list[bytes] = []
            outcomes: list[str] = []
            for task in tasks:
                line, ok = await self._answer(doc, task)
                lines.append(line)
                outcomes.append("1" if ok else "0")
            await self.runtime.store.put_blob(_blob(batch_id, "results"), b"".join(lines))
            fresh = await self.runtime.store.get(KIND, batch_id)
            if fresh is not None:
                fresh["_outcomes"] = "".join(outcomes)
                await self.runtime.store.put(KIND, fresh)

    async def _answer(self, doc: Doc, task: Task) -> tuple[bytes, bool]:
        """One output line for one task, and whether it succeeded."""
        path = f"/openai/deployments/{quote(doc['_deployment'], safe='')}{doc['_endpoint']}"
        path += f"?api-version={quote(doc['_api_version'], safe='')}"
        try:
            reply = await asyncio.wait_for(self.send(path, task.body, doc["_headers"]), LINE_TIMEOUT)
        except Exception as exc:  # a dropped connection or a hung fault: no HTTP answer for this line
            error = {"code": "server_error", "message": f"The request got no answer: {exc or type(exc).__name__}."}
            line = {"custom_id": task.custom_id, "response": None, "error": error}
            return orjson.dumps(line) + b"\n", False
        response = {"status_code": reply.status, "request_id": reply.request_id, "body": reply.body}
        line = {"custom_id": task.custom_id, "response": response, "error": None}
        return orjson.dumps(line) + b"\n", 200 <= reply.status < 300


# -- the lifecycle ---------------------------------------------------------------------------------------------
def _third(runtime: Runtime, _doc: Doc | None = None) -> float:
    return runtime.settings.batch_seconds / 3


async def _checked(_runtime: Runtime, doc: Doc) -> str:
    return "failed" if doc["_errors"] else "in_progress"


async def _write_files(runtime: Runtime, doc: Doc, entry: Entry) -> None:
    """On ``completed`` or ``cancelled``: the output and error files, from the answers done by then
    (from 2025-04-01-preview none for a batch cancelled with no line done [captured])."""
    done = _visible(doc, entry.at, runtime.settings.batch_seconds)
    if done == 0 and entry.state == "cancelled" and _newer(doc.get("_api_version")):
        for name in ("input", "results"):
            await runtime.store.delete_blob(_blob(doc["id"], name))
        return
    results = (await runtime.store.get_blob(_blob(doc["id"], "results")) or b"").splitlines(keepends=True)
    outcomes = doc.get("_outcomes") or ""
    good = b"".join(line for line, ok in zip(results[:done], outcomes) if ok == "1")
    bad = b"".join(line for line, ok in zip(results[:done], outcomes) if ok != "1")
    at = offset_time(doc, entry.at)
    name = doc["id"]
    output = await files.write_file(runtime, f"{name}_output.jsonl", "batch_output", good, created_at=at, uuid_id=True)
    errors = await files.write_file(runtime, f"{name}_error.jsonl", "batch_output", bad, created_at=at, uuid_id=True)
    doc.update(output_file_id=output["id"], error_file_id=errors["id"])
    for name in ("input", "results"):
        await runtime.store.delete_blob(_blob(doc["id"], name))


# ``S = settings.batch_seconds`` in thirds; a cancel may come while validating or in progress.
LIFECYCLE: Lifecycle[Runtime] = Lifecycle(
    State("validating", then=_checked, ends=until(_third), manual=("cancelling",)),
    State("in_progress", then="finalizing", ends=until(lambda rt, _: 2 * _third(rt)), manual=("cancelling",)),
    State("finalizing", then="completed", ends=until(lambda rt, _: rt.settings.batch_seconds)),
    State("completed", on_enter=_write_files),
    State("failed"),
    State("cancelling", then="cancelled", ends=lasting(_third)),
    State("cancelled", on_enter=_write_files),
)


def _newer(api_version: Any) -> bool:
    """Whether a batch made at ``api_version`` has the recorded (2025-04-01-preview) shape."""
    version = str(api_version or "")
    return bool(version) and version not in av.V1_FAMILY and av.is_at_least(version, ERA_2025_04)


def _visible(doc: Mapping[str, Any], at: float, span: float) -> int:
    """How many lines are done at ``at`` (all of them once finalizing; frozen at a cancel)."""
    third = span / 3
    cancel_at = entered(doc, "cancelling")
    until_ = at if cancel_at is None else min(at, cancel_at)
    progress = (until_ - third) / third if third > 0 else 1.0
    total = int(doc["_tasks"])
    return max(0, min(total, math.floor(total * progress + 1e-9)))


def _stamp(doc: Mapping[str, Any], state: str) -> int | None:
    """The wire timestamp of the moment the batch entered ``state``, or None."""
    at = entered(doc, state)
    return None if at is None else offset_time(doc, at)


def _render(doc: Mapping[str, Any], at: float, span: float) -> Doc:
    """The wire object for the batch's state: timestamps, counts and error list to match."""
    view = public(doc)
    status = view["status"]
    for state in ("in_progress", "finalizing", "completed", "failed", "cancelling", "cancelled"):
        view[f"{state}_at"] = _stamp(doc, state)
    view["errors"] = {"object": "list", "data": doc["_errors"]} if status == "failed" else None
    view["request_counts"] = _counts(doc, status, at, span)
    if _newer(doc.get("_api_version")):  # "" while underway, null when no file came of it
        blank = "" if status in _UNDERWAY else None
        view.update({key: view[key] or blank for key in ("output_file_id", "error_file_id")})
    return view


def _counts(doc: Mapping[str, Any], status: str, at: float, span: float) -> dict[str, int]:
    cancel_at = entered(doc, "cancelling")
    early = cancel_at is not None and cancel_at < span / 3 and not _newer(doc.get("_api_version"))
    if status == "validating" or early:
        return {"total": 0, "completed": 0, "failed": 0}
    if status == "failed":
        return {"total": int(doc["_lines"]), "completed": 0, "failed": 0}
    done = (doc.get("_outcomes") or "")[: _visible(doc, at, span)]
    return {"total": int(doc["_tasks"]), "completed": done.count("1"), "failed": done.count("0")}


def _blob(batch_id: str, name: str) -> str:
    return f"{batch_id}/{name}"


def _text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise InvalidResourceRequest(f"'{key}' is required and must be a non-empty string.")
    return value


def _metadata(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or len(value) > 16:
        raise InvalidResourceRequest("metadata must be an object of at most 16 string values.")
    for key, item in value.items():
        if not isinstance(item, str) or len(key) > 64 or len(item) > 512:
            raise InvalidResourceRequest("metadata keys are at most 64 characters, values strings of at most 512.")
    return dict(value)
