"""Scenario ``shared``: what sharing state through Redis (``--state redis://``) costs the chat path, and what a
second worker process gives on this machine (issue 17's benchmark).

In alternating rounds, non-streaming chat requests/s of:

* aoai-mock in memory and aoai-mock with ``--state redis://`` on a deployment whose quota is not enforced:
  no quota, fault or scenario counter is involved, so a request's only work in Redis is its journal entry,
  written after the answer in batches; target: Redis keeps at least 75 % of the in-memory figure (the issue's
  "Redis costs at most 25 % of in-memory throughput on the chat path");
* the same two on ``bench-quota``, whose quota is enforced (every request is admitted in Redis, in batches),
  for information;
* ``--workers 2`` against one worker, both unpinned (two processes need both cores; the client shares them).

A ``redis-server`` (Debian's package; the scenario is skipped with a note without it) runs on a free port in a
temporary folder, pinned with the mock to the server's CPU, persistence off.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from common import HEADERS, Ctx, chat_path, median
from loadgen import LoadResult, LoadSpec, run_python, run_wrk
from servers import AOAI_CMD, HOST, Server, free_port

__all__ = ["bench_shared"]

TARGET_REDIS_RATIO = 0.75  # the "Redis costs at most 25% of in-memory throughput on the chat path"
BODY = b'{"messages":[{"role":"user","content":"Share the state, not the answer."}]}'


@contextmanager
def _redis(cpu: int | None) -> Iterator[str]:
    """A redis-server of our own, persistence off; yields its URL."""
    port = free_port()
    folder = tempfile.mkdtemp(prefix="bench-redis-")
    cmd = ["redis-server", "--port", str(port), "--bind", HOST, "--dir", folder, "--save", "",
           "--appendonly", "no", "--daemonize", "no"]
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://{HOST}:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def _rps(ctx: Ctx, client: str, name: str, extra: str, path: str, pin: int | None) -> LoadResult:
    a = ctx.args
    with Server(name, AOAI_CMD + " " + extra, pin, env={"AOAI_MOCK_REQUEST_LOG": "0"}) as srv:
        srv.wait_healthy("/_mock/health")
        response = httpx.post(srv.base + path, headers=HEADERS, content=BODY, timeout=10)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: {response.status_code} {response.text[:200]}")
        print(f"  loading {name} for {a.warmup:g}+{a.duration:g}s ...", file=sys.stderr, flush=True)
        spec = LoadSpec(HOST, srv.port, path, HEADERS, BODY, a.connections, a.duration, a.warmup,
                        ctx.client_cpus if pin is not None else None)
        return run_wrk(spec) if client == "wrk" else run_python(spec, a.client_procs)


def bench_shared(ctx: Ctx, client: str) -> None:
    """``client``: "wrk" or "python", as the throughput scenario chose."""
    if not shutil.which("redis-server"):
        ctx.row("8. shared state", "skipped: redis-server is not installed (apt-get install -y redis-server)")
        return
    plain, quota = chat_path("gpt-4o"), chat_path("bench-quota")
    cases = {  # name: (extra arguments, path, pinned)
        "memory": ("", plain, True),
        "redis": ("--state {redis}", plain, True),
        "memory, quota": ("", quota, True),
        "redis, quota": ("--state {redis}", quota, True),
        "1 worker": ("", plain, False),
        "2 workers": ("--workers 2", plain, False),
    }
    found: dict[str, list[LoadResult]] = {name: [] for name in cases}
    with _redis(ctx.server_cpu) as url:
        for _ in range(ctx.args.rounds):
            for name, (extra, path, pinned) in cases.items():
                cpu = ctx.server_cpu if pinned else None
                found[name].append(_rps(ctx, client, name, extra.format(redis=url), path, cpu))
    rps = {name: [r.rps for r in results] for name, results in found.items()}

    def versus(a: str, b: str) -> float:
        return median([x / y if y else 0.0 for x, y in zip(rps[a], rps[b])])

    label = f"8. shared state, chat, {ctx.args.connections} conns"
    rows = (("redis", "memory", "no quota, fault or scenario counter", TARGET_REDIS_RATIO),
            ("redis, quota", "memory, quota", "an enforced quota, admitted in Redis", None),
            ("2 workers", "1 worker", "--workers 2 / 1 worker, unpinned", None))
    for mine, base, what, target in rows:
        ratio = versus(mine, base)
        ctx.row(f"{label}: {what}", f"{median(rps[mine]):,.0f}", f"{median(rps[base]):,.0f}", f"{ratio:.2f}",
                f"ratio >= {target:.2f}" if target else "", None if target is None else ratio >= target)
    bad = {n: sum(r.non_200 + r.errors for r in rs) for n, rs in found.items() if any(r.non_200 or r.errors for r in rs)}
    if bad:
        ctx.row(f"{label}: non-200 / socket errors", "; ".join(f"{n}: {c}" for n, c in bad.items()), ok=False)
    ctx.notes.append("shared state: the baseline column is aoai-mock in memory (or one worker), not Starlette; "
                     "redis-server shares the server's CPU")
    ctx.figures["shared"] = {"rps": rps}
