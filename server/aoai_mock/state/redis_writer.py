"""What a process writes to Redis off the answer's path: put on a queue, written in batches by one task.

The shared journal (:mod:`aoai_mock.state.shared_journal`) and the shared log of injected faults
(:mod:`aoai_mock.behaviour.shared_fault_log`) each keep one :class:`QueuedWriter`:

* :meth:`QueuedWriter.put` costs a request nothing but an append (from the event loop's thread or a worker
  thread); :meth:`QueuedWriter.keep_writing`, a task of the server's lifespan, waits a few milliseconds after
  an item comes and hands what the queue holds to the owner's ``write`` in batches, so the items of a burst
  go together in one call.
* A reader calls :meth:`QueuedWriter.flush` first: what this process queued is in Redis before it reads.
* **Redis gone.** The queue keeps up to ``capacity`` items (the oldest dropped first, and counted), the log
  says so once, and they are written when Redis answers again, in their order. When the server stops, what
  is left gets a last try.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

from aoai_mock.state.redis_state import RedisState, RedisUnavailable

__all__ = ["QueuedWriter", "Naming"]

log = logging.getLogger("aoai_mock")

T = TypeVar("T")

_BATCH = 256  # items in one write at most
_GATHER_S = 0.005  # the writer waits this long after an item comes, so that one call carries the items of a
# burst (a reader never waits for it: reading writes the queue first)
_RETRY_S = 1.0  # after Redis went away, the writer tries again this often
_LAST_WRITE_S = 2.0  # what is queued when the server stops gets this long to reach Redis


@dataclass(frozen=True, slots=True)
class Naming:
    """How the log speaks of what is queued: ``the journal`` keeps this process's ``requests`` (more than
    ``the journal size`` are dropped)."""

    what: str
    items: str
    size: str


class QueuedWriter(Generic[T]):
    """A queue of at most ``capacity`` items, written by ``write`` (one awaited call per batch, which raises when
    Redis is out of reach or refuses: the batch stays queued)."""

    def __init__(self, state: RedisState, capacity: int, write: Callable[[list[T]], Awaitable[None]],
                 naming: Naming) -> None:
        self.state = state
        self.capacity = capacity
        self.naming = naming
        self._write = write
        self._queue: deque[T] = deque()
        self._wake = asyncio.Event()
        self._writing = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # the writer task's, once it runs
        self.dropped = 0  # items the queue gave up (Redis gone for longer than ``capacity`` lasts)
        self._down = False

    def put(self, item: T) -> None:
        queue = self._queue
        if len(queue) >= self.capacity:  # the owner's cap would drop it anyway, for this process's newer items
            queue.popleft()
            self.dropped += self._down
        queue.append(item)
        self._wake_up()

    def clear(self) -> None:
        self._queue.clear()

    def _wake_up(self) -> None:
        loop = self._loop
        if loop is None:
            self._wake.set()
            return
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        if here is loop:
            self._wake.set()
            return
        try:  # a worker thread's put: the event belongs to the loop
            loop.call_soon_threadsafe(self._wake.set)
        except RuntimeError:  # the loop has closed: the server stopped, and its last write is done
            pass

    async def keep_writing(self) -> None:
        """Write what the queue holds as it comes, as long as the server runs (a task of its lifespan); when it
        stops, what is left gets a last try."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                await self._wake.wait()
                await asyncio.sleep(_GATHER_S)
                self._wake.clear()
                try:
                    await self.flush()
                except Exception:  # noqa: BLE001 - kept queued, logged once: tried again
                    await asyncio.sleep(_RETRY_S)
                    self._wake.set()
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(_LAST_WRITE_S):
                try:
                    await self.flush()
                except Exception:  # noqa: BLE001 - the server stops all the same
                    pass

    async def flush(self) -> None:
        """Write the queue, a batch per call. A Redis out of reach (:class:`RedisUnavailable`), or one that refuses
        the write, leaves what is not written queued, and raises."""
        async with self._writing:
            queue = self._queue
            while queue:
                batch = [queue.popleft() for _ in range(min(_BATCH, len(queue)))]
                try:
                    await self._write(batch)
                except Exception as exc:
                    self._requeue(batch)
                    self._went_away(exc)
                    raise
                if self._down:
                    self._came_back()

    def _requeue(self, batch: list[T]) -> None:
        queue = self._queue
        queue.extendleft(reversed(batch))
        while len(queue) > self.capacity:
            queue.popleft()
            self.dropped += self._down

    def _went_away(self, exc: Exception) -> None:
        """Say so once an outage (the connection's own line has named Redis and the cause already)."""
        if not self._down:
            self._down = True
            refused = "" if isinstance(exc, RedisUnavailable) else f" (it refused a write: {exc!r})"
            naming = self.naming
            log.warning("%s keeps this process's %s (%d at most) until Redis at %s answers%s", naming.what,
                        naming.items, self.capacity, self.state.url, refused)

    def _came_back(self) -> None:
        self._down = False
        naming = self.naming
        dropped = f", {self.dropped} dropped (more than {naming.size})" if self.dropped else ""
        log.warning("Redis at %s answers again: %s is writing the %s kept meanwhile%s", self.state.url, naming.what,
                    naming.items, dropped)
        self.dropped = 0
