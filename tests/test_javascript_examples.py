"""The JavaScript examples of docs/javascript.md run, as files, against a live aoai-mock: openai-node's
``AzureOpenAI``, the Vercel AI SDK's ``@ai-sdk/azure`` and LangChain.js, each asked once and streamed once.

They run with the packages package-lock.json pins (``make test`` installs them with ``npm ci``), under a
preloaded guard that refuses any connection beyond the loopback: a library that reached for the network
(a tokenizer download, telemetry) would fail the test instead of passing on a machine that happens to
be online. The journal then shows which routes each client called."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY, ROOT

EXAMPLES = ROOT / "examples" / "javascript"
PAGE = ROOT / "docs" / "javascript.md"
PAGE_URL = "http://127.0.0.1:8000"
NODE = shutil.which("node")
QUESTION = "When was Microsoft founded?"

NOT_READY = (
    "node is not installed: the JavaScript examples need Node.js 20 or newer" if NODE is None
    else "examples/javascript/node_modules is missing: `make test` (or `npm ci` in examples/javascript) installs it"
    if not (EXAMPLES / "node_modules").is_dir() else ""
)
needs_node = pytest.mark.skipif(bool(NOT_READY), reason=NOT_READY)

# Every TCP or TLS connection goes through net.Socket's connect; a Unix socket (options.path) is local.
LOOPBACK_ONLY = """
import net from 'node:net';
const loopback = new Set(['127.0.0.1', 'localhost', '::1']);
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  let options = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof options !== 'object' || options === null) options = { port: args[0], host: args[1] };
  const host = options.host ?? 'localhost';
  if (options.path === undefined && !loopback.has(host)) {
    throw new Error(`aoai-mock test: no network beyond the loopback (asked for ${host})`);
  }
  return connect.apply(this, args);
};
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0}, env={})) as live:
        yield live


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("node") / "loopback-only.mjs"
    path.write_text(LOOPBACK_ONLY)
    return path


@pytest.fixture()
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.delete("/_mock/requests").raise_for_status()
        yield client


def run_node(guard: Path, *args: str, endpoint: str = "http://127.0.0.1:9") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AZURE_OPENAI_ENDPOINT": endpoint, "AZURE_OPENAI_API_KEY": KEY}
    return subprocess.run([NODE or "node", "--import", guard.as_uri(), *args], cwd=EXAMPLES, env=env,
                          capture_output=True, text=True, timeout=120)


def run_example(name: str, server: LiveServer, guard: Path) -> dict[str, str]:
    """Runs one example; its output lines are ``label: value``."""
    done = run_node(guard, name, endpoint=server.url)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


def called(admin: httpx.Client, count: int) -> list[tuple[str, str]]:
    """The journal's (path, api-version) of each request, once all ``count`` are recorded (a stream's record
    is written when it ends, which can be just after the client has read its last event)."""
    deadline = time.monotonic() + 10
    while len(entries := admin.get("/_mock/requests").json()["data"]) < count:
        assert time.monotonic() < deadline, f"the journal has {len(entries)} requests, not {count}"
        time.sleep(0.05)
    ordered = sorted(entries, key=lambda e: e["seq"])
    return [(e["path"], (e.get("query") or {}).get("api-version", "")) for e in ordered]


@needs_node
def test_guard_refuses_the_network(guard: Path) -> None:
    done = run_node(guard, "--input-type=module", "-e", "await fetch('https://registry.npmjs.org/')")
    assert done.returncode != 0
    assert "no network beyond the loopback (asked for registry.npmjs.org)" in done.stderr


@needs_node
def test_openai_node_azure_client(server: LiveServer, guard: Path, admin: httpx.Client) -> None:
    out = run_example("openai-azure.mjs", server, guard)
    assert out["chat"] == QUESTION and out["stream"] == QUESTION  # the echo responder
    assert out["usage"] == "12 prompt, 5 completion"
    assert int(out["chunks"]) > 5  # role chunk, one per token, the final and the usage chunk
    chat = ("/openai/deployments/gpt-4o/chat/completions", "2024-10-21")
    assert called(admin, 2) == [chat, chat]


@needs_node
def test_vercel_ai_sdk_azure_provider(server: LiveServer, guard: Path, admin: httpx.Client) -> None:
    out = run_example("ai-sdk-azure.mjs", server, guard)
    for label in ("responses", "chat", "responses stream", "chat stream"):
        assert out[label] == QUESTION, label
    assert out["embedding"] == "1536 numbers"
    responses, chat = ("/openai/v1/responses", ""), ("/openai/v1/chat/completions", "")
    assert called(admin, 5) == [responses, chat, responses, chat, ("/openai/v1/embeddings", "")]


@needs_node
def test_langchain_js(server: LiveServer, guard: Path, admin: httpx.Client) -> None:
    out = run_example("langchain-azure.mjs", server, guard)
    assert out["chat"] == QUESTION and out["stream"] == QUESTION
    assert out["embedding"] == "1536 numbers"
    chat = ("/openai/deployments/gpt-4o/chat/completions", "2024-10-21")
    assert called(admin, 3) == [chat, chat, ("/openai/deployments/text-embedding-3-small/embeddings", "2024-10-21")]


def _page_snippets() -> list[str]:
    return re.findall(r"```js\n(.*?)```", PAGE.read_text(), re.S)


@needs_node
@pytest.mark.parametrize("index", range(len(_page_snippets())))
def test_the_pages_snippets_run(index: int, server: LiveServer, guard: Path, admin: httpx.Client,
                                tmp_path: Path) -> None:
    """docs/javascript.md's own snippets, pointed at the live server, with the examples' packages."""
    (tmp_path / "node_modules").symlink_to(EXAMPLES / "node_modules")
    snippet = tmp_path / "snippet.mjs"
    snippet.write_text(_page_snippets()[index].replace(PAGE_URL, server.url))
    done = run_node(guard, str(snippet), endpoint=server.url)
    assert done.returncode == 0, done.stderr
    assert QUESTION in done.stdout  # each snippet streams the echo answer to stdout
    called(admin, 2)
    assert {e["status"] for e in admin.get("/_mock/requests").json()["data"]} == {200}


def test_the_lock_pins_what_package_json_names() -> None:
    """``npm ci`` installs from the lock alone; the examples' versions are exact, so the lock and package.json
    name the same ones."""
    manifest = json.loads((EXAMPLES / "package.json").read_text())
    lock = json.loads((EXAMPLES / "package-lock.json").read_text())
    for name, version in manifest["dependencies"].items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert lock["packages"][""]["dependencies"] == manifest["dependencies"]
