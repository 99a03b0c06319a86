"""Ids, request ids and timestamps: random by default, frozen (derived from seed and request) with --seed."""

from __future__ import annotations

import hashlib
import secrets
import string
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Clock", "IdFactory"]

_ALPHABET = string.ascii_letters + string.digits


@dataclass(slots=True)
class Clock:
    """Wall time, injectable: tests and frozen runs give their own ``now``."""

    now: Callable[[], float] = time.time
    frozen_at: int | None = None

    def created(self) -> int:
        return self.frozen_at if self.frozen_at is not None else int(self.now())


@dataclass(slots=True)
class IdFactory:
    seed: int | None = None
    _count: int = field(default=0)

    @property
    def frozen(self) -> bool:
        return self.seed is not None

    def object_id(self, prefix: str, key: bytes, length: int = 29) -> str:
        """``chatcmpl-...``: from the seed and ``key`` (the request) when frozen, else random."""
        if self.seed is None:
            return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))
        digest = hashlib.blake2b(key, digest_size=32, key=str(self.seed).encode()).digest()
        number = int.from_bytes(digest, "big")
        chars = []
        for _ in range(length):
            number, rest = divmod(number, len(_ALPHABET))
            chars.append(_ALPHABET[rest])
        return prefix + "".join(chars)

    def request_id(self) -> str:
        """A uuid per response; with a seed, the n-th response of a run always gets the same one."""
        if self.seed is None:
            return str(uuid.uuid4())
        self._count += 1
        digest = hashlib.blake2b(f"{self.seed}:{self._count}".encode(), digest_size=16).digest()
        return str(uuid.UUID(bytes=digest, version=4))
