"""docs/langchain.md runs: its Python blocks, in a fresh interpreter against a live aoai-mock, under an audit
hook that refuses every connection and name look-up beyond the loopback. So "offline" is proved, not
assumed: the chat block never tokenizes, the embeddings block with ``check_embedding_ctx_length=False``
sends text, the same block without it runs from a filled ``TIKTOKEN_CACHE_DIR`` (and sends token ids), and
with neither LangChain's tiktoken reaches for its download and fails."""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aoai_mock.behaviour.tokens import read_ranks
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import ROOT

pytest.importorskip("langchain_openai", reason="langchain-openai is in the test extra: pip install -e '.[test]'")

DOC = ROOT / "docs" / "langchain.md"
DOC_URL = "http://127.0.0.1:8000"
OFFLINE_FLAG = "check_embedding_ctx_length=False"
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"  # tiktoken's expected_hash

# Runs the file in argv[1] with every non-loopback connection and name look-up refused.
LOOPBACK_ONLY = """
import runpy, sys

LOOPBACK = {"127.0.0.1", "localhost", "::1", b"127.0.0.1", b"localhost", b"::1"}

def refuse(host):
    raise ConnectionRefusedError(f"aoai-mock test: no network beyond the loopback (asked for {host!r})")

def guard(event, args):
    if event == "socket.getaddrinfo" and args[0] not in LOOPBACK:
        refuse(args[0])
    if event == "socket.connect" and isinstance(args[1], tuple) and args[1][0] not in LOOPBACK:
        refuse(args[1][0])

sys.addaudithook(guard)
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def _python_blocks() -> list[str]:
    return [textwrap.dedent(b) for b in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)]


def block_with(text: str) -> str:
    (block,) = [b for b in _python_blocks() if text in b]
    return block


def without_offline_flag(block: str) -> str:
    """The embeddings block as LangChain runs it by default: tokenizing with tiktoken."""
    lines = block.splitlines(keepends=True)
    kept = [line for line in lines if OFFLINE_FLAG not in line]
    assert len(kept) == len(lines) - 1
    return "".join(kept)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0}, env={})) as live:
        yield live


@pytest.fixture()
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        client.delete("/_mock/requests").raise_for_status()
        yield client


def run_offline(code: str, server: LiveServer, tmp_path: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    """The block, pointed at ``server``, with ``TIKTOKEN_CACHE_DIR`` at ``cache`` (so a cache elsewhere on the
    machine cannot hide a download) and no proxy to route around the guard."""
    script = tmp_path / "example.py"
    script.write_text(code.replace(DOC_URL, server.url))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TIKTOKEN_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-c", LOOPBACK_ONLY, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def printed(done: subprocess.CompletedProcess[str]) -> dict[str, str]:
    assert done.returncode == 0, done.stderr
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


def embedding_inputs(admin: httpx.Client) -> list[Any]:
    entries = admin.get("/_mock/requests", params={"deployment": "text-embedding-3-small"}).json()["data"]
    return [e["body"]["input"] for e in sorted(entries, key=lambda e: e["seq"])]


def fill_cache(cache: Path) -> None:
    """cl100k_base in tiktoken's published format, from the copy aoai-mock ships: what the one online call
    of docs/langchain.md writes. tiktoken refuses it unless its SHA-256 is the published one."""
    ranks = sorted(read_ranks("cl100k_base").items(), key=lambda item: item[1])
    published = b"".join(base64.b64encode(token) + b" %d\n" % rank for token, rank in ranks)
    assert hashlib.sha256(published).hexdigest() == CL100K_SHA256
    cache.mkdir()
    (cache / hashlib.sha1(CL100K_URL.encode()).hexdigest()).write_bytes(published)


def test_chat_block_runs_offline(server: LiveServer, admin: httpx.Client, tmp_path: Path) -> None:
    out = printed(run_offline(block_with("AzureChatOpenAI("), server, tmp_path, tmp_path / "empty"))
    assert out == {"chat": "When was Microsoft founded?", "stream": "When was Microsoft founded?"}
    entries = admin.get("/_mock/requests").json()["data"]
    assert [(e["path"], e["query"]["api-version"]) for e in entries] == [
        ("/openai/deployments/gpt-4o/chat/completions", "2024-10-21")] * 2


def test_embeddings_block_sends_text_offline(server: LiveServer, admin: httpx.Client, tmp_path: Path) -> None:
    out = printed(run_offline(block_with(OFFLINE_FLAG), server, tmp_path, tmp_path / "empty"))
    assert out == {"documents": "2 vectors of 1536", "query": "1536"}
    assert embedding_inputs(admin) == [
        ["When was Microsoft founded?", "Who founded it?"], ["When was Microsoft founded?"]]
    assert not (tmp_path / "empty").exists()  # tiktoken was never asked


def test_embeddings_block_tokenizes_from_tiktoken_cache_dir(
    server: LiveServer, admin: httpx.Client, tmp_path: Path
) -> None:
    fill_cache(tmp_path / "tiktoken")
    block = without_offline_flag(block_with(OFFLINE_FLAG))
    out = printed(run_offline(block, server, tmp_path, tmp_path / "tiktoken"))
    assert out == {"documents": "2 vectors of 1536", "query": "1536"}
    founded = [4599, 574, 5210, 18538, 30]  # "When was Microsoft founded?" in cl100k_base
    assert embedding_inputs(admin) == [[founded, [15546, 18538, 433, 30]], [founded]]


def test_without_either_langchain_reaches_for_the_download(server: LiveServer, tmp_path: Path) -> None:
    block = without_offline_flag(block_with(OFFLINE_FLAG))
    done = run_offline(block, server, tmp_path, tmp_path / "empty")
    assert done.returncode != 0
    assert "no network beyond the loopback (asked for 'openaipublic.blob.core.windows.net')" in done.stderr
