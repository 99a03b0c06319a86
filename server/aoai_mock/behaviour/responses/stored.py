"""Stored responses: retrieve, delete, and page through a response's input items.

``service.py`` writes them (kinds ``response`` and ``response_input_items`` of ``runtime.store``, and the items
an ``item_reference`` may name, ``kept.py``); an id that is not there, never stored (``store: false``) or
deleted, is the service's 404.
"""

from __future__ import annotations

from typing import Any

from aoai_mock.behaviour.responses import kept
from aoai_mock.behaviour.responses.service import INPUT_ITEMS, RESPONSE
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import InvalidRequest, ResponseNotFound
from aoai_mock.state.store import paginate

__all__ = ["retrieve", "delete", "list_input_items"]


async def retrieve(runtime: Runtime, response_id: str) -> dict[str, Any]:
    found = await runtime.store.get(RESPONSE, response_id)
    if found is None:
        raise ResponseNotFound(response_id)
    return found


async def delete(runtime: Runtime, response_id: str) -> dict[str, Any]:
    """Forget a response, its input items and the items it kept; later chaining from it, or referring to its
    items, fails as for an unknown id."""
    response = await runtime.store.get(RESPONSE, response_id)
    if response is None or not await runtime.store.delete(RESPONSE, response_id):
        raise ResponseNotFound(response_id)
    inputs = await runtime.store.get(INPUT_ITEMS, response_id)
    await runtime.store.delete(INPUT_ITEMS, response_id)
    await kept.forget(runtime, response_id, [*(inputs or {}).get("items", ()), *response["output"]])
    return {"id": response_id, "object": "response.deleted", "deleted": True}


def _limit(raw: str | None) -> int:
    if raw is None:
        return 20
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 1 <= value <= 100:
        raise InvalidRequest(
            f"Invalid 'limit': integer out of range. Expected a value between 1 and 100, but got {raw} instead.",
            param="limit",
            code="invalid_value",
        )
    return value


async def list_input_items(
    runtime: Runtime,
    response_id: str,
    *,
    limit: str | None = None,
    order: str | None = None,
    after: str | None = None,
    before: str | None = None,
    default_order: str = "asc",
) -> dict[str, Any]:
    """A page of the input items (query values as given: they are checked here)."""
    kept = await runtime.store.get(INPUT_ITEMS, response_id)
    if kept is None or await runtime.store.get(RESPONSE, response_id) is None:
        raise ResponseNotFound(response_id)
    chosen = order or default_order
    if chosen not in ("asc", "desc"):
        raise InvalidRequest(
            f"Invalid value: '{chosen}'. Supported values are: 'asc' and 'desc'.", param="order", code="invalid_value"
        )
    items = [item for item in kept["items"] if isinstance(item, dict) and isinstance(item.get("id"), str)]
    page = paginate(items, _limit(limit), chosen, after, before)  # type: ignore[arg-type]
    return page.body()
