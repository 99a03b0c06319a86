"""A real uvicorn server in a background thread, on a free port of 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar

import uvicorn

from aoai_mock.app import create_app
from aoai_mock.http.protocol import UVICORN_OPTIONS
from aoai_mock.settings import Settings

__all__ = ["LiveServer"]

T = TypeVar("T")


class _Server(uvicorn.Server):
    """uvicorn's server, keeping the event loop it serves on (for :meth:`LiveServer.call`)."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


class LiveServer:
    """``with LiveServer(settings) as server: server.url`` -- started on enter, stopped on exit."""

    def __init__(self, settings: Settings | None = None, fixtures_dir: Path | None = None) -> None:
        self.app = create_app(settings or Settings(port=0), fixtures_dir)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **UVICORN_OPTIONS
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._server.run, name="aoai-mock", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> "LiveServer":
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("aoai-mock did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def call(self, make: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
        """``await make()`` on the server's event loop, from another thread (a test's), and its result: how the
        test side reaches what lives on the loop (the store)."""
        loop = self._server.loop
        if loop is None:
            raise RuntimeError("aoai-mock is not running")
        return asyncio.run_coroutine_threadsafe(_awaited(make), loop).result(timeout)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()
