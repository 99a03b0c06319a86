"""The framework application: FastAPI with the resource families (files, batches, fine-tuning, models,
Responses, images, audio, assistants, threads, runs, vector stores), the control API under ``/_mock/`` and
``/metrics``, with Azure's error bodies. The answering operations never reach it (the front door serves them:
:mod:`aoai_mock.http.front`); :mod:`aoai_mock.http.deferred` builds it when it is first needed."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import State

from aoai_mock.http import (
    control,
    control_deployments,
    control_faults,
    control_scenarios,
    control_state,
    metrics,
    ui,
)
from aoai_mock.http.errors import install_error_handlers
from aoai_mock.http.resource import v1_routes
from aoai_mock.http.routes import assistants as assistant_routes
from aoai_mock.http.routes import audio as audio_routes
from aoai_mock.http.routes import batches as batch_routes
from aoai_mock.http.routes import files as file_routes
from aoai_mock.http.routes import fine_tuning as fine_tuning_routes
from aoai_mock.http.routes import images as image_routes
from aoai_mock.http.routes import models
from aoai_mock.http.routes import realtime as realtime_routes
from aoai_mock.http.routes import responses as response_routes
from aoai_mock.http.routes import runs as run_routes
from aoai_mock.http.routes import threads as thread_routes
from aoai_mock.http.routes import vector_stores as vector_store_routes

__all__ = ["build_framework"]

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


def build_framework(state: State) -> FastAPI:
    """The FastAPI application, sharing ``state`` (``runtime``, ``journal``, ``metrics``, ``front``: what its
    routes read from ``request.app.state``) with the application that holds it; the lifespan is that
    application's."""
    app = FastAPI(
        title="aoai-mock",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # FastAPI's own OpenTelemetry hooks cost microseconds on every request; the mock reports itself.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state = state
    state.metrics_registry = metrics.registry_for(state.metrics)
    install_error_handlers(app)
    app.include_router(control.router)
    app.include_router(control_scenarios.router)
    app.include_router(control_faults.router)
    app.include_router(control_state.router)
    app.include_router(control_deployments.router)
    app.include_router(ui.router)
    for family in _FAMILIES:
        app.include_router(family.router)
    for family in _FAMILIES:  # under /openai/v1/ too, where the operation registry says v1 serves them
        app.include_router(v1_routes(family.router))
    app.include_router(realtime_routes.router)  # WebSockets: /openai/realtime, /openai/v1/realtime
    app.include_router(metrics.router)
    return app
