"""Rate limits and pacing through a live server, with the limiter's clock and the server's sleep injected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from aoai_mock.behaviour.pacing import pace_for
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA, KEY
from tests.e2e.conftest import FakeClock, Sleeps

CONFIG = """
deployments:
  - name: limited
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    tokens_per_minute: 600
    rate_limit: {enforce: true, requests_per_minute: 600, limit_headers: true}
  - name: paced
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    pacing: {time_to_first_token_ms: 400, tokens_per_second: 20}
    responder: {name: generated, options: {tokens: 30}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    config = Path(tmp_path_factory.mktemp("limits")) / "config.yaml"
    config.write_text(CONFIG)
    with LiveServer(resolve({"port": 0, "config_path": str(config)}, env={})) as live:
        yield live


def _client(server: LiveServer) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=0)


ASK = {"model": "limited", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 100}


def test_quota_runs_out_and_comes_back_when_the_client_waits_retry_after_ms(
    server: LiveServer, clock: FakeClock
) -> None:
    client = _client(server)
    remaining = []
    for _ in range(5):  # 8 prompt tokens + 100 asked: five fit in 600
        raw = client.chat.completions.with_raw_response.create(**ASK)
        remaining.append(int(raw.headers["x-ratelimit-remaining-tokens"]))
        assert raw.headers["x-ratelimit-limit-tokens"] == "600"
    assert remaining == sorted(remaining, reverse=True) and remaining[-1] < 108
    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(**ASK)
    error = caught.value
    assert error.body["code"] == "429"  # type: ignore[index]
    assert error.message.startswith(
        "Error code: 429 - Requests to the ChatCompletions_Create "
        f"Operation under Azure OpenAI API version {GA} have exceeded token rate limit"
    )
    headers = error.response.headers
    wait_ms = int(headers["retry-after-ms"])
    assert int(headers["retry-after"]) == -(-wait_ms // 1000)
    assert headers["policy-id"] == "DeploymentRatelimit-Token"
    clock.now += (wait_ms - 1) / 1000
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**ASK)  # a millisecond early is still too early
    clock.now += 0.001
    assert client.chat.completions.create(**ASK).choices[0].message.content == "hi"


def test_async_clients_see_the_same_429(server: LiveServer, clock: FakeClock) -> None:
    import asyncio

    async def main() -> None:
        client = openai.AsyncAzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=0)
        results = await asyncio.gather(*(client.chat.completions.create(**ASK) for _ in range(8)), return_exceptions=True)
        assert sum(isinstance(r, openai.RateLimitError) for r in results) == 3

    asyncio.run(main())


def test_a_paced_answer_waits_its_whole_schedule(server: LiveServer, sleeps: Sleeps) -> None:
    answer = _client(server).chat.completions.create(model="paced", messages=[{"role": "user", "content": "go"}])
    assert answer.usage is not None and answer.usage.completion_tokens == 30
    (waited,) = sleeps.seconds
    assert waited == pytest.approx(0.4 + 29 / 20)


def test_a_paced_stream_waits_before_each_content_chunk(server: LiveServer, sleeps: Sleeps) -> None:
    stream = _client(server).chat.completions.create(
        model="paced", messages=[{"role": "user", "content": "go"}], stream=True
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) == 30 and len(sleeps.seconds) == 30
    assert sleeps.seconds[0] == pytest.approx(0.4)
    assert sleeps.seconds[1:] == [pytest.approx(1 / 20)] * 29
    deployment = server.app.state.runtime.deployment("paced")
    assert pace_for(deployment).enabled


def test_unenforced_deployments_report_a_full_quota(server: LiveServer, sleeps: Sleeps) -> None:
    raw = _client(server).chat.completions.with_raw_response.create(
        model="paced", messages=[{"role": "user", "content": "x"}]
    )
    assert raw.headers["x-ratelimit-remaining-tokens"] == "1000000"


def test_a_stalled_stream_waits_then_finishes(server: LiveServer, sleeps: Sleeps) -> None:
    client = _client(server)
    stream = client.chat.completions.create(
        model="paced", messages=[{"role": "user", "content": "go"}], stream=True,
        extra_headers={"x-aoai-mock-fault": "stall=5;seconds=7.5"},
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) == 30
    assert 7.5 in sleeps.seconds


def test_x_should_retry_false_stops_the_sdks_retries(server: LiveServer, sleeps: Sleeps) -> None:
    import httpx

    control = httpx.Client(base_url=f"{server.url}/_mock")
    control.delete("/requests")
    client = AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=2)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(
            model="paced", messages=[{"role": "user", "content": "go"}],
            extra_headers={"x-aoai-mock-fault": "503;should_retry=false"},
        )
    assert len(control.get("/requests").json()["data"]) == 1
