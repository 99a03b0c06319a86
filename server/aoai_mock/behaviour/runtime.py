"""The behaviour layer's shared services for one server: settings, clock, ids, responders, the deployments served."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aoai_mock.behaviour import embeddings, entra, responders, shaping, tokens
from aoai_mock.behaviour.deployments import Change, DeploymentConflict, Deployments
from aoai_mock.behaviour.faults import FaultBook
from aoai_mock.behaviour.ids import Clock, IdFactory
from aoai_mock.behaviour.media_store import MediaStore
from aoai_mock.behaviour.memo import AnswerMemo
from aoai_mock.behaviour.provisioned import ProvisionedMeter
from aoai_mock.behaviour.ratelimit import RateLimiter
from aoai_mock.behaviour.responders.base import Context, Responder
from aoai_mock.behaviour.scenarios.engine import ScenarioBook
from aoai_mock.behaviour.scenarios.schema import Scenario
from aoai_mock.config import Deployment, ResponderSpec
from aoai_mock.errors import InvalidRequest
from aoai_mock.settings import FROZEN_CREATED, Settings
from aoai_mock.state.store import MemoryStore, Store

if TYPE_CHECKING:
    from aoai_mock.state.redis_state import RedisState

__all__ = ["Runtime", "SCENARIO_FAULTS"]

SCENARIO_FAULTS = "scenario:"  # fault-plan source of the active scenario: "scenario:<name>"


@dataclass
class Runtime:
    settings: Settings
    fixtures_dir: Path = Path("fixtures")
    clock: Clock = field(default_factory=Clock)
    ids: IdFactory = field(default_factory=IdFactory)
    book: ScenarioBook = field(default_factory=ScenarioBook)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    provisioned: ProvisionedMeter = field(default_factory=ProvisionedMeter)  # provisioned deployments' utilization
    faults: FaultBook = field(default_factory=FaultBook)
    store: Store = field(default_factory=MemoryStore)  # files, assistants, threads, batches, ...
    media: MediaStore = field(default_factory=MediaStore)  # generated images, the texts of spoken audio
    # Every wait the mock makes (pacing, delays, stalls) goes through here, so tests can replace it.
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    monotonic: Callable[[], float] = time.monotonic  # the clock ``sleep`` advances
    # Deployments that exist because of something done through the API, not the configuration: a fine-tuning
    # job that succeeded serves its ``fine_tuned_model`` name (behaviour/fine_tuning.py fills this, also from
    # a --state file at start). Consulted after the scenario's and the configured deployments.
    extra_deployments: dict[str, Deployment] = field(default_factory=dict)
    answers: AnswerMemo = field(default_factory=AnswerMemo)  # requests that come again (load tests)
    # --state redis://: the Redis this process shares state with (docs/shared-state.md); None: nothing shared
    shared: RedisState | None = None
    # The configured deployments as the control API has changed them (behaviour/deployments.py): built from
    # ``settings.config``, which nothing reads for deployments after this.
    deployments: Deployments = field(init=False)
    _responders: dict[tuple[str, str], Responder] = field(default_factory=dict)
    _contexts: dict[str, Context] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.deployments = Deployments(self.settings.config.deployments)

    @classmethod
    def create(cls, settings: Settings, fixtures_dir: Path | None = None) -> "Runtime":
        clock = Clock(frozen_at=FROZEN_CREATED if settings.frozen else None)
        return cls(
            settings=settings,
            fixtures_dir=fixtures_dir or Path("fixtures"),
            clock=clock,
            ids=IdFactory(settings.seed),
        )

    def sync_scenario_faults(self) -> None:
        """The fault plan of the active scenario is installed (and only that one's)."""
        for source in self.faults.sources():
            if source.startswith(SCENARIO_FAULTS):
                self.faults.clear(source)
        active = self.book.active
        if active is not None and self.book.get(active).faults:
            self.faults.install(self.book.get(active).faults, SCENARIO_FAULTS + active)

    def load_scenarios(self, scenarios: Iterable[Scenario]) -> None:
        """Load (or replace) scenarios in the book; the active one stays active and its fault plan follows."""
        active = self.book.active
        for scenario in scenarios:
            self.book.load(scenario)
        if active in self.book.names():
            self.book.activate(active)
        self.sync_scenario_faults()

    def reset(self) -> None:
        """Scenario counters, fault counters and log, and quotas all start again; caches are emptied; the
        configured deployments are served as configured again (those the control API added are gone)."""
        for change in self.deployments.restore():
            self._forget(change)
        self.book.reset()
        self.faults.reset()
        self.limiter.reset()
        self.provisioned.reset()
        embeddings.clear_caches()
        tokens.clear_caches()
        entra.clear_cache()
        self.answers.clear()
        shaping.clear_caches()

    async def reset_shared(self) -> None:
        """What :meth:`reset` leaves to Redis when state is shared: the quotas' buckets (every process's)."""
        await self.limiter.reset_shared()

    async def clear_stored(self) -> None:
        """Forget every stored object (files, batches, fine-tuning jobs and the deployments they made,
        assistants, threads, vector stores, stored responses) and the generated images and audio that ``url``
        answers point at: what ``POST /_mock/state/reset`` and the pytest plugin's ``clear_state`` do."""
        await self.store.reset()
        self.extra_deployments.clear()
        self.media.reset()

    def deployment(self, name: str, scenario: str | None = None) -> Deployment | None:
        """The deployment the active (or named) scenario declares, else the configured one, else an extra one."""
        found = self.book.deployment(name, scenario) if scenario or self.book.active else None
        return found or self.deployments.by_name.get(name) or self.extra_deployments.get(name)

    def add_deployment(self, body: Any) -> Deployment:
        """Serve one more deployment (``POST /_mock/deployments``): see :meth:`Deployments.add`."""
        name = body.get("name") if isinstance(body, dict) else None
        if isinstance(name, str) and name in self.extra_deployments:
            raise DeploymentConflict(f"aoai-mock: {name!r} is a fine-tuned model's deployment.")
        change = self.deployments.add(body)
        self._forget(change)
        return change.after  # type: ignore[return-value]  # (an addition has one)

    def change_deployment(self, name: str, patch: Any) -> Deployment:
        """Change a served deployment (``PATCH /_mock/deployments/{name}``): see :meth:`Deployments.change`."""
        change = self.deployments.change(name, patch)
        self._forget(change)
        return change.after  # type: ignore[return-value]  # (a change has one)

    def remove_deployment(self, name: str) -> None:
        """Stop serving a deployment (``DELETE /_mock/deployments/{name}``) until it is added or reset."""
        self._forget(self.deployments.remove(name))

    def put_deployment(self, name: str, deployment: Deployment | None) -> None:
        """Serve what another process serves under ``name`` (None: nothing); see :meth:`Deployments.put`."""
        self._forget(self.deployments.put(name, deployment))

    def _forget(self, change: Change) -> None:
        """Drop what was built for the deployment before the change: its responders and context, and its quota
        when the quota's settings changed (a changed quota starts afresh, full, at its new size)."""
        name, before, after = change.name, change.before, change.after
        for key in [key for key in list(self._responders) if key[0] == name]:  # (threads may add some meanwhile)
            self._responders.pop(key, None)
        self._contexts.pop(name, None)
        if before is None or after is None or _quota_of(before) != _quota_of(after):
            self.limiter.reset(name)

    def responder(self, deployment: Deployment, override: str | None = None) -> Responder:
        """The deployment's responder, or the one a request names (``x-aoai-mock-responder``)."""
        spec = deployment.responder
        name = override or spec.name
        key = (deployment.name, name)
        found = self._responders.get(key)
        if found is None:
            options = spec.options if name == spec.name else {}
            try:
                found = self._responders[key] = responders.create(name, options)
            except responders.UnknownResponder as exc:
                raise InvalidRequest(str(exc), param="x-aoai-mock-responder", code="unknown_responder") from None
        return found

    def responder_for(self, spec: ResponderSpec) -> Responder:
        """The responder a scenario's default names, built once per name and options."""
        key = ("", spec.name + repr(sorted(spec.options.items())))
        found = self._responders.get(key)
        if found is None:
            found = self._responders[key] = responders.create(spec.name, spec.options)
        return found

    def context(self, deployment: Deployment) -> Context:
        found = self._contexts.get(deployment.name)
        if found is None or found.model != deployment.model:
            found = self._contexts[deployment.name] = Context(deployment.name, deployment.model, self.fixtures_dir)
        return found

    def request_seed(self, deployment: Deployment, key: bytes) -> int:
        """The seed of one request: the same deployment, body and server seed give the same number."""
        hasher = self._seed_hasher.copy()
        hasher.update(deployment.name.encode() + b"\0" + key)
        return int.from_bytes(hasher.digest(), "big")

    @cached_property
    def _seed_hasher(self) -> "hashlib._Hash":
        return hashlib.blake2b(digest_size=8, key=str(self.settings.seed or 0).encode())


def _quota_of(deployment: Deployment) -> tuple[object, ...]:
    return deployment.tokens_per_minute, deployment.rate_limit
