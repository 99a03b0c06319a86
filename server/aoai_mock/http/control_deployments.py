"""Deployments at run time, under ``/_mock/deployments`` (behind the admin key, like the rest of ``/_mock/``).

* ``GET /_mock/deployments``: ``{"object": "list", "active_scenario": name|null, "data": [deployment, ...]}``,
  every deployment a request can reach now, in the order a request finds them: the configured ones and those
  added here (the active scenario's of the same name replaces one where it stands, since it answers while the
  scenario is active), the active scenario's others, then those a fine-tuning job made;
* ``GET /_mock/deployments/{name}``: one of them;
* ``POST /_mock/deployments``: add one; the body (JSON, or YAML) is one entry of the configuration file's
  ``deployments:``. 201 with it as listed; 409 when the name is served already;
* ``PATCH /_mock/deployments/{name}``: change one with a JSON merge patch of the fields as the configuration
  writes them (:mod:`aoai_mock.behaviour.deployments` has the rules); 200 with it as listed;
* ``DELETE /_mock/deployments/{name}``: stop serving it (requests get Azure's ``DeploymentNotFound``); 200.

A bad body is a 400 ``invalid_deployment`` whose ``param`` names the field; an unknown name a 404
``unknown_deployment``. Only the configured deployments and those added here change: a scenario's are changed
by loading the scenario again, a fine-tuned model's follow its job (409). ``POST /_mock/reset`` serves the
configured deployments as configured again. Processes that share a Redis (``--state redis://``) all follow a
change made through any of them, within milliseconds (:mod:`aoai_mock.behaviour.shared_control`); otherwise
each process (each of ``--workers N``) has its own deployments, and a change reaches the one that took it.

One deployment, as listed: every field of :class:`~aoai_mock.config.Deployment` as the configuration file
writes it (defaults and derived values included), then what is worth seeing as it runs::

    "source": "config",            # "config", "control", "scenario:<name>" or "fine-tuning"
    "changed": false,              # a configured deployment changed through PATCH since the start (or reset)
    "requests_per_minute": 6000,   # the request quota in force (rate_limit's, else Azure's arithmetic)
    "paced": false,                # whether its answers wait (pacing)
    "quota": null,                 # enforced: {"tokens": bucket, "requests": bucket}
    "utilization": null            # provisioned: {"ptu", "input_tpm_per_ptu", "output_to_input_ratio",
                                   #   "capacity_tokens_per_minute", "utilization" (percent), "below_100_in_s"}

A bucket is ``{"remaining": n, "capacity": c, "full_in_s": s}``: what a request may spend now, what the
bucket holds when full, and seconds until it is (:mod:`aoai_mock.behaviour.ratelimit` has the model).
"""

from __future__ import annotations

from typing import Any

import yaml
from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.deployments import CONFIG, DeploymentConflict, UnknownDeployment
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.shared_control import deployment_changed
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.http.control import control_body, require_admin_key
from aoai_mock.http.render import json_response
from aoai_mock.wire import bounded_yaml

__all__ = ["router", "listing", "describe"]

FINE_TUNING = "fine-tuning"
SCENARIO = "scenario:"  # + the active scenario's name

router = APIRouter(prefix="/_mock", dependencies=[Depends(require_admin_key)])


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime  # type: ignore[no-any-return]


@router.get("/deployments")
async def list_deployments(request: Request) -> Response:
    runtime = _runtime(request)
    return json_response({"object": "list", "active_scenario": runtime.book.active, "data": listing(runtime)})


@router.get("/deployments/{name}")
async def get_deployment(request: Request, name: str) -> Response:
    found = next((entry for entry in listing(_runtime(request)) if entry["name"] == name), None)
    if found is None:
        raise UnknownDeployment(name)
    return json_response(found)


@router.post("/deployments")
async def add_deployment(request: Request) -> Response:
    runtime = _runtime(request)
    added = runtime.add_deployment(await _body(request))
    await deployment_changed(runtime, added.name)
    return json_response(_listed(runtime, added.name), 201)


@router.patch("/deployments/{name}")
async def change_deployment(request: Request, name: str) -> Response:
    runtime = _runtime(request)
    _changeable(runtime, name)
    runtime.change_deployment(name, await _body(request))
    await deployment_changed(runtime, name)
    return json_response(_listed(runtime, name))


@router.delete("/deployments/{name}")
async def remove_deployment(request: Request, name: str) -> Response:
    runtime = _runtime(request)
    _changeable(runtime, name)
    runtime.remove_deployment(name)
    await deployment_changed(runtime, name)
    return json_response({"name": name, "deleted": True})


def listing(runtime: Runtime) -> list[dict[str, Any]]:
    """Every deployment a request can reach now, described (see the module's docstring)."""
    table = runtime.deployments
    found: dict[str, tuple[Deployment, str]] = {d.name: (d, table.source(d.name)) for d in table}
    active = runtime.book.active
    if active is not None:
        for declared in runtime.book.get(active).deployments:
            found[declared.name] = (declared, SCENARIO + active)
    for name, extra in runtime.extra_deployments.items():
        found.setdefault(name, (extra, FINE_TUNING))
    return [describe(deployment, source, runtime) for deployment, source in found.values()]


def describe(deployment: Deployment, source: str, runtime: Runtime) -> dict[str, Any]:
    """One deployment as listed: its configuration's fields, then its source and live figures."""
    described = deployment.model_dump(mode="json")
    described["operations"] = sorted(deployment.operations)
    described["source"] = source
    described["changed"] = source == CONFIG and runtime.deployments.changed(deployment.name)
    described["requests_per_minute"] = deployment.requests_per_minute
    described["paced"] = deployment.pacing.enabled
    described["quota"] = runtime.limiter.state(deployment)
    described["utilization"] = runtime.provisioned.state(deployment)  # a provisioned deployment's, else None
    return described


def _listed(runtime: Runtime, name: str) -> dict[str, Any]:
    deployment = runtime.deployments.get(name)
    assert deployment is not None  # (just added or changed)
    return describe(deployment, runtime.deployments.source(name), runtime)


def _changeable(runtime: Runtime, name: str) -> None:
    """Only the table's deployments change here; a scenario's or a fine-tuned model's is a 409, not a 404."""
    if name in runtime.deployments:
        return
    active = runtime.book.active
    if active is not None and runtime.book.deployment(name, active) is not None:
        raise DeploymentConflict(f"aoai-mock: {name!r} is declared by the scenario {active!r}; load the scenario "
                                 "again to change it.")
    if name in runtime.extra_deployments:
        raise DeploymentConflict(f"aoai-mock: {name!r} is a fine-tuned model's deployment; it follows its job.")


async def _body(request: Request) -> Any:
    """The body as JSON or YAML (a configuration file's entry pasted as it is)."""
    body = await control_body(request)
    try:
        return bounded_yaml.load(body.decode("utf-8")) if body.strip() else None
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        message = f"aoai-mock: a deployment must be JSON or YAML: {exc}"
        raise InvalidRequest(message, code="invalid_deployment") from None
