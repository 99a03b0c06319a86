"""Faults and scenario rules for the routes served through the framework (images, audio, files, batches,
fine-tuning, assistants, threads and runs, vector stores, stored responses, models): the
``x-aoai-mock-fault`` header and installed plans apply to them as to the answering routes, decided by
the same fault book into the same typed plan (:mod:`aoai_mock.behaviour.delivery`) and carried out by
the same code (:mod:`aoai_mock.http.deliver`); then a scenario rule whose ``match.operation`` names the
operation may answer it with its ``error:`` reply (``ScenarioBook.decide_named``), journaled with its
scenario and rule like any answer.

Before the route runs: an Azure error with its headers, a delay, a hang, a connection closed or reset
before any byte. A stream fault (cut, stall, malformed, error event) is kept in the request's scope, and
the route's event stream (an assistant run's) is delivered under it; a route that answers without a
stream answers a cut with half its body, and the other stream kinds as if there were none. Plans scope
such requests by operation and deployment (when the path names one); the body is not read for matching,
since a route may stream or parse it (multipart) itself. The header on a batch's create request is the
exception: a batch passes its ``x-aoai-mock-*`` headers on to every line, so the fault reaches the
lines, not the create.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope

from aoai_mock.behaviour.delivery import DeliveryPlan
from aoai_mock.behaviour.inference import plan_of
from aoai_mock.behaviour.responders.base import Context, Conversation
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.request_facts import RequestView
from aoai_mock.behaviour.shared_counters import naming
from aoai_mock.errors import AzureError, ServerError
from aoai_mock.http.deliver import before_answer
from aoai_mock.http.deps import receive_body, replayed
from aoai_mock.http.front import error_reply
from aoai_mock.state.record import Record
from aoai_mock.wire import api_versions as av
from aoai_mock.wire import headers as names
from aoai_mock.wire.json_depth import too_deep

__all__ = ["resource_fault", "stream_plan_of"]

_PLAN = "delivery_plan"  # scope["state"] key of a stream fault's plan


def stream_plan_of(scope: Scope) -> DeliveryPlan | None:
    """The plan a stream fault left for this request's event stream, if any."""
    return (scope.get("state") or {}).get(_PLAN)


async def resource_fault(
    runtime: Runtime, scope: Scope, receive: Receive, headers: dict[bytes, bytes], record: Record
) -> tuple[ASGIApp | None, Receive]:
    """The reply a fault or a scenario rule gives in place of the route's (an error, a dead connection),
    or None: the route answers (after the fault's delay, if it had one; under its stream plan, if it
    streams); and the ``receive`` the route reads its body from (a JSON body is read first, for matching
    and ``stream``)."""
    scenario = headers.get(names.SCENARIO_B)
    named_scenario = scenario.decode("latin-1") if scenario is not None else None
    faults, book = runtime.faults, runtime.book
    wants_fault = not faults.idle or names.FAULT_B in headers
    if not wants_fault and named_scenario is None and book.active is None:
        return None, receive
    operation, deployment = record.operation, record.deployment
    if operation is None or (operation == av.BATCHES and scope["method"] == "POST" and names.FAULT_B in headers):
        return None, receive  # a batch passes its x-aoai-mock-* headers on to every line (docs/files-batches-...)
    named = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers.items()}
    try:
        body, receive = await _json_body(runtime, scope, receive, headers)
        view = RequestView(operation, deployment or "", record.api_version or "", named, body)
        if wants_fault:
            early = await _fault(runtime, scope, receive, record, view, body.get("stream") is True)
            if early is not None:
                return early, receive
        return await _scenario_answer(runtime, record, view, named_scenario), receive
    except AzureError as exc:
        return error_reply(exc), receive


async def _fault(
    runtime: Runtime, scope: Scope, receive: Receive, record: Record, view: RequestView, stream: bool
) -> ASGIApp | None:
    faults = runtime.faults
    if faults.shared is None:
        fault = faults.decide(view, request_id=record.request_id, stream=stream)
    else:
        fault = await faults.decide_shared(view, request_id=record.request_id, stream=stream)
    if fault is None:
        return None
    deployment = record.deployment
    plan = plan_of(fault, record, runtime.deployment(deployment) if deployment else None)
    early = await before_answer(runtime, record, scope, receive, plan)
    if early is None and (plan.shapes_stream or plan.cut_after is not None):
        scope["state"][_PLAN] = plan
    return early


async def _scenario_answer(
    runtime: Runtime, record: Record, view: RequestView, scenario: str | None
) -> ASGIApp | None:
    """A scenario rule that names this operation answers it: its ``error:`` reply in place of the route's.
    Raises the AzureError (rendered by the caller)."""
    if scenario is None and runtime.book.active is None:
        return None
    book = runtime.book
    if book.shared is None:
        decision = book.decide_named(view, scenario)
    else:
        try:
            decision = await book.decide_named_shared(view, scenario)
        except ServerError as exc:  # Redis out of reach: its 500 names this request
            raise naming(exc, record.request_id) from exc
    if decision is None or decision.responder is None:
        return None
    record.scenario, record.rule, record.responder = decision.scenario, decision.rule, "scenario"
    seed = zlib.crc32(orjson.dumps([view.operation, view.deployment, view.body], option=orjson.OPT_SORT_KEYS))
    context = Context(view.deployment or "", "", runtime.fixtures_dir)
    decision.responder.respond(Conversation(operation=view.operation, messages=(), seed=seed, body=view.body), context)
    return None  # a reply that is not an error: the route answers as always


async def _json_body(
    runtime: Runtime, scope: Scope, receive: Receive, headers: dict[bytes, bytes]
) -> tuple[dict[str, Any], Receive]:
    """A small JSON body, read for the fault's view (then given to the route again); else nothing read."""
    media = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
    declared = headers.get(b"content-length", b"")
    limit = runtime.settings.config.max_body_bytes
    if scope["method"] != "POST" or media != b"application/json" or not declared.isdigit() or int(declared) > limit:
        return {}, receive
    raw = await receive_body(receive, limit)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    if too_deep(raw, parsed):
        parsed = None
    return (parsed if isinstance(parsed, dict) else {}), replayed(raw, receive)
