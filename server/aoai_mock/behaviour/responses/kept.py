"""The items stored responses keep, by id: what an ``item_reference`` input item names.

A stored response keeps its input items and its output items (kind ``response_item`` of ``runtime.store``:
``{"id": <item id>, "response_id": <the response that first kept it>, "item": {...}}``). A later request may
send ``{"type": "item_reference", "id": ...}`` instead of the item itself, as the AI SDK does for earlier
reasoning, calls and messages in every tool loop when ``store`` is on; the reference stands for the kept item.
Deleting a response forgets the items it first kept; ``store: false`` keeps none.

An id nothing keeps is the service's 400, ``param: input``, no code [captured, third party: Azure's answer in
maximhq/bifrost issue #6382, "Item with id 'fc_...' not found."]; when the request itself has ``store: false``
the message goes on to say why [captured, third party: Azure's answer in openclaw/openclaw issue #21782].
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import InvalidRequest

__all__ = ["ITEM", "keep", "forget", "resolver"]

ITEM = "response_item"  # store kind
Item = dict[str, Any]

_NOT_PERSISTED = (
    " Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item"
    " from your input."
)


async def keep(runtime: Runtime, response_id: str, items: Iterable[Item]) -> None:
    """Keep ``items`` (a stored response's input and output) by their ids; an item kept already stays its first
    response's."""
    for item in items:
        item_id = item.get("id")
        if item_id and await runtime.store.get(ITEM, item_id) is None:
            await runtime.store.put(ITEM, {"id": item_id, "response_id": response_id, "item": item})


async def forget(runtime: Runtime, response_id: str, items: Iterable[Item]) -> None:
    """Forget those of ``items`` that ``response_id`` kept first (a deleted response's input and output)."""
    for item in items:
        item_id = item.get("id")
        kept = await runtime.store.get(ITEM, item_id) if item_id else None
        if kept is not None and kept["response_id"] == response_id:
            await runtime.store.delete(ITEM, item_id)


def resolver(found: Mapping[str, Item | None], store: bool) -> Callable[[str], Item]:
    """``resolve(id)``: the kept item (``found``: the kept docs read for the request, by item id), or the
    service's 400 (``store``: whether the request stores its answer)."""

    def resolve(item_id: str) -> Item:
        kept = found.get(item_id)
        if kept is None:
            message = f"Item with id '{item_id}' not found." + ("" if store else _NOT_PERSISTED)
            raise InvalidRequest(message, param="input")
        return kept["item"]

    return resolve
