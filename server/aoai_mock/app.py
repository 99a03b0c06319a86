"""``create_app(settings)``: the ASGI application. Every request enters through the front door
(:mod:`aoai_mock.http.front`), which answers the inference operations itself and passes the rest to the
framework application (FastAPI: :mod:`aoai_mock.http.framework`), built when first needed
(:mod:`aoai_mock.http.deferred`): a fresh server answers its health check and its first chat completion
without waiting for FastAPI and the resource families to load."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
from starlette.datastructures import State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.http.deferred import DeferredApp
from aoai_mock.http.front import AzureFront, Router
from aoai_mock.http.protocol import LIMITS, ConnectionLimits, connection_cap
from aoai_mock.http.resource_faults import resource_fault
from aoai_mock.http.routes import inference
from aoai_mock.settings import Settings
from aoai_mock.state.journal import Journal
from aoai_mock.state.metrics import Metrics

if TYPE_CHECKING:
    from fastapi import FastAPI

    from aoai_mock.state.redis_state import RedisState

__all__ = ["create_app", "app_for_worker", "own_process_collector", "WORKER_SETTINGS", "ReplayError"]


class ReplayError(ValueError):
    """``--replay``: the folder or the miss policy cannot be used."""


WORKER_SETTINGS = "AOAI_MOCK_WORKER_SETTINGS"  # the serve command's own values, as JSON, for --workers
# The framework application is built this long after start-up unless a request needs it before: after the
# first answers of a fresh server, and before most clients ask for a file or an assistant.
WARM_UP_AFTER = 1.0


def own_process_collector() -> None:
    """The garbage collector's pace for a process that is the server (``serve`` and its workers), not a host
    (the pytest plugin's thread leaves its process alone): a young collection after 50,000 allocations instead
    of 700, a full one a tenth as often. Under 500 concurrent paced streams the collector then ran 37 times
    instead of about 210, and never a full pass (one took 25-54 ms, with every stream waiting on it). The serve
    command keeps the collector off during start-up, and turns it on here."""
    gc.set_threshold(50_000, 20, 100)
    gc.enable()


def app_for_worker() -> MockApp:
    """The app of one ``--workers`` process: the same settings the serve command resolved."""
    import json
    import os

    from aoai_mock.settings import resolve

    given = json.loads(os.environ.get(WORKER_SETTINGS, "{}"))
    own_process_collector()
    return create_app(resolve({k: v for k, v in given.items() if v is not None}))


def create_app(settings: Settings | None = None, fixtures_dir: Path | None = None) -> MockApp:
    settings = settings or Settings()
    runtime = Runtime.create(settings, fixtures_dir)
    # Each of these imports what only its option needs, here, so that a server without it never loads it.
    if settings.state_path is not None:  # kept on disk; StateFileError when the file is unusable
        from aoai_mock.state.sqlite import SqliteStore

        runtime.store = SqliteStore(settings.state_path)  # its fine-tuned models are served from start-up on
    if settings.shared_state_url is not None:  # a client only: it connects on the first command
        from aoai_mock.state.redis_state import RedisState

        runtime.shared = RedisState.from_url(settings.shared_state_url)
        runtime.limiter.share(runtime.shared)
        from aoai_mock.state.redis_store import RedisStore

        runtime.store = RedisStore(runtime.shared)  # docs/shared-state.md; on the same client and pool
        from aoai_mock.behaviour.media_store import share

        share(runtime.media, runtime.store, _image_recipe)  # image urls and spoken texts, for every process
    if settings.scenarios:  # a broken file stops the start here, with every problem (ScenarioError)
        from aoai_mock.behaviour.scenarios.engine import ScenarioBook
        from aoai_mock.behaviour.scenarios.loader import load_paths

        runtime.book = ScenarioBook(load_paths(settings.scenarios))
        runtime.sync_scenario_faults()
    if runtime.shared is not None:  # fault schedules and scenario counters too (behaviour/shared_control.py)
        from aoai_mock.behaviour.shared_control import attach

        attach(runtime)
    return MockApp(settings, runtime)


class MockApp:
    """The application: every request enters through :attr:`front`; the framework application behind it
    (:attr:`framework`) is built when first needed, or :data:`WARM_UP_AFTER` seconds after start-up.

    ``state`` holds ``runtime``, ``journal``, ``metrics``, ``front`` (the whole application, where a batch sends
    its lines) and, once built, the framework's ``metrics_registry``: the framework application shares it, so
    its routes read ``request.app.state``."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        self.settings = settings
        self.state = State()
        self.state.runtime = runtime
        self.state.journal = journal = _journal(settings, runtime)
        self.state.metrics = measured = Metrics(runtime.deployment)  # scenario and fine-tuned deployments count too
        self.deferred = DeferredApp(self._build_framework, runtime)
        router: Router = inference.fast_route
        if settings.replay_dir is not None:  # a bad folder or policy stops the start (ReplayError)
            router = _replay_router(settings, router, self.deferred)
        self.front = self.state.front = AzureFront(self.deferred, runtime, router, journal, measured, resource_fault)
        self.limits = ConnectionLimits(settings.read_timeout, connection_cap(settings.max_connections))

    @property
    def framework(self) -> FastAPI:
        """The FastAPI application (built now if it is not yet)."""
        return self.deferred.get()  # type: ignore[return-value]

    @property
    def routes(self) -> list[Any]:
        return self.framework.routes  # type: ignore[no-any-return]

    def _build_framework(self) -> ASGIApp:
        from aoai_mock.http.framework import build_framework  # the first need of FastAPI

        app = build_framework(self.state)
        gc.freeze()  # as start-up's objects (the lifespan): long-lived, out of the collector's way
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        else:
            await self.front(scope, receive, send)

    @asynccontextmanager
    async def _serving(self) -> AsyncIterator[dict[str, Any]]:
        # What start-up made lives as long as the server: out of the collector's way, so that its full
        # collections (which the journal's turnover sets off) walk only what requests leave behind. The
        # tokenizers are not built here: each the first time a request needs it (tens of MiB each).
        gc.freeze()
        settings, runtime = self.settings, self.state.runtime
        async with anyio.create_task_group() as tasks:
            if settings.watch and settings.scenarios:
                from aoai_mock.behaviour.scenarios.watch import watch

                tasks.start_soon(watch, settings.scenarios, runtime.load_scenarios)
            tasks.start_soon(self.deferred.warm_up, WARM_UP_AFTER)
            reachable = runtime.shared is None or await _check_redis(runtime.shared)
            if reachable and (settings.state_path is not None or runtime.shared is not None):
                from aoai_mock.behaviour.fine_tuning import restore_deployments

                await restore_deployments(runtime)  # fine-tuned models of earlier runs (or other processes)
            if runtime.shared is not None:
                from aoai_mock.behaviour.shared_control import follow  # control changes made on other processes

                tasks.start_soon(follow, runtime)
                from aoai_mock.state.shared_journal import keep_writing  # each request's record, off its answer's path

                tasks.start_soon(keep_writing, self.state.journal)
                from aoai_mock.behaviour.shared_fault_log import keep_writing as keep_logging  # injected faults

                tasks.start_soon(keep_logging, runtime.faults.shared_log)
                from aoai_mock.state.metrics import publish  # every process's counts on any one's /metrics

                tasks.start_soon(publish, self.state.metrics, runtime.shared)
            yield {LIMITS: self.limits}  # uvicorn's app state, where the protocol reads its limits
            tasks.cancel_scope.cancel()
        # A SIGTERM ends the process without exit handlers (uvicorn re-raises it): the state file takes in its
        # write-ahead log now, so the main file alone holds everything acknowledged.
        if runtime.shared is not None:
            await runtime.shared.close()  # the Redis store's client too
        else:
            close = getattr(runtime.store, "close", None)
            if close is not None:
                close()
        for observer in self.front.observers:  # what one holds (OpenTelemetry's last spans and points) goes out
            done = getattr(observer, "close", None)
            if done is not None:
                await anyio.to_thread.run_sync(done)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI lifespan protocol around :meth:`_serving`."""
        started = False
        await receive()  # lifespan.startup
        try:
            async with self._serving() as state:
                if "state" in scope:
                    scope["state"].update(state)
                await send({"type": "lifespan.startup.complete"})
                started = True
                await receive()  # lifespan.shutdown
        except BaseException as exc:
            failed: Message = {"type": "lifespan.shutdown.failed" if started else "lifespan.startup.failed"}
            await send({**failed, "message": repr(exc)})
            raise
        await send({"type": "lifespan.shutdown.complete"})


def _journal(settings: Settings, runtime: Runtime) -> Journal:
    """In memory; with shared state, written to Redis too (:mod:`aoai_mock.state.shared_journal`)."""
    if runtime.shared is None:
        return Journal(settings.journal_size)
    from aoai_mock.state.shared_journal import SharedJournal

    return SharedJournal(settings.journal_size, runtime.shared)


def _image_recipe(fields: dict[str, Any]) -> object:
    """An image recipe another process kept in Redis (Pillow is loaded when the first image is asked for)."""
    from aoai_mock.behaviour.image_render import ImageRecipe

    return ImageRecipe(**fields)


async def _check_redis(shared: RedisState) -> bool:
    """Start-up asks Redis once: out of reach, the server starts all the same (its log says so, once, naming
    Redis; no fine-tuned model of earlier runs is served) and the requests that need Redis get a 500 until it
    answers. Whether it answered."""
    from aoai_mock.state.redis_state import RedisUnavailable

    try:
        return await shared.ping()
    except RedisUnavailable:
        return False


def _replay_router(settings: Settings, fallback: Router, framework: ASGIApp) -> Router:
    from aoai_mock.http import replay  # only a replaying server loads the recordings' reader
    from aoai_mock.record.fixtures import RecordingError

    try:
        book = replay.ReplayBook.load(settings.replay_dir, settings.replay_speed, settings.replay_miss)
    except (RecordingError, ValueError) as exc:
        raise ReplayError(str(exc)) from None
    return replay.replay_router(book, fallback, framework)
