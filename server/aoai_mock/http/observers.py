"""What happens once a request has ended, besides the journal and the metrics: the per-request log line
and whatever else the settings turn on.

:func:`observers` is asked once, when the front door is built; it returns the callables that the front door
calls with every finished :class:`~aoai_mock.state.record.Record`, in order. What is off costs nothing on
the request path: it is not in the tuple.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson

from aoai_mock.console import RequestLine, iso_now
from aoai_mock.settings import Settings
from aoai_mock.state.record import Record

__all__ = ["Observer", "observers", "json_line", "text_line"]

Observer = Callable[[Record], None]

requests_log = logging.getLogger("aoai_mock.requests")  # one line per request


def observers(settings: Settings) -> tuple[Observer, ...]:
    """The observers these settings turn on."""
    found: list[Observer] = []
    if settings.log_format == "json":
        found.append(json_line)
    elif settings.request_lines:
        found.append(text_line)
    if settings.otel:  # the SDK is imported here, and only here: a server without --otel never loads it
        from aoai_mock.http.telemetry import start

        found.append(start(settings))
    return tuple(found)


def json_line(record: Record) -> None:
    """One JSON line for one request: what happened, never a header value (so never a key or token)."""
    tokens = record.tokens
    line = {
        "time": iso_now(),
        "event": "request",
        "request_id": record.request_id,
        "method": record.method,
        "path": record.path,
        "status": record.status,
        "outcome": record.outcome,
        "duration_ms": round(record.duration * 1000, 3),
        "deployment": record.deployment,
        "operation": record.operation,
        "stream": record.stream,
        "scenario": record.scenario,
        "rule": record.rule,
        "fault": record.fault,
        "prompt_tokens": tokens[0] if tokens else None,
        "completion_tokens": tokens[1] if tokens else None,
    }
    requests_log.info(orjson.dumps(line).decode())


def text_line(record: Record) -> None:
    """One line of text for one request (:func:`aoai_mock.console.request_line`), made only if it is written."""
    requests_log.info(RequestLine(record))
