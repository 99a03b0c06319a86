"""``GET /metrics``: Prometheus' text format, open like ``/_mock/health`` (scrapers send no keys). The counts are
:class:`~aoai_mock.state.metrics.Metrics`'; the metric families are built from them at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.state.metrics import Metrics, durations_by_label, requests_by_label, tokens_by_label

__all__ = ["router", "registry_for", "MetricsCollector"]

router = APIRouter()


class MetricsCollector(Collector):
    """Builds the metric families from :class:`Metrics` and the fault totals at scrape time."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        records, injected = self.metrics.snapshot()
        counted = CounterMetricFamily(
            "aoai_mock_requests", "Requests answered", labels=["deployment", "operation", "status"]
        )
        for (dep, op, status), n in requests_by_label(records):
            counted.add_metric([dep, op, status], n)
        yield counted
        histogram = HistogramMetricFamily(
            "aoai_mock_request_duration_seconds", "Time from arrival to the end of the response",
            labels=["deployment", "operation"],
        )
        for (dep, op), buckets, seconds in durations_by_label(records):
            histogram.add_metric([dep, op], buckets, seconds)
        yield histogram
        spent = CounterMetricFamily("aoai_mock_tokens", "Tokens counted", labels=["deployment", "operation", "kind"])
        for (dep, op), (prompt, completion) in sorted(tokens_by_label(records).items()):
            spent.add_metric([dep, op, "prompt"], prompt)
            spent.add_metric([dep, op, "completion"], completion)
        yield spent
        faults = CounterMetricFamily("aoai_mock_faults_injected", "Faults injected", labels=["kind"])
        for kind, n in sorted(injected.items()):
            faults.add_metric([kind], n)
        yield faults


def registry_for(metrics: Metrics) -> CollectorRegistry:
    """A registry of this server's metrics alone (never the process-wide default one)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(MetricsCollector(metrics))
    return registry


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
