"""aoai-mock benchmark: throughput vs a bare Starlette baseline, a 1000-token
stream, and cold start.  Run from the project root:

    .venv/bin/python bench/run.py [--duration 10] [--connections 64]
        [--only throughput|stream|pacing|startup|embeddings] [--strict] [--json]

All traffic goes to 127.0.0.1; every server started is killed on exit.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from loadgen import WRK_INSTALL_HINT, LoadResult, LoadSpec, run_python, run_wrk, wrk_path
from servers import AOAI_CMD, BASELINE_CMD, HOST, SAME_PROTOCOL_BASELINE_CMD, Server, can_pin, cpu_split, stop_all

CHAT_PATH = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
HEADERS = {"api-key": "bench", "Content-Type": "application/json"}
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "When was Microsoft founded?"}]
CHAT_BODY = json.dumps({"messages": MESSAGES}, separators=(",", ":")).encode()
STREAM_BODY = {"messages": MESSAGES, "stream": True, "max_tokens": 1000}
STREAM_PATH = "/openai/deployments/bench-stream/chat/completions?api-version=2024-10-21"  # bench/config.yaml
STREAM_EXTRA_HEADERS: dict[str, str] = {}

TARGET_RATIO, TARGET_STREAM_MS, TARGET_STARTUP_S = 0.60, 150.0, 1.5


class Ctx:
    """Run-wide settings derived from the CLI."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.target_cmd = BASELINE_CMD if args.target_cmd == "baseline" else args.target_cmd
        self.pinned = can_pin() and not args.no_pin
        self.server_cpu, self.client_cpus = cpu_split() if self.pinned else (None, None)
        self.rows: list[tuple[str, str, str, str]] = []
        self.figures: dict[str, Any] = {}
        self.notes: list[str] = []

    def server(self, name: str, cmd: str) -> Server:
        return Server(name, cmd, self.server_cpu, loop=self.args.loop, http=self.args.http)

    def row(self, metric: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append((metric, value, target, "" if ok is None else ("PASS" if ok else "FAIL")))


# -------------------------------------------------------------- throughput

def _precheck(base: str) -> None:
    """One request must answer 200 before we load the server."""
    r = httpx.post(base + CHAT_PATH, headers=HEADERS, content=CHAT_BODY, timeout=10)
    if r.status_code != 200:
        raise RuntimeError(f"chat precheck got {r.status_code}: {r.text[:300]}")


def _client_name(ctx: Ctx) -> str:
    choice = ctx.args.client
    if choice == "auto":
        choice = "wrk" if wrk_path() else "python"
        if choice == "python":
            ctx.notes.append(f"wrk not on PATH (install: {WRK_INSTALL_HINT}); "
                             "using the Python fallback client")
    if choice == "wrk" and not wrk_path():
        raise RuntimeError(f"--client wrk but wrk is not installed ({WRK_INSTALL_HINT})")
    return choice


def _load(ctx: Ctx, client: str, port: int) -> LoadResult:
    a = ctx.args
    spec = LoadSpec(HOST, port, CHAT_PATH, HEADERS, CHAT_BODY, a.connections,
                    a.duration, a.warmup, ctx.client_cpus)
    if client == "wrk":
        return run_wrk(spec)
    return run_python(spec, a.client_procs)


def _one_throughput(ctx: Ctx, client: str, name: str, cmd: str) -> LoadResult:
    with ctx.server(name, cmd) as srv:
        srv.wait_healthy(ctx.args.health_path if name == "aoai-mock" else "/_mock/health")
        _precheck(srv.base)
        print(f"  loading {name} for {ctx.args.warmup:g}+{ctx.args.duration:g}s ...",
              file=sys.stderr, flush=True)
        return _load(ctx, client, srv.port)


def bench_throughput(ctx: Ctx) -> None:
    client = _client_name(ctx)
    rounds = ctx.args.rounds
    desc = {"wrk": "wrk", "python": f"python asyncio client x{ctx.args.client_procs} procs"}
    ctx.notes.append(f"throughput client: {desc[client]}, {ctx.args.connections} connections, "
                     f"{ctx.args.warmup:g}s warm-up + {ctx.args.duration:g}s, servers run one "
                     f"after the other, {rounds} round(s) of baseline then aoai-mock; figures are "
                     "the round with the median ratio")
    targets = [("baseline", BASELINE_CMD), ("aoai-mock", ctx.target_cmd)]
    if ctx.args.compare_src:  # an earlier checkout's aoai-mock, in the same rounds: before and after, one run
        targets.append((COMPARED, f"env PYTHONPATH={Path(ctx.args.compare_src).resolve() / 'server'} {AOAI_CMD}"))
    results: list[dict[str, LoadResult]] = []
    for _ in range(rounds):  # alternating rounds: a slow spell on the machine hits every server alike
        results.append({name: _one_throughput(ctx, client, name, cmd) for name, cmd in targets})
    ratios = [r["aoai-mock"].rps / r["baseline"].rps if r["baseline"].rps else 0.0 for r in results]
    res = results[sorted(range(rounds), key=ratios.__getitem__)[rounds // 2]]
    if ctx.args.compare_src:
        _compared(ctx, results)
    for name in ("baseline", "aoai-mock"):
        r = res[name]
        ctx.row(f"{name} throughput", f"{r.rps:,.0f} req/s")
        ctx.row(f"{name} latency p50 / p99", f"{r.p50_ms:.2f} / {r.p99_ms:.2f} ms")
        if r.non_200 or r.errors:
            ctx.row(f"{name} non-200 / socket errors", f"{r.non_200} / {r.errors}", "0", False)
        ctx.figures[name] = {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
                             "requests": r.requests, "non_200": r.non_200, "errors": r.errors}
    ratio = statistics.median(ratios)
    if rounds > 1:
        ctx.row("ratio of each round", ", ".join(f"{x:.2f}" for x in ratios))
    ctx.row(f"ratio aoai-mock / baseline{' (median)' if rounds > 1 else ''}", f"{ratio:.2f}",
            f">= {TARGET_RATIO:.2f}", ratio >= TARGET_RATIO)
    ctx.figures["throughput_ratio"] = ratio
    ctx.figures["throughput_ratios"] = ratios
    ctx.figures["client"] = client
    if ctx.args.same_protocol:
        r = _one_throughput(ctx, client, "baseline, same protocol", SAME_PROTOCOL_BASELINE_CMD)
        ctx.row("baseline (aoai-mock's protocol)", f"{r.rps:,.0f} req/s")
        same = res["aoai-mock"].rps / r.rps if r.rps else 0.0
        ctx.row("ratio aoai-mock / same-protocol baseline", f"{same:.2f}")
        ctx.figures["same_protocol_baseline"] = {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms}
        ctx.figures["same_protocol_ratio"] = same


COMPARED = "aoai-mock (compared checkout)"


def _compared(ctx: Ctx, results: list[dict[str, LoadResult]]) -> None:
    """The earlier checkout's ratio to the same baseline rounds, and this checkout's to it."""
    before = [r[COMPARED].rps / r["baseline"].rps if r["baseline"].rps else 0.0 for r in results]
    versus = [r["aoai-mock"].rps / r[COMPARED].rps if r[COMPARED].rps else 0.0 for r in results]
    ctx.row(f"compared checkout ({ctx.args.compare_src}) / baseline, each round", ", ".join(f"{x:.2f}" for x in before))
    ctx.row("compared checkout / baseline (median)", f"{statistics.median(before):.2f}")
    ctx.row("aoai-mock / compared checkout (median)", f"{statistics.median(versus):.2f}")
    ctx.figures["compared_ratio"] = statistics.median(before)
    ctx.figures["compared_ratios"] = before
    ctx.figures["versus_compared"] = statistics.median(versus)


# --------------------------------------------------------------- streaming

def _stream_request(ctx: Ctx) -> tuple[str, dict[str, str], bytes]:
    """(path, headers, body) for the stream test; --stream-body overrides."""
    path, extra, body = STREAM_PATH, dict(STREAM_EXTRA_HEADERS), STREAM_BODY
    if ctx.args.stream_body:
        given = json.loads(ctx.args.stream_body)
        if isinstance(given, dict) and "body" in given:
            path = given.get("path", path)
            extra = dict(given.get("headers", {}))
            body = given["body"]
        else:
            body = given
    return path, {**HEADERS, **extra}, json.dumps(body).encode()


def _count_chunk(data: str) -> int:
    """1 if this SSE data payload carries non-empty delta content."""
    try:
        choices = json.loads(data).get("choices") or []
    except ValueError:
        return 0
    return int(any((c.get("delta") or {}).get("content") for c in choices))


def _one_stream(client: httpx.Client, req: tuple[str, dict[str, str], bytes]) -> tuple[float, int]:
    """Send one streaming request; return (seconds to `data: [DONE]`, content chunks)."""
    path, headers, body = req
    chunks = 0
    t0 = time.perf_counter()
    with client.stream("POST", path, headers=headers, content=body) as resp:
        if resp.status_code != 200:
            raise RuntimeError(f"stream got {resp.status_code}: {resp.read()[:300]!r}")
        for line in resp.iter_lines():
            if line == "data: [DONE]":
                return time.perf_counter() - t0, chunks
            if line.startswith("data:"):
                chunks += _count_chunk(line[5:].strip())
    raise RuntimeError("stream ended without data: [DONE]")


def bench_stream(ctx: Ctx) -> None:
    req = _stream_request(ctx)
    runs: list[tuple[float, int]] = []
    with ctx.server("aoai-mock", ctx.target_cmd) as srv:
        srv.wait_healthy(ctx.args.health_path)
        with httpx.Client(base_url=srv.base, timeout=30) as client:
            for _ in range(3):  # warm-up, also opens the keep-alive connection
                _one_stream(client, req)
            runs = [_one_stream(client, req) for _ in range(ctx.args.stream_runs)]
    med_ms = statistics.median(t for t, _ in runs) * 1000
    chunks = int(statistics.median(c for _, c in runs))
    ctx.row("stream content chunks received", f"{chunks}")
    if not ctx.args.stream_body and chunks < 900:
        ctx.notes.append(f"stream gave {chunks} content chunks, not ~1000: the server did not "
                         "produce 1000 tokens for this body; set one that does with --stream-body")
    ctx.row(f"stream time to [DONE] (median of {len(runs)})", f"{med_ms:.1f} ms",
            f"< {TARGET_STREAM_MS:g} ms", med_ms < TARGET_STREAM_MS)
    ctx.row("stream min / max", f"{min(runs)[0]*1000:.1f} / {max(runs)[0]*1000:.1f} ms")
    ctx.figures["stream"] = {"median_ms": med_ms, "chunks": chunks,
                             "runs_ms": [round(t * 1000, 2) for t, _ in runs]}


# ----------------------------------------------------------------- pacing

PACED_PATH = "/openai/deployments/bench-paced/chat/completions?api-version=2024-10-21"
PACED_TTFT_S, PACED_TPS, PACED_TOKENS = 0.250, 100.0, 200  # as bench/config.yaml sets bench-paced


def _one_paced(client: httpx.Client) -> tuple[float, float, int]:
    """(seconds to the first content chunk, content tokens/s after it, content chunks) of one paced stream."""
    body = json.dumps({"messages": MESSAGES, "stream": True}).encode()
    t0 = time.perf_counter()
    first = last = 0.0
    chunks = 0
    with client.stream("POST", PACED_PATH, headers=HEADERS, content=body) as resp:
        for line in resp.iter_lines():
            if line.startswith("data:") and _count_chunk(line[5:].strip()):
                last = time.perf_counter() - t0
                first = first or last
                chunks += 1
    rate = (chunks - 1) / (last - first) if chunks > 1 and last > first else 0.0
    return first, rate, chunks


def bench_pacing(ctx: Ctx) -> None:
    with ctx.server("aoai-mock", ctx.target_cmd) as srv:
        srv.wait_healthy(ctx.args.health_path)
        with httpx.Client(base_url=srv.base, timeout=30) as client:
            _one_paced(client)  # warm-up
            runs = [_one_paced(client) for _ in range(5)]
    ttft = statistics.median(r[0] for r in runs)
    rate = statistics.median(r[1] for r in runs)
    ctx.row("paced: time to first token (median of 5)", f"{ttft * 1000:.1f} ms",
            f"{PACED_TTFT_S * 1000:.0f} ms +10%", PACED_TTFT_S <= ttft <= PACED_TTFT_S * 1.1)
    ctx.row("paced: tokens/s after the first", f"{rate:.1f}", f"{PACED_TPS:.0f} -10%",
            PACED_TPS * 0.9 <= rate <= PACED_TPS * 1.01)
    ctx.row("paced: content chunks", f"{int(statistics.median(r[2] for r in runs))}", f"{PACED_TOKENS}")
    ctx.figures["pacing"] = {"ttft_ms": ttft * 1000, "tokens_per_s": rate,
                             "configured": {"ttft_ms": PACED_TTFT_S * 1000, "tokens_per_s": PACED_TPS}}


# -------------------------------------------------------------- embeddings

EMBED_PATH = "/openai/deployments/text-embedding-3-large/embeddings?api-version=2024-10-21"
EMBED_INPUTS, EMBED_WORDS = 2048, 100
TARGET_EMBED_FLOAT_S, TARGET_EMBED_BASE64_S, TARGET_PROBE_MS, TARGET_RSS_MIB = 1.0, 0.5, 50.0, 50.0
# The large request comes from another process, so that reading its 80 MB answer does not slow the probes here.
_EMBED_SENDER = """
import sys, time, httpx
body = open(sys.argv[2], "rb").read()
with httpx.Client(timeout=300) as client:
    started = time.perf_counter()
    with client.stream("POST", sys.argv[1], content=body,
                       headers={"api-key": "bench", "content-type": "application/json"}) as answer:
        size = sum(len(chunk) for chunk in answer.iter_raw())
    print(answer.status_code, size, time.perf_counter() - started)
"""


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _one_embedding(srv: Server, body_file: Path) -> tuple[float, float]:
    """Seconds to the last byte of one large request; the slowest health check meanwhile, in ms."""
    import subprocess

    slowest = 0.0
    with httpx.Client(base_url=srv.base, timeout=30) as probe:
        probe.get("/_mock/health")
        sender = subprocess.Popen([sys.executable, "-c", _EMBED_SENDER, srv.base + EMBED_PATH, str(body_file)],
                                  stdout=subprocess.PIPE, text=True)
        while sender.poll() is None:
            started = time.perf_counter()
            probe.get("/_mock/health")
            slowest = max(slowest, time.perf_counter() - started)
            time.sleep(0.01)
    status, size, took = sender.communicate()[0].split()
    if status != "200" or int(size) == 0:
        raise RuntimeError(f"embeddings answered {status} ({size} bytes)")
    return float(took), slowest * 1000


def bench_embeddings(ctx: Ctx) -> None:
    import random
    import tempfile

    rng = random.Random(1)
    inputs = [" ".join(f"word{rng.randrange(50_000)}" for _ in range(EMBED_WORDS)) for _ in range(EMBED_INPUTS)]
    figures: dict[str, Any] = {}
    with ctx.server("aoai-mock", ctx.target_cmd) as srv, tempfile.TemporaryDirectory() as tmp:
        srv.wait_healthy(ctx.args.health_path)
        httpx.post(srv.base + EMBED_PATH, headers=HEADERS, json={"input": "warm up"}, timeout=30)
        before = _rss_mib(srv.proc.pid)  # type: ignore[union-attr]
        for fmt, target in (("float", TARGET_EMBED_FLOAT_S), ("base64", TARGET_EMBED_BASE64_S)):
            body_file = Path(tmp) / f"{fmt}.json"
            body_file.write_text(json.dumps({"input": inputs, "encoding_format": fmt}))
            runs = [_one_embedding(srv, body_file) for _ in range(3)]
            took = statistics.median(r[0] for r in runs)
            probe = max(r[1] for r in runs)
            ctx.row(f"embeddings {EMBED_INPUTS} x {EMBED_WORDS} words, {fmt} (median of 3)", f"{took:.2f} s",
                    f"< {target:g} s", took < target)
            ctx.row(f"  slowest health check meanwhile ({fmt})", f"{probe:.0f} ms", f"< {TARGET_PROBE_MS:g} ms",
                    probe < TARGET_PROBE_MS)
            figures[fmt] = {"seconds": took, "slowest_probe_ms": probe}
        time.sleep(1.0)
        after = _rss_mib(srv.proc.pid)  # type: ignore[union-attr]
    grown = after - before
    ctx.row("  RSS after them, over before", f"{grown:+.0f} MiB ({before:.0f} -> {after:.0f})",
            f"< {TARGET_RSS_MIB:g} MiB", grown < TARGET_RSS_MIB)
    figures["rss_mib"] = {"before": before, "after": after}
    ctx.figures["embeddings"] = figures


# ---------------------------------------------------------------- startup

def _poll_first_chat(srv: Server, deadline_s: float = 30.0) -> float:
    """Seconds from spawn until the chat endpoint first answers 200."""
    deadline = time.monotonic() + deadline_s
    with httpx.Client(timeout=httpx.Timeout(5.0, connect=0.1)) as client:
        while time.monotonic() < deadline:
            try:
                r = client.post(srv.base + CHAT_PATH, headers=HEADERS, content=CHAT_BODY)
                if r.status_code == 200:
                    return time.perf_counter() - srv.started_at
            except httpx.TransportError:
                pass
            if srv.proc is None or srv.proc.poll() is not None:
                raise RuntimeError(f"server exited during startup:\n{srv.log_tail()}")
            time.sleep(0.002)
    raise RuntimeError(f"no 200 chat completion within {deadline_s:g}s:\n{srv.log_tail()}")


def bench_startup(ctx: Ctx) -> None:
    times = []
    for _ in range(ctx.args.startup_runs):
        with ctx.server("aoai-mock", ctx.target_cmd) as srv:
            times.append(_poll_first_chat(srv))
    med = statistics.median(times)
    ctx.row(f"cold start to first 200 (median of {len(times)})", f"{med:.3f} s",
            f"< {TARGET_STARTUP_S:g} s", med < TARGET_STARTUP_S)
    ctx.figures["startup"] = {"median_s": med, "runs_s": [round(t, 3) for t in times]}


# ------------------------------------------------------------------ report

def print_report(ctx: Ctx) -> None:
    width = [max(len(r[i]) for r in ctx.rows + [("metric", "value", "target", "result")])
             for i in range(4)]
    line = "  ".join(f"{{:<{w}}}" for w in width)
    print()
    print(line.format("metric", "value", "target", "result"))
    print("  ".join("-" * w for w in width))
    for r in ctx.rows:
        print(line.format(*r))
    print()
    for note in ctx.notes:
        print(f"note: {note}")


def _run_scenarios(ctx: Ctx) -> bool:
    """Run the selected scenarios; a failing one is reported and the rest still run."""
    scenarios: dict[str, Callable[[Ctx], None]] = {
        "throughput": bench_throughput, "stream": bench_stream, "pacing": bench_pacing,
        "startup": bench_startup, "embeddings": bench_embeddings}
    ok = True
    for name, fn in scenarios.items():
        if ctx.args.only not in (None, name):
            continue
        print(f"[{name}]", file=sys.stderr, flush=True)
        try:
            fn(ctx)
        except (RuntimeError, OSError, httpx.HTTPError, TimeoutError, ValueError) as exc:
            ok = False
            ctx.row(f"{name}", "ERROR", "", False)
            ctx.notes.append(f"{name} failed: {exc}")
        finally:
            stop_all()
    return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="aoai-mock benchmark (127.0.0.1 only)")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per server and round")
    p.add_argument("--rounds", type=int, default=5, help="throughput rounds (baseline, then aoai-mock)")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per server")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--only", choices=["throughput", "stream", "pacing", "startup", "embeddings"])
    p.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    p.add_argument("--json", action="store_true", help="also print figures as JSON")
    p.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--client-procs", type=int, default=2, help="python client processes")
    p.add_argument("--stream-body", help="JSON body, or {path?, headers, body}")
    p.add_argument("--stream-runs", type=int, default=20)
    p.add_argument("--startup-runs", type=int, default=5)
    p.add_argument("--no-pin", action="store_true", help="do not pin server/client CPUs")
    p.add_argument("--compare-src", metavar="DIR",
                   help="also load the aoai-mock of another checkout (e.g. a git worktree of main) in every "
                        "throughput round, and print both ratios")
    p.add_argument("--same-protocol", action="store_true",
                   help="also load the baseline served with aoai-mock's write-coalescing protocol")
    p.add_argument("--loop", default="auto", help="baseline uvicorn --loop")
    p.add_argument("--http", default="auto", help="baseline uvicorn --http")
    p.add_argument("--target-cmd", default=AOAI_CMD, help=argparse.SUPPRESS)
    p.add_argument("--health-path", default="/_mock/health", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.duration = min(max(args.duration, 1.0), 600.0)
    args.warmup = min(max(args.warmup, 0.0), 60.0)
    args.connections = min(max(args.connections, 1), 1024)
    args.stream_runs = min(max(args.stream_runs, 1), 200)
    args.startup_runs = min(max(args.startup_runs, 1), 50)
    args.rounds = min(max(args.rounds, 1), 20)
    return args


def _json_safe(obj: Any) -> Any:
    """NaN (e.g. no latency samples) becomes null so the JSON stays valid."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return None if isinstance(obj, float) and math.isnan(obj) else obj


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ctx = Ctx(parse_args(argv))
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if ctx.pinned:
        os.sched_setaffinity(0, ctx.client_cpus)
        ctx.notes.append(f"servers pinned to CPU {ctx.server_cpu}, client(s) to CPU "
                         f"{','.join(map(str, sorted(ctx.client_cpus)))}")
    else:
        ctx.notes.append("no CPU pinning: client and server share all CPUs")
    if ctx.target_cmd != AOAI_CMD:
        ctx.notes.append(f"aoai-mock side overridden: {ctx.target_cmd}")
    try:
        ok = _run_scenarios(ctx)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()
    print_report(ctx)
    if ctx.args.json:
        print(json.dumps(_json_safe(ctx.figures)))
    failed = any(r[3] == "FAIL" for r in ctx.rows) or not ok
    return 1 if ctx.args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
