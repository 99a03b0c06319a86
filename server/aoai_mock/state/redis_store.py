"""The store in Redis (``--state redis://HOST:PORT/DB``): the same :class:`~aoai_mock.state.store.Store` as
:class:`~aoai_mock.state.store.MemoryStore`, shared by every process given the same Redis, so that an object
created through one process is read, listed, changed and deleted through any other.

Layout, every key under ``aoai-mock:store:``::

    docs:KIND    hash        id -> the doc's JSON
    order:KIND   sorted set  the ids, scored by their insertion number (an update keeps its place)
    seq          string      the last insertion number handed out (one sequence for every kind)
    blob:ID      list        the blob's bytes, in pieces of at most 4 MiB
    shelf:KEY    string      a value kept for a while (:meth:`RedisStore.shelve`: the recipe of an image a
                             ``url`` names, the text of spoken audio), expiring

A blob is a list of pieces, not one string, so that no value meets Redis's 512 MiB limit on a string (an
upload limit raised past 512 MiB still fits) and no one command carries more than a piece.

**On the event loop.** The store's calls are coroutines (the :class:`~aoai_mock.state.store.Store` protocol is
asynchronous), made with redis-py's asyncio client: the process's one client and connection pool, that of its
:class:`~aoai_mock.state.redis_state.RedisState`, which the quotas, fault schedules and scenario counters use
too. A request waiting for Redis holds up no other: the event loop serves the rest meanwhile. Only the
resource routes (files, batches, fine-tuning, assistants, vector stores, stored responses) reach the store,
and images and speech through :meth:`RedisStore.shelve` / :meth:`RedisStore.fetch`; chat, completions and
embeddings never do.

**Atomic steps.** A transaction's writes (:func:`~aoai_mock.state.store.transaction`: one request's) go in one
MULTI/EXEC: every other process sees all of them or none of them. A write outside a transaction is one
server-side script (insertion number, order, doc). :meth:`RedisStore.next_serial` is one script too: two
processes never get the same number, so ids made from ``--seed`` never collide.

**Outages.** A Redis that cannot be reached, or does not answer within the timeouts (a second to connect, two
to answer; a failed command is tried once more on a new connection), is
:class:`~aoai_mock.state.redis_state.RedisUnavailable`: Azure's 500, naming the request being served. The
outage is logged once when it starts and once when Redis answers again, by the process's
:class:`~aoai_mock.state.redis_state.RedisState` (whichever of its users meets it first); nothing needs
restarting. Any other error Redis answers (out of memory, say) is the same 500, logged each time with Redis's
reason.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aoai_mock.state.record import current
from aoai_mock.state.redis_state import NAMESPACE, RedisState, RedisUnavailable
from aoai_mock.state.store import SERIAL, Transactional

__all__ = ["RedisStore", "PREFIX", "PIECE"]

log = logging.getLogger("aoai_mock")

PREFIX = f"{NAMESPACE}:store:"
PIECE = 4 * 1024 * 1024  # the largest piece of a blob: one command's payload
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, socket.timeout, asyncio.TimeoutError)
_DELETE_BATCH = 500

# KEYS: docs hash, order set, sequence. ARGV: id, JSON. A new id takes the next insertion number.
_PUT = """
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
"""
# The same keys for kind "serial", ARGV: the family. Its number, and the doc {"id", "next"} moved on by one.
_SERIAL = """
local kept = redis.call('HGET', KEYS[1], ARGV[1])
local n = 1
if kept then n = tonumber(cjson.decode(kept)['next']) or 1 end
if not redis.call('ZSCORE', KEYS[2], ARGV[1]) then
  redis.call('ZADD', KEYS[2], redis.call('INCR', KEYS[3]), ARGV[1])
end
local doc = '{"id":' .. cjson.encode(ARGV[1]) .. ',"next":' .. string.format('%d', n + 1) .. '}'
redis.call('HSET', KEYS[1], ARGV[1], doc)
return n
"""

T = TypeVar("T")
Doc = dict[str, Any]


class RedisStore(Transactional):
    """Documents and blobs in Redis; see the module docstring for the layout and what each call costs."""

    def __init__(self, shared: RedisState) -> None:
        self.shared = shared
        self.client: aioredis.Redis = shared.client
        self.url = shared.url
        self._put_script = shared.script(_PUT)
        self._serial_script = shared.script(_SERIAL)

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        """A store on the Redis at ``url`` (``redis://`` or ``rediss://``) with a client of its own; nothing is
        connected yet. A server's store is made on the process's :class:`RedisState` instead (one pool)."""
        return cls(RedisState.from_url(url))

    # -- the primitives of the Store protocol (transactions: state.store.Transactional) ----------------------
    async def _put(self, kind: str, doc: Doc) -> None:
        text = self._encode(doc)
        await self._call(self._put_script(keys=_doc_keys(kind), args=[doc["id"], text]))

    async def _get(self, kind: str, id: str) -> Doc | None:
        kept = await self._call(self.client.hget(_docs(kind), id))
        return orjson.loads(kept) if kept is not None else None

    async def _delete(self, kind: str, id: str) -> bool:
        removed, _ = await self._transaction(lambda pipe: _delete_doc(pipe, kind, id))
        return bool(removed)

    async def _all(self, kind: str) -> list[Doc]:
        ids, docs = await self._transaction(
            lambda pipe: (pipe.zrange(_order(kind), 0, -1), pipe.hgetall(_docs(kind)))
        )
        return [orjson.loads(docs[id]) for id in ids if id in docs]

    async def _put_blob(self, id: str, data: bytes) -> None:
        await self._transaction(lambda pipe: _write_blob(pipe, id, data))

    async def _get_blob(self, id: str) -> bytes | None:
        pieces = await self._call(self.client.lrange(_blob(id), 0, -1))
        return b"".join(pieces) if pieces else None

    async def _delete_blob(self, id: str) -> bool:
        return bool(await self._call(self.client.delete(_blob(id))))

    async def _reset(self) -> None:
        """Every key of the store's namespace, found with SCAN and unlinked: other programs' keys, and the rest of
        the mock's shared state, stay."""

        async def forget() -> None:
            keys = await self._keys(PREFIX + "*")
            for start in range(0, len(keys), _DELETE_BATCH):
                await self.client.unlink(*keys[start : start + _DELETE_BATCH])

        await self._call(forget())

    async def _kinds(self) -> list[str]:
        prefix = _docs("")
        found = await self._call(self._keys(prefix + "*"))
        return sorted(key.decode("utf-8")[len(prefix) :] for key in found)

    def _encode(self, doc: Doc) -> bytes:
        return orjson.dumps(doc)

    def _decode(self, kept: Any) -> Doc:
        return orjson.loads(kept)  # type: ignore[no-any-return]

    async def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        """A transaction's writes in one MULTI/EXEC: all of them reach Redis together, or (refused) none."""

        async def queue(pipe: Pipeline) -> None:
            for op in ops:
                if op[0] == "put":
                    await self._put_script(keys=_doc_keys(op[1]), args=[op[2], op[3]], client=pipe)
                elif op[0] == "delete":
                    _delete_doc(pipe, op[1], op[2])
                elif op[0] == "put_blob":
                    _write_blob(pipe, op[1], op[2])
                else:
                    pipe.delete(_blob(op[1]))

        await self._transaction(queue)

    async def next_serial(self, family: str) -> int:
        """The next number of the id family ``family``, in one script: two processes never get the same one."""
        return int(await self._call(self._serial_script(keys=_doc_keys(SERIAL), args=[family])))

    async def shelve(self, key: str, value: bytes, seconds: int) -> None:
        """Keep ``value`` for ``seconds`` under ``key``, outside any transaction (what a media answer names)."""
        await self._call(self.client.set(_shelf(key), value, ex=seconds))

    async def fetch(self, key: str) -> bytes | None:
        return await self._call(self.client.get(_shelf(key)))  # type: ignore[arg-type]  # (bytes: no decoding)

    async def close(self) -> None:
        """Close the client's connections (a later call would open new ones): the process's shared client."""
        await self.shared.close()

    # -- round trips ---------------------------------------------------------------------------------------------
    async def _keys(self, match: str) -> list[bytes]:
        return [key async for key in self.client.scan_iter(match=match, count=1000)]

    async def _transaction(self, queue: Callable[[Pipeline], object]) -> list[Any]:
        """The commands ``queue`` adds to a pipeline (it may be a coroutine function), in one MULTI/EXEC; their
        replies."""

        async def run() -> list[Any]:
            async with self.client.pipeline(transaction=True) as pipe:
                queued = queue(pipe)
                if asyncio.iscoroutine(queued):
                    await queued
                return await pipe.execute()  # type: ignore[no-any-return]

        return await self._call(run())

    async def _call(self, awaitable: Awaitable[T]) -> T:
        """``await awaitable``; a Redis out of reach, or one that refuses, raises :class:`RedisUnavailable` (the
        500 of the request being served)."""
        try:
            result = await awaitable
        except _UNREACHABLE as exc:
            error = self._unavailable(exc)
            self.shared.down(error)
            raise error from exc
        except RedisError as exc:
            error = self._unavailable(exc)
            log.error("%s: the request that needed it got a 500", error)
            raise error from exc
        self.shared.up()
        return result

    def _unavailable(self, cause: BaseException) -> RedisUnavailable:
        error = RedisUnavailable(self.url, cause)
        record = current()
        return error.for_request(record.request_id) if record is not None else error


def _docs(kind: str) -> str:
    return f"{PREFIX}docs:{kind}"


def _order(kind: str) -> str:
    return f"{PREFIX}order:{kind}"


def _doc_keys(kind: str) -> list[str]:
    return [_docs(kind), _order(kind), PREFIX + "seq"]


def _blob(id: str) -> str:
    return f"{PREFIX}blob:{id}"


def _shelf(key: str) -> str:
    return f"{PREFIX}shelf:{key}"


def _delete_doc(pipe: Pipeline, kind: str, id: str) -> None:
    pipe.hdel(_docs(kind), id)
    pipe.zrem(_order(kind), id)


def _write_blob(pipe: Pipeline, id: str, data: bytes) -> None:
    """The blob replaced by ``data``, in pieces of at most :data:`PIECE` bytes (an empty blob: one empty piece)."""
    view = memoryview(data)
    pieces = [view[start : start + PIECE] for start in range(0, len(view), PIECE)] or [b""]
    pipe.delete(_blob(id))
    pipe.rpush(_blob(id), *pieces)
