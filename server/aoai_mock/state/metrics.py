"""Request metrics: counted on the hot path as plain numbers, exposed in Prometheus' format on scrape.

:meth:`Metrics.observe` is called once per request (from the front door, with the request's record) and only adds to a few numbers
in a dict keyed by (deployment, operation, status). ``GET /metrics`` (:mod:`aoai_mock.http.metrics`) turns them,
and the kinds of faults injected, into Prometheus metric families when it is scraped (prometheus_client does the
exposition format, loaded only then):

* ``aoai_mock_requests_total{deployment, operation, status}`` (status: the code sent, or the transport
  outcome when none was: ``hung``, ``closed``, ``reset``)
* ``aoai_mock_request_duration_seconds{deployment, operation}`` (a histogram)
* ``aoai_mock_tokens_total{deployment, operation, kind="prompt"|"completion"}``
* ``aoai_mock_faults_injected_total{kind}``

A request a provisioned deployment spilled over to a standard one counts twice, as Azure Monitor shows it: the
provisioned deployment's failure (its 429, say) and the standard deployment's answer (docs/provisioned.md).

The ``deployment`` label is a configured deployment's name, or ``unknown`` for any other name a request
carried (a client cannot grow the scrape by inventing names); ``operation`` and ``status`` come from fixed sets.

Processes that share a Redis (``--state redis://``) each keep counting their own, as above, and each sends its
counts to Redis once a second (:func:`publish`, a task of the server's lifespan: one pipelined call, never on a
request's path). ``GET /metrics`` on any of them then shows every live process's series, each with a
``process`` label (:attr:`Metrics.process`: ``HOST:PID``), read from Redis at scrape time (:func:`gather`).
A process that stopped sending (it ended, or lost Redis) drops out :data:`EXPIRES_S` seconds later. In Redis:
``metrics:process:NAME`` (one process's counts, as JSON, expiring) and ``metrics:processes`` (their names).
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
from bisect import bisect_left
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import orjson

from aoai_mock.errors import ServerError
from aoai_mock.state.record import Record

if TYPE_CHECKING:  # redis is imported only by a server that has it
    from aoai_mock.state.redis_state import RedisState

__all__ = [
    "Metrics", "Snapshot", "BUCKETS", "UNKNOWN", "durations_by_label", "requests_by_label", "tokens_by_label",
    "publish", "push", "gather", "PUSH_EVERY_S", "EXPIRES_S",
]

log = logging.getLogger("aoai_mock")

PUSH_EVERY_S = 1.0  # how often a process sends its counts to a shared Redis
EXPIRES_S = 10  # a process whose counts have not come for this long is gone from every /metrics

UNKNOWN = "unknown"  # the deployment label of every name that is not a configured deployment

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


_N, _SECONDS, _PROMPT, _COMPLETION, _BUCKET0 = range(5)  # the slots of one key's record

# records by (deployment, operation, status) as label strings, and faults injected by kind
Snapshot = tuple[dict[tuple[str, str, str], list[float]], dict[str, int]]

_created = itertools.count(1)


class Metrics:
    """Counters since the start of the server.

    Observed and read on the event loop's thread only (the front door observes, ``GET /metrics`` reads),
    so no lock: one dict lookup and a few additions per request.
    """

    def __init__(self, deployment: Callable[[str], Any] | None = None) -> None:
        """``deployment(name)`` is the configured deployment of that name or None (None: every name counts)."""
        self._deployment = deployment
        self._known: set[str] = set()  # names found to be deployments (as many as there are deployments)
        # (deployment, operation, status) -> [requests, seconds, prompt tokens, completion tokens, *buckets]
        self._records: dict[tuple[str | None, str | None, int | str], list[float]] = {}
        self._faults: dict[str, int] = {}
        # Its series' ``process`` label when processes share a Redis: HOST:PID (then -2, -3, ... for the second
        # and third servers of one process, as tests run them)
        nth = next(_created)
        self.process = f"{socket.gethostname()}:{os.getpid()}" + (f"-{nth}" if nth > 1 else "")

    def observe(self, record: Record) -> None:
        """Count one finished request from its record (its status, or its transport outcome when none was sent)."""
        status = record.status
        name = record.deployment
        if name is not None and name not in self._known and self._deployment is not None:
            if self._deployment(name) is None:
                name = UNKNOWN
            else:
                self._known.add(name)
        key = (name, record.operation, status if status is not None else record.outcome)
        found = self._records.get(key)
        if found is None:
            found = self._records[key] = [0.0] * (_BUCKET0 + len(BUCKETS) + 1)
        seconds = record.end - record.start  # type: ignore[operator]
        found[0] += 1  # _N
        found[1] += seconds  # _SECONDS
        found[_BUCKET0 + bisect_left(BUCKETS, seconds)] += 1
        if record.tokens_in is not None:
            found[2] += record.tokens_in  # _PROMPT
            if record.tokens_out is not None:
                found[3] += record.tokens_out  # _COMPLETION
        if record.fault is not None:
            self._faults[record.fault] = self._faults.get(record.fault, 0) + 1
        quota = record.quota
        if quota is not None and "spillover" in quota:
            self._spilled(record.operation, quota["spillover"])

    def _spilled(self, operation: str | None, spillover: dict[str, Any]) -> None:
        """A request that spilled over counts, as in Azure Monitor, also as the provisioned deployment's
        immediate failure (its status, no time taken) when the standard deployment answered it."""
        if spillover.get("error") is not None:  # the provisioned deployment's answer went out: counted already
            return
        key = (spillover["from"], operation, spillover["status"])
        found = self._records.get(key)
        if found is None:
            found = self._records[key] = [0.0] * (_BUCKET0 + len(BUCKETS) + 1)
        found[0] += 1  # _N
        found[_BUCKET0] += 1  # in the first bucket: 0 seconds

    def snapshot(self) -> Snapshot:
        """Copies, keyed by (deployment, operation, status) as label strings."""
        records = {(d or "", o or "", str(s)): list(r) for (d, o, s), r in self._records.items()}
        return records, dict(self._faults)


def requests_by_label(records: dict[tuple[str, str, str], list[float]]) -> list[tuple[tuple[str, str, str], float]]:
    """The requests answered, by (deployment, operation, status), from a :meth:`Metrics.snapshot`."""
    return [(key, record[_N]) for key, record in sorted(records.items())]


def tokens_by_label(records: dict[tuple[str, str, str], list[float]]) -> dict[tuple[str, str], tuple[float, float]]:
    """The (prompt, completion) tokens counted, by (deployment, operation), from a :meth:`Metrics.snapshot`."""
    found: dict[tuple[str, str], tuple[float, float]] = {}
    for (dep, op, _), record in records.items():
        if record[_PROMPT] or record[_COMPLETION]:
            prompt, completion = found.get((dep, op), (0.0, 0.0))
            found[(dep, op)] = (prompt + record[_PROMPT], completion + record[_COMPLETION])
    return found


def durations_by_label(
    records: dict[tuple[str, str, str], list[float]],
) -> list[tuple[tuple[str, str], list[tuple[str, float]], float]]:
    """The durations' histogram of each (deployment, operation), from a :meth:`Metrics.snapshot`: its
    cumulative buckets (upper bound as a label, count) and the sum of its seconds."""
    merged: dict[tuple[str, str], list[float]] = {}
    for (dep, op, _), record in records.items():
        into = merged.setdefault((dep, op), [0.0] * len(record))
        for i, value in enumerate(record):
            into[i] += value
    found = []
    for key, record in sorted(merged.items()):
        running, buckets = 0.0, []
        for bound, n in zip((*BUCKETS, float("inf")), record[_BUCKET0:]):
            running += n
            buckets.append(("+Inf" if bound == float("inf") else str(bound), running))
        found.append((key, buckets, record[_SECONDS]))
    return found


# -- every process's counts, through a shared Redis -----------------------------------------------------


def _process_key(state: RedisState, process: str) -> str:
    return state.key("metrics", "process", process)


async def push(metrics: Metrics, state: RedisState) -> None:
    """Send this process's counts to Redis (one pipelined call); they expire unless sent again."""
    records, faults = metrics.snapshot()
    payload = orjson.dumps({"records": [[*key, *record] for key, record in records.items()], "faults": faults})
    names = state.key("metrics", "processes")
    async with state.client.pipeline(transaction=False) as pipe:
        pipe.set(_process_key(state, metrics.process), payload, ex=EXPIRES_S)
        pipe.sadd(names, metrics.process)
        pipe.expire(names, EXPIRES_S)
        await state.call(pipe.execute())


async def publish(metrics: Metrics, state: RedisState, every: float = PUSH_EVERY_S) -> None:
    """:func:`push` every ``every`` seconds as long as the server runs (a task of its lifespan), and once more
    when it stops (the requests it served last are counted while its series live on). A Redis out of reach is
    logged once (by ``state``) and tried again a second later."""
    try:
        while True:
            await _push_quietly(metrics, state)
            await anyio.sleep(every)
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(every):
            await _push_quietly(metrics, state)


async def _push_quietly(metrics: Metrics, state: RedisState) -> None:
    try:
        await push(metrics, state)
    except ServerError:  # RedisUnavailable: logged when the outage began
        pass
    except Exception as exc:  # noqa: BLE001 - the server goes on; its counts are sent again a second later
        log.warning("metrics could not be sent to Redis at %s: %r", state.url, exc)


async def gather(metrics: Metrics, state: RedisState) -> dict[str, Snapshot]:
    """Every live process's counts by its ``process`` label, this one's as they are now. A Redis out of reach
    gives this process's alone."""
    own = {metrics.process: metrics.snapshot()}
    names = state.key("metrics", "processes")
    try:
        listed = sorted(name.decode() for name in await state.call(state.client.smembers(names)))
        others = [name for name in listed if name != metrics.process]
        if not others:
            return own
        found = await state.call(state.client.mget([_process_key(state, name) for name in others]))
        gone = [name for name, raw in zip(others, found) if raw is None]
        if gone:
            await state.call(state.client.srem(names, *gone))
    except ServerError:  # RedisUnavailable: logged when the outage began
        return own
    snapshots = {name: _loaded(raw) for name, raw in zip(others, found) if raw is not None}
    return dict(sorted({**snapshots, **own}.items()))


def _loaded(raw: bytes) -> Snapshot:
    data = orjson.loads(raw)
    records = {(str(row[0]), str(row[1]), str(row[2])): [float(v) for v in row[3:]] for row in data["records"]}
    return records, {str(kind): int(n) for kind, n in data["faults"].items()}
