"""JSON bodies, serialised once with sorted keys (as Azure writes them). Streams: :mod:`aoai_mock.http.sse`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

__all__ = ["json_bytes", "json_response"]

_SORTED = orjson.OPT_SORT_KEYS


def json_bytes(body: Mapping[str, Any]) -> bytes:
    return orjson.dumps(body, option=_SORTED)


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body, option=_SORTED), status_code=status, media_type="application/json")
