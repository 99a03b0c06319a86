"""JSON bodies, serialised once with sorted keys (as Azure writes them). Streams: :mod:`aoai_mock.http.sse`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["JsonPieces", "json_bytes", "json_bytes_in_pieces", "json_response", "list_bytes"]

_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_SERIALIZE_NUMPY  # embeddings are float32 rows
log = logging.getLogger("aoai_mock")


def json_bytes(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body, option=_SORTED)


_SPLICE = "\u0000aoai-mock:data\u0000"
_SPLICED = orjson.dumps(_SPLICE)


class JsonPieces:
    """A JSON body kept as the pieces it was written in, never joined into one string: a 2048-vector
    embeddings answer is 80 MB, and each copy of that (joining, then slicing it for the socket) costs tens of
    milliseconds of page faults and copying. ``len`` is the body's size; :meth:`head` its first bytes."""

    __slots__ = ("parts", "size")

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.size = sum(map(len, parts))

    def __len__(self) -> int:
        return self.size

    def head(self, limit: int) -> bytes:
        """The first ``limit`` bytes."""
        taken: list[bytes] = []
        left = limit
        for part in self.parts:
            if left <= 0:
                break
            taken.append(part[:left])
            left -= len(part)
        return b"".join(taken)

    def __bytes__(self) -> bytes:
        return b"".join(self.parts)


def json_bytes_in_pieces(body: Mapping[str, Any]) -> bytes | JsonPieces:
    """``json_bytes``, with a long ``data`` list written an item at a time and kept in pieces: each call to the
    serialiser is short, so a worker thread writing a 2048-vector embeddings answer lets the event loop run in
    between (one call for the whole body would hold the interpreter for a quarter of a second), and the 80 MB
    are never copied into one string (the pieces go to the socket as they are)."""
    data = body.get("data")
    if not isinstance(data, list) or len(data) < 64:
        return json_bytes(body)
    head = orjson.dumps({**body, "data": _SPLICE}, option=_SORTED)
    before, _, after = head.partition(_SPLICED)
    parts = [before + b"["]
    comma = b","
    for i, item in enumerate(data):
        if i:
            parts.append(comma)
        parts.append(orjson.dumps(item, option=_SORTED))
    parts.append(b"]" + after)
    return JsonPieces(parts)


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
