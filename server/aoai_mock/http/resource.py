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

Their routers are ``APIRouter(route_class=StoreRoute)``: a route's store writes are held
(:func:`aoai_mock.state.store.transaction`) and land together once its answer is built and rendered, with a
status below 400; an error, raised or answered, leaves the store as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import ApiVersionNotSupported
from aoai_mock.http.deps import api_version, authenticate
from aoai_mock.state.store import transaction
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.operations import resolve

__all__ = ["AzureCall", "azure_call", "v1_routes", "V1_PREFIX", "StoreRoute"]


@dataclass(frozen=True, slots=True)
class AzureCall:
    runtime: Runtime
    api_version: str  # "" when the route does not require one and none was given


V1_PREFIX = "/openai/v1/"


class StoreRoute(APIRoute):
    """A route whose store writes land together, in one step, once its answer is ready (the response built,
    its body rendered) and is not an error; a route that raises, or answers 400 and up, stores nothing. A
    stream's body is made later, as it is sent: what it writes (a streamed run going on) goes straight in."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def held(request: Request) -> Response:
            with transaction(request.app.state.runtime.store) as writes:
                response = await handler(request)
                if response.status_code < 400:
                    await writes.commit()
            return response

        return held


def azure_call(request: Request, operation: str, version_required: bool = True) -> AzureCall:
    """Under ``/openai/v1/`` the api-version is optional (``v1`` when absent) and must be ``v1`` or
    ``preview``; elsewhere it is required unless ``version_required`` is False."""
    runtime: Runtime = request.app.state.runtime
    headers = request.headers
    key = headers.get("api-key")
    authenticate(key, None if key else headers.get("authorization"), runtime, operation)
    query = request.scope.get("query_string", b"")
    if request.url.path.startswith(V1_PREFIX):
        version = api_version(query, operation, required=False) or "v1"
        if version not in av.V1_FAMILY:
            raise ApiVersionNotSupported()
    else:
        version = api_version(query, operation, required=version_required)
    record = request.scope.get("state", {}).get("record")
    if record is not None:  # the front door's record of this request (none for the mock's own routes)
        record.operation, record.api_version = operation, version or None
    return AzureCall(runtime, version)


def v1_routes(router: APIRouter) -> APIRouter:
    """The same routes under ``/openai/v1/...``, for the operations the registry serves there (files,
    fine-tuning, vector stores, ...) and that ``router`` does not declare there itself (models and responses
    have their own v1 routes); their handlers call :func:`azure_call`, which applies the v1 rules."""
    copy = APIRouter(route_class=StoreRoute)
    declared = {route.path for route in router.routes if isinstance(route, APIRoute)}
    for route in router.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/openai/"):
            continue
        path = V1_PREFIX + route.path[len("/openai/") :]
        methods = [m for m in sorted(route.methods or ()) if resolve(m, path) is not None]
        if methods and path not in declared:
            copy.add_api_route(
                path, route.endpoint, methods=methods, status_code=route.status_code, route_class_override=type(route)
            )
    return copy
