"""Ids, request ids and timestamps: random by default, frozen (derived from seed and request) with --seed."""

from __future__ import annotations

import hashlib
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Clock", "IdFactory"]

_ALPHABET = string.ascii_letters + string.digits
_TO_ALPHABET = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_random = random.Random()  # seeded from the OS at start; fast, and never touches the global state


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
            raw = _random.randbytes(length)  # ids need to be unique, not secret
        else:
            raw = hashlib.blake2b(key, digest_size=length, key=str(self.seed).encode()).digest()
        return prefix + raw.translate(_TO_ALPHABET).decode("ascii")

    def request_id(self) -> str:
        """A uuid per response; with a seed, the n-th response of a run always gets the same one."""
        if self.seed is None:
            return _uuid4_text(_random.getrandbits(128))
        self._count += 1
        digest = hashlib.blake2b(f"{self.seed}:{self._count}".encode(), digest_size=16).digest()
        return _uuid4_text(int.from_bytes(digest, "big"))


_CLEAR = ~(0xF000 << 64) & ~(0xC000 << 48)  # the version and variant bits
_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, variant RFC 4122


def _uuid4_text(number: int) -> str:
    """The canonical text of a version-4 uuid made of ``number``'s bits (what ``uuid.UUID`` gives, faster)."""
    h = "%032x" % (number & _CLEAR | _SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
