"""``aoai-mock`` as users run it, in a process of its own: started on a free port, used once healthy, stopped."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

__all__ = ["free_port", "running"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(
    command: str,
    *args: str,
    env: Mapping[str, str] | None = None,
    base_env: Mapping[str, str] | None = None,
    timeout: float = 20,
) -> Iterator[tuple[str, subprocess.Popen]]:
    """``aoai-mock <command> --port P <args>`` once its /_mock/health answers; ``env`` over ``base_env`` (by
    default this process's environment). Yields the URL and the process (stdout and stderr in one pipe)."""
    port = free_port()
    cmd = [sys.executable, "-m", "aoai_mock", command, "--port", str(port), *args]
    environment = {**(os.environ if base_env is None else base_env), **(env or {})}
    proc = subprocess.Popen(cmd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(url + "/_mock/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            assert time.monotonic() < deadline, f"aoai-mock {command} did not become healthy"
            time.sleep(0.05)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)
