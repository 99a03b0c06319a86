"""A real uvicorn server in a background thread, on a free port of 127.0.0.1."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from aoai_mock.app import create_app
from aoai_mock.http.protocol import UVICORN_OPTIONS
from aoai_mock.settings import Settings

__all__ = ["LiveServer"]


class LiveServer:
    """``with LiveServer(settings) as server: server.url`` -- started on enter, stopped on exit."""

    def __init__(self, settings: Settings | None = None, fixtures_dir: Path | None = None) -> None:
        self.app = create_app(settings or Settings(port=0), fixtures_dir)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=0, log_level="warning", lifespan="on", **UVICORN_OPTIONS
        )
        self._server = uvicorn.Server(config)
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

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
