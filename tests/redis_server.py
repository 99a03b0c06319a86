"""A real Redis for the tests: Debian's ``redis-server`` on a free port in a temporary folder, one per session.

``redis_url`` is its URL (``redis://127.0.0.1:P/0``), emptied (FLUSHALL) before every test that asks for it;
``redis_server`` is the :class:`RedisServer` itself, which outage tests stop and start again on the same port.
Without ``/usr/bin/redis-server`` these tests skip, saying how to install it (``make test`` does, on CI:
tests/redis.sh). Nothing here uses the system's Redis service.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["RedisServer", "REDIS_SERVER", "redis_server", "redis_url"]

REDIS_SERVER = "/usr/bin/redis-server"
_START_TIMEOUT_S = 10.0


class RedisServer:
    """One ``redis-server`` process: no persistence, its folder a temporary one, its port kept across restarts."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   "--save", "", "--appendonly", "no", "--daemonize", "no"]
        log = open(self.folder / "redis.log", "ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start: {(self.folder / 'redis.log').read_text()[-2000:]}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop it (what it held is gone: nothing is saved)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def command(self, *parts: str) -> bytes:
        """One command over a plain socket, its raw reply (tests need no client library for this)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
            conn.sendall(_resp(parts))
            return conn.recv(65536)

    def answers(self) -> bool:
        try:
            return self.command("PING") == b"+PONG\r\n"
        except OSError:
            return False

    def flush(self) -> None:
        assert self.command("FLUSHALL") == b"+OK\r\n"


def _resp(parts: tuple[str, ...]) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for part in parts:
        data = part.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if shutil.which(REDIS_SERVER) is None:
        pytest.skip(f"{REDIS_SERVER} is missing: install Debian's redis-server (apt-get install -y redis-server)")
    with tempfile.TemporaryDirectory(prefix="aoai-mock-redis-") as folder:
        server = RedisServer(Path(folder))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture()
def redis_url(redis_server: RedisServer) -> str:
    if not redis_server.answers():  # an outage test that failed half-way left it stopped
        redis_server.start()
    redis_server.flush()
    return redis_server.url
