"""The clients users have, against ``--tls`` with only the mock's CA trusted (docs/https.md): the openai SDK's
``AzureOpenAI`` given an httpx client that trusts the CA, and told by ``SSL_CERT_FILE`` alone; requests by
``REQUESTS_CA_BUNDLE``; Semantic Kernel's ``AzureChatCompletion``, which takes nothing but an https endpoint;
openai-node by ``NODE_EXTRA_CA_CERTS``. Each is also shown failing without the CA, so a test passes only
because the CA was trusted."""

from __future__ import annotations

import os
import re
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY, ROOT
from tests.test_javascript_examples import LOOPBACK_ONLY, NODE, needs_node

QUESTION = "When was Microsoft founded?"  # the echo responder answers with it
SK_PYTHON = ROOT / ".venv-sk" / "bin" / "python"  # make test builds it: Semantic Kernel pins what conflicts here
_CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS")


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "tls": True}, env={})) as live:
        yield live


def _env(**extra: str) -> dict[str, str]:
    """This process's environment without any CA setting of its own, plus ``extra``."""
    return {**{k: v for k, v in os.environ.items() if k not in _CA_VARIABLES}, **extra}


def _run(python: Path | str, script: str, server: LiveServer, **env: str) -> dict[str, str]:
    """``script`` run by ``python`` with ``URL`` and ``KEY`` set; its output lines are ``label: value``."""
    done = subprocess.run([str(python), "-c", script], env=_env(URL=server.url, KEY=KEY, **env),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return dict(line.split(": ", 1) for line in done.stdout.splitlines())


@pytest.fixture()
def no_ca_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CA variable of the test run's own reaches an in-process client."""
    for name in _CA_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_openai_sdk_with_an_http_client_trusting_the_ca(server: LiveServer, no_ca_settings: None):
    with httpx.Client(verify=server.ssl_context()) as http:
        client = openai.AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version="2024-10-21",
                                    http_client=http, max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
        assert reply.choices[0].message.content == QUESTION
        streamed = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}], stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == QUESTION
    untrusting = openai.AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version="2024-10-21",
                                    max_retries=0)
    with pytest.raises(openai.APIConnectionError):
        untrusting.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])


def test_openai_realtime_client_dials_wss_on_the_tls_port(server: LiveServer, no_ca_settings: None):
    """Without ``websocket_base_url`` the SDK's Azure realtime client turns the https endpoint into
    ``wss://HOST/openai/realtime``: with --tls that reaches the mock, the CA given to the websocket."""
    client = openai.AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version="2025-04-01-preview",
                                max_retries=0)
    trust = {"ssl": server.ssl_context()}
    with client.beta.realtime.connect(model="gpt-4o-realtime-preview", websocket_connection_options=trust) as rt:
        assert rt.recv().type == "session.created"
        rt.session.update(session={"modalities": ["text"]})
        assert rt.recv().type == "session.updated"
        rt.conversation.item.create(
            item={"type": "message", "role": "user", "content": [{"type": "input_text", "text": QUESTION}]})
        rt.response.create()
        events = []
        for event in rt:
            events.append(event)
            if event.type in ("response.done", "error"):
                break
    assert events[-1].type == "response.done"
    assert "".join(e.delta for e in events if e.type == "response.text.delta") == QUESTION
    with pytest.raises(ssl.SSLCertVerificationError):
        with client.beta.realtime.connect(model="gpt-4o-realtime-preview"):
            pass


SDK_BY_ENVIRONMENT = """
import os, openai, requests
client = openai.AzureOpenAI(azure_endpoint=os.environ["URL"], api_key=os.environ["KEY"], api_version="2024-10-21",
                            max_retries=0)
try:
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "%s"}])
    print("openai:", reply.choices[0].message.content)
except openai.APIConnectionError as exc:
    print("openai: failed,", type(exc.__cause__).__name__)
try:
    print("requests:", requests.get(os.environ["URL"] + "/_mock/health").status_code)
except requests.exceptions.SSLError:
    print("requests: failed, SSLError")
""" % QUESTION


def test_openai_sdk_and_requests_told_by_the_environment_alone(server: LiveServer):
    ca = str(server.ca)
    trusted = _run(sys.executable, SDK_BY_ENVIRONMENT, server, SSL_CERT_FILE=ca, REQUESTS_CA_BUNDLE=ca)
    assert trusted == {"openai": QUESTION, "requests": "200"}
    untrusted = _run(sys.executable, SDK_BY_ENVIRONMENT, server)
    assert untrusted == {"openai": "failed, ConnectError", "requests": "failed, SSLError"}


SEMANTIC_KERNEL = """
import asyncio, os
from pydantic import ValidationError
from semantic_kernel.connectors.ai.open_ai import AzureChatCompletion, AzureChatPromptExecutionSettings
from semantic_kernel.contents import ChatHistory

def service(endpoint):
    return AzureChatCompletion(endpoint=endpoint, api_key=os.environ["KEY"], deployment_name="gpt-4o",
                               api_version="2024-10-21")

async def ask():
    history = ChatHistory()
    history.add_user_message("%s")
    try:
        reply = await service(os.environ["URL"]).get_chat_message_content(history, AzureChatPromptExecutionSettings())
        return reply.content
    except Exception as exc:
        return "failed, " + type(exc).__name__

try:
    service(os.environ["URL"].replace("https://", "http://"))
    print("http endpoint: accepted")
except Exception as exc:
    print("http endpoint: refused,", type(exc).__name__)
print("chat:", asyncio.run(ask()))
""" % QUESTION


def _semantic_kernel() -> Path:
    if SK_PYTHON.exists():
        return SK_PYTHON
    if "MAKELEVEL" in os.environ:  # under make test, which builds it
        pytest.fail(f"{SK_PYTHON} is missing although make test builds it (the Makefile's .venv-sk/.stamp)")
    pytest.skip(f"{SK_PYTHON.parent.parent} is missing: `make test` builds it (Semantic Kernel's own venv, as it "
                "pins pydantic and websockets below this project's)")


def test_semantic_kernel_azure_chat_completion_with_only_the_ca_trusted(server: LiveServer):
    python = _semantic_kernel()
    out = _run(python, SEMANTIC_KERNEL, server, SSL_CERT_FILE=str(server.ca))
    assert out["http endpoint"].startswith("refused")  # why it needs --tls: it takes nothing but https
    assert out["chat"] == QUESTION
    assert _run(python, SEMANTIC_KERNEL, server)["chat"].startswith("failed")  # not without the CA


PAGE = ROOT / "docs" / "https.md"
PAGE_URL, PAGE_CA = "https://127.0.0.1:8000", "/home/me/.local/state/aoai-mock/tls/ca.pem"


def _page_blocks() -> list[str]:
    """docs/https.md's Python examples (tagged ``py``: they need a TLS server, which tests/test_docs_examples.py's
    plain one is not)."""
    return re.findall(r"```py\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("index", range(len(_page_blocks())))
def test_the_pages_python_examples_run(index: int, server: LiveServer):
    code = _page_blocks()[index].replace(PAGE_URL, server.url).replace(PAGE_CA, str(server.ca))
    python = _semantic_kernel() if "semantic_kernel" in code else sys.executable
    done = subprocess.run([str(python), "-c", code], env=_env(SSL_CERT_FILE=str(server.ca)), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Hello over TLS"


@pytest.fixture(scope="module")
def guard(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("node") / "loopback-only.mjs"
    path.write_text(LOOPBACK_ONLY)
    return path


def _node(guard: Path, server: LiveServer, **env: str) -> subprocess.CompletedProcess[str]:
    """openai-node's AzureOpenAI (examples/javascript/openai-azure.mjs) against the TLS server."""
    return subprocess.run(
        [NODE or "node", "--import", guard.as_uri(), "openai-azure.mjs"], cwd=ROOT / "examples" / "javascript",
        env=_env(AZURE_OPENAI_ENDPOINT=server.url, AZURE_OPENAI_API_KEY=KEY, **env),
        capture_output=True, text=True, timeout=120,
    )


@needs_node
def test_openai_node_with_node_extra_ca_certs(server: LiveServer, guard: Path):
    done = _node(guard, server, NODE_EXTRA_CA_CERTS=str(server.ca))
    assert done.returncode == 0, done.stderr
    out = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert out["chat"] == QUESTION and out["stream"] == QUESTION
    refused = _node(guard, server)
    assert refused.returncode != 0 and "Connection error" in refused.stderr, refused.stderr

