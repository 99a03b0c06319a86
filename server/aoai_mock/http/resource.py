"""The checks every resource route (files, assistants, batches, ...) makes first, for FastAPI handlers.

The inference routes run on the raw ASGI exchange (see :mod:`aoai_mock.http.routes.inference`); the
resource families are ordinary FastAPI routes and start with :func:`azure_call`::

    @router.get("/openai/files/{file_id}")
    async def retrieve(request: Request, file_id: str) -> Response:
        call = azure_call(request, av.FILES)
        ...

It authenticates (``api-key`` or Bearer), checks the ``api-version`` against what the version offers for
the operation family, and notes the operation for the journal. Errors are AzureErrors, rendered by the
application's handlers.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.http.deps import api_version, authenticate

__all__ = ["AzureCall", "azure_call"]


@dataclass(frozen=True, slots=True)
class AzureCall:
    runtime: Runtime
    api_version: str  # "" when the route does not require one and none was given


def azure_call(request: Request, operation: str, version_required: bool = True) -> AzureCall:
    runtime: Runtime = request.app.state.runtime
    headers = request.headers
    key = headers.get("api-key")
    authenticate(key, None if key else headers.get("authorization"), runtime.settings.api_keys)
    version = api_version(request.scope.get("query_string", b""), operation, required=version_required)
    request.scope.setdefault("state", {})["operation"] = operation
    return AzureCall(runtime, version)
