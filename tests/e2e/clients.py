"""The openai SDK's clients against a live mock, as the end-to-end tests make them (no retries)."""

from __future__ import annotations

from aoai_mock.testing import LiveServer
from openai import AzureOpenAI, OpenAI

from tests.conftest import GA, KEY


def _fault(fault: str | None) -> dict[str, str] | None:
    return {"x-aoai-mock-fault": fault} if fault else None


def azure(server: LiveServer, version: str = GA, fault: str | None = None) -> AzureOpenAI:
    """``AzureOpenAI`` on the dated routes; ``fault``: an ``x-aoai-mock-fault`` on every request."""
    return AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=version, max_retries=0,
                       default_headers=_fault(fault))


def v1(server: LiveServer, fault: str | None = None) -> OpenAI:
    """``OpenAI`` on the ``/openai/v1/`` routes."""
    return OpenAI(base_url=f"{server.url}/openai/v1/", api_key=KEY, max_retries=0, default_headers=_fault(fault))
