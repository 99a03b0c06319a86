"""Control API changes to fault plans, scenarios and deployments, seen by every process that shares one Redis.

A process that changes something through ``/_mock/`` (a fault plan installed or removed, a scenario loaded,
activated, deactivated or unloaded, a deployment added, changed or removed, counters reset, everything reset)
changes it in itself first, writes the new state to Redis and publishes a notice on one channel; every other
process follows (:func:`follow`, a task of the server's lifespan), reads the state and applies it. Requests
never ask Redis whether something changed: a process that has no plan installed answers without a round trip,
and a change reaches the others within milliseconds (the notice's delivery, one read). A process that starts,
or that gets Redis back after an outage, reads the whole state once before it follows.

A plan with a ``window`` opens it when the first process installed it: the process that installs a plan (or
resets the counters) writes that moment with the plan's counters before it announces the change, and the
others, and processes started later, read it when they install the plan (``FaultBook.anchor_shared``).
``POST /_mock/reset`` clears the log of injected faults every process lists
(:mod:`aoai_mock.behaviour.shared_fault_log`).

In Redis (under the mock's namespace): ``control:faults`` (the control plan, as JSON with its version),
``control:scenarios`` (a hash: each scenario loaded or unloaded through the API, as its YAML and version),
``control:active`` (the active scenario, set once one is activated or deactivated through the API),
``control:deployments`` (a hash: each deployment changed through the API since the last reset, as its fields
written in the configuration's shape, or null when it is not served, and its version), ``control:version``
(the numbers those versions are taken from) and the ``control`` channel. ``POST /_mock/reset`` deletes
``control:deployments``: every process serves the configured deployments as configured again.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from pydantic import ValidationError

from aoai_mock.behaviour.deployments import written
from aoai_mock.behaviour.faults import FaultPlan, dump_plan, load_plan
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.shared_counters import SharedCounters
from aoai_mock.config import Deployment
from aoai_mock.errors import AzureError

__all__ = ["attach", "follow", "faults_changed", "scenarios_changed", "deployment_changed", "counters_reset",
           "CONTROL_SOURCE"]

log = logging.getLogger("aoai_mock")

CONTROL_SOURCE = "control"
_RETRY_S = 1.0  # after Redis went away, the follower tries again this often
_WAIT_S = 1.0  # a wait for a notice, shorter than the client's read timeout


def attach(runtime: Runtime) -> None:
    """Count fault schedules and scenario counters in ``runtime.shared``'s Redis, and log injected faults there
    (nothing without it)."""
    if runtime.shared is None:
        return
    from aoai_mock.behaviour.shared_fault_log import SharedFaultLog  # (it imports redis)

    counters = SharedCounters(runtime.shared)
    runtime.faults.share(counters, SharedFaultLog(runtime.shared, runtime.faults.log_size, counters.process))
    runtime.book.share(counters)


def _of(runtime: Runtime) -> SharedCounters | None:
    return runtime.faults.shared


async def _version(shared: SharedCounters) -> int:
    return int(await shared.state.call(shared.state.client.incr(shared.control_key("version"))))


async def _notify(shared: SharedCounters, what: str) -> None:
    message = orjson.dumps({"from": shared.process, "what": what})
    await shared.state.call(shared.state.client.publish(shared.control_key(), message))


# -- what a process changed ----------------------------------------------------------------------------


async def faults_changed(runtime: Runtime, plan: FaultPlan | None) -> list[str] | None:
    """The control plan: ``plan`` installed, or None removed, here and on every process.
    Returns the installed entry ids, or None without shared state (the caller installs it itself)."""
    shared = _of(runtime)
    if shared is None:
        return None
    old = runtime.faults.shared_keys(CONTROL_SOURCE)
    client = shared.state.client
    if plan is None:
        runtime.faults.clear(CONTROL_SOURCE)
        await shared.state.call(client.delete(shared.control_key("faults"), *old))
        shared.faults_version = 0
        await _notify(shared, "faults")
        return []
    entries = plan.faults
    version = await _version(shared)
    ids = runtime.faults.install(entries, CONTROL_SOURCE, version=version)
    shared.faults_version = version
    await runtime.faults.anchor_shared()  # its windows open now, for every process
    stored = orjson.dumps({"version": version, "faults": dump_plan(entries)})
    await shared.state.call(client.set(shared.control_key("faults"), stored))
    if old:
        await shared.state.call(client.delete(*old))
    await _notify(shared, "faults")
    return ids


async def scenarios_changed(runtime: Runtime, *, text: str | None = None, name: str | None = None,
                            removed: bool = False, active: bool = False) -> None:
    """A scenario was loaded (``text``, its YAML), unloaded (``removed``) or activated or deactivated
    (``active``: the book's active one now) here: the same on every process."""
    shared = _of(runtime)
    if shared is None:
        return
    client = shared.state.client
    if name is not None and (text is not None or removed):
        version = await _version(shared)
        shared.scenarios[name] = 0 if removed else version
        if text is not None:
            runtime.book.load(runtime.book.get(name), version)  # its counters: those of this version
            runtime.sync_scenario_faults()
        stored = orjson.dumps({"version": version, "text": text, "removed": removed})
        await shared.state.call(client.hset(shared.control_key("scenarios"), name, stored))
    if active:
        await shared.state.call(client.set(shared.control_key("active"), runtime.book.active or ""))
    await runtime.faults.anchor_shared()  # the active scenario's windows open now, unless they opened before
    await _notify(shared, "scenarios")


async def deployment_changed(runtime: Runtime, name: str) -> None:
    """The deployment ``name`` was added, changed or removed here (``/_mock/deployments``): every process serves
    it as this one does now."""
    shared = _of(runtime)
    if shared is None:
        return
    version = await _version(shared)
    shared.deployments[name] = version
    deployment = runtime.deployments.get(name)
    stored = orjson.dumps({"version": version, "deployment": None if deployment is None else written(deployment)})
    await shared.state.call(shared.state.client.hset(shared.control_key("deployments"), name, stored))
    await _notify(shared, "deployments")


async def counters_reset(runtime: Runtime, scenario: str | None = None) -> None:
    """Counters start again on every process: one scenario's, or (``POST /_mock/reset``, after
    :meth:`Runtime.reset` here) every scenario's and every fault plan's (their windows open again now, and the
    log of injected faults is emptied), and every process (:meth:`Runtime.reset`) serves the configured
    deployments as configured again."""
    shared = _of(runtime)
    if shared is None:
        return
    keys = runtime.book.shared_keys(scenario)
    starts: dict[str, float] = {}
    if scenario is None:
        keys += runtime.faults.shared_keys()
        keys.append(shared.control_key("deployments"))
        shared.deployments.clear()
        starts = runtime.faults.window_starts()
    await shared.forget(keys, starts)
    if scenario is None:
        runtime.faults.anchor(starts)
        if runtime.faults.shared_log is not None:
            await runtime.faults.shared_log.clear()
        await _notify(shared, "reset")


# -- what the others changed ---------------------------------------------------------------------------


async def follow(runtime: Runtime) -> None:
    """Apply what other processes change, as long as the server runs (a task of its lifespan): the whole
    state first, then each notice; after an outage, the whole state again once Redis answers."""
    shared = _of(runtime)
    if shared is None:
        return
    down = False
    while True:
        pubsub = shared.state.client.pubsub()
        try:
            await pubsub.subscribe(shared.control_key())
            await _catch_up(runtime, shared)
            down = False
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=_WAIT_S)
                if message is not None:
                    await _apply(runtime, shared, message["data"])
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis gone (or a notice this process cannot apply): retried
            if not down:
                log.warning("following control changes through Redis at %s stopped (%r); retrying", shared.state.url,
                            exc)
                down = True
            await asyncio.sleep(_RETRY_S)
        finally:
            try:
                await asyncio.shield(pubsub.aclose())
            except Exception:  # noqa: BLE001 - a dead connection closes as well as it can
                pass


async def _apply(runtime: Runtime, shared: SharedCounters, data: bytes) -> None:
    notice = orjson.loads(data)
    if notice.get("from") == shared.process:
        return
    what = notice.get("what")
    if what == "faults":
        await _faults(runtime, shared)
    elif what == "scenarios":
        await _scenarios(runtime, shared)
    elif what == "deployments":
        await _deployments(runtime, shared)
    elif what == "reset":
        runtime.reset()  # the origin's reset: counters, log, windows, this process's caches, deployments
        await runtime.faults.anchor_shared()  # windows: from the moment the origin reset them
        shared.deployments.clear()
        await _deployments(runtime, shared)  # (a change made since the reset)


async def _catch_up(runtime: Runtime, shared: SharedCounters) -> None:
    await _scenarios(runtime, shared)
    await _faults(runtime, shared)
    await _deployments(runtime, shared)
    await runtime.faults.anchor_shared(every=True)  # scenarios' plans given at start; a Redis that came back empty


async def _faults(runtime: Runtime, shared: SharedCounters) -> None:
    raw = await shared.state.call(shared.state.client.get(shared.control_key("faults")))
    if raw is None:
        if shared.faults_version != 0:
            runtime.faults.clear(CONTROL_SOURCE)
            shared.faults_version = 0
        return
    stored = orjson.loads(raw)
    version = stored["version"]
    if version != shared.faults_version:
        runtime.faults.install(load_plan(stored["faults"]), CONTROL_SOURCE, version=version)
        shared.faults_version = version
        await runtime.faults.anchor_shared()  # its windows opened when the process that installed it installed it


async def _scenarios(runtime: Runtime, shared: SharedCounters) -> None:
    from aoai_mock.behaviour.scenarios import ScenarioError, load_text

    client = shared.state.client
    found = await shared.state.call(client.hgetall(shared.control_key("scenarios")))
    active = await shared.state.call(client.get(shared.control_key("active")))
    book = runtime.book
    for raw_name, raw in sorted(found.items(), key=lambda item: orjson.loads(item[1])["version"]):
        name, stored = raw_name.decode(), orjson.loads(raw)
        version = 0 if stored["removed"] else stored["version"]
        if shared.scenarios.get(name) == version:
            continue
        shared.scenarios[name] = version
        try:
            if stored["removed"]:
                if name in book.names():
                    book.remove(name)
            else:
                scenario = load_text(stored["text"], source="<POST /_mock/scenarios>", base_dir=runtime.fixtures_dir)
                book.load(scenario, version)
        except (ScenarioError, AzureError) as exc:  # another process took it; a fixture missing here, say
            log.warning("a scenario changed through another process cannot be applied here: %s", exc)
    if active is not None:
        name = active.decode() or None
        if name is None or name in book.names():
            book.activate(name)
    runtime.sync_scenario_faults()
    await runtime.faults.anchor_shared()


async def _deployments(runtime: Runtime, shared: SharedCounters) -> None:
    """Each deployment changed through another process as it is there; one this process took from Redis that
    Redis no longer has (a reset missed during an outage, a Redis that restarted empty) as configured."""
    found = await shared.state.call(shared.state.client.hgetall(shared.control_key("deployments")))
    applied = shared.deployments
    for raw_name, raw in sorted(found.items(), key=lambda item: orjson.loads(item[1])["version"]):
        name, stored = raw_name.decode(), orjson.loads(raw)
        if applied.get(name) == stored["version"]:
            continue
        applied[name] = stored["version"]
        try:
            deployment = None if stored["deployment"] is None else Deployment.model_validate(stored["deployment"])
        except ValidationError as exc:  # a process of another version of the mock wrote it
            log.warning("the deployment %r changed through another process cannot be served here: %s", name, exc)
            continue
        runtime.put_deployment(name, deployment)
    for name in [name for name in applied if name.encode() not in found]:
        del applied[name]
        runtime.put_deployment(name, runtime.deployments.configured(name))
