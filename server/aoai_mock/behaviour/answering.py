"""The answering families of ``/openai/deployments/{deployment}/...``: chat completions, completions and
embeddings, as :class:`~aoai_mock.behaviour.inference.Family` values the seam drives.

Each says how its body is validated, whether it streams, what an enforced quota charges it [documented:
Azure's estimate is the prompt's tokens plus ``max_tokens``, or the deployment's default estimate, per
choice], and how it answers; the answers render through :mod:`aoai_mock.wire`'s pure builders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.chat import ChatResult, parse_request, request_key, run_chat
from aoai_mock.behaviour.completions import prompts_of, run_completion
from aoai_mock.behaviour.embeddings import EmbeddingResult, prompt_tokens, run_embeddings
from aoai_mock.behaviour.inference import Answered, Call, Estimate, Family
from aoai_mock.behaviour.responders.base import Responder
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.chat import chat_body, chat_chunks
from aoai_mock.wire.completions import completion_body, completion_chunks
from aoai_mock.wire.embeddings import embeddings_body
from aoai_mock.wire.requests import ChatRequest, CompletionRequest, EmbeddingRequest

__all__ = ["CHAT", "COMPLETIONS", "EMBEDDINGS"]


def _run_chat(call: Call, parsed: ChatRequest, responder: Responder | None) -> Answered:
    result = run_chat(call.runtime, call.deployment, call.api_version, parsed, call.body, responder)
    return Answered(result, result.usage.prompt_tokens, result.usage.completion_tokens, chat_body, chat_chunks)


def _restamp_chat(call: Call, result: ChatResult) -> Answered:
    runtime = call.runtime
    ids = runtime.ids
    result = replace(
        result,
        id=ids.object_id("chatcmpl-", request_key(call.body) if ids.frozen else b""),
        created=runtime.clock.created(),
    )
    return Answered(result, result.usage.prompt_tokens, result.usage.completion_tokens, chat_body, chat_chunks)


def _chat_estimate(call: Call, parsed: ChatRequest) -> Estimate:
    deployment = call.deployment
    prompt = tokens.count_chat_body(call.body, deployment.model, deployment.version, call.api_version)
    asked = parsed.max_completion_tokens if parsed.max_completion_tokens is not None else parsed.max_tokens
    return Estimate(prompt, asked, parsed.n or 1)


def _run_completion(call: Call, parsed: CompletionRequest, responder: Responder | None) -> Answered:
    result = run_completion(call.runtime, call.deployment, call.api_version, parsed, call.body, responder)
    usage = result.usage
    return Answered(result, usage.prompt_tokens, usage.completion_tokens, completion_body, completion_chunks)


def _completion_estimate(call: Call, parsed: CompletionRequest) -> Estimate:
    encoding = tokens.encoding_name_for(call.deployment.model)
    prompts = [tokens.count(p, encoding) for p in prompts_of(parsed.prompt, encoding)]
    choices = len(prompts) * max(parsed.n or 1, parsed.best_of or 1)
    return Estimate(sum(prompts), parsed.max_tokens or 16, choices)


def _embeddings_body(result: EmbeddingResult) -> Mapping[str, Any]:
    return embeddings_body(result.model, result.vectors, result.prompt_tokens)


def _run_embeddings(call: Call, parsed: EmbeddingRequest, responder: Responder | None) -> Answered:
    context = call.runtime.context(call.deployment)
    result = run_embeddings(call.deployment, parsed, call.body, responder, context)
    return Answered(result, result.prompt_tokens, 0, _embeddings_body)


def _embeddings_estimate(call: Call, parsed: EmbeddingRequest) -> Estimate:
    encoding = tokens.encoding_name_for(call.deployment.model)
    return Estimate(prompt_tokens(parsed.input, encoding), None, generates=False)


def _parse_chat(call: Call) -> ChatRequest:
    return parse_request(call.body, call.api_version)


CHAT = Family(
    operation=av.CHAT,
    parse=_parse_chat,
    model=ChatRequest,
    streams=True,
    estimate=_chat_estimate,
    run=_run_chat,
    restamp=_restamp_chat,
)

COMPLETIONS = Family(
    operation=av.COMPLETIONS,
    parse=None,
    model=CompletionRequest,
    streams=True,
    estimate=_completion_estimate,
    run=_run_completion,
)

EMBEDDINGS = Family(
    operation=av.EMBEDDINGS,
    parse=None,
    model=EmbeddingRequest,
    streams=False,
    estimate=_embeddings_estimate,
    run=_run_embeddings,
    offload_bytes=8 * 1024,  # every input is a vector of thousands of numbers to make and write
)
