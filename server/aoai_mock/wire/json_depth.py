"""How deep a JSON body may nest: deep enough for any real request, shallow enough that whatever the mock
stores or journals from it can be written back.

orjson reads 1024 levels but writes only 254, so a body nested 255 to 1024 levels would be taken in and then
fail wherever the mock writes it out again (an answer that echoes it, a stored object, the journal). Bodies
are held to ``MAX_DEPTH`` levels, which leaves room for the objects that wrap them. The check is free for
ordinary bodies: only a body with more brackets than ``MAX_DEPTH`` can nest that deep, and only such a body
is walked.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_DEPTH", "too_deep"]

MAX_DEPTH = 128


def too_deep(raw: bytes | str, parsed: Any) -> bool:
    """Whether ``parsed`` (the JSON value ``raw`` holds) nests deeper than ``MAX_DEPTH`` levels."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    stack: list[tuple[Any, int]] = [(parsed, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return False
