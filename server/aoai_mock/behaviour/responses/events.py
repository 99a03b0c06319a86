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

Every event has a ``sequence_number`` from 0. Deltas carry ``obfuscation`` (random padding, as the
service adds by default; ``stream_options.include_obfuscation: false`` turns it off), seeded, so a
stream is byte-for-byte repeatable.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterator, Mapping, Sequence
from itertools import count
from typing import Any

from aoai_mock.behaviour.responses.build import Planned

__all__ = ["stream_events"]

Event = dict[str, Any]
_PAD = string.ascii_letters + string.digits


class _Padding:
    """``obfuscation`` values: pads each delta's length to a multiple of 16 characters."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self, delta: str) -> str:
        return "".join(self.rng.choices(_PAD, k=16 - len(delta) % 16))


def stream_events(response: Mapping[str, Any], planned: Sequence[Planned], seed: int, obfuscate: bool = True) -> Iterator[Event]:
    """The events of ``response`` (as it ends), its output items streamed in ``planned``'s pieces."""
    numbers = count()
    pad = _Padding(seed) if obfuscate else None
    start = {**response, "status": "in_progress", "output": [], "usage": None, "incomplete_details": None}
    yield {"type": "response.created", "sequence_number": next(numbers), "response": start}
    yield {"type": "response.in_progress", "sequence_number": next(numbers), "response": start}
    for index, plan in enumerate(planned):
        for event in _item_events(index, plan, pad):
            event["sequence_number"] = next(numbers)
            yield event
    last = "response.completed" if response["status"] == "completed" else "response.incomplete"
    yield {"type": last, "sequence_number": next(numbers), "response": dict(response)}


def _item_events(index: int, plan: Planned, pad: _Padding | None) -> Iterator[Event]:
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
            yield from _part_events(index, item["id"], part_index, part, plan.pieces, pad)
    elif kind == "function_call":
        where = {"item_id": item["id"], "output_index": index}
        for piece in plan.pieces:
            yield _delta("response.function_call_arguments.delta", where, piece, pad)
        yield {"type": "response.function_call_arguments.done", **where, "arguments": item["arguments"]}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def _part_events(
    index: int, item_id: str, part_index: int, part: Mapping[str, Any], pieces: Sequence[str], pad: _Padding | None
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
        for piece in pieces:
            yield {**_delta("response.output_text.delta", where, piece, pad), "logprobs": []}
        yield {"type": "response.output_text.done", **where, "text": part["text"], "logprobs": []}
    yield {"type": "response.content_part.done", **where, "part": dict(part)}


def _delta(kind: str, where: Mapping[str, Any], piece: str, pad: _Padding | None) -> Event:
    event = {"type": kind, **where, "delta": piece}
    if pad is not None:
        event["obfuscation"] = pad(piece)
    return event
