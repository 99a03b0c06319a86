"""One frozen settings object. Precedence: CLI flags, then ``AOAI_MOCK_*`` environment, then the config file.

Nothing happens at import time; :func:`resolve` does the reading.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aoai_mock.config import Config, ConfigError, load_config

__all__ = ["Settings", "resolve", "ConfigError"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
FROZEN_CREATED = 1_735_689_600  # 2025-01-01T00:00:00Z: `created` when --seed freezes time
# The audiences an Azure OpenAI (Cognitive Services) and a Foundry resource accept (docs/entra-id.md)
ENTRA_AUDIENCES = ("https://cognitiveservices.azure.com", "https://ai.azure.com")


@dataclass(frozen=True, slots=True)
class EntraSettings:
    """How a Bearer token that is a JWT is judged (behaviour/entra.py, docs/entra-id.md)."""

    audiences: tuple[str, ...] = ENTRA_AUDIENCES
    # Either set: the principal must be granted, by an ``oid`` listed or a ``roles`` claim listed (RBAC's stand-in)
    roles: tuple[str, ...] = ()
    object_ids: tuple[str, ...] = ()
    signing_key: str | None = None  # set: signatures are verified (an HS256 secret, or a PEM public key)

    def __repr__(self) -> str:  # the key never reaches a log
        return (
            f"EntraSettings(audiences={self.audiences!r}, roles={self.roles!r}, object_ids={self.object_ids!r}, "
            f"signing_key={'set' if self.signing_key else None})"
        )


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    api_keys: tuple[str, ...] = ()  # empty: any non-empty key or token is accepted
    seed: int | None = None  # set: ids, request ids and `created` are frozen too
    config_path: Path | None = None
    config: Config = field(default_factory=Config)
    scenarios: tuple[str, ...] = ()  # files, folders or names of shipped scenarios, loaded at start
    admin_key: str | None = None  # set: the /_mock/ control API asks for it (never the Azure key)
    watch: bool = False  # reload scenario files when they change
    journal_size: int = 1000  # requests the journal keeps (oldest dropped first)
    # Files, batches, fine-tuning (docs/files-batches-fine-tuning.md):
    state_path: Path | None = None  # set: objects live in this SQLite file and survive a restart
    # --state redis://HOST:PORT/DB (or rediss://): enforced quotas shared by every process on that Redis
    # (docs/shared-state.md says what else is and is not shared yet); then there is no state_path.
    shared_state_url: str | None = None
    batch_seconds: float = 6.0  # a batch's life from validating to completed (thirds per phase); 0: at once
    fine_tuning_seconds: float = 8.0  # a fine-tuning job's life from pending to succeeded; 0: at once
    run_seconds: float = 2.0  # a polled assistant run's life, queued to its outcome (half queued); 0: at once
    max_file_bytes: int = 512 * 1024 * 1024  # Azure: 512 MB per uploaded file
    max_batch_file_bytes: int = 200 * 1024 * 1024  # Azure: 200 MB per batch input file
    # Record and replay (docs/record-replay.md):
    replay_dir: Path | None = None  # set: /openai/ requests are answered from the recordings in this folder
    replay_miss: str = "error"  # a request not recorded: "error" (a 400) or "responder:NAME" (served as usual)
    replay_speed: float = 1.0  # recorded stream timing divided by this; 0: no waits
    log_format: str = "text"  # "json": one structured line per request on the aoai_mock.requests logger
    request_lines: bool = False  # text: one line per request on that logger (aoai-mock serve turns it on)
    workers: int = 1  # processes serving; journal, counters, faults and quotas are per process unless shared_state_url
    # Connections (http/protocol.py):
    read_timeout: float = 30.0  # a request whose headers or body stall this long is closed
    max_connections: int | None = None  # connections served at once; None: what the file limit allows
    insecure_control_api: bool = False  # serve an open control API on a non-loopback address anyway
    otel: bool = False  # OpenTelemetry: a span and GenAI metrics per request over OTLP (docs/opentelemetry.md)
    # Entra ID (docs/entra-id.md): api-keys refused with Azure's 403, as a resource with local auth disabled does
    disable_local_auth: bool = False
    entra: EntraSettings = field(default_factory=EntraSettings)
    # HTTPS (docs/https.md, tls.py): a certificate made at start by the mock's CA, or the user's own pair
    tls: bool = False
    tls_cert: Path | None = None  # set (with tls_key): served instead of a generated one; tls is then on
    tls_key: Path | None = None
    tls_dir: Path | None = None  # where the CA and the generated certificate live; None: tls.default_dir()

    @property
    def exposed_control_api(self) -> bool:
        """The control API would be open to other machines: bound beyond loopback without an admin key."""
        return self.admin_key is None and not _loopback(self.host)

    @property
    def frozen(self) -> bool:
        return self.seed is not None

    @property
    def region(self) -> str:
        return self.config.region

    def __repr__(self) -> str:  # keys never reach a log
        return (
            f"Settings(host={self.host!r}, port={self.port}, keys={len(self.api_keys)}, seed={self.seed}, "
            f"scenarios={self.scenarios!r}, admin_key={'set' if self.admin_key else None})"
        )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: assume it is reachable


def _split_keys(value: str) -> tuple[str, ...]:
    return tuple(k.strip() for k in value.split(",") if k.strip())


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if env.get("AOAI_MOCK_HOST"):
        found["host"] = env["AOAI_MOCK_HOST"]
    if env.get("AOAI_MOCK_PORT"):
        found["port"] = _int("AOAI_MOCK_PORT", env["AOAI_MOCK_PORT"])
    if env.get("AOAI_MOCK_API_KEYS"):
        found["api_keys"] = _split_keys(env["AOAI_MOCK_API_KEYS"])
    if env.get("AOAI_MOCK_SEED"):
        found["seed"] = _int("AOAI_MOCK_SEED", env["AOAI_MOCK_SEED"])
    if env.get("AOAI_MOCK_CONFIG"):
        found["config_path"] = Path(env["AOAI_MOCK_CONFIG"])
    if env.get("AOAI_MOCK_SCENARIOS"):
        found["scenarios"] = _split_keys(env["AOAI_MOCK_SCENARIOS"])
    if env.get("AOAI_MOCK_ADMIN_KEY"):
        found["admin_key"] = env["AOAI_MOCK_ADMIN_KEY"]
    if env.get("AOAI_MOCK_WATCH"):
        found["watch"] = env["AOAI_MOCK_WATCH"].strip().lower() in ("1", "true", "yes", "on")
    if env.get("AOAI_MOCK_JOURNAL_SIZE"):
        found["journal_size"] = _int("AOAI_MOCK_JOURNAL_SIZE", env["AOAI_MOCK_JOURNAL_SIZE"])
    found.update(_lifecycle_from_env(env))
    if env.get("AOAI_MOCK_LOG_FORMAT"):
        found["log_format"] = env["AOAI_MOCK_LOG_FORMAT"].strip().lower()
    if env.get("AOAI_MOCK_REQUEST_LOG"):
        found["request_lines"] = env["AOAI_MOCK_REQUEST_LOG"].strip().lower() in ("1", "true", "yes", "on")
    if env.get("AOAI_MOCK_WORKERS"):
        found["workers"] = _int("AOAI_MOCK_WORKERS", env["AOAI_MOCK_WORKERS"])
    found.update(_replay_from_env(env))
    found.update(_entra_from_env(env))
    found.update(_tls_from_env(env))
    if env.get("AOAI_MOCK_READ_TIMEOUT"):
        found["read_timeout"] = _float("AOAI_MOCK_READ_TIMEOUT", env["AOAI_MOCK_READ_TIMEOUT"])
    if env.get("AOAI_MOCK_INSECURE_CONTROL_API"):
        found["insecure_control_api"] = env["AOAI_MOCK_INSECURE_CONTROL_API"].strip().lower() in ("1", "true", "yes", "on")
    if env.get("AOAI_MOCK_MAX_CONNECTIONS"):
        found["max_connections"] = _int("AOAI_MOCK_MAX_CONNECTIONS", env["AOAI_MOCK_MAX_CONNECTIONS"])
    if env.get("AOAI_MOCK_OTEL"):
        found["otel"] = env["AOAI_MOCK_OTEL"].strip().lower() in ("1", "true", "yes", "on")
    return found


def _replay_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Record and replay: the folder, the miss policy, the speed."""
    found: dict[str, Any] = {}
    if env.get("AOAI_MOCK_REPLAY"):
        found["replay_dir"] = Path(env["AOAI_MOCK_REPLAY"])
    if env.get("AOAI_MOCK_REPLAY_MISS"):
        found["replay_miss"] = env["AOAI_MOCK_REPLAY_MISS"].strip()
    if env.get("AOAI_MOCK_REPLAY_SPEED"):
        found["replay_speed"] = _float("AOAI_MOCK_REPLAY_SPEED", env["AOAI_MOCK_REPLAY_SPEED"])
    return found


def _tls_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """HTTPS: on or off, the user's certificate and key, the folder of the generated ones."""
    found: dict[str, Any] = {}
    if env.get("AOAI_MOCK_TLS"):
        found["tls"] = env["AOAI_MOCK_TLS"].strip().lower() in ("1", "true", "yes", "on")
    for key in ("tls_cert", "tls_key", "tls_dir"):
        name = "AOAI_MOCK_" + key.upper()
        if env.get(name):
            found[key] = Path(env[name])
    return found


def _check_tls(values: dict[str, Any]) -> None:
    """A certificate and its key come together, and either turns HTTPS on. Whether the files can be used is
    for the serve command to find out (:func:`aoai_mock.tls.own`), as the server will load them."""
    cert, key = values.get("tls_cert"), values.get("tls_key")
    if (cert is None) != (key is None):
        raise ConfigError("--tls-cert and --tls-key go together (AOAI_MOCK_TLS_CERT and AOAI_MOCK_TLS_KEY): "
                          "the certificate and its private key")
    if cert is not None:
        values["tls"] = True
    for field_name in ("tls_cert", "tls_key", "tls_dir"):
        if values.get(field_name) is not None:
            values[field_name] = Path(values[field_name])


_ENTRA_LISTS = ("entra_audiences", "entra_roles", "entra_object_ids")


def _entra_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """Entra ID: local auth off, the audiences, roles and object ids (comma-separated), the signing key."""
    found: dict[str, Any] = {}
    if env.get("AOAI_MOCK_DISABLE_LOCAL_AUTH"):
        found["disable_local_auth"] = env["AOAI_MOCK_DISABLE_LOCAL_AUTH"].strip().lower() in ("1", "true", "yes", "on")
    for key in _ENTRA_LISTS:
        name = "AOAI_MOCK_" + key.upper()
        if env.get(name):
            found[key] = _split_keys(env[name])
    if env.get("AOAI_MOCK_ENTRA_SIGNING_KEY"):
        found["entra_signing_key"] = env["AOAI_MOCK_ENTRA_SIGNING_KEY"]
    return found


def _entra(values: dict[str, Any], config: Config) -> None:
    """``values``' entra_* entries (flags, environment) over the configuration file's ``entra:``, as one
    :class:`EntraSettings`; a signing key that names a file is that file's text (a PEM public key)."""
    if values.get("disable_local_auth") is None and config.disable_local_auth is not None:
        values["disable_local_auth"] = config.disable_local_auth
    given = config.entra
    audiences = values.pop("entra_audiences", None) or (given.audiences if given else None) or ENTRA_AUDIENCES
    roles = values.pop("entra_roles", None) or (given.required_roles if given else ())
    object_ids = values.pop("entra_object_ids", None) or (given.object_ids if given else ())
    key = values.pop("entra_signing_key", None) or (given.signing_key if given else None)
    if key and not key.lstrip().startswith("-----BEGIN") and _is_file(key):
        key = Path(key).read_text(encoding="utf-8")
    values["entra"] = EntraSettings(tuple(audiences), tuple(roles), tuple(object_ids), key or None)


def _is_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except (OSError, ValueError):  # a secret too long, or with a NUL, to be a path
        return False


def _check_replay(values: Mapping[str, Any]) -> None:
    if values.get("replay_speed", 0) < 0:
        raise ConfigError("the replay speed must not be negative (0: no waits)")
    miss = values.get("replay_miss", "error")
    kind, _, name = miss.partition(":")
    if miss != "error" and (kind != "responder" or not name):
        raise ConfigError(f"the replay miss policy must be 'error' or 'responder:NAME', not {miss!r}")


def _lifecycle_from_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The state file, lifecycle timing and upload limits (files, batches, fine-tuning)."""
    found: dict[str, Any] = {}
    if env.get("AOAI_MOCK_STATE"):  # a Redis URL stays a string (resolve() tells the two apart)
        state = env["AOAI_MOCK_STATE"]
        found["state_path"] = state if _redis_url(state) else Path(state)
    for key in ("batch_seconds", "fine_tuning_seconds", "run_seconds"):
        name = "AOAI_MOCK_" + key.upper()
        if env.get(name):
            found[key] = _float(name, env[name])
    for key in ("max_file_bytes", "max_batch_file_bytes"):
        name = "AOAI_MOCK_" + key.upper()
        if env.get(name):
            found[key] = _int(name, env[name])
    return found


_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
_OTEL_PACKAGES = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")


def _otel(values: Mapping[str, Any], env: Mapping[str, str]) -> bool:
    """Whether OpenTelemetry is on. ``OTEL_SDK_DISABLED=true`` turns it off whatever else says; ``--otel`` or
    ``AOAI_MOCK_OTEL`` say on or off; without either, an OTLP endpoint variable turns it on, where the
    ``otel`` extra is installed (a variable meant for other programs never stops the mock from starting)."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    asked = values.get("otel")
    if asked is None:
        return any(env.get(name) for name in _OTLP_ENDPOINTS) and _otel_installed()
    if asked and not _otel_installed():
        raise ConfigError("--otel needs the OpenTelemetry packages: pip install 'aoai-mock[otel]'")
    return bool(asked)


def _otel_installed() -> bool:
    """The SDK and the OTLP exporter can be imported (looked up, not imported: that costs start-up time)."""
    from importlib.util import find_spec

    try:
        return all(find_spec(name) is not None for name in _OTEL_PACKAGES)
    except (ImportError, ValueError):  # a parent that is not a package, or a module blocked in sys.modules
        return False


def _redis_url(state: object) -> bool:
    """``--state`` names a Redis (``redis://`` or ``rediss://``), not a SQLite file."""
    return isinstance(state, str) and state.lower().startswith(("redis://", "rediss://"))


def _check_redis_url(url: str) -> str:
    """A Redis URL the client can use: a host, a numeric port if any, a database number if any. The message
    leaves the URL out (it may hold a password)."""
    from urllib.parse import urlsplit

    problem = "--state (AOAI_MOCK_STATE): the Redis URL {}; expected redis://[:PASSWORD@]HOST[:PORT][/DB]"
    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        raise ConfigError(problem.format("has a port that is not a number")) from None
    if not parts.hostname:
        raise ConfigError(problem.format("names no host"))
    if parts.path.strip("/") and not parts.path.strip("/").isdigit():
        raise ConfigError(problem.format("names a database that is not a number"))
    return url


def _float(name: str, value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}") from None


def _check_lifecycle(values: Mapping[str, Any]) -> None:
    for key in ("batch_seconds", "fine_tuning_seconds", "run_seconds"):
        if values.get(key, 0) < 0:
            raise ConfigError(f"{key} must not be negative")
    for key in ("max_file_bytes", "max_batch_file_bytes"):
        if values.get(key, 1) < 1:
            raise ConfigError(f"{key} must be at least 1")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None


def resolve(cli: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Merge CLI values (``None`` means not given), the environment and the config file."""
    given = {k: v for k, v in (cli or {}).items() if v is not None and v != ()}
    merged = {**_from_env(os.environ if env is None else env), **given}
    config_path = merged.get("config_path")
    config = load_config(Path(config_path) if config_path else None)
    from_file = {
        "host": config.host,
        "port": config.port,
        "api_keys": config.api_keys,
        "seed": config.seed,
    }
    values = {k: v for k, v in from_file.items() if v is not None} | merged
    if "api_keys" in values:
        values["api_keys"] = tuple(values["api_keys"])
    if "scenarios" in values:
        values["scenarios"] = tuple(values["scenarios"])
    if values.get("log_format", "text") not in ("text", "json"):
        raise ConfigError(f"the log format is text or json, not {values['log_format']!r}")
    if values.get("workers", 1) < 1:
        raise ConfigError("at least one worker serves")
    if values.get("journal_size", 1) < 1:
        raise ConfigError("the journal size must be at least 1")
    if values.get("read_timeout", 1) <= 0:
        raise ConfigError("the read timeout must be more than 0 seconds")
    if (values.get("max_connections") or 1) < 1:
        raise ConfigError("at least one connection must be allowed")
    _check_lifecycle(values)
    _check_replay(values)
    _entra(values, config)
    _check_tls(values)
    if _redis_url(values.get("state_path")):
        values["shared_state_url"] = _check_redis_url(str(values.pop("state_path")))
    if values.get("state_path") is not None:
        values["state_path"] = Path(values["state_path"])
    if values.get("replay_dir") is not None:
        values["replay_dir"] = Path(values["replay_dir"])
    values["otel"] = _otel(values, os.environ if env is None else env)
    return Settings(config=config, **values)
