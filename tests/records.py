"""Records as the front door makes them, for tests of the journal and what reads it (no HTTP)."""

from __future__ import annotations

from typing import Any

from aoai_mock.state.record import Record


def make_record(start: float, end: float, **given: Any) -> Record:
    """A finished record: arrival ``start`` and last byte ``end`` (monotonic), the rest as given.

    ``body`` and ``response_body`` are kept as the front door keeps them (bounded); any other field of
    :class:`Record` may be given by name.
    """
    body = given.pop("body", b"")
    response_body = given.pop("response_body", b"")
    record = Record(
        given.pop("request_id", None),
        given.pop("method", "POST"),
        given.pop("path", "/"),
        given.pop("query", b""),
        given.pop("headers", []),
        start,
    )
    record.status = 200
    for name, value in given.items():
        setattr(record, name, value)
    record.keep_body(body)
    if response_body:
        record.sent_body(response_body)
    record.finish(end)
    return record
