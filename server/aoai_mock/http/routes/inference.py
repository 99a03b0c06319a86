"""Chat completions, completions and embeddings under ``/openai/deployments/{deployment}/...``.

Each route: check key, api-version and deployment; parse the body into its model; ask behaviour; render.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.chat import run_chat
from aoai_mock.behaviour.completions import run_completion
from aoai_mock.behaviour.embeddings import run_embeddings
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.http.deps import api_version, authenticate, deployment_for, read_json_body, runtime_of
from aoai_mock.http.front import add_response_headers
from aoai_mock.http.render import json_response, sse_response
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.chat import chat_body, chat_chunks
from aoai_mock.wire.completions import completion_body, completion_chunks
from aoai_mock.wire.embeddings import embeddings_body
from aoai_mock.wire.requests import ChatRequest, CompletionRequest, EmbeddingRequest
from aoai_mock.wire.validation import load_json, validate

__all__ = ["router"]

router = APIRouter()

RESPONDER_HEADER = "x-aoai-mock-responder"


@dataclass(frozen=True, slots=True)
class _Call:
    runtime: Runtime
    deployment: Deployment
    api_version: str
    body: dict[str, Any]
    responder: str | None  # the x-aoai-mock-responder header


async def _prepare(request: Request, operation: str) -> _Call:
    """The checks in the service's order (key, api-version, deployment), then the body as JSON."""
    runtime = runtime_of(request)
    settings = runtime.settings
    authenticate(request, settings.api_keys)
    version = api_version(request, operation)
    found = deployment_for(runtime, request.path_params["deployment"], operation, version)
    _rate_headers(request, found)
    raw = await read_json_body(request, settings.config.max_body_bytes)
    return _Call(runtime, found, version, load_json(raw), request.headers.get(RESPONDER_HEADER))


def _rate_headers(request: Request, deployment: Deployment) -> None:
    add_response_headers(
        request.scope,
        {
            "x-ratelimit-remaining-requests": str(deployment.requests_per_minute - 1),
            "x-ratelimit-remaining-tokens": str(deployment.tokens_per_minute),
        },
    )


async def chat_completions(request: Request) -> Response:
    call = await _prepare(request, av.CHAT)
    parsed = validate(ChatRequest, call.body)
    result = run_chat(call.runtime, call.deployment, call.api_version, parsed, call.body, call.responder)
    if parsed.stream:
        return sse_response(chat_chunks(result))
    return json_response(chat_body(result))


async def completions(request: Request) -> Response:
    call = await _prepare(request, av.COMPLETIONS)
    parsed = validate(CompletionRequest, call.body)
    result = run_completion(call.runtime, call.deployment, call.api_version, parsed, call.body, call.responder)
    if parsed.stream:
        return sse_response(completion_chunks(result))
    return json_response(completion_body(result))


async def embeddings(request: Request) -> Response:
    call = await _prepare(request, av.EMBEDDINGS)
    parsed = validate(EmbeddingRequest, call.body)
    result = run_embeddings(call.deployment, parsed, call.body)
    return json_response(embeddings_body(result.model, result.vectors, result.prompt_tokens))


# Plain Starlette routes: the hot path needs no dependency injection, and FastAPI's costs ~70 us a call.
for _path, _endpoint in (
    ("/openai/deployments/{deployment}/chat/completions", chat_completions),
    ("/openai/deployments/{deployment}/completions", completions),
    ("/openai/deployments/{deployment}/embeddings", embeddings),
):
    router.add_route(_path, _endpoint, methods=["POST"])
