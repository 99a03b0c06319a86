"""Spawning, health-waiting, CPU pinning and killing of benchmark servers."""

from __future__ import annotations

import ctypes
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
HOST = "127.0.0.1"

AOAI_CMD = (  # no request lines, as the baseline's --no-access-log; by the environment, which older checkouts ignore
    "env AOAI_MOCK_REQUEST_LOG=0 {python} -m aoai_mock serve --host 127.0.0.1 --port {port}"
    " --config {bench}/config.yaml"
)
BASELINE_CMD = (
    "{python} -m uvicorn baseline_app:app --app-dir {bench} --host 127.0.0.1"
    " --port {port} --workers 1 --loop {loop} --http {http}"
    " --no-access-log --log-level warning"
)

SAME_PROTOCOL_BASELINE_CMD = "{python} {bench}/baseline_same_protocol.py {port}"

_LIVE: list["Server"] = []  # every server still running, for emergency cleanup


def free_port() -> int:
    """A currently free loopback TCP port (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def can_pin() -> bool:
    """True when server and client can each get a CPU of their own."""
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


def cpu_split() -> tuple[int, set[int]]:
    """(server CPU, client CPUs): the first allowed CPU goes to the server."""
    cpus = sorted(os.sched_getaffinity(0))
    return cpus[0], set(cpus[1:])


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ, **(extra or {}))
    src = [str(p) for p in (ROOT / "server", ROOT / "src") if p.is_dir()]
    env["PYTHONPATH"] = os.pathsep.join(src + [env.get("PYTHONPATH", "")]).strip(os.pathsep)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _child_setup(cpu: int | None) -> Callable[[], None]:
    """Runs in the child before exec: optional CPU pin, die if we die."""
    def setup() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        try:  # PR_SET_PDEATHSIG: backstop if the benchmark is SIGKILLed
            ctypes.CDLL(None).prctl(1, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
    return setup


class Server:
    """One server process in its own session, killed as a process group."""

    def __init__(self, name: str, cmd_template: str, pin_cpu: int | None = None,
                 env: dict[str, str] | None = None, **fmt: str) -> None:
        self.name = name
        self.port = free_port()
        self.base = f"http://{HOST}:{self.port}"
        self.cmd = shlex.split(cmd_template.format(
            python=sys.executable, port=self.port, bench=BENCH, **fmt))
        self.pin_cpu = pin_cpu
        self.env = env
        self.log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> "Server":
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=_env(self.env), stdin=subprocess.DEVNULL,
            stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_child_setup(self.pin_cpu))
        _LIVE.append(self)
        return self

    def wait_healthy(self, path: str = "/_mock/health", timeout: float = 30.0) -> None:
        """Poll GET path until it answers 200; raise with the log tail if not."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=httpx.Timeout(1.0, connect=0.2)) as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early:\n{self.log_tail()}")
                try:
                    if client.get(self.base + path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.02)
        raise RuntimeError(f"{self.name} not healthy after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        text = Path(self.log.name).read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:]) or "(no output)"

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after 3 s; idempotent."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=3)
        if self in _LIVE:
            _LIVE.remove(self)
        self.log.close()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by our own child `pid` (start_new_session)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (every thread, dead ones too), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """VmRSS of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def stop_all() -> None:
    """Emergency cleanup: stop every server this process started."""
    for server in list(_LIVE):
        server.stop()
