"""One frozen settings object. Precedence: CLI flags, then ``AOAI_MOCK_*`` environment, then the config file.

Nothing happens at import time; :func:`resolve` does the reading.
"""

from __future__ import annotations

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
    return found


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
    if values.get("journal_size", 1) < 1:
        raise ConfigError("the journal size must be at least 1")
    return Settings(config=config, **values)
