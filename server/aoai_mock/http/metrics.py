"""``GET /metrics``: Prometheus' text format, open like ``/_mock/health`` (scrapers send no keys). The counts are
:class:`~aoai_mock.state.metrics.Metrics`'; the metric families are built from them at scrape time.

With shared state (``--state redis://``) every series has a ``process`` label, and the scrape shows every live
process's, as the processes last sent them to Redis (:func:`~aoai_mock.state.metrics.gather`); without it,
this process's series alone, unlabelled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.state.metrics import Metrics, Snapshot, durations_by_label, gather, requests_by_label, tokens_by_label

__all__ = ["router", "registry_for", "MetricsCollector", "ProcessesCollector", "PROCESS"]

PROCESS = "process"  # the label that tells processes apart when they share a Redis

router = APIRouter()


class MetricsCollector(Collector):
    """Builds the metric families from :class:`Metrics` and the fault totals at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        return _families({(): self.metrics.snapshot()}, ())


class ProcessesCollector(Collector):
    """The metric families of several processes' counts, each series labelled with its ``process``."""

    def __init__(self, snapshots: Mapping[str, Snapshot]) -> None:
        self.snapshots = snapshots

    def collect(self) -> Iterator[Metric]:
        return _families({(name,): snapshot for name, snapshot in self.snapshots.items()}, (PROCESS,))


def _families(snapshots: Mapping[tuple[str, ...], Snapshot], extra: tuple[str, ...]) -> Iterator[Metric]:
    """The four families, each series given the ``extra`` labels' values its snapshot is keyed by."""
    counted = CounterMetricFamily(
        "aoai_mock_requests", "Requests answered", labels=["deployment", "operation", "status", *extra]
    )
    histogram = HistogramMetricFamily(
        "aoai_mock_request_duration_seconds", "Time from arrival to the end of the response",
        labels=["deployment", "operation", *extra],
    )
    spent = CounterMetricFamily("aoai_mock_tokens", "Tokens counted",
                                labels=["deployment", "operation", "kind", *extra])
    faults = CounterMetricFamily("aoai_mock_faults_injected", "Faults injected", labels=["kind", *extra])
    for values, (records, injected) in snapshots.items():
        for (dep, op, status), n in requests_by_label(records):
            counted.add_metric([dep, op, status, *values], n)
        for (dep, op), buckets, seconds in durations_by_label(records):
            histogram.add_metric([dep, op, *values], buckets, seconds)
        for (dep, op), (prompt, completion) in sorted(tokens_by_label(records).items()):
            spent.add_metric([dep, op, "prompt", *values], prompt)
            spent.add_metric([dep, op, "completion", *values], completion)
        for kind, n in sorted(injected.items()):
            faults.add_metric([kind, *values], n)
    yield from (counted, histogram, spent, faults)


def registry_for(metrics: Metrics) -> CollectorRegistry:
    """A registry of this server's metrics alone (never the process-wide default one)."""
    return _registry(MetricsCollector(metrics))


def _registry(collector: Collector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)
    return registry


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    state = request.app.state
    shared = state.runtime.shared
    if shared is None:
        registry: CollectorRegistry = state.metrics_registry
    else:
        registry = _registry(ProcessesCollector(await gather(state.metrics, shared)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
