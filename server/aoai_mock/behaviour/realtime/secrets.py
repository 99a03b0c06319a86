"""Ephemeral keys for realtime sessions: minted by ``POST /openai/v1/realtime/client_secrets`` (GA) or
``POST /openai/realtimeapi/sessions`` (the preview's), and taken by the WebSocket in place of a key, for the
deployment and the session configuration they were minted with.

A key is ``ek_`` and random characters [documented: the openai SDK's ``ClientSecretCreateResponse`` ("looks
like ``ek_1234``")]; it lasts ``expires_after.seconds`` (10 to 7200, 600 by default) in GA and a minute in the
preview [documented: the SDK's models, "all tokens expire after one minute"]. Kept in memory, at most
:data:`KEPT` at once (the oldest go first).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from aoai_mock.behaviour.realtime.session import SessionConfig

__all__ = ["Minted", "ClientSecrets", "KEPT", "PREFIX"]

KEPT = 4096
PREFIX = "ek_"


@dataclass(frozen=True, slots=True)
class Minted:
    deployment: str
    config: SessionConfig
    expires_at: int


class ClientSecrets:
    """The keys minted and not yet forgotten."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, Minted] = OrderedDict()

    def mint(self, value: str, minted: Minted) -> None:
        self._kept[value] = minted
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)

    def find(self, value: str, now: float) -> Minted | None:
        """The key's grant, if it was minted here and has not expired."""
        found = self._kept.get(value)
        if found is None or found.expires_at <= now:
            return None
        return found
