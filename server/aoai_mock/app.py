"""``create_app(settings)``: the FastAPI application with its routes, error handlers and front door."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from aoai_mock.behaviour.fine_tuning import restore_deployments
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.engine import ScenarioBook
from aoai_mock.behaviour.scenarios.loader import load_paths
from aoai_mock.behaviour.scenarios.watch import watch
from aoai_mock.http import (
    control,
    control_faults,
    control_scenarios,
    control_state,
    metrics,
    replay,
)
from aoai_mock.http.errors import install_error_handlers
from aoai_mock.http.front import AzureFront
from aoai_mock.http.protocol import LIMITS, ConnectionLimits, connection_cap
from aoai_mock.http.resource import v1_routes
from aoai_mock.http.resource_faults import resource_fault
from aoai_mock.http.routes import assistants as assistant_routes
from aoai_mock.http.routes import audio as audio_routes
from aoai_mock.http.routes import batches as batch_routes
from aoai_mock.http.routes import files as file_routes
from aoai_mock.http.routes import fine_tuning as fine_tuning_routes
from aoai_mock.http.routes import images as image_routes
from aoai_mock.http.routes import inference, models
from aoai_mock.http.routes import responses as response_routes
from aoai_mock.http.routes import runs as run_routes
from aoai_mock.http.routes import threads as thread_routes
from aoai_mock.http.routes import vector_stores as vector_store_routes
from aoai_mock.record.fixtures import RecordingError
from aoai_mock.settings import Settings
from aoai_mock.state.metrics import Metrics
from aoai_mock.state.sqlite import SqliteStore

__all__ = ["create_app", "app_for_worker", "own_process_collector", "WORKER_SETTINGS", "ReplayError"]


class ReplayError(ValueError):
    """``--replay``: the folder or the miss policy cannot be used."""


# The API families served through the framework, in matching order.
_FAMILIES = (
    file_routes,
    batch_routes,
    fine_tuning_routes,
    models,
    response_routes,
    image_routes,
    audio_routes,
    run_routes,  # before threads: POST /openai/threads/runs is not a thread
    thread_routes,
    assistant_routes,
    vector_store_routes,
)

WORKER_SETTINGS = "AOAI_MOCK_WORKER_SETTINGS"  # the serve command's own values, as JSON, for --workers


def own_process_collector() -> None:
    """The garbage collector's pace for a process that is the server (``serve`` and its workers), not a host
    (the pytest plugin's thread leaves its process alone): a young collection after 50,000 allocations instead
    of 700, a full one a tenth as often. Under 500 concurrent paced streams the collector then ran 37 times
    instead of about 210, and never a full pass (one took 25-54 ms, with every stream waiting on it)."""
    gc.set_threshold(50_000, 20, 100)


def app_for_worker() -> FastAPI:
    """The app of one ``--workers`` process: the same settings the serve command resolved."""
    import json
    import os

    from aoai_mock.settings import resolve

    given = json.loads(os.environ.get(WORKER_SETTINGS, "{}"))
    own_process_collector()
    return create_app(resolve({k: v for k, v in given.items() if v is not None}))


def create_app(settings: Settings | None = None, fixtures_dir: Path | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime.create(settings, fixtures_dir)
    if settings.state_path is not None:  # kept on disk; StateFileError when the file is unusable
        runtime.store = SqliteStore(settings.state_path)
        restore_deployments(runtime)  # fine-tuned models of earlier runs are deployments again
    if settings.scenarios:  # a broken file stops the start here, with every problem (ScenarioError)
        runtime.book = ScenarioBook(load_paths(settings.scenarios))
        runtime.sync_scenario_faults()

    limits = ConnectionLimits(settings.read_timeout, connection_cap(settings.max_connections))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # What start-up made lives as long as the server: out of the collector's way, so that its full
        # collections (which the journal's turnover sets off) walk only what requests leave behind. The
        # tokenizers are not built here: each the first time a request needs it (tens of MiB each).
        gc.freeze()
        async with anyio.create_task_group() as tasks:
            if settings.watch and settings.scenarios:
                tasks.start_soon(watch, settings.scenarios, runtime.load_scenarios)
            yield {LIMITS: limits}  # uvicorn's app state, where the protocol reads its limits
            tasks.cancel_scope.cancel()
        # A SIGTERM ends the process without exit handlers (uvicorn re-raises it): the state file takes in its
        # write-ahead log now, so the main file alone holds everything acknowledged.
        close = getattr(runtime.store, "close", None)
        if close is not None:
            close()

    app = _App(
        title="aoai-mock",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks cost microseconds on every request; the mock reports itself.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.state.journal = journal = control.Journal(settings.journal_size)
    install_error_handlers(app)
    app.include_router(control.router)
    app.include_router(control_scenarios.router)
    app.include_router(control_faults.router)
    app.include_router(control_state.router)
    for family in _FAMILIES:
        app.include_router(family.router)
    for family in _FAMILIES:  # under /openai/v1/ too, where the operation registry says v1 serves them
        app.include_router(v1_routes(family.router))
    app.state.metrics = measured = Metrics(runtime.deployment)  # scenario and fine-tuned deployments count too
    app.state.metrics_registry = metrics.registry_for(measured)
    app.include_router(metrics.router)
    framework = super(_App, app).__call__
    router = inference.fast_route
    if settings.replay_dir is not None:  # a bad folder or policy stops the start (ReplayError)
        router = replay.replay_router(_replay_book(settings), router, framework)
    app.front = AzureFront(framework, runtime, router, journal, measured, resource_fault)
    return app


def _replay_book(settings: Settings) -> replay.ReplayBook:
    try:
        return replay.ReplayBook.load(settings.replay_dir, settings.replay_speed, settings.replay_miss)
    except (RecordingError, ValueError) as exc:
        raise ReplayError(str(exc)) from None


class _App(FastAPI):
    """FastAPI behind the front door: every request enters through :class:`AzureFront` first."""

    front: AzureFront

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.front(scope, receive, send)
