"""Faults at run time, under ``/_mock/faults`` (behind the admin key, like the rest of ``/_mock/``).

* ``GET /_mock/faults``: what is installed (with counters), every fault injected so far and how the
  client answered each (retried after how long, or not), and totals;
* ``POST /_mock/faults`` with a plan in JSON or YAML (``{"faults": [...]}`` or the bare list, the entries
  of a scenario's ``faults:``): installed as the ``control`` plan, replacing the previous one; 201 with
  the entry ids, or a 400 naming the bad field;
* ``DELETE /_mock/faults``: removes the ``control`` plan (a scenario's own faults stay while it is
  active); ``?all=true`` removes every plan.

With shared state (``--state redis://...``) an installed or removed ``control`` plan is installed or removed
on every process that shares the Redis, and ``GET`` shows the counters every process counts on
(:mod:`aoai_mock.behaviour.shared_control`), and the injected faults of every process
(:mod:`aoai_mock.behaviour.shared_fault_log`); how the client answered each is read from the journal every
process writes.
"""

from __future__ import annotations

import yaml
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.fault_log import client_answers
from aoai_mock.behaviour.faults import FaultBook, load_plan
from aoai_mock.behaviour.shared_control import faults_changed
from aoai_mock.errors import InvalidRequest
from aoai_mock.http.control import control_body, require_admin_key
from aoai_mock.http.render import json_response
from aoai_mock.wire import bounded_yaml

__all__ = ["router", "CONTROL_SOURCE"]

CONTROL_SOURCE = "control"

router = APIRouter(prefix="/_mock", dependencies=[Depends(require_admin_key)])


def _faults(request: Request) -> FaultBook:
    return request.app.state.runtime.faults  # type: ignore[no-any-return]


@router.get("/faults")
async def summary(request: Request) -> Response:
    answers = client_answers(await request.app.state.journal.gather())  # the journal's retry links: one story
    faults = _faults(request)
    counts = await faults.shared_counts() if faults.shared is not None else None
    return json_response(faults.summary(answers=answers, counts=counts, log=await faults.shared_listing()))


@router.post("/faults")
async def install(request: Request) -> Response:
    body = await control_body(request)
    try:
        data = bounded_yaml.load(body.decode("utf-8")) if body.strip() else []
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidRequest(f"aoai-mock: a fault plan must be JSON or YAML: {exc}", code="invalid_fault_plan") from None
    plan = load_plan(data)
    ids = await faults_changed(request.app.state.runtime, plan)
    if ids is None:  # nothing shared: this process only
        ids = _faults(request).install(plan, CONTROL_SOURCE)
    return json_response({"installed": ids, "source": CONTROL_SOURCE}, 201)


@router.delete("/faults")
async def remove(request: Request) -> Response:
    every = request.query_params.get("all", "").lower() in ("1", "true", "yes")
    await faults_changed(request.app.state.runtime, None)
    _faults(request).clear(None if every else CONTROL_SOURCE)
    return json_response({"installed": _faults(request).summary()["installed"]})
