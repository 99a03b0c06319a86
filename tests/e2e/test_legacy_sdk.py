"""The legacy openai 0.28 SDK, run in its own environment (``make test`` builds ``.venv-legacy``; the
fixture builds it too when missing), against a live server: the 0.28 quickstart verbatim, chat and streams."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.conftest import KEY, ROOT

LEGACY = ROOT / ".venv-legacy"

# Seed 000, "Create a new Python file called quickstart.py" -- verbatim.
QUICKSTART = '''
#Note: The openai-python library support for Azure OpenAI is in preview.
import os
import openai
openai.api_type = "azure"
openai.api_base = os.getenv("OPENAI_API_BASE") 
openai.api_version = "2022-12-01"
openai.api_key = os.getenv("OPENAI_API_KEY")

response = openai.Completion.create(
    engine="gpt-35-turbo",
    prompt="<|im_start|>system\\nThe system is an AI assistant that helps people find information.\\n<|im_end|>\\n<|im_start|>user\\nDoes Azure OpenAI support customer managed keys?\\n<|im_end|>\\n<|im_start|>assistant",
    temperature=1,
    max_tokens=800,
    top_p=0.95,
    frequency_penalty=0,
    presence_penalty=0,
    stop=["<|im_end|>"])

print(response['choices'][0]['text'])
'''

PAGE_OUTPUT = (
    "Yes, Azure OpenAI supports customer managed keys, which allow customers to control access to their data "
    "and models. Additionally, Azure OpenAI supports Azure Key Vault integration which allows customers to "
    "manage and control access to keys and other secrets in Azure."
)

CHAT = '''
import os, openai
openai.api_type = "azure"
openai.api_base = os.getenv("OPENAI_API_BASE")
openai.api_version = "2023-05-15"
openai.api_key = os.getenv("OPENAI_API_KEY")
messages = [{"role": "user", "content": "Hello from 0.28"}]
reply = openai.ChatCompletion.create(engine="gpt-35-turbo", messages=messages)
print(reply["choices"][0]["message"]["content"])
print(reply["usage"]["prompt_tokens"])
parts = []
for chunk in openai.ChatCompletion.create(engine="gpt-35-turbo", messages=messages, stream=True):
    if chunk["choices"]:
        parts.append(chunk["choices"][0]["delta"].get("content", ""))
print("".join(parts))
try:
    openai.ChatCompletion.create(engine="no-such-deployment", messages=messages)
except openai.error.InvalidRequestError as exc:
    print(type(exc).__name__, exc.http_status)
'''


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    python = LEGACY / "bin" / "python"
    if not (LEGACY / ".stamp").exists():  # normally built by `make test`; cached between runs
        subprocess.run([sys.executable, "-m", "venv", str(LEGACY)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "openai==0.28.1"], check=True)
        (LEGACY / ".stamp").touch()
    return python


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "scenarios": ("quickstarts",)}, env={})) as live:
        yield live


def _run(python: Path, script: str, base: str) -> str:
    env = {**os.environ, "OPENAI_API_BASE": base, "OPENAI_API_KEY": KEY}
    done = subprocess.run([str(python), "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("suffix", ["", "/"], ids=["endpoint", "endpoint-with-trailing-slash"])
def test_the_0_28_quickstart_prints_the_pages_output(legacy_python: Path, server: LiveServer, suffix: str) -> None:
    assert _run(legacy_python, QUICKSTART, server.url + suffix).strip() == PAGE_OUTPUT


def test_0_28_chat_streams_and_errors(legacy_python: Path, server: LiveServer) -> None:
    lines = _run(legacy_python, CHAT, server.url + "/").splitlines()
    assert lines[0] and lines[2] == lines[0]  # the same answer, whole and streamed
    assert int(lines[1]) > 0
    assert lines[3] == "InvalidRequestError 404"
