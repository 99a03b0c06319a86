"""Header names and values, in one place: the mock's own request headers, and the fixed response headers.

The mock's own headers (``x-aoai-mock-*``) let one request choose its scenario, responder or fault, and
the control API's admin key; each name is here as text (for mappings of decoded headers) and as bytes
(for the raw ASGI header lists the hot path reads).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "SCENARIO",
    "RESPONDER",
    "FAULT",
    "ADMIN_KEY",
    "SCENARIO_B",
    "RESPONDER_B",
    "FAULT_B",
    "FORWARDED",
    "RETRY_COUNT",
    "JSON_HEADER",
    "CACHE_HEADER",
    "kept_headers",
]

SCENARIO = "x-aoai-mock-scenario"  # answer from this scenario (loaded), whichever is active
RESPONDER = "x-aoai-mock-responder"  # answer with this responder, whatever the scenario says
FAULT = "x-aoai-mock-fault"  # inject this fault (docs/scenarios-and-journal.md), or "none"
ADMIN_KEY = "x-aoai-mock-admin-key"  # the control API's key, when one is set

SCENARIO_B = SCENARIO.encode()
RESPONDER_B = RESPONDER.encode()
FAULT_B = FAULT.encode()

FORWARDED = (SCENARIO, RESPONDER, FAULT)  # what a batch passes on to each of its lines
RETRY_COUNT = "x-stainless-retry-count"  # the openai SDKs' attempt number, 0 for the first

JSON_HEADER = (b"content-type", b"application/json")
CACHE_HEADER = (b"cache-control", b"no-cache, must-revalidate")

_KEPT = (b"retry-after", b"x-should-retry", b"x-ratelimit-", b"policy-id")


def kept_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers of an error response a retry test asks about (and the journal keeps)."""
    return [(name, value) for name, value in headers if name.lower().startswith(_KEPT)]
