"""Entra ID Bearer tokens, judged as Azure OpenAI judges them: audience, lifetime, and whether the principal may
call the operation. docs/entra-id.md says which facts are documented and which are inferred.

A token is read once (PyJWT, imported on the first one: start-up is timed) and what it says is kept per token
string, so a client that sends the same token for an hour costs one dictionary lookup per request; the
lifetime is compared with the mock's clock on every request. Signatures are verified only when a signing key
is configured: Azure checks Entra's signature, but a mock has no Entra to ask.

Azure decides access by RBAC: the token carries the principal's ``oid``, and the service looks up whether a
role assigned to it grants the operation's data action. The mock's stand-in: when ``object_ids`` or
``roles`` are configured, a principal is granted when its ``oid`` is listed or its token's ``roles`` claim
holds a listed role; otherwise every valid token is.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from aoai_mock.errors import AzureError, MissingDataAction, PermissionDenied, TokenRejected
from aoai_mock.settings import EntraSettings
from aoai_mock.wire import operations as ops

__all__ = [
    "looks_like_jwt",
    "check",
    "issue",
    "data_action",
    "clear_cache",
    "DEFAULT_OBJECT_ID",
    "DEFAULT_TENANT",
]

DEFAULT_OBJECT_ID = "5b8f3c2e-9a41-4d6e-8f07-3c1a2b4d6e8f"  # the `oid` of `aoai-mock token` (a made-up principal)
DEFAULT_TENANT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # its `tid`

_ACTIONS = "Microsoft.CognitiveServices/accounts/OpenAI/"
_DEPLOYMENT_PATH = "POST /openai/deployments/{deployment-id}/"
# The data action each operation needs, and how the 401 names the operation. [captured]: chat completions and
# Responses (issue reports, 2025); the others follow the built-in "Cognitive Services OpenAI User" role's
# data actions [documented] and the captured sentence's pattern [inferred].
_DATA_ACTIONS: dict[str, tuple[str, str]] = {
    ops.CHAT: ("deployments/chat/completions/action", _DEPLOYMENT_PATH + "chat/completions"),
    ops.COMPLETIONS: ("deployments/completions/action", _DEPLOYMENT_PATH + "completions"),
    ops.EMBEDDINGS: ("deployments/embeddings/action", _DEPLOYMENT_PATH + "embeddings"),
    ops.IMAGES_GENERATIONS: ("images/generations/action", _DEPLOYMENT_PATH + "images/generations"),
    ops.AUDIO_TRANSCRIPTIONS: ("deployments/audio/action", _DEPLOYMENT_PATH + "audio/transcriptions"),
    ops.AUDIO_TRANSLATIONS: ("deployments/audio/action", _DEPLOYMENT_PATH + "audio/translations"),
    ops.AUDIO_SPEECH: ("deployments/audio/action", _DEPLOYMENT_PATH + "audio/speech"),
    ops.RESPONSES: ("responses/write", "POST /openai/responses"),
    ops.REALTIME: ("deployments/realtime/action", "GET /openai/realtime"),
}


def looks_like_jwt(token: str) -> bool:
    """A JWT's header is base64url JSON, so it begins ``eyJ`` (``{"``), and it has three dot-separated parts
    (the last empty when unsigned). No Azure api-key looks like that, so anything else stays a key."""
    return token.startswith("eyJ") and token.count(".") == 2


def data_action(operation: str) -> tuple[str, str] | None:
    """``(data action, "METHOD /path")`` for the 401 of an operation, or None where the mock does not know it."""
    found = _DATA_ACTIONS.get(operation)
    return (_ACTIONS + found[0], found[1]) if found else None


@dataclass(frozen=True, slots=True)
class _Reading:
    """What one token says under one policy: everything but the clock."""

    readable: bool  # well formed, signed as configured, for an accepted audience, with an expiry
    not_before: float
    expires: float
    principal: str  # how the 401 names it: the user's sign-in name, else the object id
    granted: bool


_READINGS: dict[tuple[str, EntraSettings], _Reading] = {}
_LIMIT = 4096  # tokens remembered; the oldest goes first


def clear_cache() -> None:
    _READINGS.clear()


def check(token: str, policy: EntraSettings, now: float, operation: str = "") -> None:
    """Raise the error Azure answers ``token`` with at ``now`` (seconds since the epoch) for ``operation``."""
    reading = _READINGS.get((token, policy))
    if reading is None:
        reading = _read(token, policy)
        if len(_READINGS) >= _LIMIT:
            _READINGS.pop(next(iter(_READINGS)))
        _READINGS[(token, policy)] = reading
    if not reading.readable or now >= reading.expires or now < reading.not_before:
        raise TokenRejected(policy.audiences[0] if policy.audiences else "")
    if not reading.granted:
        raise _denied(reading.principal, operation)


def _denied(principal: str, operation: str) -> AzureError:
    found = data_action(operation)
    if found is None:  # the older sentence, also captured, names no action
        return PermissionDenied()
    return MissingDataAction(principal, *found)


def _read(token: str, policy: EntraSettings) -> _Reading:
    claims = _claims(token, policy.signing_key)
    unreadable = _Reading(False, 0.0, 0.0, "", False)
    if claims is None or not _audience_accepted(claims.get("aud"), policy.audiences):
        return unreadable
    expires, not_before = claims.get("exp"), claims.get("nbf", 0)
    if not _number(expires) or not _number(not_before):
        return unreadable
    oid = str(claims.get("oid") or claims.get("sub") or "")
    principal = str(claims.get("upn") or claims.get("unique_name") or oid)
    return _Reading(True, float(not_before), float(expires), principal, _granted(oid, claims.get("roles"), policy))


def _claims(token: str, signing_key: str | None) -> dict[str, Any] | None:
    """The payload, or None for a token that cannot be read (or whose signature fails a configured key).
    Lifetime and audience are left to the caller: Azure's one message, on the mock's clock."""
    import jwt

    unchecked = {"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                 "verify_iss": False}
    try:
        if signing_key is None:
            claims = jwt.decode(token, options={"verify_signature": False})
        else:
            public = signing_key.lstrip().startswith("-----BEGIN")
            algorithms = ["RS256", "RS384", "RS512", "PS256", "ES256"] if public else ["HS256", "HS384", "HS512"]
            with _short_secrets_allowed():
                claims = jwt.decode(token, signing_key, algorithms=algorithms, options=unchecked)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def _audience_accepted(audience: object, accepted: Sequence[str]) -> bool:
    wanted = {a.rstrip("/") for a in accepted}
    given = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    return any(isinstance(a, str) and a.rstrip("/") in wanted for a in given)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _granted(oid: str, roles: object, policy: EntraSettings) -> bool:
    if not policy.roles and not policy.object_ids:
        return True
    held = {roles} if isinstance(roles, str) else set(roles) if isinstance(roles, list) else set()
    return oid in policy.object_ids or any(role in held for role in policy.roles)


def issue(
    now: float,
    *,
    audience: str = "https://cognitiveservices.azure.com",
    expires_in: float = 3600,
    roles: Sequence[str] = (),
    object_id: str = DEFAULT_OBJECT_ID,
    name: str | None = None,
    signing_key: str | None = None,
) -> str:
    """A token the mock accepts: an Entra access token's usual claims, unsigned (``alg: none``), or HS256 with
    ``signing_key`` (a server started with the same ``--entra-signing-key`` verifies it)."""
    import jwt

    issued = int(now)
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{DEFAULT_TENANT}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(expires_in),
        "oid": object_id,
        "sub": object_id,
        "tid": DEFAULT_TENANT,
        "ver": "1.0",
    }
    if name:
        claims["upn"] = name
    if roles:
        claims["roles"] = list(roles)
    if signing_key:
        with _short_secrets_allowed():
            return jwt.encode(claims, signing_key, algorithm="HS256")
    return jwt.encode(claims, None, algorithm="none")


@contextmanager
def _short_secrets_allowed() -> Iterator[None]:
    """A test's shared secret may be short: PyJWT's warning about it would only be noise here."""
    from jwt.warnings import InsecureKeyLengthWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        yield
