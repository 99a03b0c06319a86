"""What the web view's tests send: a scenario with two rules and a metered, paced deployment, and the requests
users send (the openai SDK: a chat, a streamed chat, a 429 the SDK retries, an embeddings call, a metered chat)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

GA = "2024-10-21"
AZURE_KEY = "azure-key-7f3a91c0d2"  # must never appear in the page
ADMIN_KEY = "admin-key-5b8e2d41aa"

SCENARIO = """\
name: support-demo
description: Weather answers; greetings; everything else echoed.
deployments:
  - name: gpt-4o-metered
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    tokens_per_minute: 2000
    rate_limit: {enforce: true}
    pacing: {time_to_first_token_ms: 30, tokens_per_second: 400, jitter: 0.2}
rules:
  - name: weather
    match: {message: {regex: "weather in (?P<city>\\\\w+)"}}
    reply: {text: "It is sunny in {{ match.city }}."}
  - name: greeting
    match: {message: hello}
    reply: {text: "Hello! How can I help?"}
  - name: never-used
    match: {message: "a phrase nobody sends"}
    reply: {text: "unused"}
"""

THROTTLE_ONCE = {"faults": [{"id": "throttle-once", "kind": "429", "retry_after_ms": 150, "next": 1,
                             "operation": "chat", "match": {"message": "retry me"}}]}


@dataclass(frozen=True)
class Sent:
    """What the traffic was answered, to compare with what the page shows."""

    weather: str  # the answer's text
    greeting: str  # the streamed answer's text


def admin(server: LiveServer, key: str | None = None) -> httpx.Client:
    headers = {"x-aoai-mock-admin-key": key} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=10)


def prepare(server: LiveServer, key: str | None = None) -> None:
    """Load and activate the scenario and install the one-off 429."""
    with admin(server, key) as control:
        loaded = control.post("/_mock/scenarios?activate=true", content=SCENARIO,
                              headers={"content-type": "application/yaml"})
        assert loaded.status_code == 201, loaded.text
        assert control.post("/_mock/faults", json=THROTTLE_ONCE).status_code == 201


def client(server: LiveServer, retries: int = 0) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=AZURE_KEY, api_version=GA, max_retries=retries)


def send_all(server: LiveServer) -> Sent:
    """Six requests: chat, streamed chat, a 429 and the SDK's retry, embeddings, a chat on the metered deployment."""
    sdk = client(server, retries=1)
    weather = sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "What is the weather in Paris?"}])
    pieces = []
    for chunk in sdk.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello there"}], stream=True):
        pieces.extend(c.delta.content or "" for c in chunk.choices)
    sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "retry me, please"}])
    sdk.embeddings.create(model="text-embedding-3-small", input="a sentence to embed")
    sdk.chat.completions.create(
        model="gpt-4o-metered", max_tokens=200, messages=[{"role": "user", "content": "Count the tokens"}])
    return Sent(weather=weather.choices[0].message.content or "", greeting="".join(pieces))
