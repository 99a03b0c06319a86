"""The request journal kept in Redis, for processes that share one (``--state redis://...``).

Every process's requests go into one journal there, capped at the journal size, numbered by one sequence, so
``GET /_mock/requests`` on any process lists every process's requests, in order of arrival, with the same
filters, and ``since=<seq>`` polls them all; retry links (:func:`~aoai_mock.state.journal.is_retry`) join a
retry to the attempt it repeats whichever processes served them.

* **Off the answer's path.** :meth:`SharedJournal.add` (the front door's call once a response has ended)
  keeps the record in this process's own journal too, and puts it on a queue
  (:class:`~aoai_mock.state.redis_writer.QueuedWriter`); :meth:`SharedJournal.keep_writing` (a task of the
  server's lifespan) writes what the queue holds in one script call, so records that end while a call is under
  way go together in the next. Nothing a request waits for touches Redis.
* **Order.** The script gives each record the next number of one counter and adds it to a sorted set scored
  by that number, atomically, so a reader that has seen ``seq`` N will never be shown a new entry numbered N
  or less: polling with ``since`` misses nothing and repeats nothing. Entries are listed by arrival, which the
  record carries in wall-clock time (its process's clock: processes on several hosts need synchronised
  clocks, as for quotas).
* **Clearing.** ``DELETE /_mock/requests`` empties the set and notes the time; a record that ended before it
  and was still on some process's queue is dropped when it arrives, so a cleared journal stays cleared.
* **Reading.** A process keeps a copy of what it read (:attr:`SharedJournal._mirror`) and asks Redis only for
  entries numbered past it, with the lowest number still kept (what the cap or a clear removed goes from the
  copy too): a poll costs one round trip and the new entries. Before reading, a process writes its own
  queue, so a client that reads right after an answer finds it there.
* **Redis gone.** The queue holds up to the journal size of this process's records (the oldest dropped first,
  as the cap would drop them, and counted), the log says so once, and they are written when Redis answers
  again, in their order of arrival, numbered after everything already seen (the counter never goes back, even
  when Redis returns empty). Reading or clearing gets Azure's 500 (:class:`RedisUnavailable`) meanwhile.

In Redis (under the mock's namespace): ``journal`` (the sorted set: each entry a JSON array, scored by its
``seq``), ``journal:seq`` (the counter) and ``journal:cleared`` (when it was last cleared, in seconds since
the epoch).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from aoai_mock.state.journal import Filters, Journal, listing
from aoai_mock.state.record import Headers, Record
from aoai_mock.state.redis_state import RedisState
from aoai_mock.state.redis_writer import Naming, QueuedWriter

__all__ = ["SharedJournal", "keep_writing", "dump", "load"]

log = logging.getLogger("aoai_mock")

_PAGE = 500  # entries in one reply at most
_NAMING = Naming("the journal", "requests", "the journal size")

# KEYS: the entries, the counter, the last clear. ARGV: the cap, the highest seq the process has seen, then
# each record's end (wall time) and its payload. Returns the highest seq given (or seen).
_WRITE = """
local seq = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), tonumber(ARGV[2]))
local cleared = tonumber(redis.call('GET', KEYS[3]) or '0')
local added = 0
for i = 3, #ARGV, 2 do
  if tonumber(ARGV[i]) >= cleared then
    seq = seq + 1
    redis.call('ZADD', KEYS[1], seq, ARGV[i + 1])
    added = added + 1
  end
end
redis.call('SET', KEYS[2], seq)
if added > 0 then
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[1]) + 1))
end
return seq
"""


class SharedJournal(Journal):
    """This process's journal (what :class:`Journal` gives, for in-process readers such as the pytest plugin),
    also written to the journal every process shares in Redis, which :meth:`read`, :meth:`clear_all` and
    :meth:`gather` use."""

    def __init__(self, capacity: int, state: RedisState, clock: Callable[[], float] = time.time) -> None:
        super().__init__(capacity, clock)
        self.state = state
        self._keys = (state.key("journal"), state.key("journal", "seq"), state.key("journal", "cleared"))
        self._script = state.script(_WRITE)
        self._writer: QueuedWriter[Record] = QueuedWriter(state, capacity, self._write, _NAMING)
        self._mirror: dict[int, Record] = {}  # what was read, by seq, in order
        self._highest = 0  # the highest seq this process has given or read

    def add(self, record: Record) -> int:
        seq = super().add(record)
        self._writer.put(record)
        return seq

    async def keep_writing(self) -> None:
        """Write what the queue holds as it comes, as long as the server runs (a task of its lifespan); when it
        stops, what is left gets a last try."""
        await self._writer.keep_writing()

    async def read(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        return listing(await self.gather(), filters)

    async def gather(self) -> list[Record]:
        await self._writer.flush()
        return await self._refresh()

    async def clear_all(self) -> int:
        entries, _, cleared = self._keys
        pipe = self.state.client.pipeline(transaction=True)
        pipe.zcard(entries)
        pipe.delete(entries)
        pipe.set(cleared, repr(self._clock()))
        count, _, _ = await self.state.call(pipe.execute())
        self._writer.clear()
        self._mirror.clear()
        self.clear()
        return int(count)

    async def _write(self, batch: list[Record]) -> None:
        """One script call for ``batch`` (the writer keeps it queued when this raises)."""
        args: list[Any] = [self.capacity, self._highest]
        for record in batch:
            try:
                end, payload = dump(record)
            except TypeError as exc:  # a value JSON cannot hold: a bug of ours, that record only
                log.warning("the journal cannot write %r to Redis: %s", record, exc)
                continue
            args += (repr(end), payload)
        highest = await self.state.call(self._script(keys=self._keys, args=args))
        self._highest = max(self._highest, int(highest))

    async def _refresh(self) -> list[Record]:
        """The shared entries: the copy brought up to date (what is gone from Redis, gone from it too)."""
        entries, counter, _ = self._keys
        mirror = self._mirror
        known = next(reversed(mirror), 0) if mirror else 0
        pipe = self.state.client.pipeline(transaction=True)
        pipe.get(counter)
        pipe.zrange(entries, 0, 0, withscores=True)
        pipe.zrangebyscore(entries, f"({known}", "+inf", start=0, num=_PAGE, withscores=True)
        numbered, lowest, found = await self.state.call(pipe.execute())
        if int(numbered or 0) < known:  # Redis came back empty, and numbers again from where its writers had seen
            mirror.clear()
            found = await self._page(0)
        if len(found) == _PAGE:  # a large journal comes in pages, never in one reply of megabytes
            found = found + await self._after(int(found[-1][1]))
        if not lowest:
            mirror.clear()
        else:
            first = int(lowest[0][1])
            for seq in [seq for seq in mirror if seq < first]:
                del mirror[seq]
        for payload, score in found:
            seq = int(score)
            mirror[seq] = load(payload, seq)
            self._highest = max(self._highest, seq)
        return list(mirror.values())

    async def _page(self, after: int) -> list[tuple[bytes, float]]:
        page = self.state.client.zrangebyscore(self._keys[0], f"({after}", "+inf", start=0, num=_PAGE, withscores=True)
        return await self.state.call(page)  # type: ignore[no-any-return]

    async def _after(self, after: int) -> list[tuple[bytes, float]]:
        found: list[tuple[bytes, float]] = []
        while True:
            page = await self._page(after)
            found += page
            if len(page) < _PAGE:
                return found
            after = int(page[-1][1])


async def keep_writing(journal: Journal) -> None:
    """:meth:`SharedJournal.keep_writing` for a shared journal; nothing for one in memory."""
    if isinstance(journal, SharedJournal):
        await journal.keep_writing()


# One record in Redis: a JSON array (bytes as latin-1 text, which maps each byte to one character), its times in
# wall-clock seconds (a process's monotonic readings mean nothing to another).


def _text(data: bytes) -> str:
    return data.decode("latin-1")


def _pairs(headers: Headers) -> list[list[str]]:
    return [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers]


def _headers(pairs: list[list[str]]) -> Headers:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]


def dump(record: Record) -> tuple[float, bytes]:
    """``(end, payload)``: when the record ended (wall time) and the record as stored."""
    wall = record.wall
    shift = wall - (record.end if record.end is not None else record.start)  # monotonic to wall-clock seconds
    first_byte = record.first_byte
    return wall, orjson.dumps([
        record.request_id, record.method, record.path, _text(record.query), _pairs(record.headers),
        record.start + shift, _text(record.body), record.body_size, record.operation, record.deployment,
        record.api_version, record.scenario, record.rule, record.responder, record.fault, record.fault_source,
        record.fault_effect, record.quota, record.tokens_in, record.tokens_out, record.status, record.stream,
        record.outcome, record.events, None if record.response_headers is None else _pairs(record.response_headers),
        _text(record.response_body), record.response_size, None if first_byte is None else first_byte + shift, wall,
    ])


def load(payload: bytes, seq: int) -> Record:
    """The record of ``payload``, numbered ``seq``; its times are wall-clock seconds (``arrived`` is ``start``)."""
    (request_id, method, path, query, headers, start, body, body_size, operation, deployment, api_version, scenario,
     rule, responder, fault, fault_source, fault_effect, quota, tokens_in, tokens_out, status, stream, outcome, events,
     response_headers, response_body, response_size, first_byte, end) = orjson.loads(payload)
    record = Record(request_id, method, path, query.encode("latin-1"), _headers(headers), start)
    record.body, record.body_size = body.encode("latin-1"), body_size
    record.operation, record.deployment, record.api_version = operation, deployment, api_version
    record.scenario, record.rule, record.responder = scenario, rule, responder
    record.fault, record.fault_source, record.fault_effect = fault, fault_source, fault_effect
    record.quota, record.tokens_in, record.tokens_out = quota, tokens_in, tokens_out
    record.status, record.stream, record.outcome, record.events = status, stream, outcome, events
    record.response_headers = None if response_headers is None else _headers(response_headers)
    record.response_body, record.response_size = response_body.encode("latin-1"), response_size
    record.first_byte, record.end, record.wall, record.seq = first_byte, end, end, seq
    return record
