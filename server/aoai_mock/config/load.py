"""Configuration files: YAML -> :class:`Config`, or a :class:`ConfigError` naming every problem on its line.

The file is composed into nodes (the bounded YAML reader does so anyway), so a problem's line costs nothing
until there is one. The JSON Schema of the file, for editors, is made from the same models.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from aoai_mock.config.models import NAMES_CHECKED, RESPONDER_OPTIONS, Config, repeated_names
from aoai_mock.config.problems import (
    ConfigError,
    Problem,
    duplicate_keys,
    node_line,
    place,
    validation_problems,
)
from aoai_mock.wire import bounded_yaml
from aoai_mock.wire.api_versions import ALL_OPERATIONS

__all__ = ["DEFAULT_CONFIG", "load_config", "load_text", "default_config", "json_schema", "looks_like_config",
           "sort_paths"]

DEFAULT_CONFIG = "default_config.yaml"
SCHEMA_URL = "https://json-schema.org/draft/2020-12/schema"
_SUFFIXES = (".yaml", ".yml")


def _compose(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    found = bounded_yaml.compose_in_file(text, source, "a configuration")
    if isinstance(found, Problem):
        raise ConfigError(problems=[found]) from None
    return found


def _file_problems(root: yaml.Node, data: dict[str, Any], source: str) -> list[Problem]:
    """What the models cannot see: keys given twice; and every repeated deployment name, even in a file whose
    deployments have other problems too (the model checks names only once they are all valid)."""
    problems = list(duplicate_keys(root, source))
    entries = data.get("deployments")
    if isinstance(entries, list):
        names = [e.get("name") if isinstance(e, dict) and isinstance(e.get("name"), str) else None for e in entries]
        for loc, message in repeated_names(names):
            if names[loc[0]] is not None:
                problems.append(place(root, source, ("deployments", *loc), message))
    return problems


def load_text(text: str, source: str = "<string>", base: Config | None = None) -> Config:
    """A configuration from YAML text; without ``deployments`` it keeps ``base``'s."""
    root, data = _compose(text, source)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        line = node_line(root) if root is not None else None
        message = "the top level must be a mapping (deployments, port, ...)"
        raise ConfigError(problems=[Problem(source, line, "", message)])
    problems = _file_problems(root, data, source) if root is not None else []
    if base is not None and "deployments" not in data:
        data = {**data, "deployments": [d.model_dump() for d in base.deployments]}
    try:
        config = Config.model_validate(data, context={NAMES_CHECKED: True})
    except ValidationError as exc:
        problems += validation_problems(exc, root, source, Config)
    if problems:
        raise ConfigError(problems=sorted(dict.fromkeys(problems), key=lambda p: p.line or 0))
    return config


def default_config() -> Config:
    """The built-in configuration: every deployment the quickstarts use, and the current models."""
    text = (files("aoai_mock") / "data" / DEFAULT_CONFIG).read_text(encoding="utf-8")
    return load_text(text, f"built-in {DEFAULT_CONFIG}")


def load_config(path: Path | None) -> Config:
    if path is None:
        return default_config()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(problems=[Problem(str(path), None, "", f"cannot read: {reason}")]) from None
    return load_text(text, str(path), base=default_config())


def sort_paths(entries: Iterable[str]) -> tuple[list[Path], list[str]]:
    """``aoai-mock validate``'s arguments: the configuration files among them (a folder's YAML files
    included, each looked at), and the rest as given (scenario files, shipped scenario names, missing paths)."""
    configs: list[Path] = []
    others: list[str] = []
    for entry in entries:
        path = Path(entry)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix in _SUFFIXES and p.is_file())
        elif path.is_file():
            found = [path]
        else:
            others.append(entry)  # a shipped scenario's name, or a path the scenario loader reports missing
            continue
        for item in found:
            if _is_config_file(item):
                configs.append(item)
            else:
                others.append(str(item))
    return configs, others


def _is_config_file(path: Path) -> bool:
    try:
        return looks_like_config(bounded_yaml.load(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False  # the scenario loader says what is wrong with it


def looks_like_config(data: Any) -> bool:
    """Whether parsed YAML is a configuration file rather than a scenario: it sets a server field (``port``,
    ``region``, ...), or has ``deployments`` and nothing a configuration does not have."""
    if not isinstance(data, dict) or not data:
        return False
    fields = set(Config.model_fields)
    return bool(set(data) & (fields - {"deployments"})) or set(data) <= fields


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a configuration file, for editors (``aoai-mock schema config``)."""
    document = Config.model_json_schema()
    definitions = document.get("$defs", {})
    names = sorted([*RESPONDER_OPTIONS, "embeddings"])
    responder = definitions.get("ResponderSpec", {}).get("properties", {})
    if "name" in responder:
        responder["name"] = {**responder["name"], "enum": names}
    deployment = definitions.get("Deployment", {}).get("properties", {})
    if "operations" in deployment:
        deployment["operations"]["items"] = {"type": "string", "enum": sorted(ALL_OPERATIONS)}
    if "responder" in deployment:  # a responder's name alone is accepted too
        shorthand = {"type": "string", "enum": names}
        deployment["responder"] = {"anyOf": [shorthand, deployment["responder"]], "default": "echo"}
    document.pop("title", None)
    return {"$schema": SCHEMA_URL, "title": "aoai-mock configuration", **document}
