"""What every assistants object shares: ids, timestamps, private keys, 404s, listing and deletion bodies.

Objects live in the runtime's store as their wire shape plus private keys that start with ``_`` (never
rendered). Ids come from ``runtime.ids``: random by default; with ``--seed`` they derive from the seed and a
per-family counter kept in the store (kind ``"serial"``), so they stay unique across a restart with ``--state``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field

from aoai_mock.behaviour.assistants.requests import Strict
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.errors import AssistantsObjectNotFound, InvalidRequest
from aoai_mock.state.store import paginate
from aoai_mock.wire.validation import validate

__all__ = [
    "ASSISTANT",
    "THREAD",
    "MESSAGE",
    "RUN",
    "STEP",
    "Doc",
    "ListQuery",
    "new_id",
    "now",
    "public",
    "require",
    "list_body",
    "deleted",
    "list_query",
    "check_metadata",
]

Doc = dict[str, Any]
# Store kinds, named like the objects' ``object`` field.
ASSISTANT = "assistant"
THREAD = "thread"
MESSAGE = "thread.message"
RUN = "thread.run"
STEP = "thread.run.step"
_ID_LENGTH = 24


class ListQuery(Strict):
    """``limit``, ``order``, ``after``, ``before`` as every list route takes them."""

    limit: int = Field(20, ge=1, le=100)
    order: Literal["asc", "desc"] = "desc"
    after: str | None = None
    before: str | None = None


def list_query(params: Mapping[str, str]) -> ListQuery:
    """The paging parameters of a query string (others ignored), or the service's 400."""
    picked = {k: params[k] for k in ("limit", "order", "after", "before") if k in params}
    if "limit" in picked:
        picked["limit"] = _integer(picked["limit"])
    return validate(ListQuery, picked)


def _integer(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return text  # reported as a type error by the model


async def new_id(runtime: Runtime, prefix: str) -> str:
    """``asst_...``: random, or with a seed the next of the family ``prefix``."""
    if not runtime.ids.frozen:
        return runtime.ids.object_id(prefix, b"", _ID_LENGTH)
    family = prefix.rstrip("_-")
    number = await runtime.store.next_serial(family)  # one atomic step where processes share the store (Redis)
    return runtime.ids.object_id(prefix, f"{family}:{number}".encode(), _ID_LENGTH)


def now(runtime: Runtime) -> int:
    """``created_at`` and friends: whole seconds from the runtime's clock (frozen with --frozen)."""
    return runtime.clock.created()


def public(doc: Doc) -> Doc:
    """The wire object: the doc without its private ``_`` keys."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


async def require(runtime: Runtime, kind: str, id: str, what: str) -> Doc:
    found = await runtime.store.get(kind, id)
    if found is None:
        raise AssistantsObjectNotFound(what, id)
    return found


def list_body(docs: list[Doc], query: ListQuery) -> Doc:
    """One page of wire objects (given in insertion order) as ``{"object": "list", "data", ...}``."""
    page = paginate(docs, query.limit, query.order, query.after, query.before)
    return page.body()


def deleted(id: str, object: str) -> Doc:
    return {"id": id, "object": object, "deleted": True}


def check_metadata(metadata: Mapping[str, Any] | None) -> None:
    """At most 16 pairs, keys up to 64 characters, string values up to 512: else the service's 400."""
    if metadata is None:
        return
    if len(metadata) > 16:
        raise InvalidRequest(
            "Invalid 'metadata': too many properties. Expected an object with at most 16 properties, but got an "
            f"object with {len(metadata)} properties instead.",
            param="metadata",
            code="object_above_max_properties",
        )
    for key, value in metadata.items():
        if len(key) > 64:
            raise InvalidRequest(
                f"Invalid 'metadata': string too long. Expected a key with maximum length 64, but got a key with "
                f"length {len(key)} instead.",
                param="metadata",
                code="string_above_max_length",
            )
        if not isinstance(value, str):
            raise InvalidRequest(
                f"Invalid type for 'metadata.{key}': expected a string, but got {_kind(value)} instead.",
                param=f"metadata.{key}",
                code="invalid_type",
            )
        if len(value) > 512:
            raise InvalidRequest(
                f"Invalid 'metadata.{key}': string too long. Expected a string with maximum length 512, but got a "
                f"string with length {len(value)} instead.",
                param=f"metadata.{key}",
                code="string_above_max_length",
            )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "an array" if isinstance(value, list) else "an object"
