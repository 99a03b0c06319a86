"""``serve --scenario`` / ``AOAI_MOCK_SCENARIOS`` / ``--watch`` / ``--admin-key`` with real processes."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.test_cli import serve

CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
ASK = {"messages": [{"role": "user", "content": "What is the answer?"}]}

SCENARIO = """name: answers
rules:
  - name: the-answer
    match: {message: {contains: answer}}
    reply: {text: "%s"}
"""


def _answer(url: str) -> str:
    return httpx.post(url + CHAT, json=ASK, headers={"api-key": "k"}).json()["choices"][0]["message"]["content"]


def test_scenarios_given_at_start_are_loaded_and_the_first_is_active(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(SCENARIO % "42")
    with serve("--scenario", str(path), "--scenario", "weather-agent") as (url, _):
        listing = httpx.get(url + "/_mock/scenarios").json()
        assert listing["active"] == "answers"
        assert [s["name"] for s in listing["data"]] == ["answers", "weather-agent"]
        assert _answer(url) == "42"


def test_scenarios_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "answers.yaml").write_text(SCENARIO % "from a folder")
    with serve(env={"AOAI_MOCK_SCENARIOS": f"{tmp_path},tool-sequence"}) as (url, _):
        assert [s["name"] for s in httpx.get(url + "/_mock/scenarios").json()["data"]] == ["answers", "tool-sequence"]
        assert _answer(url) == "from a folder"


def test_a_broken_scenario_stops_the_start_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: broken\nrules:\n  - match: {operation: chat}\n    reply: {txet: hi}\n")
    done = subprocess.run(
        [sys.executable, "-m", "aoai_mock", "serve", "--port", "0", "--scenario", str(path)],
        capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 2
    assert f"{path}:4:" in done.stderr and "txet" in done.stderr


def test_watch_reloads_a_changed_file_and_keeps_the_old_one_when_broken(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(SCENARIO % "before")
    with serve("--scenario", str(path), "--watch") as (url, proc):
        output: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [output.put(line.decode()) for line in proc.stdout], daemon=True).start()
        assert _answer(url) == "before"
        path.write_text(SCENARIO % "after")
        assert _eventually(url, "after")
        assert _logged(output, "INFO:     scenarios reloaded: answers")  # a good reload says so
        path.write_text("name: answers\nrules: [{reply: {txet: x}}]\n")
        assert _logged(output, "ERROR:    scenarios not reloaded")
        assert _answer(url) == "after"


def test_with_json_logs_a_reload_is_told_in_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "answers.yaml"
    path.write_text(SCENARIO % "before")
    with serve("--scenario", str(path), "--watch", "--log-format", "json") as (url, proc):
        output: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [output.put(line.decode()) for line in proc.stdout], daemon=True).start()
        path.write_text(SCENARIO % "after")
        assert _eventually(url, "after")
        path.write_text("name: answers\nrules: [{reply: {txet: x}}]\n")
        told = _json_log(output, "scenarios not reloaded")
        assert told["level"] == "error" and told["event"] == "log" and "txet" in told["message"]


def _json_log(output: "queue.Queue[str]", text: str, within: float = 15.0) -> dict:
    """The line whose message holds ``text``, read as JSON."""
    import json

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            line = output.get(timeout=0.1)
        except queue.Empty:
            continue
        if text in line:
            parsed = json.loads(line)
            assert text in parsed["message"]
            return parsed
    raise AssertionError(f"no JSON line with {text!r}")


def _logged(output: "queue.Queue[str]", text: str, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if text in output.get(timeout=0.1):
                return True
        except queue.Empty:
            pass
    return False


def _eventually(url: str, expected: str, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if _answer(url) == expected:
            return True
        time.sleep(0.05)
    return False


def test_the_admin_key_guards_the_control_api_not_the_azure_routes() -> None:
    with serve("--admin-key", "adm1n", "--api-key", "azure-key") as (url, _):
        assert httpx.get(url + "/_mock/scenarios").status_code == 401
        assert httpx.get(url + "/_mock/scenarios", headers={"api-key": "azure-key"}).status_code == 401
        assert httpx.get(url + "/_mock/scenarios", headers={"x-aoai-mock-admin-key": "adm1n"}).status_code == 200
        assert httpx.post(url + "/_mock/reset", headers={"Authorization": "Bearer adm1n"}).status_code == 200
        assert httpx.get(url + "/_mock/health").status_code == 200
        assert httpx.post(url + CHAT, json=ASK, headers={"api-key": "azure-key"}).status_code == 200
