"""HTTP load generation: `wrk` when installed, else a multi-process asyncio client.

Both send the same keep-alive POST over `connections` connections, discard
a warm-up period and report requests/s and latency percentiles.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

WRK_INSTALL_HINT = "apt-get install -y wrk"


@dataclass
class LoadSpec:
    host: str
    port: int
    path: str
    headers: dict[str, str]
    body: bytes
    connections: int
    duration: float
    warmup: float
    client_cpus: set[int] | None = None
    vary: bool = False  # wrk only: every request's body differs (a number before the body's last '"}')


@dataclass
class LoadResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_200: int = 0
    errors: int = 0
    notes: list[str] = field(default_factory=list)


def wrk_path() -> str | None:
    return shutil.which("wrk")


# --------------------------------------------------------------------- wrk

def _lua_script(spec: LoadSpec) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = [==[{spec.body.decode()}]==]"]
    lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in spec.headers.items()]
    if spec.vary:  # " <thread>-<n>" written into the last string of the body: no two requests alike
        text = spec.body.decode()
        cut = text.rindex('"}')
        lines += [
            f"prefix = [==[{text[:cut]}]==]", f"suffix = [==[{text[cut:]}]==]", "threads = 0",
            'function setup(thread) thread:set("id", threads); threads = threads + 1 end',
            "counter = 0",
            "function request()",
            "  counter = counter + 1",
            '  return wrk.format(nil, nil, nil, prefix .. " " .. id .. "-" .. counter .. suffix)',
            "end",
        ]
    return "\n".join(lines) + "\n"


def _wrk_once(spec: LoadSpec, script: str, seconds: float) -> str:
    threads = max(1, min(len(spec.client_cpus or os.sched_getaffinity(0)), spec.connections))
    cmd = [wrk_path() or "wrk", "-t", str(threads), "-c", str(spec.connections),
           "-d", f"{max(1, round(seconds))}s", "--timeout", "5s", "--latency", "-s", script,
           f"http://{spec.host}:{spec.port}{spec.path}"]
    if spec.client_cpus:
        cmd = ["taskset", "-c", ",".join(map(str, sorted(spec.client_cpus)))] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _wrk_latency(text: str, pct: str) -> float:
    m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
    return float(m.group(1)) * _UNIT_MS[m.group(2)] if m else float("nan")


def parse_wrk(text: str) -> LoadResult:
    """Turn `wrk --latency` output into a LoadResult."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return LoadResult(
        rps=float(rps.group(1)) if rps else 0.0,
        p50_ms=_wrk_latency(text, "50"), p99_ms=_wrk_latency(text, "99"),
        requests=int(total.group(1)) if total else 0,
        non_200=int(non2xx.group(1)) if non2xx else 0,
        errors=sum(map(int, sock.groups())) if sock else 0)


def run_wrk(spec: LoadSpec) -> LoadResult:
    """Warm up with one wrk run, then measure with a second one."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as f:
        f.write(_lua_script(spec))
        f.flush()
        if spec.warmup > 0:
            _wrk_once(spec, f.name, spec.warmup)
        return parse_wrk(_wrk_once(spec, f.name, spec.duration))


# ----------------------------------------------------------- python client

def _request_bytes(spec: LoadSpec) -> bytes:
    head = [f"POST {spec.path} HTTP/1.1", f"Host: {spec.host}:{spec.port}",
            f"Content-Length: {len(spec.body)}", "Connection: keep-alive"]
    head += [f"{k}: {v}" for k, v in spec.headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + spec.body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one HTTP/1.1 response; return (status, server wants close)."""
    head = (await reader.readuntil(b"\r\n\r\n")).lower()
    status = int(head[9:12])
    m = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
    if m:
        await reader.readexactly(int(m.group(1)))
    elif b"transfer-encoding: chunked" in head:
        while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
            await reader.readexactly(size + 2)
        await reader.readuntil(b"\r\n")
    return status, b"connection: close" in head


async def _connection(spec: LoadSpec, req: bytes, t_measure: float, t_end: float,
                      lat: list[float], tally: dict[str, int]) -> None:
    """Keep one connection busy until t_end, recording post-warm-up latencies."""
    writer = None
    while time.perf_counter() < t_end:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(spec.host, spec.port)
            t0 = time.perf_counter()
            writer.write(req)
            status, close = await _read_response(reader)
            t1 = time.perf_counter()
            if t0 >= t_measure and t1 <= t_end:
                lat.append(t1 - t0)
                tally["non_200"] += status != 200
            if close:
                writer.close()
                writer = None
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally["errors"] += 1
            writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def _worker_async(spec: LoadSpec, n_conn: int, t_start: float) -> tuple[list[float], dict[str, int]]:
    req = _request_bytes(spec)
    t_measure = t_start + spec.warmup
    t_end = t_measure + spec.duration
    lat: list[float] = []
    tally = {"non_200": 0, "errors": 0}
    tasks = [_connection(spec, req, t_measure, t_end, lat, tally) for _ in range(n_conn)]
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=t_end - time.perf_counter() + 10)
    return lat, tally


def _worker(args: tuple[LoadSpec, int, float]) -> tuple[list[float], dict[str, int]]:
    spec, n_conn, t_start = args
    try:
        import uvloop  # type: ignore[import-not-found]
        return uvloop.run(_worker_async(spec, n_conn, t_start))
    except ImportError:
        return asyncio.run(_worker_async(spec, n_conn, t_start))


def _percentile(sorted_vals: list[float], q: float) -> float:
    if not sorted_vals:
        return float("nan")
    return sorted_vals[min(len(sorted_vals) - 1, int(q * len(sorted_vals)))] * 1000


def run_python(spec: LoadSpec, processes: int) -> LoadResult:
    """Split the connections over `processes` processes, each its own event loop."""
    processes = max(1, min(processes, spec.connections))
    shares = [spec.connections // processes + (i < spec.connections % processes)
              for i in range(processes)]
    t_start = time.perf_counter() + 0.5  # let every process get going first
    ctx = multiprocessing.get_context("fork")
    pool = ctx.Pool(processes, initializer=_init_worker, initargs=(spec.client_cpus,))
    try:
        parts = pool.map_async(_worker, [(spec, n, t_start) for n in shares]).get(
            timeout=spec.warmup + spec.duration + 30)
    finally:
        pool.terminate()
        pool.join()
    lat = sorted(x for part, _ in parts for x in part)
    return LoadResult(
        rps=len(lat) / spec.duration, p50_ms=_percentile(lat, 0.50),
        p99_ms=_percentile(lat, 0.99), requests=len(lat),
        non_200=sum(t["non_200"] for _, t in parts), errors=sum(t["errors"] for _, t in parts))


def _init_worker(cpus: set[int] | None) -> None:
    """Pool worker setup: the parent handles Ctrl-C and terminates the pool."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if cpus:
        os.sched_setaffinity(0, cpus)
