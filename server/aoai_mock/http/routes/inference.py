"""Chat completions, completions and embeddings under ``/openai/deployments/{deployment}/...``.

Each route: check key, api-version and deployment; parse the body into its model; ask behaviour; render.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour.chat import run_chat
from aoai_mock.behaviour.completions import run_completion
from aoai_mock.behaviour.embeddings import run_embeddings
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


async def _prepare(request: Request, deployment: str, operation: str) -> tuple[Deployment, str, bytes]:
    runtime = runtime_of(request)
    settings = runtime.settings
    authenticate(request, settings.api_keys)
    version = api_version(request, operation)
    found = deployment_for(runtime, deployment, operation, version)
    _rate_headers(request, found)
    raw = await read_json_body(request, settings.config.max_body_bytes)
    return found, version, raw


def _rate_headers(request: Request, deployment: Deployment) -> None:
    add_response_headers(
        request.scope,
        {
            "x-ratelimit-remaining-requests": str(deployment.requests_per_minute - 1),
            "x-ratelimit-remaining-tokens": str(deployment.tokens_per_minute),
        },
    )


@router.post("/openai/deployments/{deployment}/chat/completions")
async def chat_completions(request: Request, deployment: str) -> Response:
    found, version, raw = await _prepare(request, deployment, av.CHAT)
    body = load_json(raw)
    parsed = validate(ChatRequest, body)
    result = run_chat(
        runtime_of(request), found, version, parsed, body, request.headers.get(RESPONDER_HEADER)
    )
    if parsed.stream:
        return sse_response(chat_chunks(result))
    return json_response(chat_body(result))


@router.post("/openai/deployments/{deployment}/completions")
async def completions(request: Request, deployment: str) -> Response:
    found, version, raw = await _prepare(request, deployment, av.COMPLETIONS)
    body = load_json(raw)
    parsed = validate(CompletionRequest, body)
    result = run_completion(
        runtime_of(request), found, version, parsed, body, request.headers.get(RESPONDER_HEADER)
    )
    if parsed.stream:
        return sse_response(completion_chunks(result))
    return json_response(completion_body(result))


@router.post("/openai/deployments/{deployment}/embeddings")
async def embeddings(request: Request, deployment: str) -> Response:
    found, _version, raw = await _prepare(request, deployment, av.EMBEDDINGS)
    body = load_json(raw)
    parsed = validate(EmbeddingRequest, body)
    result = run_embeddings(found, parsed, body)
    return json_response(embeddings_body(result.model, result.vectors, result.prompt_tokens))
