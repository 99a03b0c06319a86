"""The log of injected faults kept in Redis, for processes that share one (``--state redis://...``).

Every process's injections go into one log there, numbered in one order and capped at the log's size, so
``GET /_mock/faults`` ``injected`` and ``totals`` on any process list every process's; ``POST /_mock/reset`` on
one clears it for all.

* **Off the answer's path.** The book keeps an injection in its own log (where the HTTP layer reports how
  delivery went) and hands it here (:meth:`SharedFaultLog.put`), which puts it on a queue: the journal's
  writer (:class:`~aoai_mock.state.redis_writer.QueuedWriter`), a task of the server's lifespan, writes the
  queue in one script call. An injection whose delivery is reported later is queued again, and its entry is
  replaced where it stands (its number kept). Nothing a request waits for touches Redis.
* **Order.** The script numbers each new entry by one counter as it writes it, so across processes the order
  is the order of writing (within milliseconds of the order of injection); ``n`` is that number.
* **Reading.** A reader writes its own queue first (:meth:`SharedFaultLog.read`), so a test that reads right
  after a fault finds it, then reads the whole log (at most its size: a thousand small entries) in one round
  trip.
* **Times.** Wall-clock seconds in Redis, listed (``time_s``, ``delivered_s``) as seconds since the log's
  origin: its last clear, else its first entry's process's start. Every process lists the same times;
  processes on several hosts need synchronised clocks (as for quotas).
* **Clearing.** The log numbers from 1 again, as one process's does after a reset. An injection made before a
  clear and still on some process's queue is dropped when it arrives, so a cleared log stays cleared.
* **Redis gone.** Requests are answered as the faults say (those a plan counts in Redis get Azure's 500, as
  :mod:`~aoai_mock.behaviour.shared_counters` says); the queue keeps this process's injections (up to the
  log's size), the log says so once, and they are written when Redis answers again. Reading or clearing gets
  Azure's 500 meanwhile.

In Redis (under the mock's namespace): ``faultlog`` (a sorted set of entry names, scored by their number),
``faultlog:entries`` (a hash: each entry's JSON), ``faultlog:seq`` (the numbers' counter),
``faultlog:injected`` (injections since the last clear, those the cap dropped included), ``faultlog:cleared``
and ``faultlog:origin`` (wall-clock seconds).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from aoai_mock.behaviour.fault_log import Injection, Listing
from aoai_mock.state.redis_state import RedisState
from aoai_mock.state.redis_writer import Naming, QueuedWriter

__all__ = ["SharedFaultLog", "keep_writing", "dump", "load"]

_NAMING = Naming("the fault log", "injections", "the fault log's size")

# KEYS: the order, the entries, the counter, the injected count, the last clear, the origin. ARGV: the cap, an
# origin for a log that has none, then each entry's name, 1 (new) or 0 (delivery reported), its time (wall
# clock) and its JSON. A new entry made before the last clear is dropped; a reported one the log no longer
# has, too. Returns how many were added.
_WRITE = """
local cleared = tonumber(redis.call('GET', KEYS[5]) or '0')
redis.call('SETNX', KEYS[6], ARGV[2])
local added = 0
for i = 3, #ARGV, 4 do
  local name = ARGV[i]
  if ARGV[i + 1] == '1' then
    if tonumber(ARGV[i + 2]) >= cleared then
      redis.call('ZADD', KEYS[1], redis.call('INCR', KEYS[3]), name)
      redis.call('HSET', KEYS[2], name, ARGV[i + 3])
      redis.call('INCR', KEYS[4])
      added = added + 1
    end
  elseif redis.call('ZSCORE', KEYS[1], name) then
    redis.call('HSET', KEYS[2], name, ARGV[i + 3])
  end
end
if added > 0 then
  local gone = redis.call('ZRANGE', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
  if #gone > 0 then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
    redis.call('HDEL', KEYS[2], unpack(gone))
  end
end
return added
"""


@dataclass(slots=True, eq=False)
class _Kept:
    """One injection of this process: its name in Redis, when it was made (wall clock), its latest JSON, and
    whether Redis has it (then a new JSON replaces it) and whether it waits on the queue."""

    name: str
    wall: float
    payload: bytes
    written: bool = False
    queued: bool = False


class SharedFaultLog:
    """The log every process sharing ``state``'s Redis writes its injections to; ``process`` names this one."""

    def __init__(self, state: RedisState, size: int, process: str, clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.size = size
        self._process = process
        self._clock = clock
        self._keys = tuple(state.key("faultlog", *part) for part in ((), ("entries",), ("seq",), ("injected",),
                                                                     ("cleared",), ("origin",)))
        self._script = state.script(_WRITE)
        self._writer: QueuedWriter[_Kept] = QueuedWriter(state, size, self._write, _NAMING)
        self._kept: OrderedDict[int, _Kept] = OrderedDict()  # by the book's own number for the injection
        self._serial = 0
        self._origin = clock()  # the book's: proposed as the origin of a log that has none

    def put(self, injection: Injection, origin: float) -> None:
        """``injection`` was made, or its delivery reported: queued for Redis. ``origin``: the wall-clock time the
        injection's own times count from (the book's origin). Called under the book's lock."""
        payload = dump(injection, origin)
        kept = self._kept.get(injection.n)
        if kept is None:
            self._serial += 1
            kept = self._kept[injection.n] = _Kept(f"{self._process}:{self._serial}", origin + injection.at, payload)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
            self._origin = origin
        else:
            kept.payload = payload
        if not kept.queued:
            kept.queued = True
            self._writer.put(kept)

    def forget(self) -> None:
        """This process's injections are no more (the book was reset): none of them is written from now on."""
        self._writer.clear()
        self._kept.clear()

    async def keep_writing(self) -> None:
        """Write what the queue holds as it comes, as long as the server runs (a task of its lifespan)."""
        await self._writer.keep_writing()

    async def read(self) -> Listing:
        """Every process's injections, in order, this process's queue written first; their times (and the
        listing's ``now``) in seconds since the log's origin."""
        await self._writer.flush()
        order, entries, injected, origin = self._keys[0], self._keys[1], self._keys[3], self._keys[5]
        pipe = self.state.client.pipeline(transaction=True)
        pipe.zrange(order, 0, -1, withscores=True)
        pipe.hgetall(entries)
        pipe.get(injected)
        pipe.get(origin)
        names, found, count, since = await self.state.call(pipe.execute())
        start = float(since) if since is not None else self._origin
        records = [load(found[name], int(seq), start) for name, seq in names if name in found]
        return Listing(records, int(count or 0), self._clock() - start)

    async def clear(self) -> None:
        """Empty the log for every process: numbered from 1 again (as one process's log is), its origin now."""
        order, entries, seq, injected, cleared, origin = self._keys
        now = repr(self._clock())
        pipe = self.state.client.pipeline(transaction=True)
        pipe.delete(order, entries, seq, injected)
        pipe.set(cleared, now)
        pipe.set(origin, now)
        await self.state.call(pipe.execute())
        self.forget()

    async def _write(self, batch: list[_Kept]) -> None:
        """One script call for ``batch`` (the writer keeps it queued when this raises)."""
        for kept in batch:
            kept.queued = False  # a report from now on queues it again
        args: list[Any] = [self.size, repr(self._origin)]
        for kept in dict.fromkeys(batch):  # (queued again after a failed write: once)
            args += (kept.name, 0 if kept.written else 1, repr(kept.wall), kept.payload)
        await self.state.call(self._script(keys=self._keys, args=args))
        for kept in batch:
            kept.written = True


async def keep_writing(log: SharedFaultLog | None) -> None:
    """:meth:`SharedFaultLog.keep_writing` for a shared log; nothing without one."""
    if log is not None:
        await log.keep_writing()


def dump(injection: Injection, origin: float) -> bytes:
    """An injection as stored: a JSON array, its times in wall-clock seconds (``origin`` + the book's)."""
    delivered = injection.delivered_at
    return orjson.dumps([
        origin + injection.at, injection.entry, injection.source, injection.kind, injection.request_id,
        injection.deployment, injection.operation, injection.stream, injection.retry_count,
        None if delivered is None else origin + delivered, injection.transport, injection.client,
    ], default=repr)


def load(payload: bytes, n: int, origin: float) -> Injection:
    """The injection of ``payload``, numbered ``n``, its times in seconds since ``origin`` (wall clock)."""
    (at, entry, source, kind, request_id, deployment, operation, stream, retry_count, delivered, transport,
     client) = orjson.loads(payload)
    return Injection(n, at - origin, entry, source, kind, request_id, deployment, operation, stream, retry_count,
                     None if delivered is None else delivered - origin, transport, client)
