"""Responses: create (one answer, or its stream), chain, store, retrieve, delete and list input items.

A create runs in two steps so the route can let a scenario choose who answers in between::

    prepared = await prepare(runtime, deployment, api_version, body)   # parse, chain, count, check
    chosen = choose_responder(runtime, prepared, headers, override, scenario)
    created = await create(runtime, prepared, chosen.responder)         # answer, shape, filter, store

The store is read and written on the event loop, around the answer, which may be worked out in a worker
thread (the seam, :mod:`aoai_mock.behaviour.inference`, does so for a large request): :func:`load` reads what
a request names (the response it continues, the items it refers to) before :func:`prepared_from` uses it, and
:func:`keep_created` stores what :func:`answered` made. :func:`prepare` and :func:`create` are each pair.

What is stored (``store`` is true unless the request says false), in ``runtime.store``:

* kind ``response``: the response object as it was returned;
* kind ``response_input_items``: ``{"id": <response id>, "items": [...], "history": [...]}``, the request's
  own input items (what ``input_items`` lists) and the conversation before them (the chain it continued),
  so a later ``previous_response_id`` continues from ``history + items + output``;
* kind ``response_item``: each input and output item by its id, what an ``item_reference`` names (``kept.py``).

The answer is shaped as the api-version's era has it (:func:`aoai_mock.wire.eras.era_for`, its ``responses``
column). Its ``model`` is the deployment's name, the ``model`` the request sent: the recordings show
``gpt-4o-mini`` where chat completions on the same deployment say ``gpt-4o-mini-2024-07-18`` [captured:
recordings/responses/ (Mar and Aug 2025), a deployment named after its model, so that the name is the
deployment's and not the model's is inferred].

Nothing is kept for ``store: false``, so chaining from such a response is the service's 400
``previous_response_not_found``, and retrieving it a 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.chat import check_output_budget, request_key, usage_of
from aoai_mock.behaviour.responders.base import Conversation, Responder
from aoai_mock.behaviour.responses import items as input_items
from aoai_mock.behaviour.responses import kept
from aoai_mock.behaviour.responses.build import Planned, counted_tools, response_object, shape_output
from aoai_mock.behaviour.responses.events import stream_events
from aoai_mock.behaviour.responses.filtering import screen_output
from aoai_mock.behaviour.responses.request import JsonSchemaFormat, ResponsesRequest
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.behaviour.scenarios.request_facts import RequestView
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.eras import ResponsesShape, era_for
from aoai_mock.wire.validation import validate

__all__ = [
    "Prepared", "Created", "Chosen", "Loaded", "load", "prepare", "prepared_from", "choose_responder", "create",
    "answered", "keep_created", "RESPONSE", "INPUT_ITEMS",
]  # fmt: skip

RESPONSE = "response"  # store kinds
INPUT_ITEMS = "response_input_items"
_ID_LENGTH = 48


@dataclass(slots=True)
class Prepared:
    """A checked request, its conversation and its token count: everything but the answer."""

    request: ResponsesRequest
    body: Mapping[str, Any]
    deployment: Deployment
    api_version: str
    key: bytes  # what decides the answer (the body without stream options)
    seed: int
    new_input: list[dict[str, Any]]  # this request's input, as stored items
    history: list[dict[str, Any]]  # the chained conversation before it
    chat: list[dict[str, Any]]  # instructions + history + input, as chat messages
    input_tokens: int
    encoding: str
    shape: ResponsesShape = ResponsesShape()  # the api-version era's

    def view(self, headers: Mapping[str, str]) -> RequestView:
        """The request as scenario rules see it: ``input`` holds the whole conversation (the chained
        history too) as chat messages, ``instructions`` the system message; the other fields as sent."""
        conversation = self.chat[1:] if self.request.instructions else self.chat
        body = {**self.body, "input": conversation}
        return RequestView(av.RESPONSES, self.deployment.name, self.api_version, headers, body)


@dataclass(slots=True)
class Created:
    response: dict[str, Any]
    planned: list[Planned]
    seed: int
    obfuscate: bool
    shape: ResponsesShape = ResponsesShape()
    service_tier: str | None = None  # the tier the request asked for
    kept: Prepared | None = None  # the request whose input and history :func:`keep_created` keeps (None: not kept)

    def events(self) -> Iterator[dict[str, Any]]:
        return stream_events(self.response, self.planned, self.seed, shape=self.shape, obfuscate=self.obfuscate,
                             service_tier=self.service_tier)


@dataclass(frozen=True, slots=True)
class Chosen:
    responder: Responder | None  # None: the deployment's own
    scenario: str | None = None
    rule: str | None = None


def _namer(runtime: Runtime, key: bytes, scope: bytes) -> Callable[[str], str]:
    """Ids for the items of one request: derived from the request when ids are seeded, else random."""
    numbers = count()
    return lambda prefix: runtime.ids.object_id(prefix, b"%s\0%s%d" % (key, scope, next(numbers)), _ID_LENGTH)


def _check(request: ResponsesRequest) -> None:
    if isinstance(request.input, list) and not request.input:
        raise InvalidRequest(
            "Invalid 'input': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            param="input",
            code="empty_array",
        )
    if request.background:
        raise InvalidRequest(
            "aoai-mock does not run responses in the background: leave 'background' unset or false.",
            param="background",
            code="unsupported_parameter",
        )
    choice = request.tool_choice
    named = choice.name if choice is not None and not isinstance(choice, str) else None
    if named is not None and not any(t.name == named for t in request.tools or ()):
        raise InvalidRequest("Tool choice 'function' not found in 'tools' parameter.", param="tool_choice")


def _check_model(request: ResponsesRequest, deployment: Deployment) -> None:
    """What a model refuses: reasoning settings on a model that does not reason, sampling on one that does."""
    unsupported = None
    if not deployment.reasoning and request.reasoning is not None and request.reasoning.effort is not None:
        unsupported = "reasoning.effort"
    elif deployment.reasoning and request.temperature is not None:
        unsupported = "temperature"
    elif deployment.reasoning and request.top_p is not None:
        unsupported = "top_p"
    if unsupported is not None:
        raise InvalidRequest(
            f"Unsupported parameter: '{unsupported}' is not supported with this model.",
            param=unsupported,
            code="unsupported_parameter",
        )


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a create request names in the store, read before it is answered: the response it continues (and
    that response's input items), and the kept items its ``item_reference`` inputs name (None: not kept)."""

    response: dict[str, Any] | None = None
    input_items: dict[str, Any] | None = None
    items: Mapping[str, dict[str, Any] | None] | None = None


async def load(runtime: Runtime, body: Mapping[str, Any]) -> Loaded:
    """Read from the store what the (not yet checked) ``body`` names: nothing for a body that names nothing."""
    previous, references = body.get("previous_response_id"), _references(body.get("input"))
    if not isinstance(previous, str) and not references:
        return _NOTHING
    store = runtime.store
    response = inputs = None
    if isinstance(previous, str):
        response, inputs = await store.get(RESPONSE, previous), await store.get(INPUT_ITEMS, previous)
    return Loaded(response, inputs, {item_id: await store.get(kept.ITEM, item_id) for item_id in references})


def _references(given: Any) -> list[str]:
    """The ids the ``item_reference`` items of an ``input`` list name."""
    if not isinstance(given, list):
        return []
    found = (item for item in given if isinstance(item, dict) and item.get("type") == "item_reference")
    return [item["id"] for item in found if isinstance(item.get("id"), str)]


_NOTHING = Loaded()


def _history(loaded: Loaded, previous: str | None) -> list[dict[str, Any]]:
    """The conversation ``previous`` ended with: its history, its input and its output."""
    if previous is None:
        return []
    response, kept = loaded.response, loaded.input_items
    if response is None or kept is None:
        raise InvalidRequest(
            f"Previous response with id '{previous}' not found.",
            param="previous_response_id",
            code="previous_response_not_found",
        )
    return [*kept["history"], *kept["items"], *response["output"]]


async def prepare(runtime: Runtime, deployment: Deployment, api_version: str, body: Mapping[str, Any]) -> Prepared:
    """:func:`prepared_from` what :func:`load` reads."""
    return prepared_from(runtime, deployment, api_version, body, await load(runtime, body))


def prepared_from(
    runtime: Runtime, deployment: Deployment, api_version: str, body: Mapping[str, Any], loaded: Loaded
) -> Prepared:
    """Parse and check a create request and build its conversation (from ``loaded``: what it names in the
    store); raises the service's 400s."""
    request = validate(ResponsesRequest, dict(body))
    _check(request)
    _check_model(request, deployment)
    history = _history(loaded, request.previous_response_id)
    key = request_key(body)
    new_input = input_items.stored_input(
        request, _namer(runtime, key, b"in"), kept.resolver(loaded.items or {}, request.store is not False)
    )
    input_items.check_calls(history, new_input)
    chat = input_items.chat_messages(request.instructions, [*history, *new_input])
    encoding = tokens.encoding_name_for(deployment.model)
    images = input_items.image_count([*history, *new_input])
    shape = era_for(api_version).responses
    input_tokens = tokens.count_chat(chat, encoding, counted_tools(request) or None, images) + shape.extra_input_tokens
    check_output_budget(deployment, input_tokens, request.max_output_tokens, "max_output_tokens", unit="input")
    seed = runtime.request_seed(deployment, key)
    return Prepared(
        request, body, deployment, api_version, key, seed, new_input, history, chat, input_tokens, encoding, shape
    )


def choose_responder(
    runtime: Runtime, prepared: Prepared, headers: Mapping[str, str], override: str | None, scenario: str | None
) -> Chosen:
    """Who answers: the responder the request names, else the scenario's rule or default, else None."""
    if override:
        return Chosen(runtime.responder(prepared.deployment, override))
    book = runtime.book
    if scenario is None and book.active is None:
        return Chosen(None)
    decision = book.decide(prepared.view(headers), scenario)
    responder = decision.responder
    if responder is None and decision.default is not None:
        responder = runtime.responder_for(decision.default)
    return Chosen(responder, decision.scenario, decision.rule)


def _response_format(request: ResponsesRequest) -> dict[str, Any] | None:
    """``text.format`` in chat's ``response_format`` shape, which responders read."""
    fmt = request.text.format if request.text is not None else None
    if fmt is None:
        return None
    if isinstance(fmt, JsonSchemaFormat):
        return {"type": "json_schema", "json_schema": {"name": fmt.name, "schema": fmt.schema_, "strict": fmt.strict}}
    return {"type": fmt.type}


def _conversation(prepared: Prepared) -> Conversation:
    request = prepared.request
    return Conversation(
        operation=av.RESPONSES,
        messages=input_items.messages(prepared.chat),
        seed=prepared.seed,
        max_tokens=request.max_output_tokens,
        tools=tuple(t.model_dump(exclude={"type", "strict"}) for t in request.tools or ()),
        tool_choice=prepared.body.get("tool_choice"),
        response_format=_response_format(request),
        parallel_tool_calls=request.parallel_tool_calls is not False,
        body=prepared.body,
    )


async def create(runtime: Runtime, prepared: Prepared, responder: Responder | None = None) -> Created:
    """Answer a prepared request; store it unless ``store: false``."""
    created = answered(runtime, prepared, responder)
    await keep_created(runtime, created)
    return created


def answered(runtime: Runtime, prepared: Prepared, responder: Responder | None = None) -> Created:
    """Answer a prepared request (nothing stored yet: :func:`keep_created`)."""
    deployment, request = prepared.deployment, prepared.request
    conversation = _conversation(prepared)
    reply = (responder or runtime.responder(deployment)).respond(conversation, runtime.context(deployment))
    choice = reply.choices[0]
    output = shape_output(
        choice,
        encoding=prepared.encoding,
        budget=request.max_output_tokens,
        reasoning=deployment.reasoning,
        parallel_tool_calls=conversation.parallel_tool_calls,
        new_id=_namer(runtime, prepared.key, b"out"),
    )
    output = screen_output(deployment, prepared.api_version, choice, output)  # the content filter's cut
    usage = usage_of(reply.usage, prepared.input_tokens, output.tokens, output.reasoning_tokens)
    response = response_object(
        request,
        id=runtime.ids.object_id("resp_", prepared.key, _ID_LENGTH),
        created_at=runtime.clock.created(),
        model=deployment.name,
        output=[p.item for p in output.items],
        usage=usage,
        incomplete=output.incomplete,
        reasoning_model=deployment.reasoning,
        shape=prepared.shape,
    )
    obfuscate = not (request.stream_options and request.stream_options.include_obfuscation is False)
    stored = prepared if request.store is not False else None
    return Created(response, output.items, prepared.seed, obfuscate, prepared.shape, request.service_tier, stored)


async def keep_created(runtime: Runtime, created: Created) -> None:
    """Store an answered response, its input items and history, and its items (unless ``store: false``)."""
    prepared, response = created.kept, created.response
    if prepared is None:
        return
    await runtime.store.put(RESPONSE, response)
    inputs = {"id": response["id"], "items": prepared.new_input, "history": prepared.history}
    await runtime.store.put(INPUT_ITEMS, inputs)
    await kept.keep(runtime, response["id"], [*prepared.new_input, *response["output"]])
