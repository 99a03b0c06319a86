"""The framework application, built when it is first needed rather than at start-up.

Importing FastAPI and the resource families, and building their routes, costs about half a second; the
answering operations (served by the front door without the framework, :mod:`aoai_mock.http.front`) and the
health check need not wait for it. ``GET /_mock/health`` is answered here, the framework route's bytes
(:mod:`aoai_mock.http.health`); the first request for anything else waits while the application is built in a
worker thread (the loop goes on answering meanwhile), and :meth:`DeferredApp.warm_up` builds it unasked soon
after start-up.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.http.health import HEALTH_PATH, health

__all__ = ["DeferredApp"]

log = logging.getLogger("aoai_mock")


class DeferredApp:
    """An ASGI application standing for the one ``build`` makes, which it builds once, on the first request
    that needs it (or :meth:`get`, :meth:`warm_up`)."""

    def __init__(self, build: Callable[[], ASGIApp], runtime: Runtime) -> None:
        self._build = build
        self._runtime = runtime
        self._app: ASGIApp | None = None
        self._lock = threading.Lock()  # one build, whichever thread asks first

    @property
    def built(self) -> bool:
        return self._app is not None

    def get(self) -> ASGIApp:
        """The application, built now if it is not yet (blocking)."""
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._build()
        return self._app

    async def ready(self) -> ASGIApp:
        """The application, built in a worker thread if it is not yet."""
        return self._app or await anyio.to_thread.run_sync(self.get)

    async def warm_up(self, delay: float) -> None:
        """Build the application ``delay`` seconds from now, unless a request has needed it before."""
        await anyio.sleep(delay)
        try:
            await self.ready()
        except Exception:  # a bug of ours: the requests that need the application get the 500, the rest go on
            log.exception("building the framework application failed")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == HEALTH_PATH and scope["method"] == "GET":
            await health(self._runtime)(scope, receive, send)
            return
        await (self._app or await self.ready())(scope, receive, send)
