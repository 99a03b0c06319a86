"""aoai-mock benchmark: every figure against a bare Starlette/uvicorn baseline, in alternating rounds of
one run. Run from the project root:

    .venv/bin/python bench/run.py [--only embeddings|pacing|stream|concurrent|throughput|startup|import|shared]
        [--compare-src DIR] [--strict] [--json]

All traffic goes to 127.0.0.1; every server started is killed on exit.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from common import BASELINE, COMPARED, ERRORS, HEADERS, MESSAGES, MOCK, Ctx, chat_path, median, replay_env
from loadgen import WRK_INSTALL_HINT, LoadResult, LoadSpec, run_python, run_wrk, wrk_path
from servers import AOAI_CMD, HOST, ROOT, SAME_PROTOCOL_BASELINE_CMD, Server, rss_mib, stop_all
from shared import bench_shared
from streaming import bench_concurrent, bench_pacing, bench_stream

CHAT_PATH = chat_path("gpt-4o")
CHAT_BODY = json.dumps({"messages": MESSAGES}, separators=(",", ":")).encode()

TARGET_RATIO, TARGET_STARTUP_S, TARGET_STARTUP_RSS_MIB, TARGET_IMPORT_MS = 0.80, 0.6, 110.0, 50.0


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


def _load(ctx: Ctx, client: str, port: int, vary: bool = False) -> LoadResult:
    a = ctx.args
    spec = LoadSpec(HOST, port, CHAT_PATH, HEADERS, CHAT_BODY, a.connections,
                    a.duration, a.warmup, ctx.client_cpus, vary=vary)
    if client == "wrk":
        return run_wrk(spec)
    return run_python(spec, a.client_procs)


def _one_throughput(ctx: Ctx, client: str, srv: Server, health: str, vary: bool = False) -> LoadResult:
    with srv:
        srv.wait_healthy(health)
        _precheck(srv.base)
        print(f"  loading {srv.name} for {ctx.args.warmup:g}+{ctx.args.duration:g}s"
              f"{' (a new body each request)' if vary else ''} ...", file=sys.stderr, flush=True)
        return _load(ctx, client, srv.port, vary)


def bench_throughput(ctx: Ctx) -> None:
    client = _client_name(ctx)
    rounds = ctx.args.rounds
    desc = {"wrk": "wrk", "python": f"python asyncio client x{ctx.args.client_procs} procs"}
    ctx.notes.append(f"throughput client: {desc[client]}, {ctx.args.connections} connections, "
                     f"{ctx.args.warmup:g}s warm-up + {ctx.args.duration:g}s, each server started for its turn "
                     "and alone under load")
    results: list[dict[str, LoadResult]] = []
    varied: list[LoadResult] = []  # aoai-mock, every request's body new (wrk only): nothing it has answered before
    for _ in range(rounds):  # alternating rounds: a slow spell on the machine hits every server alike
        results.append({})
        for side in ctx.live_sides:
            with ctx.guard(side, "throughput"):
                results[-1][side] = _one_throughput(ctx, client, ctx.server(side), ctx.command(side)[1])
        if client == "wrk":
            varied.append(_one_throughput(ctx, client, ctx.server(MOCK), ctx.command(MOCK)[1], vary=True))

    def per_round(key: str) -> dict[str, list[float]]:
        return {side: [getattr(r[side], key) for r in results if side in r] for side in ctx.sides}

    label = f"5. chat non-streaming, {ctx.args.connections} conns"
    fig = ctx.figure(f"{label}: req/s", per_round("rps"), lambda v: f"{v:,.0f}",
                     target=f"ratio >= {TARGET_RATIO:.2f}", passes=lambda r: r >= TARGET_RATIO, on_ratio=True)
    if varied:  # against the same rounds' baseline (whose answer does not depend on the body)
        rps = [r.rps for r in varied]
        ratios = [r.rps / b if b else 0.0 for r, b in zip(varied, fig["rounds"][BASELINE])]
        ctx.row(f"{label}: req/s, a new body each request", f"{median(rps):,.0f}", "", f"{median(ratios):.2f}")
        ctx.figures["throughput_new_bodies"] = {"rps": rps, "ratios": ratios}
    ctx.figure(f"{label}: latency p50", per_round("p50_ms"), lambda v: f"{v:.2f} ms")
    ctx.figure(f"{label}: latency p99", per_round("p99_ms"), lambda v: f"{v:.2f} ms")
    each = fig["rounds"]
    ctx.notes.append("throughput ratio of each round: " + ", ".join(
        f"{a / b if b else 0:.2f}" for a, b in zip(each[MOCK], each[BASELINE])) + (
        "; compared checkout: " + ", ".join(f"{a / b if b else 0:.2f}" for a, b in zip(each[COMPARED], each[BASELINE]))
        if each.get(COMPARED) else ""))
    if COMPARED in ctx.sides:
        versus = median([a / b if b else 0.0 for a, b in zip(each[MOCK], each[COMPARED])])
        ctx.row(f"{label}: aoai-mock / compared checkout (median)", f"{versus:.2f}")
        ctx.figures["versus_compared"] = versus
    for side in ctx.sides:
        bad = [(r[side].non_200, r[side].errors) for r in results if side in r and (r[side].non_200 or r[side].errors)]
        if bad:
            ctx.row(f"{label}: {side} non-200 / socket errors", "; ".join(f"{n} / {e}" for n, e in bad), "", "",
                    "0", False)
    ctx.figures["throughput"] = {side: [{"rps": r[side].rps, "p50_ms": r[side].p50_ms, "p99_ms": r[side].p99_ms,
                                         "requests": r[side].requests, "non_200": r[side].non_200,
                                         "errors": r[side].errors} for r in results if side in r]
                                  for side in ctx.sides}
    ctx.figures["throughput_ratio"] = fig["ratio"]
    ctx.figures["throughput_ratios"] = [a / b if b else 0.0 for a, b in zip(each[MOCK], each[BASELINE])]
    if "compared_ratio" in fig:
        ctx.figures["compared_ratio"] = fig["compared_ratio"]
    ctx.figures["client"] = client
    if ctx.args.same_protocol:
        srv = Server("baseline, same protocol", SAME_PROTOCOL_BASELINE_CMD, ctx.server_cpu)
        r = _one_throughput(ctx, client, srv, "/_mock/health")
        same = median(each[MOCK]) / r.rps if r.rps else 0.0
        ctx.row(f"{label}: baseline with aoai-mock's protocol", "", f"{r.rps:,.0f}", f"{same:.2f}")
        ctx.figures["same_protocol_baseline"] = {"rps": r.rps, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms}
        ctx.figures["same_protocol_ratio"] = same


# -------------------------------------------------------------- embeddings

EMBED_PATH = "/openai/deployments/text-embedding-3-large/embeddings?api-version=2024-10-21"
EMBED_INPUTS, EMBED_WORDS = 2048, 100
TARGET_EMBED_S = {"float": 1.0, "base64": 0.5}
TARGET_PROBE_MS, TARGET_RSS_MIB = 50.0, 50.0
EMBED_LIMIT_S = 30.0  # a server slower than this for one request (an old checkout) is left out
# The large request comes from another process, so that reading its 80 MB answer does not slow the probes here.
# With a third argument the answer is also written to that file (to hand the same bytes to the baseline).
_EMBED_SENDER = """
import sys, time, httpx
body = open(sys.argv[2], "rb").read()
out = open(sys.argv[3], "wb") if len(sys.argv) > 3 else None
with httpx.Client(timeout=300) as client:
    started = time.perf_counter()
    size = 0
    with client.stream("POST", sys.argv[1], content=body,
                       headers={"api-key": "bench", "content-type": "application/json"}) as answer:
        for chunk in answer.iter_raw():
            size += len(chunk)
            if out is not None:
                out.write(chunk)
    took = time.perf_counter() - started
print(answer.status_code, size, took)
"""


def _one_embedding(srv: Server, body_file: Path, keep: Path | None = None) -> tuple[float, float]:
    """Seconds to the last byte of one large request; the slowest health check meanwhile, in ms."""
    slowest = 0.0
    deadline = time.monotonic() + EMBED_LIMIT_S
    with httpx.Client(base_url=srv.base, timeout=EMBED_LIMIT_S / 3) as probe:
        probe.get("/_mock/health")
        argv = [sys.executable, "-c", _EMBED_SENDER, srv.base + EMBED_PATH, str(body_file)]
        sender = subprocess.Popen(argv + ([str(keep)] if keep else []), stdout=subprocess.PIPE, text=True)
        try:
            while sender.poll() is None:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {EMBED_LIMIT_S:g} s")
                started = time.perf_counter()
                try:
                    probe.get("/_mock/health")
                except httpx.TimeoutException:
                    pass
                slowest = max(slowest, time.perf_counter() - started)
                time.sleep(0.01)
        finally:
            if sender.poll() is None:
                sender.kill()
    out = sender.communicate()[0].split()
    if len(out) != 3:
        raise RuntimeError(f"{srv.name}: the embeddings sender failed (see above)")
    status, size, took = out
    if status != "200" or int(size) == 0:
        raise RuntimeError(f"{srv.name}: embeddings answered {status} ({size} bytes)")
    return float(took), slowest * 1000


def bench_embeddings(ctx: Ctx) -> None:
    fmts = list(TARGET_EMBED_S)
    took: dict[str, dict[str, list[float]]] = {fmt: {side: [] for side in ctx.sides} for fmt in fmts}
    probe: dict[str, list[float]] = {side: [] for side in ctx.sides}
    rss: dict[str, list[float]] = {}
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        # Texts no server has seen before, in every measured request: the mock remembers the token counts of
        # texts it has read, which a request that repeats the last one's texts would not pay for.
        def body(name: str, fmt: str, seed: int) -> Path:
            rng = random.Random(seed)
            inputs = [" ".join(f"word{rng.randrange(50_000)}" for _ in range(EMBED_WORDS)) for _ in range(EMBED_INPUTS)]
            path = Path(tmp) / f"{name}-{fmt}.json"
            path.write_text(json.dumps({"input": inputs, "encoding_format": fmt}))
            return path

        bodies = {fmt: body("warm-up", fmt, i) for i, fmt in enumerate(fmts)}
        measured = [{fmt: body(f"round{r}", fmt, 100 + r * len(fmts) + i) for i, fmt in enumerate(fmts)}
                    for r in range(ctx.args.embed_rounds)]
        servers = {MOCK: ctx.start(stack, MOCK)}
        if COMPARED in ctx.sides:
            with ctx.guard(COMPARED, "embeddings"):
                servers[COMPARED] = ctx.start(stack, COMPARED)
        for side, srv in servers.items():
            with ctx.guard(side, "embeddings", srv):
                # A text with CJK characters, which has the tokenizer built (a short Latin one is encoded without
                # it): the RSS before is of a server with the encoding these requests need, as the was
                # (both encodings loaded at start), so that the figure is what large requests leave behind.
                httpx.post(srv.base + EMBED_PATH, headers=HEADERS, json={"input": "warm up 日本"}, timeout=30)
                # Started through: the mock builds its framework app (the resource routes) on first need or a
                # second after start; a resource route waits for it, so the RSS before is of a settled server.
                httpx.get(srv.base + "/openai/models?api-version=2024-10-21", headers=HEADERS, timeout=30)
                rss[side] = [rss_mib(srv.proc.pid)]  # type: ignore[union-attr]
        answers = {fmt: Path(tmp) / f"{fmt}.answer" for fmt in fmts}
        for fmt in fmts:  # the mock's answers, for the baseline; also a warm-up of each format
            _one_embedding(servers[MOCK], bodies[fmt], answers[fmt])
        servers[BASELINE] = ctx.start(stack, BASELINE, replay_env(Path(tmp), embeddings=answers))
        rss[BASELINE] = [rss_mib(servers[BASELINE].proc.pid)]  # type: ignore[union-attr]
        for side in (BASELINE, COMPARED):
            for fmt in fmts:
                if side not in ctx.live_sides:
                    break
                with ctx.guard(side, "embeddings", servers[side]):
                    _one_embedding(servers[side], bodies[fmt])  # warm-up, as the capture was for the mock
        for round_bodies in measured:
            for side in ctx.live_sides:
                with ctx.guard(side, "embeddings", servers[side]):
                    runs = [_one_embedding(servers[side], round_bodies[fmt]) for fmt in fmts]
                    for fmt, (seconds, _) in zip(fmts, runs):
                        took[fmt][side].append(seconds)
                    probe[side].append(max(probe_ms for _, probe_ms in runs))
        time.sleep(1.0)
        for side in ctx.live_sides:
            rss[side].append(rss_mib(servers[side].proc.pid))  # type: ignore[union-attr]
        rss = {side: r for side, r in rss.items() if len(r) == 2}
    label = f"1. embeddings {EMBED_INPUTS} x {EMBED_WORDS} words"
    figures: dict[str, Any] = {}
    for fmt in fmts:
        figures[fmt] = ctx.figure(f"{label}, {fmt}: to last byte", took[fmt], lambda v: f"{v:.3f} s",
                                  target=f"< {TARGET_EMBED_S[fmt]:g} s", passes=lambda v, t=TARGET_EMBED_S[fmt]: v < t)
    figures["slowest_probe_ms"] = ctx.figure(
        f"{label}: slowest health check meanwhile", probe, lambda v: f"{v:.0f} ms",
        target=f"< {TARGET_PROBE_MS:g} ms", passes=lambda v: v < TARGET_PROBE_MS)
    grown = {side: [after - before] for side, (before, after) in rss.items()}
    figures["rss_growth_mib"] = ctx.figure(
        f"{label}: RSS growth after them", grown, lambda v: f"{v:+.0f} MiB",
        target=f"< {TARGET_RSS_MIB:g} MiB", passes=lambda v: v < TARGET_RSS_MIB, with_ratio=False)
    figures["rss_mib"] = {side: {"before": b, "after": a} for side, (b, a) in rss.items()}
    ctx.notes.append("embeddings RSS: " + "; ".join(f"{side} {b:.0f} -> {a:.0f} MiB" for side, (b, a) in rss.items())
                     + " (the baseline holds both answers from its start)")
    ctx.figures["embeddings"] = figures


# ---------------------------------------------------------------- startup

def _poll(client: httpx.Client, srv: Server, send: Callable[[], httpx.Response], deadline: float) -> None:
    """Call `send` every 2 ms until it answers 200."""
    while time.monotonic() < deadline:
        try:
            if send().status_code == 200:
                return
        except httpx.TransportError:
            pass
        if srv.proc is None or srv.proc.poll() is not None:
            raise RuntimeError(f"{srv.name} exited during startup:\n{srv.log_tail()}")
        time.sleep(0.002)
    raise RuntimeError(f"{srv.name}: no 200 within the deadline:\n{srv.log_tail()}")


def _one_startup(ctx: Ctx, side: str) -> tuple[float, float, float]:
    """(seconds from spawn to the first 200 chat completion, RSS MiB once healthy before any chat, RSS MiB
    after the first chat)."""
    health = ctx.command(side)[1]
    with httpx.Client(timeout=httpx.Timeout(5.0, connect=0.1)) as client, ctx.server(side, _COMPILED) as srv:
        deadline = time.monotonic() + 30
        _poll(client, srv, lambda: client.get(srv.base + health), deadline)
        rss_start = rss_mib(srv.proc.pid)  # type: ignore[union-attr]
        _poll(client, srv, lambda: client.post(srv.base + CHAT_PATH, headers=HEADERS, content=CHAT_BODY), deadline)
        took = time.perf_counter() - srv.started_at
        return took, rss_start, rss_mib(srv.proc.pid)  # type: ignore[union-attr]


# A server starts as an installed package does, from its compiled modules: a start with PYTHONDONTWRITEBYTECODE
# dropped writes any missing .pyc (an unmeasured first start of each side), and the measured ones read them.
_COMPILED = {"PYTHONDONTWRITEBYTECODE": ""}


def bench_startup(ctx: Ctx) -> None:
    found: dict[str, list[tuple[float, float, float]]] = {side: [] for side in ctx.sides}
    for side in ctx.live_sides:  # the unmeasured first start: compiles what has no .pyc yet
        with ctx.guard(side, "startup"):
            _one_startup(ctx, side)
    for _ in range(ctx.args.startup_runs):
        for side in ctx.live_sides:
            with ctx.guard(side, "startup"):
                found[side].append(_one_startup(ctx, side))

    def per_round(i: int) -> dict[str, list[float]]:
        return {side: [r[i] for r in runs] for side, runs in found.items()}

    n = ctx.args.startup_runs
    ctx.figures["startup"] = {
        "seconds": ctx.figure(f"6. start-up: spawn to first chat (median of {n})", per_round(0),
                              lambda v: f"{v:.3f} s", target=f"< {TARGET_STARTUP_S:g} s",
                              passes=lambda v: v < TARGET_STARTUP_S),
        "rss_mib": ctx.figure("6. start-up: RSS once healthy, before any chat", per_round(1),
                              lambda v: f"{v:.0f} MiB", target=f"< {TARGET_STARTUP_RSS_MIB:g} MiB",
                              passes=lambda v: v < TARGET_STARTUP_RSS_MIB),
        "rss_after_chat_mib": ctx.figure("6. start-up: RSS after the first chat", per_round(2),
                                         lambda v: f"{v:.0f} MiB")}


# ----------------------------------------------------------------- import

# A fresh interpreter imports pytest, then the plugin, as a pytest session loads it (entry point pytest11);
# the plugin's figure is the time of its own import with pytest already loaded.
_IMPORT_PROBE = ("import time; t0 = time.perf_counter(); import pytest; t1 = time.perf_counter(); "
                 "import aoai_mock.testing.plugin as plugin; t2 = time.perf_counter(); "
                 "print(t1 - t0, t2 - t1, plugin.__file__)")


def _one_import(src: Path) -> tuple[float, float]:
    """(seconds of `import pytest`, seconds of `import aoai_mock.testing.plugin` after it) in a fresh interpreter
    whose PYTHONPATH is `src`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(src)
    out = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], env=env, capture_output=True, text=True,
                         timeout=60, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise RuntimeError(f"importing the plugin failed: {out.stderr.strip()[-500:]}")
    pytest_s, plugin_s, path = out.stdout.split()
    if not Path(path).resolve().is_relative_to(src):
        raise RuntimeError(f"the plugin came from {path}, not from {src}")
    return float(pytest_s), float(plugin_s)


def bench_import(ctx: Ctx) -> None:
    srcs = {MOCK: ROOT / "server"}
    if ctx.compare_src:
        srcs[COMPARED] = ctx.compare_src / "server"
    times: dict[str, list[float]] = {BASELINE: [], **{side: [] for side in srcs}}
    for side, src in srcs.items():
        with ctx.guard(side, "import"):
            _one_import(src)  # warm-up: writes any missing .pyc
    for _ in range(ctx.args.import_runs):
        for side in ctx.live_sides:
            if side in srcs:
                with ctx.guard(side, "import"):
                    pytest_s, plugin_s = _one_import(srcs[side])
                    times[side].append(plugin_s * 1000)
                    if side == MOCK:
                        times[BASELINE].append(pytest_s * 1000)
    ctx.figures["import"] = ctx.figure(
        "7. import the pytest plugin (baseline: pytest itself)",
        times, lambda v: f"{v:.1f} ms", target=f"< {TARGET_IMPORT_MS:g} ms", passes=lambda v: v < TARGET_IMPORT_MS)


# ------------------------------------------------------------------ report

def print_report(ctx: Ctx) -> None:
    compared = COMPARED in ctx.sides
    head = ("figure", "aoai-mock", "baseline", "ratio") + (("compared checkout",) if compared else ()) + (
        "target", "result")
    rows = [(r.figure, r.mock, r.base, r.ratio) + ((r.compared,) if compared else ()) + (r.target, r.result)
            for r in ctx.rows]
    width = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = "  ".join(f"{{:<{w}}}" for w in width)
    print()
    print(line.format(*head).rstrip())
    print("  ".join("-" * w for w in width))
    for r in rows:
        print(line.format(*r).rstrip())
    print()
    print("ratio: aoai-mock / baseline, the median of the rounds' ratios (values: the median of the rounds); "
          "the baseline is bare Starlette on stock uvicorn serving the same bytes (see bench/README.md)")
    if compared:
        print(f"compared checkout: {ctx.compare_src}; in parentheses its ratio to the baseline where the target "
              "is on the ratio")
    for note in ctx.notes:
        print(f"note: {note}")


SCENARIOS: dict[str, Callable[[Ctx], None]] = {
    "embeddings": bench_embeddings, "pacing": bench_pacing, "stream": bench_stream, "concurrent": bench_concurrent,
    "throughput": bench_throughput, "startup": bench_startup, "import": bench_import,
    "shared": lambda ctx: bench_shared(ctx, _client_name(ctx))}


def _run_scenarios(ctx: Ctx) -> bool:
    """Run the selected scenarios; a failing one is reported and the rest still run."""
    ok = True
    for name, fn in SCENARIOS.items():
        if ctx.args.only not in (None, name):
            continue
        print(f"[{name}]", file=sys.stderr, flush=True)
        started = time.perf_counter()
        ctx.dropped.clear()
        try:
            fn(ctx)
        except ERRORS as exc:
            ok = False
            ctx.row(f"{name}", "ERROR", ok=False)
            ctx.notes.append(f"{name} failed: {exc}")
        finally:
            stop_all()
        ctx.figures.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 1)
    return ok


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="aoai-mock benchmark (127.0.0.1 only)")
    p.add_argument("--only", choices=list(SCENARIOS))
    p.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    p.add_argument("--json", action="store_true", help="also print figures as JSON")
    p.add_argument("--compare-src", metavar="DIR",
                   help="also run the aoai-mock of another checkout (e.g. a git worktree of an earlier commit) "
                        "in every round of every scenario: a 'compared checkout' column")
    t = p.add_argument_group("throughput")
    t.add_argument("--duration", type=float, default=5.0, help="measured seconds per server and round")
    t.add_argument("--rounds", type=int, default=5, help="throughput rounds (baseline, then aoai-mock)")
    t.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per server")
    t.add_argument("--connections", type=int, default=64)
    t.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    t.add_argument("--client-procs", type=int, default=2, help="python client processes")
    t.add_argument("--same-protocol", action="store_true",
                   help="also load the baseline served with aoai-mock's write-coalescing protocol")
    s = p.add_argument_group("streams")
    s.add_argument("--stream-body", help="stream scenario: JSON body, or {path?, headers, body}")
    s.add_argument("--stream-runs", type=int, default=40, help="stream scenario: streams per server and round")
    s.add_argument("--stream-rounds", type=int, default=5, help="rounds of the stream and concurrent scenarios")
    s.add_argument("--concurrent-streams", type=int, default=100)
    s.add_argument("--bursts", type=int, default=2, help="concurrent: measured bursts per server and round")
    s.add_argument("--pacing-streams", type=int, default=500)
    s.add_argument("--pacing-rounds", type=int, default=3)
    o = p.add_argument_group("others")
    o.add_argument("--embed-rounds", type=int, default=3)
    o.add_argument("--startup-runs", type=int, default=5)
    o.add_argument("--import-runs", type=int, default=10)
    o.add_argument("--no-pin", action="store_true", help="do not pin server/client CPUs")
    o.add_argument("--loop", default="auto", help="baseline uvicorn --loop")
    o.add_argument("--http", default="auto", help="baseline uvicorn --http")
    p.add_argument("--target-cmd", default=AOAI_CMD, help=argparse.SUPPRESS)
    p.add_argument("--health-path", default="/_mock/health", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    def clamp(name: str, low: float, high: float) -> None:
        setattr(args, name, type(getattr(args, name))(min(max(getattr(args, name), low), high)))

    clamp("duration", 1.0, 600.0)
    clamp("warmup", 0.0, 60.0)
    clamp("connections", 1, 1024)
    for name, high in (("rounds", 20), ("stream_runs", 1000), ("stream_rounds", 20), ("bursts", 20),
                       ("pacing_rounds", 20), ("embed_rounds", 20), ("startup_runs", 50), ("import_runs", 100)):
        clamp(name, 1, high)
    clamp("concurrent_streams", 1, 5000)
    clamp("pacing_streams", 1, 5000)
    return args


def _json_safe(obj: Any) -> Any:
    """NaN (e.g. no latency samples) becomes null so the JSON stays valid."""
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return None if isinstance(obj, float) and math.isnan(obj) else obj


def _on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ctx = Ctx(parse_args(argv))
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if ctx.compare_src and not (ctx.compare_src / "server" / "aoai_mock").is_dir():
        print(f"--compare-src {ctx.compare_src}: no server/aoai_mock there", file=sys.stderr)
        return 2
    if ctx.pinned:
        os.sched_setaffinity(0, ctx.client_cpus)
        ctx.notes.append(f"servers pinned to CPU {ctx.server_cpu}, client(s) to CPU "
                         f"{','.join(map(str, sorted(ctx.client_cpus)))}")
    else:
        ctx.notes.append("no CPU pinning: client and server share all CPUs")
    if ctx.target_cmd != AOAI_CMD:
        ctx.notes.append(f"aoai-mock side overridden: {ctx.target_cmd}")
    started = time.perf_counter()
    try:
        ok = _run_scenarios(ctx)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    finally:
        stop_all()
    ctx.notes.append(f"wall time {time.perf_counter() - started:.0f} s")
    print_report(ctx)
    if ctx.args.json:
        print(json.dumps(_json_safe(ctx.figures)))
    failed = any(r.result == "FAIL" for r in ctx.rows) or not ok
    return 1 if ctx.args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
