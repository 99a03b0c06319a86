"""What the scenarios share: run-wide settings, the servers compared, and the rows of the table."""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from servers import AOAI_CMD, BASELINE_CMD, Server, can_pin, cpu_split

ERRORS = (RuntimeError, OSError, httpx.HTTPError, TimeoutError, ValueError)  # what fails a scenario

HEADERS = {"api-key": "bench", "Content-Type": "application/json"}
MESSAGES = [{"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "When was Microsoft founded?"}]

STREAM_BODY = {"messages": MESSAGES, "stream": True, "max_tokens": 1000}

BASELINE, MOCK, COMPARED = "baseline", "aoai-mock", "aoai-mock (compared checkout)"


def chat_path(deployment: str) -> str:
    return f"/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21"


def stream_body(**extra: Any) -> bytes:
    return json.dumps({"messages": MESSAGES, "stream": True, **extra}, separators=(",", ":")).encode()


def deployment_of(path: str) -> str:
    m = re.search(r"/deployments/([^/?]+)/", path)
    if not m:
        raise ValueError(f"no /deployments/NAME/ in {path!r}: the baseline cannot replay it")
    return m.group(1)


def replay_env(tmp: Path, streams: dict[str, tuple[bytes, list[float] | None]] | None = None,
               embeddings: dict[str, Path] | None = None) -> dict[str, str]:
    """Environment for bench/baseline_app.py to replay these bytes (see BENCH_REPLAY there): `streams` maps a
    deployment to (SSE payload, pace or None), `embeddings` an encoding_format to a file of the answer."""
    spec: dict[str, Any] = {"streams": {}, "embeddings": {k: str(v) for k, v in (embeddings or {}).items()}}
    for name, (payload, pace) in (streams or {}).items():
        events = tmp / f"{name}.sse"
        events.write_bytes(payload)
        spec["streams"][name] = {"events": str(events), "pace": pace}
    path = tmp / "replay.json"
    path.write_text(json.dumps(spec))
    return {"BENCH_REPLAY": str(path)}


@dataclass
class Row:
    figure: str
    mock: str = ""
    base: str = ""
    ratio: str = ""
    compared: str = ""
    target: str = ""
    result: str = ""


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratios(per_round: dict[str, list[float]], num: str, den: str = BASELINE) -> list[float]:
    """num / den of each round (0 when den is 0)."""
    return [a / b if b else 0.0 for a, b in zip(per_round[num], per_round[den])]


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


class Ctx:
    """Run-wide settings derived from the CLI, and the report being built."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.target_cmd = BASELINE_CMD if args.target_cmd == "baseline" else args.target_cmd
        self.pinned = can_pin() and not args.no_pin
        self.server_cpu, self.client_cpus = cpu_split() if self.pinned else (None, None)
        self.rows: list[Row] = []
        self.figures: dict[str, Any] = {}
        self.notes: list[str] = []
        self.compare_src = Path(args.compare_src).resolve() if args.compare_src else None
        self.dropped: dict[str, str] = {}  # side -> why it left the current scenario (the compared checkout only)

    # ------------------------------------------------------------ servers

    @property
    def sides(self) -> list[str]:
        """The servers of every round, in the order each round loads them."""
        return [BASELINE, MOCK] + ([COMPARED] if self.compare_src else [])

    @property
    def live_sides(self) -> list[str]:
        """The sides still in the current scenario: the compared checkout leaves it at its first failure."""
        return [side for side in self.sides if side not in self.dropped]

    @contextmanager
    def guard(self, side: str, scenario: str, server: Server | None = None) -> Iterator[None]:
        """A failure of the compared checkout drops it from the scenario (and is noted; its `server` is stopped
        at once, so that it cannot go on using the servers' CPU); others propagate."""
        try:
            yield
        except ERRORS as exc:
            if side != COMPARED:
                raise
            if server is not None:
                server.stop()
            why = str(exc).strip().splitlines()[0][:60] if str(exc).strip() else type(exc).__name__
            self.dropped.setdefault(side, why)
            self.notes.append(f"{scenario}: the compared checkout failed, left out of the rest: {exc}")

    def command(self, side: str) -> tuple[str, str]:
        """(command template, health path) of a side."""
        if side == BASELINE:
            return BASELINE_CMD, "/_mock/health"
        if side == MOCK:
            return self.target_cmd, self.args.health_path
        return f"env PYTHONPATH={self.compare_src / 'server'} {AOAI_CMD}", "/_mock/health"

    def server(self, side: str, env: dict[str, str] | None = None) -> Server:
        return Server(side, self.command(side)[0], self.server_cpu, env=env, loop=self.args.loop,
                      http=self.args.http)

    def start(self, stack: ExitStack, side: str, env: dict[str, str] | None = None) -> Server:
        """Start a side's server (stopped when `stack` closes) and wait until it is healthy."""
        srv = stack.enter_context(self.server(side, env))
        srv.wait_healthy(self.command(side)[1])
        return srv

    # ------------------------------------------------------------- report

    def row(self, figure: str, mock: str = "", base: str = "", ratio: str = "", target: str = "",
            ok: bool | None = None, compared: str = "") -> None:
        self.rows.append(Row(figure, mock, base, ratio, compared, target,
                             "" if ok is None else ("PASS" if ok else "FAIL")))

    def figure(self, figure: str, per_round: dict[str, list[float]], fmt: Callable[[float], str], *,
               target: str = "", passes: Callable[[float], bool] | None = None, on_ratio: bool = False,
               with_ratio: bool = True) -> dict[str, Any]:
        """One row from per-round values of every side: each side's median over the rounds, the median of
        the rounds' aoai-mock / baseline ratios; `passes` judges the aoai-mock median, or with `on_ratio`
        that ratio. Returns the figures for the JSON output."""
        mock = median(per_round[MOCK])
        base = median(per_round[BASELINE]) if per_round.get(BASELINE) else float("nan")
        ratio = median(ratios(per_round, MOCK)) if with_ratio and per_round.get(BASELINE) else float("nan")
        out: dict[str, Any] = {"aoai_mock": mock, "baseline": base, "ratio": ratio,
                               "rounds": {k: v for k, v in per_round.items()}}
        compared = f"failed: {self.dropped[COMPARED]}" if COMPARED in self.dropped else ""
        if per_round.get(COMPARED):
            value = median(per_round[COMPARED])
            out["compared"] = value
            compared = fmt(value)
            if with_ratio and per_round.get(BASELINE):
                out["compared_ratio"] = median(ratios(per_round, COMPARED))
                compared += f" ({out['compared_ratio']:.2f})" if on_ratio else ""
        judged = ratio if on_ratio else mock
        ok = None if passes is None else (judged == judged and passes(judged))
        shown = "" if ratio != ratio else f"{ratio:.2f}" if abs(ratio) >= 0.01 or not ratio else f"{ratio:.4f}"
        self.row(figure, fmt(mock), fmt(base) if base == base else "", shown,
                 target, ok, compared)
        return out
