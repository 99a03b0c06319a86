"""What the images and audio families remember between requests, bounded and thread-safe.

* **Images**: the recipe of every image handed out (by its name, the last part of its ``url``) and the
  encoded bytes of the most recent ones. A recipe is small, so a ``url`` keeps working long after its bytes
  were dropped from the cache: they are rendered again, identically.
* **Speech**: the text behind each audio file ``audio/speech`` produced, keyed by the file's sha256, so that
  transcribing the mock's own audio gives back the text it was made from.

Nothing here is written to disk; a restart forgets it (the audio files also carry their text in their
metadata where the format has room for it, see :mod:`aoai_mock.behaviour.speech`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["BoundedMap", "MediaStore", "StoredImage"]

K = TypeVar("K")
V = TypeVar("V")


class BoundedMap(Generic[K, V]):
    """A mapping that forgets its least recently used entries beyond ``capacity`` (or ``max_bytes``)."""

    def __init__(self, capacity: int, max_bytes: int | None = None, size: Callable[[V], int] | None = None) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._size = size or (lambda _value: 0)
        self._items: OrderedDict[K, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= self._size(old)
            self._items[key] = value
            self._bytes += self._size(value)
            while len(self._items) > self.capacity or (
                self.max_bytes is not None and self._bytes > self.max_bytes and len(self._items) > 1
            ):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= self._size(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An encoded image and its media type."""

    data: bytes
    media_type: str


@dataclass
class MediaStore:
    """The images and audio state of one server (``Runtime.media``)."""

    # name -> the recipe that renders it again (any object with a ``render() -> StoredImage``)
    image_recipes: BoundedMap[str, object] = field(default_factory=lambda: BoundedMap(20_000))
    # name -> encoded bytes, at most 256 MB of them
    image_bytes: BoundedMap[str, StoredImage] = field(
        default_factory=lambda: BoundedMap(512, max_bytes=256 * 1024 * 1024, size=lambda image: len(image.data))
    )
    # sha256 of an audio file the mock produced -> the text it speaks
    spoken: BoundedMap[str, str] = field(default_factory=lambda: BoundedMap(10_000))

    def reset(self) -> None:
        self.image_recipes.clear()
        self.image_bytes.clear()
        self.spoken.clear()
