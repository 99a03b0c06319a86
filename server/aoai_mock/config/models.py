"""The configuration's models: server settings and the deployments the mock serves.

A deployment is what Azure calls one: a name in the URL, a model and version behind it, a kind that
decides which operations it answers, and the responder that writes its answers. Everything a server could
not serve as written is refused here, where the line of the file can still be named: an unknown responder or
option, a limit no request could meet, a name twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import Enum
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from aoai_mock.config.content_filter import ContentFilterSpec
from aoai_mock.config.problems import did_you_mean, located
from aoai_mock.config.provisioned import AZURE_SKUS, PROVISIONED_KINDS, ProvisionedSpec, Sku
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.operations import OPERATIONS

__all__ = [
    "Kind",
    "KIND_OPERATIONS",
    "RESPONDER_OPTIONS",
    "ResponderSpec",
    "RateLimitSpec",
    "PacingSpec",
    "Sku",
    "ProvisionedSpec",
    "Deployment",
    "Config",
    "EntraConfig",
    "NAMES_CHECKED",
]


class Kind(str, Enum):
    chat = "chat"
    completions = "completions"
    embeddings = "embeddings"
    image = "image"
    audio = "audio"  # transcriptions and translations (whisper)
    speech = "speech"  # text to speech (tts)
    realtime = "realtime"  # the Realtime API's WebSocket sessions (gpt-4o-realtime-preview, gpt-realtime)


# What a deployment of each kind answers unless it lists ``operations``: the registry's ``kinds``
# (chat models answer the Responses API too).
KIND_OPERATIONS: dict[Kind, frozenset[str]] = {
    kind: frozenset(op.name for op in OPERATIONS.values() if kind.value in op.kinds) for kind in Kind
}

# The responders a deployment may name, with the options each takes. ``behaviour/responders`` registers them
# (tests/test_config_checks.py keeps the two in step); the configuration cannot import it, being below it.
RESPONDER_OPTIONS: Mapping[str, frozenset[str]] = {
    "echo": frozenset({"prefix"}),
    "fixture": frozenset({"file"}),
    "generated": frozenset({"min_tokens", "max_tokens", "tokens", "locale", "tools"}),
}
EMBEDDINGS_RESPONDER = "embeddings"  # an embeddings deployment's own: vectors derived from the input
_DEFAULT_RESPONDER = {"embeddings": EMBEDDINGS_RESPONDER}
_LENGTHS = ("min_tokens", "max_tokens", "tokens")
_URL_UNSAFE = frozenset("/?#")

# Validation context of a Config whose deployment names the loader has checked on the file itself (it
# names every repeat on its line, even in a file with other problems).
NAMES_CHECKED = "deployment_names_checked"


class ResponderSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "echo"
    options: dict[str, Any] = Field(default_factory=dict)


class RateLimitSpec(BaseModel):
    """Azure's per-deployment quota, enforced or only reported (``behaviour/ratelimit.py`` has the model).

    Off by default: the benchmark and CI send thousands of requests a second. Either way successful
    responses carry the ``x-ratelimit-remaining-*`` headers; the switches pick which headers appear,
    since real deployments differ (old ones sent no ``retry-after``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enforce: bool = Field(False, description="Answer 429 when the quota runs out; off: only report a full quota.")
    requests_per_minute: int | None = Field(
        None, ge=1, description="Request quota; by default Azure's arithmetic, tokens_per_minute / 1000 * 6."
    )
    default_max_tokens_estimate: int = Field(
        1_000, ge=0, description="What a request without max_tokens is assumed to generate, for its cost."
    )
    token_window_seconds: float = Field(
        60.0, gt=0, le=60, description="How many seconds of the token quota one burst may spend (at most 60)."
    )
    request_window_seconds: float = Field(
        10.0, gt=0, le=60, description="How many seconds of the request quota one burst may spend (at most 60)."
    )
    retry_after: bool = Field(True, description="429s carry retry-after (whole seconds, rounded up).")
    retry_after_ms: bool = Field(True, description="429s carry retry-after-ms.")
    limit_headers: bool = Field(False, description="Responses carry x-ratelimit-limit-requests/-tokens.")
    reset_headers: bool = Field(False, description="Responses carry x-ratelimit-reset-requests/-tokens (seconds).")
    remaining_headers: bool = Field(True, description="Responses carry x-ratelimit-remaining-requests/-tokens.")
    policy_id: bool = Field(True, description="429s carry policy-id: DeploymentRatelimit-Token or -Call.")


class PacingSpec(BaseModel):
    """How fast a deployment answers (``behaviour/pacing.py``): all zero, the default, is no waiting at all."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    time_to_first_token_ms: float = Field(0.0, ge=0, description="Milliseconds before the first content token.")
    tokens_per_second: float = Field(0.0, ge=0, description="Generation speed after the first token; 0: no pacing.")
    jitter: float = Field(
        0.0, ge=0, le=1, description="Each delay varies by up to this fraction (0.2: +-20%), seeded per request."
    )

    @property
    def enabled(self) -> bool:
        """Whether any response from this deployment waits at all."""
        return self.time_to_first_token_ms > 0 or self.tokens_per_second > 0


def _provisioned_problems(deployment: "Deployment") -> Iterator[tuple[tuple[Any, ...], str]]:
    sku = deployment.sku
    if not sku.is_provisioned:
        given = {"ptu": deployment.ptu is not None, "spillover_to": deployment.spillover_to is not None,
                 "provisioned": deployment.provisioned != ProvisionedSpec()}
        for field in (name for name, set_ in given.items() if set_):
            yield (field,), f"{field} is for a provisioned deployment, and this one's sku is {sku.value}"
        return
    if deployment.ptu is None:
        yield ("ptu",), f"a {sku.value} deployment needs `ptu`: how many provisioned throughput units it has"
    if deployment.kind.value not in PROVISIONED_KINDS:
        yield ("sku",), f"{deployment.kind.value} deployments cannot be provisioned (chat and completions ones can)"
    if deployment.rate_limit.enforce:
        yield ("rate_limit", "enforce"), "a provisioned deployment is metered by its PTUs, not by a rate limit"
    if deployment.spillover_to == deployment.name:
        yield ("spillover_to",), "a deployment cannot spill over to itself: name a standard deployment"


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _option_problems(name: str, options: Mapping[str, Any]) -> Iterator[tuple[tuple[Any, ...], str]]:
    known = RESPONDER_OPTIONS[name]
    for key in options:
        if key not in known:
            hint = did_you_mean(key, known) or f" (it takes {', '.join(sorted(known)) or 'none'})"
            yield ("options", key), f"the {name} responder has no option {key!r}{hint}"
    if name == "fixture" and "file" not in options:
        yield ("options",), "the fixture responder needs a `file` option: the fixture it answers with"
    if name != "generated":
        return
    for key in _LENGTHS:
        if key in options and not _whole(options[key]):
            yield ("options", key), f"{key} must be a whole number of tokens, 0 or more, not {options[key]!r}"
    low, high = options.get("min_tokens"), options.get("max_tokens")  # one alone: the other follows it
    if "tokens" not in options and _whole(low) and _whole(high) and high < low:
        yield ("options", "max_tokens"), f"max_tokens ({high}) is below min_tokens ({low}): no length is both"
    if options.get("tools", "auto") not in ("auto", "never"):
        tools = options["tools"]
        yield ("options", "tools"), f"tools is auto or never, not {tools!r}{did_you_mean(tools, ('auto', 'never'))}"


def _responder_problems(spec: ResponderSpec, kind: Kind | None) -> Iterator[tuple[tuple[Any, ...], str]]:
    if spec.name == EMBEDDINGS_RESPONDER:
        if kind not in (None, Kind.embeddings):
            yield ("name",), f"the {EMBEDDINGS_RESPONDER} responder answers embeddings deployments, not {kind.value}"
        return
    if spec.name not in RESPONDER_OPTIONS:
        names = sorted(RESPONDER_OPTIONS)
        hint = did_you_mean(spec.name, [*names, EMBEDDINGS_RESPONDER])
        yield ("name",), f"unknown responder {spec.name!r}{hint} (known: {', '.join(names)})"
        return
    yield from _option_problems(spec.name, spec.options)


class Deployment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    model: str = Field(min_length=1)
    version: str = ""
    kind: Kind
    response_model: str = ""  # what the `model` field of a response says; derived when empty
    operations: frozenset[str] = frozenset()  # derived from kind when empty
    context_window: int = Field(128_000, ge=1)
    max_output_tokens: int = Field(4_096, ge=1)
    dimensions: int = Field(1_536, ge=1)
    custom_dimensions: bool = True  # text-embedding-3 accepts `dimensions`, ada-002 does not
    reasoning: bool = False  # o-series: max_completion_tokens only, reasoning tokens in usage
    min_api_version: str | None = None
    tokens_per_minute: int = Field(1_000_000, ge=1)
    system_fingerprint: str | None = None
    responder: ResponderSpec = ResponderSpec()
    rate_limit: RateLimitSpec = RateLimitSpec()
    pacing: PacingSpec = PacingSpec()
    content_filter: ContentFilterSpec = ContentFilterSpec()
    sku: Sku = Field(Sku.standard, description="standard, global_standard, data_zone_standard, provisioned, "
                     "global_provisioned or data_zone_provisioned (Azure's names are read too).")
    ptu: int | None = Field(None, ge=1, description="A provisioned deployment's provisioned throughput units.")
    spillover_to: str | None = Field(
        None, min_length=1, description="The standard deployment that answers when this provisioned one is full."
    )
    provisioned: ProvisionedSpec = ProvisionedSpec()

    @field_validator("sku", mode="before")
    @classmethod
    def _azure_sku(cls, value: Any) -> Any:
        return AZURE_SKUS.get(value, value) if isinstance(value, str) else value

    @model_validator(mode="before")
    @classmethod
    def _responder_shorthand(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("responder"), str):
            data = {**data, "responder": {"name": data["responder"]}}
        if isinstance(data, dict) and "responder" not in data:
            data = {**data, "responder": {"name": _DEFAULT_RESPONDER.get(str(data.get("kind")), "echo")}}
        return data

    @field_validator("name")
    @classmethod
    def _a_path_segment(cls, name: str) -> str:
        if not name or _URL_UNSAFE & set(name) or any(c.isspace() for c in name):
            raise ValueError(f"{name!r} cannot be a deployment name: it goes in the URL (no '/', '?', '#' or spaces)")
        return name

    @field_validator("operations")
    @classmethod
    def _known_operations(cls, operations: frozenset[str]) -> frozenset[str]:
        unknown = sorted(set(operations) - av.ALL_OPERATIONS)
        if unknown:
            hint = did_you_mean(unknown[0], av.ALL_OPERATIONS) or f" (known: {', '.join(sorted(av.ALL_OPERATIONS))})"
            raise ValueError(f"unknown operations {unknown}{hint}")
        return operations

    @field_validator("min_api_version")
    @classmethod
    def _known_version(cls, version: str | None) -> str | None:
        if version is not None and av.lookup(version) is None:
            hint = did_you_mean(version, av.API_VERSIONS)
            raise ValueError(f"min_api_version {version!r} is not a known api-version{hint}")
        return version

    @field_validator("max_output_tokens")
    @classmethod
    def _fits_the_window(cls, tokens: int, info: ValidationInfo) -> int:
        window = info.data.get("context_window")
        if window is not None and tokens > window:
            raise ValueError(f"max_output_tokens ({tokens}) is more than context_window ({window}): no answer fits")
        return tokens

    @field_validator("responder")
    @classmethod
    def _known_responder(cls, spec: ResponderSpec, info: ValidationInfo) -> ResponderSpec:
        problems = list(_responder_problems(spec, info.data.get("kind")))
        if problems:
            raise located(problems)
        return spec

    @model_validator(mode="after")
    def _provisioned_fits(self) -> "Deployment":
        problems = list(_provisioned_problems(self))
        if problems:
            raise located(problems)
        return self

    @model_validator(mode="after")
    def _derive(self) -> "Deployment":
        if not self.operations:
            object.__setattr__(self, "operations", KIND_OPERATIONS[self.kind])
        if not self.response_model:
            dated = self.kind is Kind.chat and self.version[:4].isdigit()
            object.__setattr__(self, "response_model", f"{self.model}-{self.version}" if dated else self.model)
        return self

    @property
    def requests_per_minute(self) -> int:
        """``rate_limit.requests_per_minute`` when set, else Azure's arithmetic: 6 a minute per 1000 tokens a minute."""
        if self.rate_limit.requests_per_minute is not None:
            return self.rate_limit.requests_per_minute
        return max(1, self.tokens_per_minute * 6 // 1000)

    @cached_property
    def rate_headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The rate-limit headers of a response from a deployment with its whole quota left."""
        return (
            (b"x-ratelimit-remaining-requests", str(self.requests_per_minute - 1).encode()),
            (b"x-ratelimit-remaining-tokens", str(self.tokens_per_minute).encode()),
        )


def repeated_names(names: list[Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Each deployment whose name an earlier one has, at its ``name``."""
    first: dict[Any, int] = {}
    places = []
    for index, name in enumerate(names):
        if name in first:
            message = f"deployment names must be unique; repeated: {name} (first in deployments.{first[name]})"
            places.append(((index, "name"), message))
        first.setdefault(name, index)
    return places


class EntraConfig(BaseModel):
    """``entra:``: how Bearer tokens that are JWTs are judged (docs/entra-id.md). Flags and environment win."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audiences: tuple[str, ...] | None = Field(None, min_length=1)  # None: Azure OpenAI's and Foundry's
    required_roles: tuple[str, ...] = ()  # a token's `roles` must hold one (or its oid be in object_ids)
    object_ids: tuple[str, ...] = ()  # principals granted access, by `oid` (RBAC role assignments' stand-in)
    signing_key: str | None = Field(None, min_length=1)  # set: verify signatures (HS256 secret or PEM public key)


def spillover_problems(deployments: tuple[Deployment, ...]) -> list[tuple[tuple[Any, ...], str]]:
    """Each ``spillover_to`` that names no standard deployment of the same model and data processing level
    [documented: Azure's spillover prerequisites], at its place."""
    by_name = {d.name: d for d in deployments}
    places = []
    for index, deployment in enumerate(deployments):
        name = deployment.spillover_to
        if name is None or name == deployment.name:
            continue
        target = by_name.get(name)
        wanted = Sku(f"{deployment.sku.level}_standard" if deployment.sku.level else "standard")
        if target is None:
            hint = did_you_mean(name, [d.name for d in deployments if not d.sku.is_provisioned])
            message = f"spillover_to names no deployment {name!r}{hint}"
        elif target.sku is not wanted:
            message = (f"spillover_to must name a {wanted.value} deployment (a {deployment.sku.value} one spills over "
                       f"at the same data processing level), and {name!r} is {target.sku.value}")
        elif target.model != deployment.model:
            message = f"spillover_to names {name!r}, a {target.model} deployment: it must serve {deployment.model} too"
        else:
            continue
        places.append(((index, "spillover_to"), message))
    return places


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str | None = Field(None, min_length=1)
    port: int | None = Field(None, ge=0, le=65535)
    api_keys: tuple[str, ...] | None = None
    seed: int | None = None
    region: str = "East US"
    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1)
    deployments: tuple[Deployment, ...] = ()
    disable_local_auth: bool | None = None  # true: api-keys get Azure's 403 (docs/entra-id.md)
    entra: EntraConfig | None = None

    @field_validator("api_keys")
    @classmethod
    def _no_empty_key(cls, keys: tuple[str, ...] | None) -> tuple[str, ...] | None:
        empty = [((i,), "an empty key can never be sent") for i, key in enumerate(keys or ()) if not key.strip()]
        if empty:
            raise located(empty)
        return keys

    @field_validator("deployments")
    @classmethod
    def _unique_names(cls, deployments: tuple[Deployment, ...], info: ValidationInfo) -> tuple[Deployment, ...]:
        places = [] if (info.context or {}).get(NAMES_CHECKED) else repeated_names([d.name for d in deployments])
        if places:
            raise located(places)
        return deployments

    @field_validator("deployments")
    @classmethod
    def _spillover_targets(cls, deployments: tuple[Deployment, ...]) -> tuple[Deployment, ...]:
        places = spillover_problems(deployments)
        if places:
            raise located(places)
        return deployments

    def deployment(self, name: str) -> Deployment | None:
        return self._by_name.get(name)

    @property
    def _by_name(self) -> dict[str, Deployment]:
        cached = self.__dict__.get("_index")
        if cached is None:
            cached = {d.name: d for d in self.deployments}
            self.__dict__["_index"] = cached
        return cached
