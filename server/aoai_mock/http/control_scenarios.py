"""Scenarios at run time, under ``/_mock/scenarios`` (behind the admin key, like the rest of ``/_mock/``).

* ``GET /_mock/scenarios``: ``{"object": "list", "active": name|null, "data": [summary, ...]}``;
* ``GET /_mock/scenarios/{name}``: one scenario as loaded (its rules as JSON);
* ``POST /_mock/scenarios`` with a YAML (or JSON) body: load it, replacing one of the same name;
  ``?activate=true`` also makes it the active one. The active scenario's ``faults:`` are installed. 201 with its summary; a broken file is a 400 whose
  message lists every problem with line and field;
* ``POST /_mock/scenarios/{name}/activate``; ``POST /_mock/scenarios/deactivate`` (deployments then
  answer as configured);
* ``POST /_mock/scenarios/{name}/reset`` zeroes one scenario's counters; ``POST /_mock/reset`` zeroes
  every scenario's and fault's counters, refills every quota, empties the journal and the fault log and
  serves the configured deployments as configured again (those added through ``/_mock/deployments`` are
  gone): a clean slate between tests;
* ``DELETE /_mock/scenarios/{name}`` unloads one.

With shared state (``--state redis://...``) each of these changes every process that shares the Redis
(:mod:`aoai_mock.behaviour.shared_control`), and the listings show the counters every process counts on.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios import ScenarioError, load_text
from aoai_mock.behaviour.scenarios.engine import ScenarioBook
from aoai_mock.behaviour.shared_control import counters_reset, scenarios_changed
from aoai_mock.errors import InvalidRequest, UnsupportedMediaType
from aoai_mock.http.control import control_body, journal_of, require_admin_key
from aoai_mock.http.render import json_response

__all__ = ["router"]

router = APIRouter(prefix="/_mock", dependencies=[Depends(require_admin_key)])

_TEXT_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", "application/json")


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


def _book(request: Request) -> ScenarioBook:
    return _runtime(request).book


async def _listing(book: ScenarioBook, status: int = 200) -> Response:
    return json_response({"object": "list", "active": book.active, "data": await book.shared_summary()}, status)


async def _summary(book: ScenarioBook, name: str) -> dict[str, object]:
    return next(s for s in await book.shared_summary() if s["name"] == name)


async def _yaml_text(request: Request) -> str:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media and media not in _TEXT_TYPES:
        raise UnsupportedMediaType(media)
    body = await control_body(request)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("A scenario must be UTF-8 text.", code="invalid_scenario") from None


@router.get("/scenarios")
async def list_scenarios(request: Request) -> Response:
    return await _listing(_book(request))


@router.post("/scenarios")
async def load_scenario(request: Request) -> Response:
    text = await _yaml_text(request)
    try:
        scenario = load_text(text, source="<POST /_mock/scenarios>", base_dir=_runtime(request).fixtures_dir)
    except ScenarioError as exc:
        raise InvalidRequest(_problems(exc), code="invalid_scenario") from None
    book = _book(request)
    try:
        book.load(scenario)
    except ScenarioError as exc:
        raise InvalidRequest(_problems(exc), code="invalid_scenario") from None
    activate = request.query_params.get("activate", "").lower() in ("1", "true", "yes")
    if activate:
        book.activate(scenario.name)
    _runtime(request).sync_scenario_faults()
    await scenarios_changed(_runtime(request), text=text, name=str(scenario.name), active=activate)
    return json_response(await _summary(book, str(scenario.name)), 201)


def _problems(error: ScenarioError) -> str:
    listed = "\n".join(str(p) for p in error.problems)
    return f"The scenario is not valid ({len(error.problems)} problem(s)):\n{listed}"


@router.post("/scenarios/deactivate")
async def deactivate(request: Request) -> Response:
    book = _book(request)
    book.activate(None)
    _runtime(request).sync_scenario_faults()
    await scenarios_changed(_runtime(request), active=True)
    return await _listing(book)


@router.get("/scenarios/{name}")
async def get_scenario(request: Request, name: str) -> Response:
    scenario = _book(request).get(name)
    return json_response(scenario.model_dump(mode="json", exclude_none=True))


@router.post("/scenarios/{name}/activate")
async def activate(request: Request, name: str) -> Response:
    book = _book(request)
    book.activate(name)
    _runtime(request).sync_scenario_faults()
    await scenarios_changed(_runtime(request), active=True)
    return await _listing(book)


@router.post("/scenarios/{name}/reset")
async def reset_one(request: Request, name: str) -> Response:
    book = _book(request)
    book.reset(name)
    await counters_reset(_runtime(request), name)
    return json_response(await _summary(book, name))


@router.delete("/scenarios/{name}")
async def unload(request: Request, name: str) -> Response:
    book = _book(request)
    book.remove(name)
    _runtime(request).sync_scenario_faults()
    await scenarios_changed(_runtime(request), name=name, removed=True, active=True)
    return await _listing(book)


@router.post("/reset")
async def reset_all(request: Request) -> Response:
    book = _book(request)
    runtime = _runtime(request)
    runtime.reset()
    if runtime.shared is not None:
        await counters_reset(runtime)
        await runtime.reset_shared()
    deleted = await journal_of(request).clear_all()
    return json_response({"scenarios": book.names(), "requests_deleted": deleted})
