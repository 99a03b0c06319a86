"""The stream of a response: the Responses API's typed events, in the order the service sends them.

::

    response.created, response.in_progress            (the response, in_progress, no output yet)
    per output item i:
      response.output_item.added                      (the item, in_progress, empty)
      message:   response.content_part.added
                 response.output_text.delta ...       (one per token; refusal.delta for a refusal)
                 response.output_text.done            (refusal.done)
                 response.content_part.done
      function:  response.function_call_arguments.delta ... / .done
      response.output_item.done                       (the item as it ended)
    response.completed                                (response.incomplete when cut short)

In the newest shape every event has a ``sequence_number`` from 0, text events carry ``logprobs: []`` and
deltas carry ``obfuscation`` (random padding, as the service adds by default;
``stream_options.include_obfuscation: false`` turns it off), seeded, so a stream is byte-for-byte repeatable.
Older api-versions leave some of these out: the era's :class:`~aoai_mock.wire.eras.ResponsesShape` says which.

The response in ``response.created`` and ``response.in_progress`` states the service tier asked for
(``"auto"`` when none was), the finished one the tier that served it (``"default"``) [captured:
recordings/responses/net-StreamingResponses-2025-04-01-preview-Aug2025].
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator, Mapping, Sequence
from itertools import count
from typing import Any

from aoai_mock.behaviour.responses.build import Planned
from aoai_mock.wire.eras import ResponsesShape

__all__ = ["stream_events"]

Event = dict[str, Any]
_PAD = string.ascii_letters + string.digits


class _Padding:
    """``obfuscation`` values: pads each delta's length to a multiple of 16 characters."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self, delta: str) -> str:
        return "".join(self.rng.choices(_PAD, k=16 - len(delta) % 16))


def stream_events(
    response: Mapping[str, Any],
    planned: Sequence[Planned],
    seed: int,
    *,
    shape: ResponsesShape,
    obfuscate: bool = True,
    service_tier: str | None = None,
) -> Iterator[Event]:
    """The events of ``response`` (as it ends), its output items streamed in ``planned``'s pieces, shaped as
    ``shape``'s era sends them; ``service_tier`` is the tier the request asked for."""
    number = _Numbering(shape.sequence_number)
    pad = _Padding(seed) if obfuscate and shape.obfuscation else None
    start = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    if "service_tier" in start:
        start["service_tier"] = service_tier or "auto"
    yield number({"type": "response.created", "response": start})
    yield number({"type": "response.in_progress", "response": start})
    for index, plan in enumerate(planned):
        for event in _item_events(index, plan, pad, shape.text_logprobs):
            yield number(event)
    last = "response.completed" if response["status"] == "completed" else "response.incomplete"
    yield number({"type": last, "response": dict(response)})


class _Numbering:
    """Gives each event its ``sequence_number`` from 0, in the eras that number them."""

    def __init__(self, on: bool) -> None:
        self.numbers = count() if on else None

    def __call__(self, event: Event) -> Event:
        if self.numbers is not None:
            event["sequence_number"] = next(self.numbers)
        return event


def _item_events(index: int, plan: Planned, pad: _Padding | None, logprobs: bool) -> Iterator[Event]:
    item = plan.item
    kind = item["type"]
    if kind == "message":
        opened = {**item, "status": "in_progress", "content": []}
    elif kind == "function_call":
        opened = {**item, "status": "in_progress", "arguments": ""}
    else:
        opened = dict(item)
    yield {"type": "response.output_item.added", "output_index": index, "item": opened}
    if kind == "message":
        for part_index, part in enumerate(item["content"]):
            yield from _part_events(index, item["id"], part_index, part, plan.pieces, pad, logprobs)
    elif kind == "function_call":
        where = {"item_id": item["id"], "output_index": index}
        for piece in plan.pieces:
            yield _delta("response.function_call_arguments.delta", where, piece, pad)
        yield {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _part_events(
    index: int,
    item_id: str,
    part_index: int,
    part: Mapping[str, Any],
    pieces: Sequence[str],
    pad: _Padding | None,
    logprobs: bool,
) -> Iterator[Event]:
    where = {"item_id": item_id, "output_index": index, "content_index": part_index}
    refusal = part["type"] == "refusal"
    empty = {"type": "refusal", "refusal": ""} if refusal else {"type": "output_text", "text": "", "annotations": []}
    yield {"type": "response.content_part.added", **where, "part": empty}
    if refusal:
        for piece in pieces:
            yield _delta("response.refusal.delta", where, piece, pad)
        yield {"type": "response.refusal.done", **where, "refusal": part["refusal"]}
    else:
        scores = {"logprobs": []} if logprobs else {}
        for piece in pieces:
            yield {**_delta("response.output_text.delta", where, piece, pad), **scores}
        yield {"type": "response.output_text.done", **where, "text": part["text"], **scores}
    yield {"type": "response.content_part.done", **where, "part": dict(part)}


def _delta(kind: str, where: Mapping[str, Any], piece: str, pad: _Padding | None) -> Event:
    event = {"type": kind, **where, "delta": piece}
    if pad is not None:
        event["obfuscation"] = pad(piece)
    return event
