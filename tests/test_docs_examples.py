"""The examples in README.md and docs/*.md run: self-contained Python blocks and curl commands against a
live server (its URL in place of http://127.0.0.1:8000), YAML blocks load as scenarios or configuration.

A Python block runs when it starts with an import; a fragment (one that continues an earlier block or
elides arguments) does not, and neither do pytest files, which tests/test_pytest_plugin.py runs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from aoai_mock.behaviour.scenarios import load_text
from aoai_mock.config import load_config
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DEFAULT_URL = "http://127.0.0.1:8000"
BATCH_LINE = (
    '{"custom_id": "task-0", "method": "POST", "url": "/chat/completions", '
    '"body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}}\n'
)


def _blocks(language: str) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for index, (lang, body) in enumerate(re.findall(r"```(\w+)\n(.*?)```", doc.read_text(), re.S)):
            if lang == language:
                found.append((f"{doc.relative_to(ROOT)}#{index}", textwrap.dedent(body)))
    return found


def _runnable_python() -> list[tuple[str, str]]:
    runnable = []
    for name, body in _blocks("python"):
        first = next((line for line in body.splitlines() if line.strip() and not line.startswith("#")), "")
        if first.startswith(("from ", "import ")) and "def test_" not in body:
            runnable.append((name, body))
    return runnable


def _curls() -> list[tuple[str, str]]:
    return [(n, b) for n, b in _blocks("console") if b.lstrip().startswith("curl ") and "@" not in b]


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with LiveServer(resolve({"port": 0, "scenarios": ("weather-agent", "flaky-service", "json-extraction")}, env={})) as live:
        live.app.state.runtime.book.activate(None)  # deployments answer with their responders (echo)
        yield live.url


@pytest.mark.parametrize(("name", "code"), _runnable_python(), ids=[n for n, _ in _runnable_python()])
def test_python_examples_run(name: str, code: str, url: str, tmp_path: Path) -> None:
    (tmp_path / "requests.jsonl").write_text(BATCH_LINE)
    done = subprocess.run([sys.executable, "-c", code.replace(DEFAULT_URL, url)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{name} failed:\n{done.stderr}"


@pytest.mark.parametrize(("name", "command"), _curls(), ids=[n for n, _ in _curls()])
def test_curl_examples_answer(name: str, command: str, url: str) -> None:
    args = shlex.split(command.replace("\\\n", " ").replace(DEFAULT_URL, url))
    done = subprocess.run([*args, "-s", "-o", "/dev/null", "-w", "%{http_code}"], capture_output=True, text=True,
                          timeout=30)
    assert done.stdout.startswith("2"), f"{name} answered {done.stdout}"


@pytest.mark.parametrize(("name", "text"), _blocks("yaml"), ids=[n for n, _ in _blocks("yaml")])
def test_yaml_examples_load(name: str, text: str, tmp_path: Path) -> None:
    data = yaml.safe_load(text)
    if isinstance(data, dict) and set(data) <= {"deployments", "host", "port", "api_keys", "seed", "region", "max_body_bytes"}:
        path = tmp_path / "config.yaml"
        path.write_text(text)
        load_config(path)
    elif isinstance(data, dict) and ({"rules", "faults", "default", "runs"} & set(data)):
        load_text(text, source=name)
    else:
        keys = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__  # YAML 1.1: `on:` is True
        pytest.skip(f"{name} is a fragment (keys {keys})")
