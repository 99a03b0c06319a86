"""The configuration: server settings and the deployments the mock serves, read from YAML.

``models`` holds the models (``content_filter`` a deployment's filter), ``load`` reads a file into them and
makes their JSON Schema, and ``problems`` says what is wrong with a file, each problem on its line.
"""

from __future__ import annotations

from aoai_mock.config.content_filter import (
    DEFAULT_JAILBREAK_PHRASES,
    FILTER_CATEGORIES,
    HARM_CATEGORIES,
    BlocklistSpec,
    CitationSpec,
    ContentFilterSpec,
    FilterTrigger,
    ThresholdSpec,
)
from aoai_mock.config.load import (
    DEFAULT_CONFIG,
    default_config,
    json_schema,
    load_config,
    load_text,
    looks_like_config,
    sort_paths,
)
from aoai_mock.config.models import (
    KIND_OPERATIONS,
    RESPONDER_OPTIONS,
    Config,
    Deployment,
    Kind,
    PacingSpec,
    RateLimitSpec,
    ResponderSpec,
)
from aoai_mock.config.problems import ConfigError, Problem

__all__ = [  # by module: models, content_filter, problems, load
    "Kind", "KIND_OPERATIONS", "RESPONDER_OPTIONS", "ResponderSpec", "RateLimitSpec", "PacingSpec", "Deployment",
    "Config", "ThresholdSpec", "CitationSpec", "FilterTrigger", "BlocklistSpec", "ContentFilterSpec",
    "HARM_CATEGORIES", "FILTER_CATEGORIES", "DEFAULT_JAILBREAK_PHRASES", "ConfigError", "Problem", "DEFAULT_CONFIG",
    "load_config", "load_text", "default_config", "json_schema", "looks_like_config", "sort_paths",
]  # fmt: skip
