"""The state file, lifecycle timing and upload limits: defaults, environment, flags over environment, bad values."""

from __future__ import annotations

from pathlib import Path

import pytest
from aoai_mock.cli import build_parser as _parser
from aoai_mock.config import ConfigError
from aoai_mock.settings import resolve


def test_defaults() -> None:
    s = resolve({}, env={})
    assert s.state_path is None and (s.batch_seconds, s.fine_tuning_seconds) == (6.0, 8.0)
    assert (s.max_file_bytes, s.max_batch_file_bytes) == (512 * 1024 * 1024, 200 * 1024 * 1024)


def test_environment_and_flags(tmp_path: Path) -> None:
    env = {
        "AOAI_MOCK_STATE": str(tmp_path / "env.db"), "AOAI_MOCK_BATCH_SECONDS": "0.5",
        "AOAI_MOCK_FINE_TUNING_SECONDS": "0", "AOAI_MOCK_MAX_FILE_BYTES": "1000", "AOAI_MOCK_MAX_BATCH_FILE_BYTES": "10",
    }  # fmt: skip
    s = resolve({}, env=env)
    assert (s.state_path, s.batch_seconds, s.fine_tuning_seconds) == (tmp_path / "env.db", 0.5, 0.0)
    assert (s.max_file_bytes, s.max_batch_file_bytes) == (1000, 10)
    s = resolve({"state_path": str(tmp_path / "flag.db"), "batch_seconds": 2.0}, env=env)
    assert s.state_path == tmp_path / "flag.db" and s.batch_seconds == 2.0


def test_cli_flags_reach_settings(tmp_path: Path) -> None:
    args = _parser().parse_args(
        ["serve", "--state", str(tmp_path / "s.db"), "--batch-seconds", "1.5", "--fine-tuning-seconds", "3",
         "--max-file-bytes", "2048"]
    )  # fmt: skip
    assert (args.state_path, args.batch_seconds, args.fine_tuning_seconds, args.max_file_bytes) == (
        str(tmp_path / "s.db"), 1.5, 3.0, 2048)  # fmt: skip


@pytest.mark.parametrize(
    "env",
    [
        {"AOAI_MOCK_BATCH_SECONDS": "soon"},
        {"AOAI_MOCK_FINE_TUNING_SECONDS": "-1"},
        {"AOAI_MOCK_MAX_FILE_BYTES": "0"},
        {"AOAI_MOCK_MAX_BATCH_FILE_BYTES": "lots"},
    ],
)
def test_bad_values_are_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve({}, env=env)
    name = next(iter(env)).removeprefix("AOAI_MOCK_").lower()
    assert name in str(caught.value).lower()
