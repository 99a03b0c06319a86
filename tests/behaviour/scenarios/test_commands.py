"""``aoai-mock schema`` and ``aoai-mock validate`` as users run them: real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from aoai_mock.behaviour.scenarios import json_schema, shipped


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aoai_mock", *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_schema_prints_the_json_schema_or_writes_it(tmp_path: Path):
    done = run("schema")
    assert done.returncode == 0 and json.loads(done.stdout) == json_schema()
    target = tmp_path / "scenario.schema.json"
    assert run("schema", "-o", str(target)).returncode == 0
    assert json.loads(target.read_text()) == json_schema()


def test_validate_accepts_good_files_folders_and_shipped_names(tmp_path: Path):
    (tmp_path / "mine.yaml").write_text("rules:\n  - match: {message: hi}\n    reply: {text: hello}\n")
    done = run("validate", str(tmp_path), *shipped())
    assert done.returncode == 0, done.stderr
    assert f"ok: mine (1 rule) from {tmp_path / 'mine.yaml'}" in done.stdout
    assert done.stdout.count("ok: ") == 1 + len(shipped())


def test_validate_reports_every_problem_with_file_line_and_field_and_fails(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrules:\n  - match: {mesage: hi}\n    reply: {text: '{{ nope }}'}\n  - reply: {}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [\n")
    done = run("validate", str(bad), str(broken), "no-such-scenario")
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == f"{bad}:3: rules[0].match.mesage: unknown field 'mesage'; did you mean 'message'?"
    assert lines[1].startswith(f"{bad}:4: rules[0].reply.text: unknown template variable 'nope'")
    assert lines[2].startswith(f"{bad}:5: rules[1].reply: a reply needs exactly one of")
    assert lines[3].startswith(f"{broken}:2: not valid YAML")
    assert lines[4].startswith("no-such-scenario: no such file or folder, nor a shipped scenario")
    assert lines[-1] == "aoai-mock: 5 problems found"


def test_validate_compiles_responders_as_the_server_would(tmp_path: Path):
    (tmp_path / "r.yaml").write_text("default: {responder: fixture}\n")
    done = run("validate", str(tmp_path / "r.yaml"))
    assert done.returncode == 1 and "needs a 'file' option" in done.stderr


def test_help_lists_the_commands():
    done = run("--help")
    assert done.returncode == 0 and "schema" in done.stdout and "validate" in done.stdout
