"""Legacy completions: prompts as text, lists or token arrays; ChatML prompts read as conversations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aoai_mock.behaviour import content_filter, tokens
from aoai_mock.behaviour.chat import (
    check_output_budget,
    check_stream_options,
    request_key,
    usage_of,
)
from aoai_mock.behaviour.chatml import chatml_messages
from aoai_mock.behaviour.responders.base import Choice, Conversation, Responder
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.shaping import completion_logprobs, shape_text
from aoai_mock.config import Deployment
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.eras import era_for
from aoai_mock.wire.requests import CompletionRequest
from aoai_mock.wire.results import CompletionChoice, CompletionResult

__all__ = ["run_completion", "prompts_of"]


def prompts_of(prompt: Any, encoding: str) -> list[str]:
    """Every prompt of a request as text: a string, strings, a token array or token arrays."""
    if isinstance(prompt, str):
        return [prompt]
    if prompt and all(isinstance(p, int) for p in prompt):
        return [tokens.decode(prompt, encoding)]
    return [p if isinstance(p, str) else tokens.decode(p, encoding) for p in prompt] or [""]


def run_completion(
    runtime: Runtime,
    deployment: Deployment,
    api_version: str,
    request: CompletionRequest,
    body: Mapping[str, Any],
    responder: Responder | None = None,
) -> CompletionResult:
    """``responder``: who writes the answers; None: the deployment's own."""
    responder = responder or runtime.responder(deployment)
    override = None
    check_stream_options(request.stream, request.stream_options)
    encoding = tokens.encoding_name_for(deployment.model)
    prompts = prompts_of(request.prompt, encoding)
    counts = [tokens.count(p, encoding) for p in prompts]
    check_output_budget(deployment, max(counts), request.max_tokens, "max_tokens", unit="prompt")
    key = request_key(body)
    n = request.n or 1
    stop = [request.stop] if isinstance(request.stop, str) else list(request.stop or ())
    screen = content_filter.for_deployment(deployment)
    prompt_filter_results = screen.completion_prompts(api_version, prompts)  # raises PromptFiltered
    choices, completion_tokens = [], 0
    for p_index, prompt in enumerate(prompts):
        conv = Conversation(
            operation=av.COMPLETIONS,
            messages=chatml_messages(prompt),
            seed=runtime.request_seed(deployment, key + b"\0%d" % p_index),
            n=n,
            max_tokens=request.max_tokens,
            body=body,
        )
        reply = responder.respond(conv, runtime.context(deployment))
        override = reply.usage or override
        for j in range(n):
            chosen = reply.choices[j % len(reply.choices)]
            made = _choice(p_index * n + j, chosen, prompt, request, conv, screen, api_version, encoding, stop)
            completion_tokens += len(made.pieces)
            choices.append(made)
    return CompletionResult(
        id=runtime.ids.object_id("cmpl-", key),
        created=runtime.clock.created(),
        model=deployment.response_model,
        choices=tuple(choices),
        usage=usage_of(override, sum(counts), completion_tokens, 0),
        prompt_filter_results=prompt_filter_results,
        include_usage=bool(request.stream_options and request.stream_options.include_usage),
        extra={"echo_prefix": [prompts[c.index // n] for c in choices] if request.echo else None},
        filter_offsets_every=screen.async_every if prompt_filter_results is not None else 0,
        era=era_for(api_version),
    )


def _choice(
    index: int,
    chosen: Choice,
    prompt: str,
    request: CompletionRequest,
    conv: Conversation,
    screen: content_filter.ContentFilter,
    api_version: str,
    encoding: str,
    stop: list[str],
) -> CompletionChoice:
    """One answer as sent: stop sequences, max_tokens, the filter's cut, echo and logprobs."""
    shaped = shape_text(chosen.content or "", stop=stop, max_tokens=request.max_tokens, encoding=encoding)
    trip = chosen.trip if isinstance(chosen, content_filter.FilteredChoice) else None
    pieces, finish = shaped.pieces, chosen.finish_reason or shaped.finish_reason
    results, start, before = screen.safe_choice(api_version), 0, None
    if trip is not None or screen.screens_completions:
        out = screen.completion(api_version, shaped.text, trip).apply(pieces, finish)
        pieces, finish, results, start, before = out.pieces, out.finish_reason, out.results, out.start, out.before
    text = shaped.text if pieces is shaped.pieces else "".join(pieces)
    logprobs = None
    if request.logprobs is not None:
        offset = len(prompt) if request.echo else 0
        logprobs = completion_logprobs(pieces, request.logprobs, offset, conv.rng(index % (request.n or 1)))
    echoed = (prompt + text) if request.echo else text
    return CompletionChoice(index, echoed, pieces, finish, logprobs, results, start, before)
