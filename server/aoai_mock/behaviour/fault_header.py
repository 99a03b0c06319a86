"""The ``x-aoai-mock-fault`` request header: one fault for this request, for quick one-off tests.

Grammar (spaces around the separators are ignored, names and kinds are case-insensitive)::

    header = "none" | fault
    fault  = kind ["=" value] *(";" name ["=" value])

``none`` exempts the request from every installed fault. The value after the kind is its main number:
``delay=<ms>``, ``hang=<seconds>`` and ``cut|stall|malformed|stream_error=<after_chunks>``; status kinds,
``close`` and ``reset`` take none. Parameters: ``delay_ms``, ``seconds``, ``after_chunks``, ``graceful``,
``retry_after_ms=<ms>`` (or ``on``/``off`` to switch the retry-after-ms header), ``retry_after``,
``ratelimit_headers``, ``should_retry`` (``true``/``false``/``on``/``off``; a bare name means true),
``limit=token|call`` and ``message=<text without ';'>``. Examples::

    429    503    500;retry_after_ms=250    429;retry_after=off;ratelimit_headers=off    503;should_retry=false
    delay=1500    hang    hang=30    close    reset    cut=3    cut=3;graceful    stall=2;seconds=5
    malformed=1    stream_error=2;message=boom    none

A bad value is a 400 (``InvalidRequest``, param ``x-aoai-mock-fault``) that names the part at fault.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from aoai_mock.behaviour.scenarios.fault_schema import FAULT_KINDS, STREAM_KINDS, FaultSpec
from aoai_mock.errors import InvalidFaultHeader
from aoai_mock.wire.headers import FAULT

__all__ = ["HEADER", "NONE", "InvalidFaultHeader", "parse_fault_header"]

HEADER = FAULT  # x-aoai-mock-fault
NONE = "none"
GRAMMAR = "<kind>[=<value>][;<name>=<value>]..."
_MAIN = {"delay": "delay_ms", "hang": "seconds", **{k: "after_chunks" for k in STREAM_KINDS}}
_INTS = ("delay_ms", "after_chunks", "retry_after_ms")
_SWITCHES = ("retry_after", "ratelimit_headers", "should_retry")
_BOOLS = {"true": True, "on": True, "yes": True, "false": False, "off": False, "no": False}
_PARAMS = ("delay_ms", "seconds", "after_chunks", "graceful", "retry_after_ms", *_SWITCHES, "limit", "message")


def _refused(header: str, problem: str) -> InvalidFaultHeader:
    return InvalidFaultHeader(header, problem, f"format: {GRAMMAR}; kinds: {', '.join(FAULT_KINDS)}, none")


def _number(name: str, text: str) -> int | float:
    try:
        return int(text) if name in _INTS else float(text)
    except ValueError:
        unit = {"delay_ms": "milliseconds", "retry_after_ms": "milliseconds", "after_chunks": "chunks"}
        wanted = f"a whole number of {unit[name]}" if name in _INTS else "a number of seconds"
        raise ValueError(f"{name} must be {wanted}, not {text!r}") from None


def _boolean(name: str, text: str | None) -> bool:
    if text is None:
        return True
    found = _BOOLS.get(text.lower())
    if found is None:
        raise ValueError(f"{name} must be true, false, on or off, not {text!r}")
    return found


def _param(fields: dict[str, Any], name: str, text: str | None) -> None:
    if name == "retry_after_ms" and text is not None and text.lower() in _BOOLS:
        fields.setdefault("headers", {})["retry_after_ms"] = _boolean(name, text)
    elif name in _SWITCHES:
        fields.setdefault("headers", {})[name] = _boolean(name, text)
    elif name == "graceful":
        fields[name] = _boolean(name, text)
    elif text is None or text == "":
        raise ValueError(f"{name} needs a value ({name}=...)")
    elif name in ("limit", "message"):
        fields[name] = text
    else:
        fields[name] = _number(name, text)


def _fields(header: str) -> dict[str, Any]:
    head, *params = header.split(";")
    kind, eq, main = (part.strip() for part in head.partition("="))
    kind = kind.lower()
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown kind {kind!r}" if kind else "no kind given")
    fields: dict[str, Any] = {"kind": kind}
    if eq:
        if kind not in _MAIN:
            raise ValueError(f"{kind} takes no value after '='; use parameters, e.g. {kind};retry_after_ms=250")
        if not main:
            raise ValueError(f"{kind}= needs a value")
        fields[_MAIN[kind]] = _number(_MAIN[kind], main)
    for param in params:
        name, eq, text = (part.strip() for part in param.partition("="))
        name = name.lower()
        if name not in _PARAMS:
            raise ValueError(f"unknown parameter {name!r} (known: {', '.join(_PARAMS)})" if name else "empty parameter")
        _param(fields, name, text if eq else None)
    return fields


def _problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def parse_fault_header(header: str, stream: bool) -> FaultSpec | None:
    """The fault a request asks for; None for ``none``. Raises InvalidFaultHeader (a 400) when it is wrong.

    ``stream``: the request asks for a stream; stall, malformed and stream_error need one.
    """
    text = header.strip()
    if text.lower() == NONE:
        return None
    try:
        spec = FaultSpec.model_validate(_fields(text))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError too
        raise _refused(header, _problem(exc) if isinstance(exc, ValidationError) else str(exc)) from None
    if not stream and spec.kind in STREAM_KINDS[1:]:
        raise _refused(header, f'{spec.kind} applies to streaming requests only (send "stream": true)')
    return spec
