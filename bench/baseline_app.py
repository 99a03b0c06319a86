"""Bare Starlette baseline for the aoai-mock benchmark.

Answers ``POST /openai/deployments/{deployment}/chat/completions`` with a
precomputed ~1 KB chat.completion body, so the benchmark can compare the
mock's per-request cost with the floor set by Starlette + uvicorn alone.

For testing the benchmark machinery it also streams ``max_tokens`` chunks
when the request body asks for ``"stream": true``.

Serve it with:
    python -m uvicorn baseline_app:app --app-dir bench --no-access-log
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

_FILTER_OK = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}


def _completion_body() -> bytes:
    """A chat.completion of realistic Azure shape and size (~1 KB)."""
    body = {
        "id": "chatcmpl-9Bench000000000000000000000",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4o-2024-08-06",
        "system_fingerprint": "fp_bench0000",
        "prompt_filter_results": [
            {"prompt_index": 0, "content_filter_results": _FILTER_OK}
        ],
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "logprobs": None,
                "message": {
                    "role": "assistant",
                    "content": "Microsoft was founded on April 4, 1975, by Bill "
                    "Gates and Paul Allen in Albuquerque, New Mexico.",
                    "refusal": None,
                },
                "content_filter_results": _FILTER_OK,
            }
        ],
        "usage": {"prompt_tokens": 24, "completion_tokens": 22, "total_tokens": 46},
    }
    return json.dumps(body, separators=(",", ":")).encode()


COMPLETION = _completion_body()


async def _sse_chunks(n: int) -> AsyncIterator[bytes]:
    head = '{"id":"chatcmpl-bench","object":"chat.completion.chunk","choices":'
    for i in range(n):
        delta = json.dumps({"content": f"tok{i} "})
        yield f'data: {head}[{{"index":0,"delta":{delta}}}]}}\n\n'.encode()
    yield b"data: [DONE]\n\n"


async def chat(request: Request) -> Response:
    raw = await request.body()
    if b'"stream"' in raw:  # cheap check keeps the non-stream path bare
        req = json.loads(raw)
        if req.get("stream"):
            n = int(req.get("max_tokens") or 16)
            return StreamingResponse(_sse_chunks(n), media_type="text/event-stream")
    return Response(COMPLETION, media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/openai/deployments/{deployment}/chat/completions", chat, methods=["POST"]),
        Route("/_mock/health", health, methods=["GET"]),
    ]
)
