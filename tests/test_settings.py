"""Settings: CLI flags over AOAI_MOCK_* environment over the config file; bad files are named precisely."""

from pathlib import Path

import pytest
from aoai_mock.config import ConfigError, default_config
from aoai_mock.settings import resolve

QUICKSTART_DEPLOYMENTS = [
    "gpt-35-turbo", "gpt-4o", "gpt-35-turbo-instruct", "text-embedding-3-large", "gpt-4-1106-preview",
    "dall-e-3", "whisper", "tts-hd",
]
CURRENT = ["gpt-4o-mini", "gpt-4.1", "text-embedding-3-small", "text-embedding-ada-002", "o3-mini"]


@pytest.mark.parametrize("name", QUICKSTART_DEPLOYMENTS + CURRENT)
def test_built_in_config_serves_every_quickstart_deployment(name):
    assert default_config().deployment(name) is not None


def test_defaults_without_anything():
    s = resolve({}, env={})
    assert (s.host, s.port, s.api_keys, s.seed) == ("127.0.0.1", 8000, (), None)


def test_precedence_cli_over_env_over_file(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("host: 0.0.0.0\nport: 9000\nseed: 1\napi_keys: [file-key]\n")
    env = {"AOAI_MOCK_CONFIG": str(cfg), "AOAI_MOCK_PORT": "9100", "AOAI_MOCK_API_KEYS": "a, b"}
    s = resolve({"port": 9200}, env=env)
    assert (s.host, s.port, s.api_keys, s.seed) == ("0.0.0.0", 9200, ("a", "b"), 1)
    assert resolve({}, env={"AOAI_MOCK_CONFIG": str(cfg)}).api_keys == ("file-key",)


def test_a_config_without_deployments_keeps_the_built_in_ones(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("region: West Europe\n")
    s = resolve({"config_path": cfg}, env={})
    assert s.region == "West Europe" and s.config.deployment("gpt-4o") is not None


def test_a_config_with_deployments_replaces_them(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("deployments:\n  - {name: mine, model: gpt-4o, version: '2024-11-20', kind: chat, responder: generated}\n")
    config = resolve({"config_path": cfg}, env={}).config
    assert [d.name for d in config.deployments] == ["mine"]
    assert config.deployment("mine").response_model == "gpt-4o-2024-11-20"
    assert config.deployment("mine").responder.name == "generated"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("deployments:\n  - {name: x, model: m, kind: robot}\n", "deployments.0.kind"),
        ("deployments:\n  - {name: x, kind: chat}\n", "deployments.0.model"),
        ("deployments:\n  - {name: x, model: m, kind: chat}\n  - {name: x, model: m, kind: chat}\n", "repeated: x"),
        ("port: [1\n", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("bogus: 1\n", "bogus"),
    ],
)
def test_bad_config_files_are_named_with_the_field(tmp_path: Path, text, fragment):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as info:
        resolve({"config_path": cfg}, env={})
    assert str(cfg) in str(info.value) and fragment in str(info.value)


def test_bad_env_number_is_refused():
    with pytest.raises(ConfigError, match="AOAI_MOCK_PORT"):
        resolve({}, env={"AOAI_MOCK_PORT": "eighty"})


def test_repr_never_shows_keys():
    assert "secret" not in repr(resolve({"api_keys": ("secret",)}, env={}))
