"""Fault schedules and scenario counters kept in Redis, for processes that share one (``--state redis://...``).

With shared state, whether a request gets a fault and which scenario rule answers it are decided by counters
that every process counts on, each decision one Lua script, atomic in Redis (one round trip, and only when a
fault plan or a scenario is involved):

* a fault entry's ``seen`` (the requests in its scope), ``fired`` and ``shadowed`` live in one hash per plan,
  named by the plan's source and identity (:func:`plan_identity`: the same plan is the same hash on every
  process); ``after``, ``next``, ``every`` and ``times`` are checked against them in the script. A seeded
  ``probability`` draws the n-th request's number from the seed and n in the script (the same seed gives the
  same sequence on every process and run, a different one from a single process's own generator); a
  ``window`` opens at the moment the plan was installed (or reset) by the first process that did, kept in the
  same hash (``started``, wall-clock seconds: :meth:`SharedCounters.anchor`), and each process judges it by its
  own clock from that moment (its clock agrees with the others' wall clocks, as for quotas);
* a scenario's ``calls`` and each rule's ``hits`` (which drive ``times``, ``replies`` sequences and the
  ``call`` / ``rule_call`` template values) live in one hash per scenario.

The inference seam's deciding code is synchronous (it runs in a worker thread when Redis is involved, see
:func:`needs_redis`); :func:`blocking` runs a coroutine on the event loop from there and waits for it. Code
that runs on the event loop (an assistants run's turn) awaits the shared decision itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.from_thread
import orjson

from aoai_mock.wire import headers as names

if TYPE_CHECKING:  # redis is imported only by a server that has it
    from aoai_mock.state.redis_state import RedisState

__all__ = [
    "SharedCounters", "FaultCandidate", "RuleCandidate", "blocking", "off_loop", "OnLoop", "plan_identity",
    "needs_redis", "naming",
]

T = TypeVar("T")

STARTED = "started"  # the field of a fault plan's hash that says when its windows open (wall-clock seconds)

_FAULTS = """
local out = {}
local fired = false
for i = 1, #ARGV, 9 do
  local key = KEYS[tonumber(ARGV[i])]
  local id = ARGV[i + 1]
  local after, nxt, every = tonumber(ARGV[i + 2]), tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4])
  local times, probability = tonumber(ARGV[i + 5]), tonumber(ARGV[i + 6])
  local seen = redis.call('HINCRBY', key, id .. ':seen', 1)
  local k = seen - after
  local due = ARGV[i + 8] == '1' and k >= 1 and (nxt < 0 or k <= nxt) and (every <= 0 or k % every == 0)
  if due and probability >= 0 then
    local draw = tonumber(string.sub(redis.sha1hex(ARGV[i + 7] .. ':' .. seen), 1, 13), 16) / 4503599627370496
    due = draw < probability
  end
  if due and times >= 0 then
    due = tonumber(redis.call('HGET', key, id .. ':fired') or '0') < times
  end
  local code = 0
  if due and fired then
    code = 2
    redis.call('HINCRBY', key, id .. ':shadowed', 1)
  elseif due then
    code = 1
    fired = true
    redis.call('HINCRBY', key, id .. ':fired', 1)
  end
  out[#out + 1] = code
end
return out
"""

_RULES = """
local key, mode = KEYS[1], ARGV[1]
local calls = 0
if mode == 'count' then
  calls = redis.call('HINCRBY', key, 'calls', 1)
end
for i = 2, #ARGV, 5 do
  local field = 'hits:' .. ARGV[i]
  local hits = tonumber(redis.call('HGET', key, field) or '0')
  local times, limit, flags = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 4]
  local fits = true
  if flags ~= '' then
    local at = math.min(hits, #flags - 1)
    if ARGV[i + 3] == '1' then
      at = hits % #flags
    end
    fits = string.sub(flags, at + 1, at + 1) == '1'
  end
  if fits and (times < 0 or hits < times) and (limit < 0 or hits < limit) then
    redis.call('HINCRBY', key, field, 1)
    if mode == 'if_taken' then
      calls = redis.call('HINCRBY', key, 'calls', 1)
    end
    return {calls, tonumber(ARGV[i]), hits}
  end
end
return {calls, -1, 0}
"""

# (plan hash key, entry id, after, next, every, times, probability, seed, the window is open); -1: not set
FaultCandidate = tuple[str, str, int, int, int, int, float, int, bool]
# (rule index, times, how many replies a fall_through rule has, 1: its replies cycle, which of its replies
# may answer: "1" or "0" for each, "" for all); -1: not set
RuleCandidate = tuple[int, int, int, int, str]


class OnLoop(RuntimeError):
    """A shared decision was asked for on the event loop's own thread, where nothing may wait for Redis."""


def off_loop() -> bool:
    """This thread runs no event loop: :func:`blocking` may wait here. On the loop's own thread a synchronous
    decision falls back to this process's own counters; code there awaits the shared one instead (an assistants
    run's turn: ``ScenarioBook.decide_shared``)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return True
    return False


def blocking(make: Callable[[], Awaitable[T]]) -> T:
    """The result of the coroutine ``make()`` run on the event loop, from a worker thread that waits for it."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.from_thread.run(_awaited, make)
    raise OnLoop("a decision kept in Redis cannot be waited for on the event loop")


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def naming(error: Exception, request_id: str) -> Exception:
    """A Redis outage's 500 (``RedisUnavailable``) naming the request it failed; any other error as it is."""
    renamed = getattr(error, "for_request", None)
    return renamed(request_id) if callable(renamed) else error


def plan_identity(dumped: Any, version: int | None = None) -> str:
    """A plan's name in Redis: its content's digest (the same file's plan is one plan on every process), and
    the version the control API gave it (installing again starts its counters again, as in one process)."""
    digest = hashlib.sha1(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]
    return digest if version is None else f"{digest}-{version}"


def needs_redis(call: Any) -> bool:
    """With shared state: whether answering this request (an inference seam's ``Call``) takes a counter kept in
    Redis: an installed fault plan that the request's own fault header does not override, or a scenario."""
    runtime, headers = call.runtime, call.headers
    if not runtime.faults.idle and names.FAULT_B not in headers:
        return True
    return call.responder is None and (call.scenario is not None or runtime.book.active is not None)


class SharedCounters:
    """The counters one process shares with the others through ``state``'s Redis."""

    def __init__(self, state: RedisState) -> None:
        from aoai_mock.state.redis_state import RedisUnavailable  # (loaded already: ``state`` is one)

        self.state = state
        self._unavailable = RedisUnavailable
        self._faults = state.script(_FAULTS)
        self._rules = state.script(_RULES)
        # What behaviour.shared_control keeps: this process's name (its own notices are not applied again), and
        # the versions of the control state it has applied.
        self.process = uuid.uuid4().hex
        self.faults_version: int | None = None  # 0: no control plan
        self.scenarios: dict[str, int] = {}  # name -> version applied (0: unloaded)
        self.deployments: dict[str, int] = {}  # name -> version applied (changed through /_mock/deployments)

    def control_key(self, *parts: str) -> str:
        return self.state.key("control", *parts)

    def fault_key(self, source: str, identity: str) -> str:
        return self.state.key("faults", source, identity)

    def scenario_key(self, name: str, identity: str) -> str:
        return self.state.key("scenario", name, identity)

    async def faults_due(self, candidates: Sequence[FaultCandidate], request_id: str | None = None) -> list[int]:
        """For each candidate in order: 0 not due, 1 fires (the first due one), 2 due but shadowed. A Redis out
        of reach is Azure's 500 (``RedisUnavailable``), naming ``request_id``."""
        keys: dict[str, int] = {}
        args: list[Any] = []
        for key, entry, after, nxt, every, times, probability, seed, open_ in candidates:
            index = keys.setdefault(key, len(keys) + 1)
            args += [index, entry, after, nxt, every, times, repr(probability), seed, 1 if open_ else 0]
        codes = await self._run(self._faults(keys=list(keys), args=args), request_id)
        return [int(code) for code in codes]

    async def take_rule(self, key: str, mode: str, candidates: Sequence[RuleCandidate]) -> tuple[int, int, int]:
        """The first available rule of ``candidates`` (the rules that match, in order) takes the request:
        (the scenario's calls, the rule's index or -1, its hits before this one). ``mode``: ``count`` counts
        a call, ``if_taken`` counts it only when a rule takes it, ``counted``: :meth:`next_call` did."""
        args: list[Any] = [mode]
        for candidate in candidates:
            args += candidate
        calls, index, hits = await self.state.call(self._rules(keys=[key], args=args))
        return int(calls), int(index), int(hits)

    async def next_call(self, key: str, request_id: str | None = None) -> int:
        """Count a call of the scenario or fault plan and say its number (for rules that match on ``call``)."""
        return int(await self._run(self.state.client.hincrby(key, "calls", 1), request_id))

    async def _run(self, command: Awaitable[T], request_id: str | None) -> T:
        """``command``'s answer; a Redis out of reach is its 500 naming ``request_id``."""
        try:
            return await self.state.call(command)
        except self._unavailable as exc:
            raise exc.for_request(request_id) if request_id else exc from exc.__cause__

    async def counts(self, keys: Sequence[str]) -> list[dict[str, int]]:
        """Every counter of each hash (for the control API's listings)."""
        if not keys:
            return []
        async with self.state.client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(key)
            found = await self.state.call(pipe.execute())
        return [{k.decode(): int(v) for k, v in hash_.items() if k != STARTED.encode()} for hash_ in found]

    async def anchor(self, starts: Mapping[str, float], request_id: str | None = None) -> dict[str, float]:
        """When the windows of each plan open, as Redis keeps it: ``starts`` (wall-clock seconds, by the plan's
        hash) written where no process wrote one before, one round trip."""
        async with self.state.client.pipeline(transaction=True) as pipe:
            for key, started in starts.items():
                pipe.hsetnx(key, STARTED, repr(started))
                pipe.hget(key, STARTED)
            found = await self._run(pipe.execute(), request_id)
        return {key: float(found[2 * i + 1]) for i, key in enumerate(starts)}

    async def forget(self, keys: Sequence[str], starts: Mapping[str, float] | None = None) -> None:
        """Counters that start again: their hashes deleted; the plans in ``starts`` (wall-clock seconds, by hash)
        open their windows then, in the same transaction."""
        if not keys and not starts:
            return
        async with self.state.client.pipeline(transaction=True) as pipe:
            if keys:
                pipe.delete(*keys)
            for key, started in (starts or {}).items():
                pipe.hset(key, STARTED, repr(started))
            await self.state.call(pipe.execute())
