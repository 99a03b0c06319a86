"""What the images and audio families remember between requests, bounded and thread-safe.

* **Images**: the recipe of every image handed out (by its name, the last part of its ``url``) and the
  encoded bytes of the most recent ones. A recipe is small, so a ``url`` keeps working long after its bytes
  were dropped from the cache: they are rendered again, identically.
* **Speech**: the text behind each audio file ``audio/speech`` produced, keyed by the file's sha256, so that
  transcribing the mock's own audio gives back the text it was made from.

Nothing here is written to disk; a restart forgets it (the audio files also carry their text in their
metadata where the format has room for it, see :mod:`aoai_mock.behaviour.speech`).

With shared state (``--state redis://...``), :func:`share` keeps the image recipes and the spoken texts on a
:class:`Shelf` (the Redis store) instead, each for :data:`SHELF_SECONDS`: a ``url`` one process handed out is
served by any other, and audio one process spoke is transcribed to its text by any other. The image bytes stay
a cache in each process (rendered again, identically). The shelf is asynchronous: on the event loop a map is
read and written with :meth:`BoundedMap.fetch` / :meth:`BoundedMap.keep` (awaited); ``get`` / ``put`` of a
:class:`SharedMap` are for the worker threads that render and transcribe, which wait for the loop.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import anyio.from_thread
import orjson

__all__ = ["BoundedMap", "MediaStore", "StoredImage", "Shelf", "SharedMap", "share", "SHELF_SECONDS"]

SHELF_SECONDS = 24 * 60 * 60  # how long a shared recipe or spoken text is kept after it was put

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

    async def fetch(self, key: K) -> V | None:
        """:meth:`get`, for the event loop (a :class:`SharedMap` awaits its shelf)."""
        return self.get(key)

    async def keep(self, key: K, value: V) -> None:
        """:meth:`put`, for the event loop (a :class:`SharedMap` awaits its shelf)."""
        self.put(key, value)

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


class Shelf(Protocol):
    """Values that every process sharing state can read, each kept for a while (the Redis store)."""

    async def shelve(self, key: str, value: bytes, seconds: int) -> None: ...
    async def fetch(self, key: str) -> bytes | None: ...


class SharedMap(BoundedMap[str, V]):
    """A :class:`BoundedMap` kept on a :class:`Shelf` instead of in the process: what one process put, every
    other gets, and a reset of the shelf's store forgets it for all. ``get`` and ``put`` wait for the event loop
    from a worker thread (they cannot be called on the loop's own thread: it awaits :meth:`fetch` / :meth:`keep`)."""

    def __init__(
        self, capacity: int, shelf: Shelf, name: str, encode: Callable[[V], bytes], decode: Callable[[bytes], V]
    ) -> None:
        super().__init__(capacity)
        self.shelf, self.name, self.encode, self.decode = shelf, name, encode, decode

    def get(self, key: str) -> V | None:
        return anyio.from_thread.run(self.fetch, key)

    def put(self, key: str, value: V) -> None:
        anyio.from_thread.run(self.keep, key, value)

    async def fetch(self, key: str) -> V | None:
        kept = await self.shelf.fetch(f"{self.name}:{key}")
        return self.decode(kept) if kept is not None else None

    async def keep(self, key: str, value: V) -> None:
        await self.shelf.shelve(f"{self.name}:{key}", self.encode(value), SHELF_SECONDS)


def share(media: MediaStore, shelf: Shelf, recipe: Callable[[dict[str, Any]], object]) -> None:
    """Keep ``media``'s image recipes and spoken texts on ``shelf``; ``recipe`` makes a recipe (a dataclass)
    again from its fields."""
    media.image_recipes = SharedMap(
        media.image_recipes.capacity, shelf, "image", _fields, lambda kept: recipe(orjson.loads(kept))
    )
    media.spoken = SharedMap(media.spoken.capacity, shelf, "spoken", str.encode, bytes.decode)


def _fields(value: object) -> bytes:
    return orjson.dumps(dataclasses.asdict(value))  # type: ignore[call-overload]
