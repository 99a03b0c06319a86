"""``create_app(settings)``: the FastAPI application with its routes, error handlers and front door."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.http import control
from aoai_mock.http.errors import install_error_handlers
from aoai_mock.http.front import AzureFront
from aoai_mock.http.routes import inference
from aoai_mock.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, fixtures_dir: Path | None = None) -> FastAPI:
    settings = settings or Settings()
    runtime = Runtime.create(settings, fixtures_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The tokenizers take a few hundred milliseconds to build: the current one before the first
        # request is served, the older one in the background.
        await anyio.to_thread.run_sync(tokens.preload, ("o200k_base",))
        background = threading.Thread(target=tokens.preload, args=(("cl100k_base",),), daemon=True)
        background.start()
        yield

    app = FastAPI(
        title="aoai-mock",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
        # FastAPI's own OpenTelemetry hooks cost microseconds on every request; the mock reports itself.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.runtime = runtime
    app.state.journal = control.Journal(settings.journal_size)
    install_error_handlers(app)
    app.include_router(inference.router)
    app.include_router(control.router)
    app.add_middleware(AzureFront, ids=runtime.ids, region=settings.region)
    return app
