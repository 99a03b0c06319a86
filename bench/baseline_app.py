"""Bare Starlette baseline for the aoai-mock benchmark.

Answers ``POST /openai/deployments/{deployment}/chat/completions`` with a
precomputed ~1 KB chat.completion body, so the benchmark can compare the
mock's per-request cost with the floor set by Starlette + uvicorn alone.

For testing the benchmark machinery it also streams ``max_tokens`` chunks
when the request body asks for ``"stream": true``.

Replays (the same bytes as aoai-mock, so only the serving differs): with ``BENCH_REPLAY`` set to a JSON
file ``{"streams": {deployment: {"events": path, "pace": [ttft_s, tokens_per_s] | null}},
"embeddings": {encoding_format: path}}``, a chat request to one of those deployments is answered with
the SSE events of its file (one event per ``yield`` of a StreamingResponse; with ``pace``, content event
``i`` is sent ``ttft_s + i / tokens_per_s`` after the handler starts, as aoai-mock paces), and an
embeddings request with the bytes of the file of its ``encoding_format``.

Serve it with:
    python -m uvicorn baseline_app:app --app-dir bench --no-access-log
"""

from __future__ import annotations

import asyncio
import json
import os
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


def _is_content(event: bytes) -> bool:
    if not event.startswith(b"data: {"):
        return False
    return any((c.get("delta") or {}).get("content") for c in json.loads(event[6:]).get("choices") or [])


def _load_replay() -> tuple[dict[str, tuple[list[bytes], list[bool], list[float] | None]], dict[str, bytes]]:
    spec_path = os.environ.get("BENCH_REPLAY")
    if not spec_path:
        return {}, {}
    with open(spec_path) as f:
        spec = json.load(f)
    streams = {}
    for name, s in (spec.get("streams") or {}).items():
        with open(s["events"], "rb") as f:
            events = [e + b"\n\n" for e in f.read().split(b"\n\n") if e]
        content = [_is_content(e) for e in events]
        pace = s.get("pace")
        streams[name] = (events, content, list(pace) if pace else None)
    embeddings = {}
    for fmt, path in (spec.get("embeddings") or {}).items():
        with open(path, "rb") as f:
            embeddings[fmt] = f.read()
    return streams, embeddings


STREAMS, EMBEDDINGS = _load_replay()


async def _replay(events: list[bytes]) -> AsyncIterator[bytes]:
    for event in events:
        yield event


async def _replay_paced(events: list[bytes], content: list[bool], ttft: float, tps: float,
                        start: float) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    i = 0
    for event, is_content in zip(events, content):
        if is_content:
            wait = start + ttft + i / tps - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            i += 1
        yield event


async def chat(request: Request) -> Response:
    start = asyncio.get_running_loop().time() if STREAMS else 0.0
    raw = await request.body()
    if STREAMS and (replay := STREAMS.get(request.path_params["deployment"])):
        events, content, pace = replay
        body = _replay(events) if pace is None else _replay_paced(events, content, pace[0], pace[1], start)
        return StreamingResponse(body, media_type="text/event-stream")
    if b'"stream"' in raw:  # cheap check keeps the non-stream path bare
        req = json.loads(raw)
        if req.get("stream"):
            n = int(req.get("max_tokens") or 16)
            return StreamingResponse(_sse_chunks(n), media_type="text/event-stream")
    return Response(COMPLETION, media_type="application/json")


async def embeddings(request: Request) -> Response:
    fmt = json.loads(await request.body()).get("encoding_format") or "float"
    return Response(EMBEDDINGS[fmt], media_type="application/json")


async def health(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


app = Starlette(
    routes=[
        Route("/openai/deployments/{deployment}/chat/completions", chat, methods=["POST"]),
        Route("/openai/deployments/{deployment}/embeddings", embeddings, methods=["POST"]),
        Route("/_mock/health", health, methods=["GET"]),
    ]
)
