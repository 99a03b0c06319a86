"""Header names and values, in one place: the mock's own request headers, and the fixed response headers.

The mock's own headers (``x-aoai-mock-*``) let one request choose its scenario, responder or fault, and
the control API's admin key; each name is here as text (for mappings of decoded headers) and as bytes
(for the raw ASGI header lists the hot path reads).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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
    "family_headers",
    "REQUEST_ID",
    "DEPLOYMENT",
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


# -- what each family's answers carry beyond the common headers [captured: ../shared/recordings, per route] -------

_REQUEST_ID = object()  # the value is the request's id
_DEPLOYMENT = object()  # the value is the deployment's name
_ANY_ORIGIN = (b"access-control-allow-origin", b"*")
_OPENAI_VERSION = (b"openai-version", b"2020-10-01")
_PROCESSING = (b"openai-processing-ms", b"1")  # the mock's own processing time is about a millisecond
_UPSTREAM = (b"x-envoy-upstream-service-time", b"1")
_MIDDLEWARE = (b"x-ms-middleware-request-id", _REQUEST_ID)
_RAI = (b"x-ms-rai-invoked", b"true")
_DEPLOYMENT_NAME = (b"x-ms-deployment-name", _DEPLOYMENT)

# operation -> (headers of an answer, headers of an error); the chat family's era rules are in _chat_headers.
_FAMILY: dict[str, tuple[tuple[tuple[bytes, Any], ...], tuple[tuple[bytes, Any], ...]]] = {
    "completions": ((_ANY_ORIGIN,), (_PROCESSING,)),
    "embeddings": ((_ANY_ORIGIN,), ()),
    "images.generations": ((_UPSTREAM, (b"x-ms-request-id", _REQUEST_ID)), ()),
    "images.edits": ((_UPSTREAM, (b"x-ms-request-id", _REQUEST_ID)), ()),
    "assistants": ((_MIDDLEWARE,), ()),
    "vector_stores": ((_MIDDLEWARE,), ()),
    "responses": ((_MIDDLEWARE, _OPENAI_VERSION, _PROCESSING), (_MIDDLEWARE, _OPENAI_VERSION, _PROCESSING)),
}
_RAI_SINCE = "2024-04-01"  # chat answers say x-ms-rai-invoked from the 2024-04-01-preview era on
_DEPLOYMENT_NAME_SINCE = "2025-01-01"  # and name their deployment from the 2025 previews on


_UPSTREAM_SINCE = "2024-10-21"  # answered through the envoy front end from Dec 2024 on; CORS and buffering before
_MODEL_TIMES = ((b"cmp-upstream-response-duration", b"1"), (b"ms-azureml-model-time", b"1"))


def _chat_headers(api_version: str, failed: bool) -> tuple[tuple[bytes, Any], ...]:
    """Chat's headers by era [captured: recordings/chat, Aug 2023 to Aug 2025]."""
    if failed:
        return (_PROCESSING,)
    dated = api_version[:10]
    v1 = api_version in ("v1", "preview")
    found: list[tuple[bytes, Any]] = []
    if v1 or dated >= _RAI_SINCE:
        found.append(_RAI)
    if v1 or dated >= _UPSTREAM_SINCE:
        found.append(_UPSTREAM)
    else:
        found += [_ANY_ORIGIN, (b"x-accel-buffering", b"no")]
        if dated < _RAI_SINCE:
            found.append(_PROCESSING)
    if v1 or dated >= _DEPLOYMENT_NAME_SINCE:
        found += [_DEPLOYMENT_NAME, *_MODEL_TIMES]
    return tuple(found)


Pairs = tuple[tuple[bytes, Any], ...]
_CACHE: dict[tuple[str | None, str | None, bool], tuple[Pairs, Pairs]] = {}


def family_headers(operation: str | None, api_version: str | None, failed: bool) -> tuple[Pairs, Pairs]:
    """The headers an answer (or, ``failed``, an error) of this operation carries as Azure sends them, beyond
    the common ones: ``(fixed, per_request)``; in the second, a value of ``REQUEST_ID`` or ``DEPLOYMENT``
    stands for the request's own."""
    key = (operation, api_version, failed)
    found = _CACHE.get(key)
    if found is None:
        if operation == "chat.completions":
            pairs = _chat_headers(api_version or "", failed)
        else:
            answer, error = _FAMILY.get(operation or "", ((), ()))
            pairs = error if failed else answer
        fixed = tuple(p for p in pairs if isinstance(p[1], bytes))
        found = (fixed, tuple(p for p in pairs if not isinstance(p[1], bytes)))
        if len(_CACHE) < 4096:
            _CACHE[key] = found
    return found


REQUEST_ID = _REQUEST_ID
DEPLOYMENT = _DEPLOYMENT
