"""A real uvicorn server in a background thread, on a free port of 127.0.0.1; HTTPS (and wss://) when the
settings say ``tls``."""

from __future__ import annotations

import asyncio
import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import uvicorn

from aoai_mock.app import create_app
from aoai_mock.http.protocol import UVICORN_OPTIONS
from aoai_mock.settings import Settings
from aoai_mock.tls import TlsFiles, generated, own

__all__ = ["LiveServer"]

T = TypeVar("T")


class _Server(uvicorn.Server):
    """uvicorn's server, keeping the event loop it serves on (for :meth:`LiveServer.call`)."""

    loop: asyncio.AbstractEventLoop | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().serve(sockets)


class LiveServer:
    """``with LiveServer(settings) as server: server.url`` -- started on enter, stopped on exit.

    With ``Settings(tls=True)`` it serves HTTPS with a certificate from a CA made for this server alone (in a
    temporary folder removed on stop, unless ``tls_dir`` names one), or the ``tls_cert``/``tls_key`` given;
    ``server.ca`` is the CA's file and ``server.ssl_context()`` trusts it and nothing else."""

    def __init__(self, settings: Settings | None = None, fixtures_dir: Path | None = None) -> None:
        settings = settings or Settings(port=0)
        self.app = create_app(settings, fixtures_dir)
        self._made: Path | None = None
        self.tls = self._certificate(settings)
        served: dict[str, Any] = {}
        if self.tls is not None:
            served = {"ssl_certfile": str(self.tls.certfile), "ssl_keyfile": str(self.tls.keyfile)}
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **UVICORN_OPTIONS, **served
        )
        self._server = _Server(config)
        self._thread = threading.Thread(target=self._server.run, name="aoai-mock", daemon=True)
        self.port = 0

    def _certificate(self, settings: Settings) -> TlsFiles | None:
        if not settings.tls:
            return None
        if settings.tls_cert is not None and settings.tls_key is not None:
            return own(settings.tls_cert, settings.tls_key)
        folder = settings.tls_dir
        if folder is None:
            folder = self._made = Path(tempfile.mkdtemp(prefix="aoai-mock-tls-"))
        return generated(folder)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca(self) -> Path | None:
        """The CA certificate clients trust, when the server made its certificate (else None)."""
        return None if self.tls is None else self.tls.ca

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting this server's CA only (``httpx.Client(verify=...)``, websockets' ``ssl=``)."""
        if self.ca is None:
            raise ValueError("this server made no CA (plain HTTP, or the user's own certificate)")
        return ssl.create_default_context(cafile=str(self.ca))

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
        if self._made is not None:
            shutil.rmtree(self._made, ignore_errors=True)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()
