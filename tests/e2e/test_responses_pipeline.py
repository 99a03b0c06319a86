"""The Responses API on the one request pipeline, with the openai SDK against a live server: stream faults
(cut, stall, malformed, an error event), an enforced TPM quota, pacing and the content filter, as chat has
them. The limiter's clock and the server's sleep are injected: nothing here waits for real."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.e2e import clients
from tests.e2e.clients import v1
from tests.e2e.conftest import FakeClock, Sleeps

PREVIEW = "2025-04-01-preview"
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
  - name: guarded
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    content_filter:
      triggers:
        - {words: [stab], category: violence, severity: high}
  - name: talker
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    responder: {name: generated, options: {tokens: 12}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    config = Path(tmp_path_factory.mktemp("responses")) / "config.yaml"
    config.write_text(CONFIG)
    with LiveServer(resolve({"port": 0, "config_path": str(config)}, env={})) as live:
        yield live


def azure(server: LiveServer, fault: str | None = None) -> AzureOpenAI:
    return clients.azure(server, PREVIEW, fault)


def events(stream: Any) -> list[Any]:
    return list(stream)


def types(received: list[Any]) -> list[str]:
    return [event.type for event in received]


# -- stream faults ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("client", [azure, v1], ids=["azure", "v1"])
def test_cut_drops_the_connection_after_n_events(server: LiveServer, client: Any) -> None:
    received: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        for event in client(server, "cut=3").responses.create(model="talker", input="hi", stream=True):
            received.append(event)
    assert types(received) == ["response.created", "response.in_progress", "response.output_item.added"]


def test_a_graceful_cut_ends_the_body_without_the_response_completing(server: LiveServer) -> None:
    received = events(azure(server, "cut=4;graceful").responses.create(model="talker", input="hi", stream=True))
    assert len(received) == 4 and "response.completed" not in types(received)


def test_stall_pauses_then_the_stream_completes(server: LiveServer, sleeps: Sleeps) -> None:
    received = events(azure(server, "stall=2;seconds=7.5").responses.create(model="talker", input="hi", stream=True))
    assert types(received)[-1] == "response.completed"
    assert sleeps.seconds == [7.5]


def test_a_malformed_event_breaks_the_sdks_parser(server: LiveServer) -> None:
    stream = azure(server, "malformed=3").responses.create(model="talker", input="hi", stream=True)
    with pytest.raises(ValueError):  # the SDK's json.loads of the broken data line
        events(stream)


def test_an_error_event_ends_the_stream(server: LiveServer) -> None:
    received = events(azure(server, "stream_error=5;message=mid-stream failure").responses.create(
        model="talker", input="hi", stream=True))
    *before, last = received
    assert len(before) == 5 and last.type == "error"
    assert (last.code, last.message, last.sequence_number) == ("server_error", "mid-stream failure", 5)


def test_a_non_streaming_cut_sends_half_the_body(server: LiveServer) -> None:
    with pytest.raises(openai.APIConnectionError):
        azure(server, "cut").responses.create(model="talker", input="hi")


# -- the quota ------------------------------------------------------------------------------------------------------


def test_an_enforced_quota_holds_on_responses(server: LiveServer, clock: FakeClock) -> None:
    client = azure(server)
    ask = {"model": "limited", "input": "hi", "max_output_tokens": 100}
    remaining = []
    for _ in range(5):
        raw = client.responses.with_raw_response.create(**ask)
        remaining.append(int(raw.headers["x-ratelimit-remaining-tokens"]))
    assert remaining == sorted(remaining, reverse=True)
    with pytest.raises(openai.RateLimitError) as caught:
        client.responses.create(**ask)
    error = caught.value
    assert error.body["code"] == "429"  # type: ignore[index]
    assert f"Operation under Azure OpenAI API version {PREVIEW} have exceeded token rate limit" in error.message
    wait_ms = int(error.response.headers["retry-after-ms"])
    clock.now += wait_ms / 1000
    assert client.responses.create(**ask).status == "completed"


# -- pacing ---------------------------------------------------------------------------------------------------------


def test_a_paced_response_waits_its_whole_schedule(server: LiveServer, sleeps: Sleeps) -> None:
    made = azure(server).responses.create(model="paced", input="go")
    assert made.usage is not None and made.usage.output_tokens == 30
    (waited,) = sleeps.seconds
    assert waited == pytest.approx(0.4 + 29 / 20)


def test_a_paced_stream_spaces_its_text_deltas(server: LiveServer, sleeps: Sleeps) -> None:
    received = events(azure(server).responses.create(model="paced", input="go", stream=True))
    deltas = [e for e in received if e.type == "response.output_text.delta"]
    assert len(deltas) == 30 and len(sleeps.seconds) == 30
    assert sleeps.seconds[0] == pytest.approx(0.4)
    assert sleeps.seconds[1:] == [pytest.approx(1 / 20)] * 29


# -- the content filter ---------------------------------------------------------------------------------------------


def test_a_filtered_prompt_gets_azures_400(server: LiveServer) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        azure(server).responses.create(model="guarded", input="how do I stab a melon")
    error = caught.value
    assert error.code == "content_filter" and error.param == "prompt"
    assert "content management policy" in error.message


def test_a_filtered_prompt_is_journaled_with_its_body(server: LiveServer) -> None:
    with pytest.raises(openai.BadRequestError):
        v1(server).responses.create(model="guarded", input="stab")
    with httpx.Client(base_url=f"{server.url}/_mock") as control:
        entry = control.get("/requests", params={"operation": "responses", "status": "400"}).json()["data"][-1]
    assert entry["body"]["input"] == "stab" and entry["response"]["body"]["error"]["code"] == "content_filter"


def test_a_dated_request_without_a_model_gets_azures_own_400(server: LiveServer) -> None:
    """[captured] recordings/errors/net-ResponsesMissingModel-400 (2025-04-01-preview, Mar 2026)."""
    answer = httpx.post(f"{server.url}/openai/responses", params={"api-version": PREVIEW},
                        headers={"api-key": "k"}, json={"input": "hi"})
    assert answer.status_code == 400
    assert answer.content == b'{\n  "error": {\n    "message": "Missed model deployment"\n  }\n}'
    v1_answer = httpx.post(f"{server.url}/openai/v1/responses", headers={"api-key": "k"}, json={"input": "hi"})
    assert (v1_answer.status_code, v1_answer.json()["error"]["param"]) == (400, "model")
