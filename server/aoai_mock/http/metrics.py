"""``GET /metrics``: Prometheus' text format, open like ``/_mock/health`` (scrapers send no keys)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.state.metrics import Metrics, MetricsCollector

__all__ = ["router", "registry_for"]

router = APIRouter()


def registry_for(metrics: Metrics) -> CollectorRegistry:
    """A registry of this server's metrics alone (never the process-wide default one)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(MetricsCollector(metrics))
    return registry


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    registry: CollectorRegistry = request.app.state.metrics_registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
