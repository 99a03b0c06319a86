"""The connection to Redis that shared state goes through (``--state redis://HOST:PORT/DB``, or ``rediss://``).

Several mock processes (``--workers N``, replicas) that are given the same Redis share what is kept there
(docs/shared-state.md lists what that is today). This module only connects: the keys, the scripts and their
meaning belong to the behaviour that uses them.

* :meth:`RedisState.from_url` does no I/O: the client connects on its first command, inside the event loop
  that awaits it, so an application can be built before any loop runs and before Redis is up.
* Every key is namespaced (:meth:`RedisState.key`: ``aoai-mock:quota:gpt-4o``), so the mock can share a
  Redis with other programs and clear its own keys only.
* A Redis that cannot be reached, or that stops answering within the timeouts, is :class:`RedisUnavailable`
  (:func:`call`, :meth:`RedisState.call`): a server error in Azure's shape, whose text names Redis and its
  URL (never the password). The outage is logged once when it starts and once when Redis answers again;
  nothing is cached in between, so the first command after Redis returns works (the client reconnects).
* Timeouts are short (a second to connect, two to answer) and a failed command is retried once, on a new
  connection (a restarted Redis leaves the pool's connections dead): a request waits seconds at most, never
  forever. A URL's own ``socket_timeout`` / ``socket_connect_timeout`` parameters win.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aoai_mock.errors import ServerError

__all__ = ["RedisState", "RedisUnavailable", "call", "redacted", "NAMESPACE"]

log = logging.getLogger("aoai_mock")

NAMESPACE = "aoai-mock"
SCHEMES = ("redis", "rediss")
_CONNECT_TIMEOUT_S = 1.0
_COMMAND_TIMEOUT_S = 2.0
_NO_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
_UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, asyncio.TimeoutError)

T = TypeVar("T")


class RedisUnavailable(ServerError):
    """Redis could not be reached, or did not answer in time.

    ``str(exc)`` names Redis, its URL (password hidden) and the cause, for the log; the response is Azure's
    500 (:class:`~aoai_mock.errors.ServerError`'s body), which the HTTP layer renders for any error of this
    kind it meets. :meth:`for_request` gives the same 500 naming the request's id.
    """

    def __init__(self, url: str, cause: BaseException | str, request_id: str = _NO_REQUEST_ID) -> None:
        super().__init__(request_id)
        reason = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        self.url = redacted(url)
        self.reason = reason
        where = f"Redis at {self.url}" if url else "Redis"
        self.args = (f"{where} is unavailable ({reason})",)

    def for_request(self, request_id: str) -> RedisUnavailable:
        """This outage as the 500 of the request ``request_id``."""
        return RedisUnavailable(self.url, self.reason, request_id)


def redacted(url: str) -> str:
    """``url`` without its password (``redis://user:***@host:6379/0``), fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedisState:
    """One process's connection to the shared Redis: the client, key names, scripts, and outage handling."""

    def __init__(self, client: aioredis.Redis, url: str) -> None:
        self.client = client
        self.url = redacted(url)
        self._down = False

    @classmethod
    def from_url(cls, url: str) -> RedisState:
        """A client for ``url`` (``redis://`` or ``rediss://``); nothing is connected yet."""
        scheme = urlsplit(url).scheme
        if scheme not in SCHEMES:
            raise ValueError(f"not a Redis URL (redis:// or rediss://): {redacted(url)}")
        client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
            socket_timeout=_COMMAND_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, url)

    def key(self, *parts: str) -> str:
        """The mock's name for a key: ``aoai-mock:`` and ``parts`` joined by ``:``."""
        return ":".join((NAMESPACE, *parts))

    def script(self, source: str) -> AsyncScript:
        """A Lua script registered with the client: called by its SHA, loaded again when Redis forgot it."""
        return self.client.register_script(source)

    async def call(self, awaitable: Awaitable[T], request_id: str = "") -> T:
        """``await awaitable``; a Redis out of reach raises :class:`RedisUnavailable` (logged once an outage),
        the 500 of ``request_id`` when given."""
        try:
            result = await awaitable
        except _UNREACHABLE as exc:
            error = RedisUnavailable(self.url, exc, request_id or _NO_REQUEST_ID)
            self.down(error)
            raise error from exc
        self.up()
        return result

    def down(self, error: RedisUnavailable) -> None:
        """Note an outage: logged once, when it starts, whoever met it (a quota, a counter, or the stored objects,
        :mod:`aoai_mock.state.redis_store`, which refine the 500 they answer)."""
        if not self._down:
            self._down = True
            log.warning("%s: requests that need it get a 500 until it answers again", error)

    def up(self) -> None:
        """Note that Redis answered: logged once, when an outage ends."""
        if self._down:
            self._down = False
            log.warning("Redis at %s answers again", self.url)

    async def ping(self) -> bool:
        """True when Redis answers; :class:`RedisUnavailable` when it does not."""
        return bool(await self.call(self.client.ping()))

    async def close(self) -> None:
        """Close the client's connections (a later command would open new ones)."""
        await self.client.aclose()


async def call(awaitable: Awaitable[T], state: RedisState | None = None) -> T:
    """``await awaitable``, a Redis out of reach as :class:`RedisUnavailable`: :meth:`RedisState.call` when
    ``state`` is given (its URL named, the outage logged), else unnamed and not logged."""
    if state is not None:
        return await state.call(awaitable)
    try:
        return await awaitable
    except _UNREACHABLE as exc:
        raise RedisUnavailable("", exc) from exc
