"""Request metrics: counted on the hot path as plain numbers, exposed in Prometheus' format on scrape.

:meth:`Metrics.observe` is called once per request (from the front door) and only adds to a few numbers
in a dict keyed by (deployment, operation, status). :class:`MetricsCollector` turns them, and the fault
kinds of faults injected, into Prometheus metric families when ``GET /metrics`` is scraped (prometheus_client does
the exposition format):

* ``aoai_mock_requests_total{deployment, operation, status}``
* ``aoai_mock_request_duration_seconds{deployment, operation}`` (a histogram)
* ``aoai_mock_tokens_total{deployment, operation, kind="prompt"|"completion"}``
* ``aoai_mock_faults_injected_total{kind}``
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = ["Metrics", "MetricsCollector", "BUCKETS"]

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


@dataclass(slots=True)
class _Latency:
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))  # the last: above every bucket
    total: float = 0.0


class Metrics:
    """Counters since the start of the server; safe to observe from the event loop and read from a thread."""

    def __init__(self) -> None:
        self._requests: dict[tuple[str, str, str], int] = {}
        self._latency: dict[tuple[str, str], _Latency] = {}
        self._tokens: dict[tuple[str, str, str], int] = {}
        self._faults: dict[str, int] = {}
        self._lock = threading.Lock()

    def observe(
        self,
        deployment: str | None,
        operation: str | None,
        status: int,
        seconds: float,
        tokens: tuple[int, int] | None = None,
        fault: str | None = None,
    ) -> None:
        dep, op = deployment or "", operation or ""
        key = (dep, op, str(status))
        with self._lock:
            self._requests[key] = self._requests.get(key, 0) + 1
            latency = self._latency.get((dep, op))
            if latency is None:
                latency = self._latency[(dep, op)] = _Latency()
            latency.counts[bisect.bisect_left(BUCKETS, seconds)] += 1
            latency.total += seconds
            if tokens is not None:
                for kind, count in zip(("prompt", "completion"), tokens):
                    tkey = (dep, op, kind)
                    self._tokens[tkey] = self._tokens.get(tkey, 0) + count
            if fault is not None:
                self._faults[fault] = self._faults.get(fault, 0) + 1

    def snapshot(self) -> tuple[dict[Any, int], dict[Any, _Latency], dict[Any, int], dict[str, int]]:
        with self._lock:
            latency = {k: _Latency(list(v.counts), v.total) for k, v in self._latency.items()}
            return dict(self._requests), latency, dict(self._tokens), dict(self._faults)


class MetricsCollector(Collector):
    """Builds the metric families from :class:`Metrics` and the fault totals at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        requests, latency, tokens, injected = self.metrics.snapshot()
        counted = CounterMetricFamily(
            "aoai_mock_requests", "Requests answered", labels=["deployment", "operation", "status"]
        )
        for (dep, op, status), n in sorted(requests.items()):
            counted.add_metric([dep, op, status], n)
        yield counted
        histogram = HistogramMetricFamily(
            "aoai_mock_request_duration_seconds", "Time from arrival to the end of the response",
            labels=["deployment", "operation"],
        )
        for (dep, op), seen in sorted(latency.items()):
            running, buckets = 0, []
            for bound, n in zip((*BUCKETS, float("inf")), seen.counts):
                running += n
                buckets.append((str(bound) if bound != float("inf") else "+Inf", running))
            histogram.add_metric([dep, op], buckets, seen.total)
        yield histogram
        spent = CounterMetricFamily("aoai_mock_tokens", "Tokens counted", labels=["deployment", "operation", "kind"])
        for (dep, op, kind), n in sorted(tokens.items()):
            spent.add_metric([dep, op, kind], n)
        yield spent
        faults = CounterMetricFamily("aoai_mock_faults_injected", "Faults injected", labels=["kind"])
        for kind, n in sorted(injected.items()):
            faults.add_metric([kind], n)
        yield faults
