"""The ``aoai-mock`` command as users run it: a real process, real ports, real signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import free_port as _free_port
from tests.processes import running

CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
BODY = {"messages": [{"role": "user", "content": "Determinism, please."}], "n": 2}


def serve(*args: str, env: dict[str, str] | None = None) -> Any:
    return running("serve", *args, env=env)


def test_serve_answers_health_and_chat():
    with serve() as (url, _):
        assert httpx.get(url + "/_mock/health").json()["status"] == "ok"
        r = httpx.post(url + CHAT, json=BODY, headers={"api-key": "k"})
        assert r.status_code == 200 and r.json()["object"] == "chat.completion"


def test_seed_gives_byte_identical_bodies_across_two_server_runs():
    bodies = []
    for _ in range(2):
        with serve("--seed", "42") as (url, _):
            hdr = {"api-key": "k", "x-aoai-mock-responder": "generated"}
            bodies.append([httpx.post(url + CHAT, json=BODY, headers=hdr).content for _ in range(2)])
    assert bodies[0] == bodies[1]
    assert b'"created":1735689600' in bodies[0][0]


def test_keys_from_env_are_enforced_and_never_logged():
    with serve("--log-level", "debug", env={"AOAI_MOCK_API_KEYS": "sekrit-one,sekrit-two"}) as (url, proc):
        assert httpx.post(url + CHAT, json=BODY, headers={"api-key": "sekrit-two"}).status_code == 200
        assert httpx.post(url + CHAT, json=BODY, headers={"Authorization": "Bearer sekrit-one"}).status_code == 200
        assert httpx.post(url + CHAT, json=BODY, headers={"api-key": "wrong-sekrit"}).status_code == 401
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=10)[0].decode()
    assert "sekrit" not in output


def test_sigterm_stops_the_server_quickly():
    with serve() as (_, proc):
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=3)[0].decode()
        assert time.monotonic() - started < 2
    # uvicorn shuts down gracefully, then re-raises the signal it caught, as a process should.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "Finished server process" in output


def test_invalid_config_refuses_to_start_and_says_why(tmp_path: Path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("deployments:\n  - {name: x, model: m, kind: robot}\n")
    done = subprocess.run([sys.executable, "-m", "aoai_mock", "serve", "--config", str(cfg)],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert str(cfg) in done.stderr and "deployments.0.kind" in done.stderr


@pytest.mark.parametrize("args", [["--help"], ["serve", "--help"]])
def test_help(args):
    done = subprocess.run([sys.executable, "-m", "aoai_mock", *args], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and "--api-key" in done.stdout or "serve" in done.stdout


def test_json_log_lines_one_per_request_without_keys():
    import json as _json

    with serve("--log-format", "json", "--api-key", "sekrit-key") as (url, proc):
        assert httpx.post(url + CHAT, json=BODY, headers={"api-key": "sekrit-key"}).status_code == 200
        assert httpx.post(url + CHAT, json=BODY, headers={"api-key": "wrong-sekrit"}).status_code == 401
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=10)[0].decode()
    lines = [_json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request" and line["path"].startswith("/openai/")]
    assert [r["status"] for r in requests] == [200, 401]
    assert requests[0]["deployment"] == "gpt-4o" and requests[0]["prompt_tokens"] > 0
    assert "sekrit" not in output


def test_workers_serve_from_several_processes():
    with serve("--workers", "2") as (url, proc):
        for _ in range(6):
            assert httpx.post(url + CHAT, json=BODY, headers={"api-key": "k"}).status_code == 200
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)
        assert time.monotonic() - started < 5


def test_an_open_control_api_beyond_loopback_is_refused_unless_asked_for():
    cmd = [sys.executable, "-m", "aoai_mock", "serve", "--host", "0.0.0.0", "--port", str(_free_port())]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env={**os.environ, "AOAI_MOCK_ADMIN_KEY": ""})
    assert done.returncode == 2
    assert "not starting" in done.stderr and "--admin-key" in done.stderr and "--insecure-control-api" in done.stderr
    port = _free_port()
    open_cmd = [sys.executable, "-m", "aoai_mock", "serve", "--host", "0.0.0.0", "--port", str(port),
                "--insecure-control-api"]
    proc = subprocess.Popen(open_cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_mock/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=10)[0].decode()
    assert "control API is open to anyone" in output
    with serve("--host", "0.0.0.0", "--admin-key", "adm") as (url, _):  # a key: no refusal
        assert httpx.get(url + "/_mock/requests").status_code == 401


def test_bare_aoai_mock_prints_its_help_not_an_error(capsys):
    from aoai_mock.cli import main

    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: aoai-mock") and "serve" in out and "validate" in out and "--version" in out


def test_version_prints_the_installed_version(capsys):
    from importlib.metadata import version

    from aoai_mock.cli import main

    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out == f"aoai-mock {version('aoai-mock')}\n"


@pytest.mark.parametrize("command", ["serve", "record"])
def test_log_level_says_what_it_does(capsys, command):
    from aoai_mock.cli import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "how much the server logs" in capsys.readouterr().out
