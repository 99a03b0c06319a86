"""``aoai-mock record`` and ``aoai-mock serve --replay`` as users run them: real processes and ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.test_cli import running, serve

SECRET = "upstream-secret"
CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "Recorded by a real process."}]}
STREAM = {**BODY, "stream": True}


def record(*args: str, env: dict[str, str]) -> Any:
    return running("record", *args, env=env)


def test_record_then_replay_with_real_processes(tmp_path: Path):
    out = tmp_path / "recorded"
    with serve("--api-key", SECRET, "--seed", "3") as (upstream, _):
        with record("--upstream", upstream, "--out", str(out), "--api-key-env", "MY_AZURE_KEY", "--log-level", "debug",
                    env={"MY_AZURE_KEY": SECRET}) as (proxy, proc):
            plain = httpx.post(proxy + CHAT, json=BODY, headers={"api-key": "anything"})
            streamed = httpx.post(proxy + CHAT, json=STREAM, headers={"Authorization": "Bearer whatever"})
            refused = httpx.get(proxy + "/elsewhere")
            proc.send_signal(signal.SIGTERM)
            output = proc.communicate(timeout=10)[0]
    assert plain.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n") and refused.status_code == 404
    assert SECRET.encode() not in output
    written = sorted(out.glob("*.json"))
    assert len(written) == 2
    assert all(SECRET.encode() not in path.read_bytes() for path in written)

    with serve("--replay", str(out), "--replay-speed", "0") as (replay, _):
        assert httpx.post(replay + CHAT, json=BODY, headers={"api-key": "k"}).content == plain.content
        assert httpx.post(replay + CHAT, json=STREAM, headers={"api-key": "k"}).content == streamed.content
        missed = httpx.post(replay + CHAT, json={"messages": [{"role": "user", "content": "new"}]}, headers={"api-key": "k"})
    assert missed.status_code == 400 and missed.json()["error"]["code"] == "replay_no_match"

    with serve("--replay", str(out), "--replay-miss", "responder:echo") as (replay, _):
        echoed = httpx.post(replay + CHAT, json={"messages": [{"role": "user", "content": "new"}]}, headers={"api-key": "k"})
    assert echoed.status_code == 200 and echoed.json()["choices"][0]["message"]["content"] == "new"


def test_record_refuses_to_start_without_the_key(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k != "AZURE_OPENAI_API_KEY"}
    done = subprocess.run([sys.executable, "-m", "aoai_mock", "record", "--upstream", "https://example.invalid"],
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 2 and "AZURE_OPENAI_API_KEY" in done.stderr


def test_serve_refuses_a_bad_replay_folder_or_policy(tmp_path: Path):
    missing = subprocess.run([sys.executable, "-m", "aoai_mock", "serve", "--replay", str(tmp_path / "nowhere")],
                             capture_output=True, text=True, timeout=30)
    assert missing.returncode == 2 and "no such folder of recordings" in missing.stderr
    policy = subprocess.run(
        [sys.executable, "-m", "aoai_mock", "serve", "--replay", str(tmp_path), "--replay-miss", "responder:nope"],
        capture_output=True, text=True, timeout=30,
    )
    assert policy.returncode == 2 and "unknown responder 'nope'" in policy.stderr
