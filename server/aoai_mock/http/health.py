"""``GET /_mock/health``: always open (Docker health checks call it), and answered before the framework
application exists (:mod:`aoai_mock.http.deferred`), so that a health check passes as soon as the server listens."""

from __future__ import annotations

from starlette.responses import Response

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.http.render import json_response

__all__ = ["HEALTH_PATH", "health"]

HEALTH_PATH = "/_mock/health"


def health(runtime: Runtime) -> Response:
    return json_response({"status": "ok", "deployments": len(runtime.deployments)})
