"""The streaming scenarios: CPU per event and one 1000-token stream (stream), 100 concurrent 500-token
streams (concurrent), and 500 concurrent paced streams (pacing).

Each first captures one stream of the aoai-mock under test, then starts the baseline (bench/baseline_app.py,
stock uvicorn) replaying exactly those event bytes, so the two differ only in how they serve them.
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from common import (
    BASELINE,
    COMPARED,
    HEADERS,
    MOCK,
    STREAM_BODY,
    Ctx,
    chat_path,
    deployment_of,
    median,
    percentile,
    replay_env,
    stream_body,
)
from rawhttp import (
    RawConnection,
    StreamRecord,
    events_with_arrival,
    is_content_event,
    request_bytes,
    response_payload,
    run_streams,
    split_head,
    sse_events,
)
from servers import HOST, Server, cpu_seconds

TARGET_EVENTS_PER_CPU_S, TARGET_STREAM_MS, TARGET_CONCURRENT_RATIO, TARGET_LATENESS_PCT = 150_000, 8.0, 0.90, 5.0
STREAM_PATH = chat_path("bench-stream")  # bench/config.yaml: exactly 1000 tokens
CONCURRENT_PATH = chat_path("bench-stream-500")  # 500 tokens
PACED_PATH = chat_path("bench-paced-500")  # 40 tokens, first after 500 ms, then 20/s
PACED_TTFT_S, PACED_TPS, PACED_TOKENS = 0.500, 20.0, 40  # as bench/config.yaml sets bench-paced-500


def _capture(port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """The SSE payload of one stream."""
    with RawConnection(port) as conn:
        return response_payload(conn.exchange(request_bytes(port, path, headers, body))[1])


def _servers(ctx: Ctx, scenario: str, stack: ExitStack, tmp: str, path: str, headers: dict[str, str], body: bytes,
             pace: list[float] | None = None) -> tuple[dict[str, Server], bytes]:
    """aoai-mock started, one stream captured from it, the baseline replaying it, the compared checkout; each
    of the others has had one stream too (at the same time), as the capture warmed aoai-mock up."""
    servers = {MOCK: ctx.start(stack, MOCK)}
    payload = _capture(servers[MOCK].port, path, headers, body)
    env = replay_env(Path(tmp), {deployment_of(path): (payload, pace)})
    servers[BASELINE] = ctx.start(stack, BASELINE, env)
    if COMPARED in ctx.sides:
        with ctx.guard(COMPARED, scenario):
            servers[COMPARED] = ctx.start(stack, COMPARED)
    others = {side: srv for side, srv in servers.items() if side != MOCK}
    with ThreadPoolExecutor(len(others)) as pool:
        warming = {side: pool.submit(_capture, srv.port, path, headers, body) for side, srv in others.items()}
        for side, future in warming.items():
            with ctx.guard(side, scenario, others[side]):
                future.result()
    return servers, payload


# ------------------------------------------------------------------ stream

def stream_request(ctx: Ctx) -> tuple[str, dict[str, str], bytes]:
    """(path, headers, body) of the stream scenario; --stream-body overrides."""
    path, extra, body = STREAM_PATH, {}, STREAM_BODY
    if ctx.args.stream_body:
        given = json.loads(ctx.args.stream_body)
        if isinstance(given, dict) and "body" in given:
            path = given.get("path", path)
            extra = dict(given.get("headers", {}))
            body = given["body"]
        else:
            body = given
    return path, {**HEADERS, **extra}, json.dumps(body).encode()


def _stream_round(srv: Server, request: bytes, runs: int) -> tuple[float, list[float], int]:
    """`runs` streams one after the other on one keep-alive connection (after 3 warm-ups): (events per
    server CPU-second, each stream's seconds from the send to its last byte, events sent)."""
    assert srv.proc is not None
    with RawConnection(srv.port) as conn:
        for _ in range(3):
            conn.exchange(request)
        cpu_before = cpu_seconds(srv.proc.pid)
        answers = [conn.exchange(request) for _ in range(runs)]
        cpu = cpu_seconds(srv.proc.pid) - cpu_before
    events = sum(response_payload(raw).count(b"\n\n") for _, raw in answers)
    return events / max(cpu, 0.01), [t for t, _ in answers], events


def bench_stream(ctx: Ctx) -> None:
    path, headers, body = stream_request(ctx)
    runs, rounds = ctx.args.stream_runs, ctx.args.stream_rounds
    per_cpu: dict[str, list[float]] = {side: [] for side in ctx.sides}
    per_ms: dict[str, list[float]] = {side: [] for side in ctx.sides}
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        servers, payload = _servers(ctx, "stream", stack, tmp, path, headers, body)
        events = sse_events(payload)
        content = sum(map(is_content_event, events))
        for _ in range(rounds):
            for side in ctx.live_sides:
                srv = servers[side]
                with ctx.guard(side, "stream", srv):
                    eps, times, sent = _stream_round(srv, request_bytes(srv.port, path, headers, body), runs)
                    per_cpu[side].append(eps)
                    per_ms[side].append(median(times) * 1000)
                    if sent != runs * len(events) and side != COMPARED:
                        ctx.notes.append(f"stream: {side} sent {sent / runs:.0f} events per stream, the capture "
                                         f"had {len(events)}")
    ctx.row(f"3. stream {content} tokens: events (content chunks) of one", f"{len(events)} ({content})",
            f"{len(events)} ({content})")
    if not ctx.args.stream_body and content < 900:
        ctx.notes.append(f"stream gave {content} content chunks, not ~1000: the server did not produce 1000 "
                         "tokens for this body; set one that does with --stream-body")
    figures: dict[str, Any] = {"events_per_stream": len(events), "content_chunks": content}
    figures["events_per_cpu_s"] = ctx.figure(
        f"3. stream {content} tokens: events per server CPU-second", per_cpu, lambda v: f"{v:,.0f}",
        target=f">= {TARGET_EVENTS_PER_CPU_S:,}", passes=lambda v: v >= TARGET_EVENTS_PER_CPU_S)
    figures["time_ms"] = ctx.figure(
        f"3. stream {content} tokens: send to last byte", per_ms, lambda v: f"{v:.1f} ms",
        target=f"< {TARGET_STREAM_MS:g} ms", passes=lambda v: v < TARGET_STREAM_MS)
    ctx.figures["stream"] = figures


# -------------------------------------------------------------- concurrent

def _burst_rate(records: list[StreamRecord]) -> tuple[float, float]:
    """(events/s, seconds) of one burst: every event of every stream over first write to last byte."""
    events = 0
    for rec in records:
        raw = rec.raw()
        if not raw.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"stream got {raw[:300]!r}")
        events += raw.count(b"\n\n")
    took = max(r.done_at for r in records) - min(r.sent_at for r in records)
    return events / took, took


def bench_concurrent(ctx: Ctx) -> None:
    count, bursts, rounds = ctx.args.concurrent_streams, ctx.args.bursts, ctx.args.stream_rounds
    body = stream_body()
    per_rate: dict[str, list[float]] = {side: [] for side in ctx.sides}
    per_wall: dict[str, list[float]] = {side: [] for side in ctx.sides}
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        servers, payload = _servers(ctx, "concurrent", stack, tmp, CONCURRENT_PATH, HEADERS, body)
        for _ in range(rounds):
            for side in ctx.live_sides:
                port = servers[side].port
                with ctx.guard(side, "concurrent", servers[side]):
                    measured = run_streams(port, request_bytes(port, CONCURRENT_PATH, HEADERS, body), count,
                                           bursts + 1)[1:]  # the first burst warms up
                    rates = [_burst_rate(b) for b in measured]
                    per_rate[side].append(median([r for r, _ in rates]))
                    per_wall[side].append(median([t for _, t in rates]))
    events = sse_events(payload)
    label = f"4. concurrent {count} x {sum(map(is_content_event, events))} tokens"
    figures = {"events_per_stream": len(events), "streams": count, "bursts_per_round": bursts}
    figures["events_per_s"] = ctx.figure(
        f"{label}: events/s", per_rate, lambda v: f"{v:,.0f}", target=f"ratio >= {TARGET_CONCURRENT_RATIO:.2f}",
        passes=lambda r: r >= TARGET_CONCURRENT_RATIO, on_ratio=True)
    figures["burst_s"] = ctx.figure(f"{label}: first write to last byte", per_wall, lambda v: f"{v * 1000:.0f} ms")
    ctx.figures["concurrent"] = figures


# ------------------------------------------------------------------ pacing

def _lateness(records: list[StreamRecord], arrivals: dict[str, float] | None = None) -> dict[str, Any]:
    """Lateness of every content chunk against its due time ttft + i / tps after the request was written; with
    `arrivals` (request id -> when the server stamped the request's arrival, in this process's perf_counter
    time) also against the due time counted from there, as the mock counts its schedule."""
    ttft, tokens, counts, rates, ttft_arrived, tokens_arrived = [], [], [], [], [], []
    for rec in records:
        arrivals_ = [t for t, event in events_with_arrival(rec) if is_content_event(event)]
        sent = [t - rec.sent_at for t in arrivals_]
        for i, at in enumerate(sent):
            due = PACED_TTFT_S + i / PACED_TPS
            tokens.append((at - due) / due * 100)
        if sent:
            ttft.append(tokens[-len(sent)])
        arrived = None if arrivals is None else arrivals.get(_request_id(rec))
        if arrived is not None:
            for i, at in enumerate(arrivals_):
                due = PACED_TTFT_S + i / PACED_TPS
                tokens_arrived.append((at - arrived - due) / due * 100)
            if arrivals_:
                ttft_arrived.append(tokens_arrived[-len(arrivals_)])
        if len(sent) > 1 and sent[-1] > sent[0]:
            rates.append((len(sent) - 1) / (sent[-1] - sent[0]))
        counts.append(len(sent))
    out = {"ttft_p50": percentile(ttft, 0.50), "ttft_p99": percentile(ttft, 0.99),
           "token_p50": percentile(tokens, 0.50), "token_p99": percentile(tokens, 0.99),
           "earliest": min(tokens, default=float("nan")), "latest": max(tokens, default=float("nan")),
           "tokens_per_s": median(rates), "chunks": sorted(set(counts))}
    if arrivals is not None:
        out |= {"arrived_ttft_p99": percentile(ttft_arrived, 0.99), "arrived_token_p99": percentile(tokens_arrived, 0.99),
                "arrived_matched": len(ttft_arrived)}
    return out


def _request_id(rec: StreamRecord) -> str | None:
    head = split_head(rec.raw())[1]
    for line in head.split(b"\r\n"):
        if line.startswith(b"apim-request-id:"):
            return line.split(b":", 1)[1].strip().decode()
    return None


def _server_arrivals(port: int) -> dict[str, float]:
    """Each journaled request's arrival as the mock stamped it (its journal: ``timings.received``, wall clock to
    the millisecond), in this process's perf_counter time."""
    offset = time.time() - time.perf_counter()
    answer = httpx.get(f"http://{HOST}:{port}/_mock/requests", params={"limit": 2000}, timeout=30).json()
    entries = answer.get("data", answer) if isinstance(answer, dict) else answer
    out = {}
    for entry in entries:
        received = datetime.fromisoformat(entry["timings"]["received"].replace("Z", "+00:00")).timestamp()
        out[entry["id"]] = received - offset
    return out


def bench_pacing(ctx: Ctx) -> None:
    count, rounds = ctx.args.pacing_streams, ctx.args.pacing_rounds
    body = stream_body()
    found: dict[str, list[dict[str, Any]]] = {side: [] for side in ctx.sides}
    timeout = PACED_TTFT_S + PACED_TOKENS / PACED_TPS + 60
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        servers, _ = _servers(ctx, "pacing", stack, tmp, PACED_PATH, HEADERS, body,
                              [PACED_TTFT_S, PACED_TPS])
        for _ in range(rounds):
            for side in ctx.live_sides:
                port = servers[side].port
                with ctx.guard(side, "pacing", servers[side]):
                    burst = run_streams(port, request_bytes(port, PACED_PATH, HEADERS, body), count, 1,
                                        timeout=timeout)[0]
                    found[side].append(_lateness(burst, None if side == BASELINE else _server_arrivals(port)))
    for side in (BASELINE, MOCK):
        chunks = {c for r in found[side] for c in r["chunks"]}
        if chunks != {PACED_TOKENS}:
            ctx.notes.append(f"pacing: {side} streams had {sorted(chunks)} content chunks, not {PACED_TOKENS}")

    def per_round(key: str) -> dict[str, list[float]]:
        return {side: [r[key] for r in rounds_] for side, rounds_ in found.items()}

    def pct(v: float) -> str:
        return f"{v:+.2f} %"

    label = f"2. pacing {count} streams"
    within = f"<= {TARGET_LATENESS_PCT:g} %"
    figures: dict[str, Any] = {"streams": count, "configured": {"ttft_ms": PACED_TTFT_S * 1000,
                                                                "tokens_per_s": PACED_TPS}}
    figures["ttft_p50"] = ctx.figure(f"{label}: TTFT lateness p50", per_round("ttft_p50"), pct, with_ratio=False)
    # From the client's send: what the client sees, reading of the burst included (every server, one core).
    figures["ttft_p99"] = ctx.figure(f"{label}: TTFT lateness p99", per_round("ttft_p99"), pct, with_ratio=False)
    figures["token_p99"] = ctx.figure(f"{label}: per-token lateness p99", per_round("token_p99"), pct,
                                      with_ratio=False)
    from_arrival = {side: [r["arrived_ttft_p99"] for r in rounds_] for side, rounds_ in found.items()
                    if side != BASELINE}
    figures["arrived_ttft_p99"] = ctx.figure(f"{label}: TTFT lateness p99, from the mock's arrival stamp",
                                             from_arrival, pct, target=within,
                                             passes=lambda v: abs(v) <= TARGET_LATENESS_PCT, with_ratio=False)
    from_arrival = {side: [r["arrived_token_p99"] for r in rounds_] for side, rounds_ in found.items()
                    if side != BASELINE}
    figures["arrived_token_p99"] = ctx.figure(f"{label}: per-token lateness p99, from the mock's arrival stamp",
                                              from_arrival, pct, target=within,
                                              passes=lambda v: abs(v) <= TARGET_LATENESS_PCT, with_ratio=False)
    matched = min(r["arrived_matched"] for side, rounds_ in found.items() if side != BASELINE for r in rounds_)
    if matched < count:
        ctx.notes.append(f"pacing: only {matched} of {count} streams were found in the mock's journal")
    figures["earliest"] = ctx.figure(f"{label}: earliest chunk's lateness", per_round("earliest"), pct,
                                     with_ratio=False)
    figures["tokens_per_s"] = ctx.figure(f"{label}: tokens/s after the first (set: {PACED_TPS:g})",
                                         per_round("tokens_per_s"), lambda v: f"{v:.2f}", with_ratio=False)
    ctx.figures["pacing"] = figures
