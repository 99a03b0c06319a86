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

**Blocking client.** The store protocol is synchronous and called from many places in the resource families,
so this store uses redis-py's blocking client, the way :mod:`aoai_mock.state.sqlite` does blocking file I/O:
each call is one round trip, made on the thread that calls it (for most routes, the event loop's). Only the
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
:class:`~aoai_mock.state.redis_state.RedisState` (whichever of its two clients meets it first); nothing needs
restarting. Any other error Redis answers (out of memory, say) is the same 500, logged each time with Redis's
reason.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from aoai_mock.state.record import current
from aoai_mock.state.redis_state import NAMESPACE, RedisState, RedisUnavailable, redacted
from aoai_mock.state.store import SERIAL, Transactional

__all__ = ["RedisStore", "PREFIX", "PIECE"]

log = logging.getLogger("aoai_mock")

PREFIX = f"{NAMESPACE}:store:"
PIECE = 4 * 1024 * 1024  # the largest piece of a blob: one command's payload
_CONNECT_TIMEOUT_S = 1.0  # as the shared state's client (state/redis_state.py)
_COMMAND_TIMEOUT_S = 2.0
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, socket.timeout)
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

    def __init__(self, client: redis.Redis, url: str, outages: RedisState) -> None:
        self.client = client
        self.url = redacted(url)
        self.outages = outages
        self._put_script = client.register_script(_PUT)
        self._serial_script = client.register_script(_SERIAL)

    @classmethod
    def from_url(cls, url: str, outages: RedisState | None = None) -> RedisStore:
        """A store on the Redis at ``url`` (``redis://`` or ``rediss://``); nothing is connected yet. A URL's own
        ``socket_timeout`` / ``socket_connect_timeout`` parameters win over the store's. ``outages``: the
        process's shared state, so that an outage is logged once whichever client meets it first."""
        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
            socket_timeout=_COMMAND_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, url, outages or RedisState.from_url(url))

    # -- the primitives of the Store protocol (transactions: state.store.Transactional) ----------------------
    def _put(self, kind: str, doc: Doc) -> None:
        text = self._encode(doc)
        self._call(lambda: self._put_script(keys=_doc_keys(kind), args=[doc["id"], text]))

    def _get(self, kind: str, id: str) -> Doc | None:
        kept = self._call(lambda: self.client.hget(_docs(kind), id))
        return orjson.loads(kept) if kept is not None else None

    def _delete(self, kind: str, id: str) -> bool:
        removed, _ = self._transaction(lambda pipe: _delete_doc(pipe, kind, id))
        return bool(removed)

    def _all(self, kind: str) -> list[Doc]:
        ids, docs = self._transaction(lambda pipe: (pipe.zrange(_order(kind), 0, -1), pipe.hgetall(_docs(kind))))
        return [orjson.loads(docs[id]) for id in ids if id in docs]

    def _put_blob(self, id: str, data: bytes) -> None:
        self._transaction(lambda pipe: _write_blob(pipe, id, data))

    def _get_blob(self, id: str) -> bytes | None:
        pieces = self._call(lambda: self.client.lrange(_blob(id), 0, -1))
        return b"".join(pieces) if pieces else None

    def _delete_blob(self, id: str) -> bool:
        return bool(self._call(lambda: self.client.delete(_blob(id))))

    def _reset(self) -> None:
        """Every key of the store's namespace, found with SCAN and unlinked: other programs' keys, and the rest of
        the mock's shared state, stay."""

        def forget() -> None:
            keys = list(self.client.scan_iter(match=PREFIX + "*", count=1000))
            for start in range(0, len(keys), _DELETE_BATCH):
                self.client.unlink(*keys[start : start + _DELETE_BATCH])

        self._call(forget)

    def _kinds(self) -> list[str]:
        prefix = _docs("")
        found = self._call(lambda: list(self.client.scan_iter(match=prefix + "*", count=1000)))
        return sorted(key.decode("utf-8")[len(prefix) :] for key in found)

    def _encode(self, doc: Doc) -> bytes:
        return orjson.dumps(doc)

    def _decode(self, kept: Any) -> Doc:
        return orjson.loads(kept)  # type: ignore[no-any-return]

    def _apply(self, ops: list[tuple[Any, ...]]) -> None:
        """A transaction's writes in one MULTI/EXEC: all of them reach Redis together, or (refused) none."""

        def queue(pipe: Pipeline) -> None:
            for op in ops:
                if op[0] == "put":
                    self._put_script(keys=_doc_keys(op[1]), args=[op[2], op[3]], client=pipe)
                elif op[0] == "delete":
                    _delete_doc(pipe, op[1], op[2])
                elif op[0] == "put_blob":
                    _write_blob(pipe, op[1], op[2])
                else:
                    pipe.delete(_blob(op[1]))

        self._transaction(queue)

    def next_serial(self, family: str) -> int:
        """The next number of the id family ``family``, in one script: two processes never get the same one."""
        return int(self._call(lambda: self._serial_script(keys=_doc_keys(SERIAL), args=[family])))

    def shelve(self, key: str, value: bytes, seconds: int) -> None:
        """Keep ``value`` for ``seconds`` under ``key``, outside any transaction (what a media answer names)."""
        self._call(lambda: self.client.set(_shelf(key), value, ex=seconds))

    def fetch(self, key: str) -> bytes | None:
        return self._call(lambda: self.client.get(_shelf(key)))

    def close(self) -> None:
        """Close the client's connections (a later call would open new ones)."""
        self.client.close()

    # -- round trips ---------------------------------------------------------------------------------------------
    def _transaction(self, queue: Callable[[Pipeline], object]) -> list[Any]:
        """The commands ``queue`` adds to a pipeline, in one MULTI/EXEC; their replies."""

        def run() -> list[Any]:
            pipe = self.client.pipeline(transaction=True)
            queue(pipe)
            return pipe.execute()

        return self._call(run)

    def _call(self, do: Callable[[], T]) -> T:
        """``do()``; a Redis out of reach, or one that refuses, raises :class:`RedisUnavailable` (the 500 of the
        request being served)."""
        try:
            result = do()
        except _UNREACHABLE as exc:
            error = self._unavailable(exc)
            self.outages.down(error)
            raise error from exc
        except RedisError as exc:
            error = self._unavailable(exc)
            log.error("%s: the request that needed it got a 500", error)
            raise error from exc
        self.outages.up()
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
