"""``--state`` / ``AOAI_MOCK_STATE`` with a Redis URL: shared state, not a SQLite file; a bad URL refused at start."""

from __future__ import annotations

from pathlib import Path

import pytest
from aoai_mock.settings import ConfigError, resolve
from aoai_mock.state.redis_state import RedisState, redacted


@pytest.mark.parametrize("url", ["redis://127.0.0.1:6379/0", "rediss://:secret@cache.example:6380/3", "REDIS://h"])
def test_a_redis_url_is_shared_state_and_no_state_file(url: str) -> None:
    from_flag = resolve({"port": 0, "state_path": url}, env={})
    for settings in (from_flag, resolve({"port": 0}, env={"AOAI_MOCK_STATE": url})):
        assert settings.shared_state_url == url
        assert settings.state_path is None


def test_a_path_is_still_a_state_file(tmp_path: Path) -> None:
    settings = resolve({"port": 0}, env={"AOAI_MOCK_STATE": str(tmp_path / "state.db")})
    assert settings.state_path == tmp_path / "state.db" and settings.shared_state_url is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [("redis://:secret@h:port/0", "port"), ("redis://:secret@h:6379/zero", "database"), ("redis://:secret@/0", "host")],
)
def test_an_unusable_url_stops_the_start_without_showing_the_password(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({"port": 0, "state_path": url}, env={})
    assert problem in str(caught.value) and "secret" not in str(caught.value)


def test_the_client_is_made_without_connecting() -> None:
    state = RedisState.from_url("redis://:secret@127.0.0.1:1/2")  # nothing listens there: no error yet
    assert state.url == "redis://:***@127.0.0.1:1/2"
    assert state.key("quota", "gpt-4o") == "aoai-mock:quota:gpt-4o"
    with pytest.raises(ValueError):
        RedisState.from_url("http://127.0.0.1:6379/0")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://user:pw@h:1/0", "redis://user:***@h:1/0"),
        ("rediss://:pw@[::1]:6380", "rediss://:***@[::1]:6380"),
    ],
)
def test_urls_in_logs_hide_the_password(url: str, shown: str) -> None:
    assert redacted(url) == shown
