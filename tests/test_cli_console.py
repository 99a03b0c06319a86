"""What ``aoai-mock`` says on its console, as users see it: real processes, their stderr, real ports.

The start-up banner, one line per request (with and without colour), a port already in use, ``--ready-file``
and ``aoai-mock wait``, the ``deployments`` and ``scenarios`` listings, and help text for every flag.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aoai_mock.config import load_config
from aoai_mock.console import local_url, request_line, wants_colour
from aoai_mock.state.record import SCENARIO_DEFAULT, Record

from tests.conftest import ROOT

CHAT = "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"
V1_CHAT = "/openai/v1/chat/completions"
BODY = {"messages": [{"role": "user", "content": "Hello there"}]}
ESC = "\x1b["
_QUIET = ("NO_COLOR", "FORCE_COLOR", "AOAI_MOCK_REQUEST_LOG", "AOAI_MOCK_LOG_FORMAT", "AOAI_MOCK_API_KEYS")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _QUIET}
    return {**env, **(extra or {})}


def _poll(what: str, found: Callable[[], bool], proc: subprocess.Popen | None = None, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not found():
        assert proc is None or proc.poll() is None, f"the server ended ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"no {what} after {seconds} s"
        time.sleep(0.02)


@dataclass
class Served:
    url: str
    proc: subprocess.Popen
    log: Path

    def stderr(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def lines(self, count: int, starting: str = "") -> list[str]:
        """The request lines (``starting`` after the level prefix), once ``count`` have been written."""

        def found() -> list[str]:
            return [line for line in self.stderr().splitlines() if _is_request_line(line, starting)]

        _poll(f"{count} request lines", lambda: len(found()) >= count, self.proc, seconds=10)
        return found()


def _is_request_line(line: str, starting: str) -> bool:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
    return plain.startswith("INFO:") and plain[10:].startswith(starting or ("GET ", "POST ", "DELETE "))


@contextmanager
def serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Served]:
    """``aoai-mock serve --port 0 --ready-file ...``, its stderr in a file, once the ready file names its URL."""
    ready, log = tmp_path / "ready.txt", tmp_path / "stderr.txt"
    ready.unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "aoai_mock", "serve", "--port", "0", "--ready-file", str(ready), *args]
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=_env(env))
    try:
        _poll("ready file", ready.exists, proc)
        yield Served(ready.read_text(encoding="utf-8").strip(), proc, log)
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def aoai_mock(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "aoai_mock", *args], capture_output=True, text=True, timeout=timeout, env=_env(env)
    )


# -- the banner -------------------------------------------------------------------------------------------------


def test_banner_states_the_facts_with_the_port_bound_and_never_a_key(tmp_path: Path):
    args = ["--scenario", "weather-agent", "--scenario", "flaky-service", "--seed", "7", "--admin-key", "adm-sekrit",
            "--api-key", "sekrit-one", "--api-key", "sekrit-two"]
    with serve(tmp_path, *args) as served:
        port = int(served.url.rsplit(":", 1)[1])
        assert port != 0 and served.url == f"http://127.0.0.1:{port}"
        assert httpx.get(served.url + "/_mock/health").status_code == 200
        text = served.stderr()
    count = len(load_config(None).deployments)
    banner = text[text.index("aoai-mock "):]
    assert banner.startswith(f"aoai-mock {_version()} serving {served.url}\n")
    assert f"  deployments  {count}: gpt-35-turbo, " in banner and " more (aoai-mock deployments)\n" in banner
    assert "  scenarios    weather-agent (active), flaky-service\n" in banner
    assert "  seed         7: ids and timestamps are frozen too\n" in banner
    assert "  api keys     2 configured keys" in banner
    assert "  admin key    on" in banner
    assert f"  control API  {served.url}/_mock/\n" in banner
    assert f"  web view     {served.url}/_mock/ui\n" in banner
    assert "sekrit" not in text
    assert text.index("Application startup complete") < text.index("aoai-mock ")  # said once it serves
    assert "Uvicorn running on" not in text  # the banner says where


def test_banner_without_scenarios_keys_or_seed(tmp_path: Path):
    with serve(tmp_path) as served:
        banner = served.stderr()
    assert "  scenarios    none: each deployment answers with its responder\n" in banner
    assert "  seed         none:" in banner
    assert "  api keys     any non-empty key or token\n" in banner
    assert "  admin key    off" in banner


def test_json_banner_is_one_start_line_with_the_same_facts(tmp_path: Path):
    with serve(tmp_path, "--log-format", "json", "--scenario", "tool-sequence", "--api-key", "sekrit") as served:
        assert httpx.post(served.url + CHAT, json=BODY, headers={"api-key": "sekrit"}).status_code == 200
        _poll("the request's JSON line", lambda: '"event":"request"' in served.stderr(), served.proc)
        text = served.stderr()
    lines = [json.loads(line) for line in text.splitlines()]  # every line is JSON, uvicorn's too
    (start,) = [line for line in lines if line["event"] == "start"]
    assert start["url"] == served.url and start["port"] == int(served.url.rsplit(":", 1)[1])
    assert start["version"] == _version() and "gpt-4o" in start["deployments"]
    assert start["scenarios"] == ["tool-sequence"] and start["active_scenario"] == "tool-sequence"
    assert start["auth"] == "configured-keys" and start["api_keys"] == 1 and start["admin_key"] is False
    assert start["seed"] is None and start["workers"] == 1
    assert start["control_api"] == served.url + "/_mock/" and start["web_view"] == served.url + "/_mock/ui"
    assert any(line["event"] == "log" and "startup complete" in line["message"] for line in lines)
    assert "sekrit" not in text and not any(line.startswith("INFO:") for line in text.splitlines())


# -- a line per request -----------------------------------------------------------------------------------------


def test_one_line_per_request_says_what_happened(tmp_path: Path):
    with serve(tmp_path, "--scenario", "flaky-service") as served:
        key = {"api-key": "k"}
        assert httpx.post(served.url + CHAT, json=BODY, headers=key).status_code == 429  # the scenario's first
        assert httpx.post(served.url + "/_mock/scenarios/deactivate").status_code == 200  # no line: the mock's own
        fault = {**key, "x-aoai-mock-fault": "503"}
        assert httpx.post(served.url + CHAT, json=BODY, headers=fault).status_code == 503
        assert httpx.post(served.url + CHAT, json=BODY, headers=key).status_code == 200
        assert httpx.post(served.url + V1_CHAT, json={**BODY, "model": "gpt-4o"}, headers=key).status_code == 200
        assert httpx.post(served.url + CHAT, json=BODY).status_code == 401
        with httpx.stream("POST", served.url + CHAT, json={**BODY, "stream": True},
                          headers={**key, "x-aoai-mock-fault": "cut=2"}) as streamed:
            with pytest.raises(httpx.HTTPError):
                streamed.read()
        lines = served.lines(6)
        text = served.stderr()
    path = CHAT.split("?")[0]
    throttled, faulted, answered, v1, refused, cut = lines
    assert re.fullmatch(rf"INFO:     POST {path} 429 scenario=flaky-service rule=\S+ \d+\.\dms", throttled)
    assert re.fullmatch(rf"INFO:     POST {path} 503 fault=503 \d+\.\dms", faulted), faulted
    assert re.fullmatch(rf"INFO:     POST {path} 200 tokens=\d+/\d+ \d+\.\dms", answered), answered
    assert re.fullmatch(rf"INFO:     POST {V1_CHAT} 200 deployment=gpt-4o tokens=\d+/\d+ \d+\.\dms", v1), v1
    assert re.fullmatch(rf"INFO:     POST {path} 401 \d+\.\dms", refused), refused
    assert re.match(rf"INFO:     POST {path} 200 cut fault=cut ", cut), cut
    assert "/_mock/" not in "\n".join(lines) and "HTTP/1.1" not in text  # no uvicorn access line beside ours
    assert ESC not in text  # stderr is a file here: no colour


def test_a_path_with_control_characters_is_escaped(tmp_path: Path):
    with serve(tmp_path) as served:
        httpx.get(served.url + "/openai/%1b[31mred%0afake", headers={"api-key": "k"})
        (line,) = served.lines(1)
    assert "\\x1b[31mred\\nfake" in line and ESC not in served.stderr()


def test_log_level_warning_and_no_request_log_silence_the_lines(tmp_path: Path):
    for args, env in ((["--log-level", "warning"], None), (["--no-request-log"], None),
                      ([], {"AOAI_MOCK_REQUEST_LOG": "0"})):
        with serve(tmp_path, *args, env=env) as served:
            for _ in range(3):
                assert httpx.post(served.url + CHAT, json=BODY, headers={"api-key": "k"}).status_code == 200
            served.proc.terminate()
            served.proc.wait(timeout=10)
            text = served.stderr()
        assert f"aoai-mock {_version()} serving {served.url}" in text  # the banner is still there
        assert "POST /openai" not in text, args


@pytest.mark.parametrize(
    ("env", "coloured"),
    [({"FORCE_COLOR": "1"}, True), ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False), ({"FORCE_COLOR": "0"}, False)],
)
def test_colour_follows_force_color_and_no_color(tmp_path: Path, env: dict[str, str], coloured: bool):
    with serve(tmp_path, env=env) as served:
        assert httpx.post(served.url + CHAT, json=BODY, headers={"api-key": "k"}).status_code == 200
        assert httpx.post(served.url + CHAT, json=BODY).status_code == 401
        ok, refused = served.lines(2)
    assert (f"{ESC}32m200{ESC}0m" in ok and f"{ESC}33m401{ESC}0m" in refused) is coloured
    assert (ESC in ok) is coloured


def test_colour_on_a_terminal_unless_no_color(tmp_path: Path):
    for env, coloured in (({}, True), ({"NO_COLOR": "1"}, False)):
        seen = _on_a_terminal(tmp_path, env)
        assert (f"{ESC}32m200{ESC}0m" in seen) is coloured, seen
        assert "POST /openai/deployments/gpt-4o/chat/completions" in seen


def _on_a_terminal(tmp_path: Path, env: dict[str, str]) -> str:
    """The server's stderr is a pseudo-terminal: what it wrote there, once a request's line came."""
    ready = tmp_path / "tty-ready.txt"
    ready.unlink(missing_ok=True)
    main, secondary = pty.openpty()
    cmd = [sys.executable, "-m", "aoai_mock", "serve", "--port", "0", "--ready-file", str(ready)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=secondary, env=_env(env))
    os.close(secondary)
    seen = b""
    try:
        _poll("ready file", ready.exists, proc)
        url = ready.read_text(encoding="utf-8").strip()
        assert httpx.post(url + CHAT, json=BODY, headers={"api-key": "k"}).status_code == 200
        deadline = time.monotonic() + 10
        while b"chat/completions" not in seen or not seen.endswith(b"\n"):
            assert time.monotonic() < deadline, seen
            if select.select([main], [], [], 0.1)[0]:
                seen += os.read(main, 65536)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        os.close(main)
    return seen.decode(errors="replace")


def test_workers_announce_once_and_each_writes_request_lines(tmp_path: Path):
    with serve(tmp_path, "--workers", "2") as served:
        for _ in range(4):
            assert httpx.post(served.url + CHAT, json=BODY, headers={"api-key": "k"}).status_code == 200
        lines = served.lines(4)
        text = served.stderr()
    assert len(lines) == 4 and text.count(f"serving {served.url}") == 1 and "  workers      2," in text


def _record(**fields: object) -> Record:
    record = Record("id", "POST", "/openai/deployments/gpt-4o/chat/completions", b"", [], 100.0)
    record.end = 100.0125
    for name, value in fields.items():
        setattr(record, name, value)
    return record


@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ({"status": 200, "tokens_in": 9, "tokens_out": 0}, "200 tokens=9/0 12.5ms"),
        ({"status": None, "outcome": "hung", "fault": "hang"}, "hung fault=hang 12.5ms"),
        ({"status": None, "outcome": "reset", "fault": "reset"}, "reset fault=reset 12.5ms"),
        ({"status": 200, "outcome": "client_closed", "stream": True}, "200 client_closed 12.5ms"),
        ({"status": 400, "scenario": "s", "rule": SCENARIO_DEFAULT}, "400 scenario=s rule=default 12.5ms"),
        ({"status": 404, "deployment": "gpt-4"}, "404 deployment=gpt-4 12.5ms"),
    ],
)
def test_request_line_shapes(fields: dict[str, object], line: str):
    assert request_line(_record(**fields)) == "POST /openai/deployments/gpt-4o/chat/completions " + line


def test_colour_is_decided_by_the_environment_then_the_stream():
    class Terminal:
        def isatty(self) -> bool:
            return True

    assert wants_colour(Terminal(), {}) and not wants_colour(Terminal(), {"NO_COLOR": "1"})
    assert not wants_colour(object(), {})  # no terminal
    assert wants_colour(object(), {"FORCE_COLOR": "1"}) and not wants_colour(object(), {"FORCE_COLOR": "0"})


def test_local_url_reaches_a_wildcard_address_on_loopback():
    assert local_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"
    assert local_url("::", 8000) == "http://[::1]:8000"
    assert local_url("::1", 9) == "http://[::1]:9" and local_url("localhost", 1) == "http://localhost:1"


# -- the port, the ready file, wait -----------------------------------------------------------------------------


def test_a_port_in_use_is_one_clear_line_and_exit_code_4():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        done = aoai_mock("serve", "--port", str(port))
    assert done.returncode == 4
    assert done.stderr == (
        f"aoai-mock: port {port} on 127.0.0.1 is in use (another aoai-mock still running?); choose another with "
        "--port or AOAI_MOCK_PORT, or --port 0 for a free one\n"
    )


def test_the_ready_file_holds_the_url_and_wait_sees_the_server(tmp_path: Path):
    with serve(tmp_path) as served:
        assert (tmp_path / "ready.txt").read_text(encoding="utf-8") == served.url + "\n"
        assert not list(tmp_path.glob("*.partial"))
        started = time.monotonic()
        done = aoai_mock("wait", served.url, "--timeout", "30")
        assert done.returncode == 0 and done.stderr == "" and time.monotonic() - started < 10


def test_wait_gives_up_after_its_timeout_and_says_what_it_saw():
    url = f"http://127.0.0.1:{_free_port()}"
    started = time.monotonic()
    done = aoai_mock("wait", url, "--timeout", "0.5", "--interval", "0.05")
    assert done.returncode == 1 and time.monotonic() - started < 10
    assert done.stderr == f"aoai-mock: {url} not ready after 0.5 s; last: Connection refused\n"


def test_wait_polls_until_a_late_server_answers(tmp_path: Path):
    port = _free_port()
    waiting = subprocess.Popen(
        [sys.executable, "-m", "aoai_mock", "wait", f"http://127.0.0.1:{port}", "--timeout", "60"],
        stderr=subprocess.PIPE, text=True, env=_env(),
    )
    try:
        time.sleep(0.3)  # the waiter's first tries find nothing
        assert waiting.poll() is None
        server = subprocess.Popen([sys.executable, "-m", "aoai_mock", "serve", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env())
        try:
            assert waiting.wait(timeout=60) == 0
            assert httpx.get(f"http://127.0.0.1:{port}/_mock/health").status_code == 200
        finally:
            server.terminate()
            server.wait(timeout=10)
    finally:
        if waiting.poll() is None:
            waiting.kill()
        waiting.communicate()


# -- listings ---------------------------------------------------------------------------------------------------


def test_deployments_lists_the_configuration(tmp_path: Path):
    done = aoai_mock("deployments")
    assert done.returncode == 0
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "MODEL", "KIND", "RESPONDER", "QUOTA", "TPM", "/", "RPM", "PACING"]
    assert len(rows) == len(load_config(None).deployments)
    assert re.search(r"^gpt-4o +gpt-4o \S+ +chat +echo +1,000,000 / 6,000 reported +none$", done.stdout, re.M)
    config = tmp_path / "config.yaml"
    config.write_text(
        "deployments:\n"
        "  - {name: slow, model: gpt-4o, version: '2024-11-20', kind: chat, responder: generated,\n"
        "     tokens_per_minute: 10000, rate_limit: {enforce: true},\n"
        "     pacing: {time_to_first_token_ms: 200, tokens_per_second: 50, jitter: 0.2}}\n"
    )
    listed = json.loads(aoai_mock("deployments", "--config", str(config), "--json").stdout)
    assert listed == [{
        "name": "slow", "model": "gpt-4o", "version": "2024-11-20", "kind": "chat", "responder": "generated",
        "tokens_per_minute": 10000, "requests_per_minute": 60, "quota_enforced": True,
        "sku": "standard", "ptu": None, "spillover_to": None, "time_to_first_token_ms": 200.0, "tokens_per_second": 50.0, "jitter": 0.2,
    }]
    table = aoai_mock("deployments", env={"AOAI_MOCK_CONFIG": str(config)}).stdout
    assert "slow  gpt-4o 2024-11-20  chat  generated  10,000 / 60 enforced  200 ms first, 50 tokens/s +-20%" in table
    bad = aoai_mock("deployments", "--config", str(tmp_path / "missing.yaml"))
    assert bad.returncode == 2 and "missing.yaml: cannot read" in bad.stderr


def test_scenarios_lists_the_shipped_ones_and_those_given(tmp_path: Path):
    shipped = sorted(p.stem for p in (ROOT / "server/aoai_mock/data/scenarios").glob("*.yaml"))
    done = aoai_mock("scenarios")
    assert done.returncode == 0
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["NAME", "RULES", "FAULTS", "DESCRIPTION"]
    assert [row.split()[0] for row in rows] == shipped
    assert re.search(r"^tool-sequence +1 +0 +The shortest tool loop", done.stdout, re.M)
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: mine\ndescription: Mine.\nrules:\n  - {name: a, reply: {text: hi}}\n")
    listed = json.loads(aoai_mock("scenarios", str(mine), "--json").stdout)
    assert [s["name"] for s in listed] == [*shipped, "mine"]
    assert listed[-1] == {"name": "mine", "description": "Mine.", "rules": 1, "faults": 0, "shipped": False,
                          "source": str(mine)}
    assert all(s["shipped"] for s in listed[:-1])
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: 3\n")
    failed = aoai_mock("scenarios", str(broken))
    assert failed.returncode == 1 and "broken.yaml" in failed.stderr


# -- help and the README ----------------------------------------------------------------------------------------


def _commands() -> dict[str, object]:
    from aoai_mock.cli import build_parser as _parser

    parser = _parser()
    (commands,) = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return {"": parser, **commands.choices}


def test_every_flag_of_every_command_has_help():
    for name, parser in _commands().items():
        for action in parser._actions:
            if action.__class__.__name__ != "_SubParsersAction":  # the commands, each with its help
                assert action.help and action.help.strip(), f"aoai-mock {name} {'/'.join(action.option_strings)}"


def test_the_readme_synopsis_lists_every_command_and_flag():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    synopsis = readme.split("<!-- synopsis -->")[1]
    for name, parser in _commands().items():
        if name:
            assert f"aoai-mock {name}" in synopsis, name
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in ("-h", "--help"):
                    assert re.search(rf"{re.escape(flag)}\b", synopsis), f"aoai-mock {name} {flag}"
    known = {f for p in _commands().values() for a in p._actions for f in a.option_strings}
    assert set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", synopsis)) <= known


def _version() -> str:
    from importlib.metadata import version

    return version("aoai-mock")
