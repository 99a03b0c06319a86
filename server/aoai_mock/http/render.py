"""JSON bodies, serialised once with sorted keys (as Azure writes them). Streams: :mod:`aoai_mock.http.sse`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["json_bytes", "json_bytes_in_pieces", "json_response", "list_bytes"]

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY  # embeddings are float32 rows
log = logging.getLogger("aoai_mock")


def json_bytes(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body, option=_SORTED)


_SPLICE = "\u0000aoai-mock:data\u0000"
_SPLICED = orjson.dumps(_SPLICE)


def json_bytes_in_pieces(body: Mapping[str, Any]) -> bytes:
    """``json_bytes``, with a long ``data`` list written an item at a time: each call to the serialiser is
    short, so a worker thread writing a 2048-vector embeddings answer lets the event loop run in between
    (one call for the whole body would hold the interpreter for a quarter of a second)."""
    data = body.get("data")
    if not isinstance(data, list) or len(data) < 64:
        return json_bytes(body)
    head = orjson.dumps({**body, "data": _SPLICE}, option=_SORTED)
    items = b",".join([orjson.dumps(item, option=_SORTED) for item in data])
    before, _, after = head.partition(_SPLICED)
    return b"".join((before, b"[", items, b"]", after))


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body, option=_SORTED), status_code=status, media_type="application/json")


def list_bytes(body: Mapping[str, Any]) -> bytes:
    """``json_bytes`` of a list of stored objects (``{"object": "list", "data": [...], "first_id", "last_id",
    ...}``): an object that cannot be written (nested past what the serialiser writes, say) is left out, and
    logged, so that one bad object never makes the whole list a 500."""
    try:
        return json_bytes(body)
    except TypeError:  # orjson.JSONEncodeError
        data = body.get("data")
        if not isinstance(data, list):
            raise
    kept = []
    for item in data:
        try:
            json_bytes(item)
        except TypeError as exc:
            found = item.get("id") if isinstance(item, Mapping) else None
            log.error("left out of a list: the stored object %r cannot be written (%s)", found, exc)
            continue
        kept.append(item)
    fixed = dict(body, data=kept)
    if "first_id" in body:
        fixed["first_id"] = kept[0].get("id") if kept else None
    if "last_id" in body:
        fixed["last_id"] = kept[-1].get("id") if kept else None
    return json_bytes(fixed)
