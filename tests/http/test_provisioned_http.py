"""Provisioned (PTU) deployments on a live server: bursts of concurrent requests from the openai SDK and httpx drive
a deployment past 100% utilization; the 429s, the utilization header, spillover (the deployment's and the
request's), the journal, the metrics and ``/_mock/deployments`` are checked; ``aoai-mock validate`` refuses a
spillover to nowhere.

The meter's clock stands still (nothing drains unless a test moves it), and the paced deployments' answers wait
at a :class:`Gate` the test opens, so the requests admitted are in flight, at their estimate, when the burst's
last requests arrive: which requests are refused does not depend on timing.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.behaviour.provisioned import ProvisionedMeter
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AsyncAzureOpenAI

from tests.conftest import GA, KEY
from tests.e2e.conftest import FakeClock

PACED = "{time_to_first_token_ms: 1000}"
CONFIG = f"""
deployments:
  - {{name: gpt-4o-ptu, model: gpt-4o, version: "2024-08-06", kind: chat, sku: global_provisioned, ptu: 15,
     spillover_to: gpt-4o-paygo, pacing: {PACED}}}
  - {{name: gpt-4o-ptu-alone, model: gpt-4o, version: "2024-08-06", kind: chat, sku: GlobalProvisionedManaged,
     ptu: 15, pacing: {PACED}}}
  - {{name: gpt-4o-paygo, model: gpt-4o, version: "2024-08-06", kind: chat, sku: global_standard}}
"""
HI = [{"role": "user", "content": "hi"}]
UTILIZATION = "azure-openai-deployment-utilization"
# "hi" is 8 prompt tokens; with max_tokens=1000 and gpt-4o's ratio of 4: 4,008 of the 37,500 tokens a minute of
# 15 PTUs. Ten are admitted (the tenth takes utilization to 106.9%), the eleventh and later are refused.
COST, CAPACITY, ADMITTED = 4_008, 37_500, 10
WAIT_S = 10.0


class Gate:
    """Stands in for the server's sleep: a paced answer waits here, in flight, until the test opens the gate."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.waiting = 0  # answers waiting now (changed on the server's loop only)

    async def __call__(self, seconds: float) -> None:
        self.waiting += 1
        try:
            while not self.opened.is_set():
                await asyncio.sleep(0.005)
        finally:
            self.waiting -= 1


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    config = tmp_path_factory.mktemp("ptu") / "config.yaml"
    config.write_text(CONFIG)
    with LiveServer(resolve({"port": 0, "config_path": str(config)}, env={})) as live:
        yield live


@pytest.fixture()
def clock(server: LiveServer) -> Iterator[FakeClock]:
    runtime = server.app.state.runtime
    clock = FakeClock()
    runtime.provisioned = ProvisionedMeter(clock)
    yield clock
    runtime.reset()
    assert httpx.delete(server.url + "/_mock/requests", timeout=10).status_code == 200


@pytest.fixture()
def gate(server: LiveServer) -> Iterator[Gate]:
    runtime = server.app.state.runtime
    real, runtime.sleep = runtime.sleep, Gate()
    yield runtime.sleep
    runtime.sleep.opened.set()
    runtime.sleep = real


def sdk(server: LiveServer) -> AsyncAzureOpenAI:
    """The async SDK without retries, to be closed on the test's own loop (``async with``)."""
    return AsyncAzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=0)


async def burst(gate: Gate, n: int, send: Callable[[], Awaitable[Any]], in_flight: int = ADMITTED) -> list[Any]:
    """Send ``n`` requests at once; once those not held at the gate are answered and ``in_flight`` wait there,
    open it; every outcome (an answer or the error raised), in the order sent."""
    tasks = [asyncio.create_task(send()) for _ in range(n)]
    deadline = time.monotonic() + WAIT_S
    while sum(task.done() for task in tasks) < n - in_flight or gate.waiting < in_flight:
        assert time.monotonic() < deadline, f"{gate.waiting} waiting, {sum(t.done() for t in tasks)} answered"
        await asyncio.sleep(0.01)
    assert sum(task.done() for task in tasks) == n - in_flight  # nothing else was answered while they waited
    gate.opened.set()
    return await asyncio.gather(*tasks, return_exceptions=True)


def ask(aclient: AsyncAzureOpenAI, deployment: str, max_tokens: int = 1_000) -> Callable[[], Awaitable[Any]]:
    return lambda: aclient.chat.completions.with_raw_response.create(
        model=deployment, messages=HI, max_tokens=max_tokens
    )


def percent(tokens: float) -> str:
    return f"{100 * tokens / CAPACITY:.1f}%"


def control(server: LiveServer, path: str) -> Any:
    response = httpx.get(server.url + "/_mock" + path, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def settled(server: LiveServer, name: str) -> dict[str, Any]:
    """The deployment's utilization once every response has ended (the front door corrects it after the last
    byte, which the client may have before that)."""
    deadline = time.monotonic() + WAIT_S
    while (state := control(server, f"/deployments/{name}")["utilization"])["utilization"] > 1:
        assert time.monotonic() < deadline, state
        time.sleep(0.01)
    return state  # type: ignore[no-any-return]


def requests_counted(server: LiveServer) -> dict[tuple[str, str], float]:
    """``aoai_mock_requests_total`` by (deployment, status), chat completions only."""
    counted: dict[tuple[str, str], float] = {}
    for line in httpx.get(server.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("aoai_mock_requests_total{") and 'operation="chat.completions"' in line:
            labels = dict(part.split("=", 1) for part in line[line.index("{") + 1 : line.index("}")].split(","))
            key = (labels["deployment"].strip('"'), labels["status"].strip('"'))
            counted[key] = float(line.rsplit(" ", 1)[1])
    return counted


def counted_since(server: LiveServer, before: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    now = requests_counted(server)
    return {key: n - before.get(key, 0) for key, n in now.items() if n != before.get(key, 0)}


# -- past 100% --------------------------------------------------------------------------------------------------


async def test_a_burst_past_100_gets_immediate_429s_the_sdk_raises(
    server: LiveServer, clock: FakeClock, gate: Gate
) -> None:
    async with sdk(server) as aclient:
        outcomes = await burst(gate, 12, ask(aclient, "gpt-4o-ptu-alone"))
        refused = [o for o in outcomes if isinstance(o, openai.RateLimitError)]
        answered = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(answered) == ADMITTED and len(refused) == 2
        for error in refused:
            headers = error.response.headers
            assert error.status_code == 429 and error.body == {"code": "429", "message": error.body["message"]}
            assert "exceeded the provisioned throughput of this deployment" in error.message
            assert headers[UTILIZATION] == percent(ADMITTED * COST) == "106.9%"
            assert int(headers["retry-after-ms"]) == 4_129  # 2,580 tokens over, 625 a second: 4.128 s, and past it
            assert int(headers["retry-after"]) == math.ceil(int(headers["retry-after-ms"]) / 1000)
            assert not any(name.startswith("x-ratelimit-") for name in headers)
        stated = sorted((raw.headers[UTILIZATION] for raw in answered), key=lambda v: float(v[:-1]))
        assert stated == [percent(k * COST) for k in range(1, ADMITTED + 1)]  # each after its own estimate
        for raw in answered:
            assert raw.parse().choices[0].message.content == "hi"
            assert not any(name.startswith("x-ratelimit-") for name in raw.headers)
        state = settled(server, "gpt-4o-ptu-alone")  # ended: 8 prompt tokens and 1 output token (4) each
        assert state == {"ptu": 15, "input_tpm_per_ptu": 2_500, "output_to_input_ratio": 4,
                         "capacity_tokens_per_minute": CAPACITY, "utilization": 0.3, "below_100_in_s": 0.0}


async def test_the_sdk_is_admitted_again_after_retry_after_ms(
    server: LiveServer, clock: FakeClock, gate: Gate
) -> None:
    async with sdk(server) as aclient:
        big = ask(aclient, "gpt-4o-ptu-alone", max_tokens=4_000)  # 16,008 tokens each: 42.7% of a minute
        held = [asyncio.create_task(big()) for _ in range(3)]  # in flight: 128.1%
        await until(lambda: gate.waiting == 3)
        with pytest.raises(openai.RateLimitError) as refused:
            await big()
        wait_ms = int(refused.value.response.headers["retry-after-ms"])
        assert 0 <= wait_ms - (3 * 16_008 - CAPACITY) / 0.625 <= 1
        clock.now += (wait_ms - 1) / 1000
        with pytest.raises(openai.RateLimitError) as again:
            await big()
        assert again.value.response.headers["retry-after-ms"] == "1"
        clock.now += 0.001
        held.append(asyncio.create_task(big()))
        await until(lambda: gate.waiting == 4)
        gate.opened.set()
        assert [raw.http_response.status_code for raw in await asyncio.gather(*held)] == [200] * 4


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)


def test_the_sync_sdk_sees_the_429_its_headers_and_a_spillover(server: LiveServer, clock: FakeClock) -> None:
    runtime = server.app.state.runtime
    full = runtime.deployment("gpt-4o-ptu-alone")
    assert runtime.provisioned.admit(full, 2 * CAPACITY).allowed  # 200% in flight
    client = openai.AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=GA, max_retries=0)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="gpt-4o-ptu-alone", messages=HI, max_tokens=10)
    headers = refused.value.response.headers
    assert headers[UTILIZATION] == "200.0%" and headers["retry-after-ms"] == "60001" and headers["retry-after"] == "61"
    spill = {"x-ms-spillover-deployment": "gpt-4o-paygo"}
    spilled = client.chat.completions.with_raw_response.create(
        model="gpt-4o-ptu-alone", messages=HI, max_tokens=10, extra_headers=spill
    )
    assert spilled.http_response.status_code == 200 and spilled.parse().choices[0].message.content == "hi"
    assert spilled.headers["x-ms-spillover-from-deployment"] == "gpt-4o-ptu-alone"


# -- spillover --------------------------------------------------------------------------------------------------


async def test_spillover_answers_the_sdk_and_says_so(
    server: LiveServer, clock: FakeClock, gate: Gate
) -> None:
    async with sdk(server) as aclient:
        before = requests_counted(server)
        outcomes = await burst(gate, 12, ask(aclient, "gpt-4o-ptu"))
        assert not any(isinstance(o, BaseException) for o in outcomes)
        spilled = [raw for raw in outcomes if "x-ms-spillover-from-deployment" in raw.headers]
        assert len(spilled) == 2
        for raw in spilled:
            assert raw.headers["x-ms-spillover-from-deployment"] == "gpt-4o-ptu"
            assert raw.headers["x-ms-deployment-name"] == "gpt-4o-paygo"
            assert raw.headers["x-ratelimit-remaining-tokens"] == "1000000"  # the standard deployment's own quota
            assert UTILIZATION not in raw.headers
            assert raw.parse().choices[0].message.content == "hi"
        for raw in outcomes:
            if raw not in spilled:
                assert UTILIZATION in raw.headers and "x-ms-deployment-name" not in raw.headers
        journal = control(server, "/requests?deployment=gpt-4o-paygo")["data"]
        assert [entry["quota"]["spillover"] for entry in journal] == [
            {"from": "gpt-4o-ptu", "to": "gpt-4o-paygo", "status": 429, "error": None, "quota": None}] * 2
        assert {entry["quota"]["admitted"] for entry in journal} == {False}
        expected = {("gpt-4o-ptu", "200"): ADMITTED, ("gpt-4o-ptu", "429"): 2, ("gpt-4o-paygo", "200"): 2}
        deadline = time.monotonic() + WAIT_S  # (a request is counted once its response has ended)
        while (added := counted_since(server, before)) != expected:
            assert time.monotonic() < deadline, added  # the 429s: as Azure Monitor counts them, refused there
            await asyncio.sleep(0.01)


async def test_the_requests_header_spills_over_and_names_why_when_it_cannot(
    server: LiveServer, clock: FakeClock, gate: Gate
) -> None:
    path = f"/openai/deployments/gpt-4o-ptu-alone/chat/completions?api-version={GA}"
    body = {"messages": HI, "max_tokens": 1_000}
    async with httpx.AsyncClient(base_url=server.url, headers={"api-key": KEY}, timeout=WAIT_S) as http:
        held = [asyncio.create_task(http.post(path, json=body)) for _ in range(ADMITTED)]
        await until(lambda: gate.waiting == ADMITTED)
        spill = {"x-ms-spillover-deployment": "gpt-4o-paygo"}
        spilled = await asyncio.gather(*(http.post(path, json=body, headers=spill) for _ in range(2)))
        nowhere = await http.post(path, json=body, headers={"x-ms-spillover-deployment": "gpt-4o-nowhere"})
        plain = await http.post(path, json=body)
        gate.opened.set()
        answered = await asyncio.gather(*held)
    assert [r.status_code for r in answered] == [200] * ADMITTED
    assert not any("x-ms-spillover-from-deployment" in r.headers for r in answered)
    for response in spilled:
        assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == "hi"
        assert response.headers["x-ms-spillover-from-deployment"] == "gpt-4o-ptu-alone"
        assert response.headers["x-ms-deployment-name"] == "gpt-4o-paygo"
    assert nowhere.status_code == 429 and nowhere.headers["x-ms-spillover-error"] == "404"
    assert nowhere.headers[UTILIZATION] == "106.9%"
    assert plain.status_code == 429 and "x-ms-spillover-error" not in plain.headers


# -- configuration ----------------------------------------------------------------------------------------------


def test_validate_refuses_a_spillover_to_an_unknown_deployment(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.replace("spillover_to: gpt-4o-paygo", "spillover_to: gpt-4o-paygoo"))
    done = subprocess.run([sys.executable, "-m", "aoai_mock", "validate", str(config)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1
    assert ("config.yaml:4: deployments.0.spillover_to: spillover_to names no deployment 'gpt-4o-paygoo'; did "
            "you mean 'gpt-4o-paygo'?") in done.stdout + done.stderr


# -- shared state -----------------------------------------------------------------------------------------------


def test_with_shared_state_a_spillover_spends_the_standard_deployments_shared_quota(
    tmp_path: Path, redis_url: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("""
deployments:
  - {name: tiny-ptu, model: gpt-4o, kind: chat, sku: provisioned, ptu: 1, provisioned: {input_tpm_per_ptu: 10},
     spillover_to: paygo}
  - {name: paygo, model: gpt-4o, kind: chat, tokens_per_minute: 100000, rate_limit: {enforce: true}}
""")
    with LiveServer(resolve({"port": 0, "config_path": str(config), "state_path": redis_url}, env={})) as live:
        live.app.state.runtime.provisioned = ProvisionedMeter(FakeClock())  # 10 tokens a minute, never draining
        client = openai.AzureOpenAI(azure_endpoint=live.url, api_key=KEY, api_version=GA, max_retries=0)
        first = client.chat.completions.with_raw_response.create(model="tiny-ptu", messages=HI, max_tokens=5)
        assert first.headers[UTILIZATION] == "280.0%" and "x-ms-spillover-from-deployment" not in first.headers
        spilled = client.chat.completions.with_raw_response.create(model="tiny-ptu", messages=HI, max_tokens=5)
        assert spilled.headers["x-ms-spillover-from-deployment"] == "tiny-ptu"
        assert int(spilled.headers["x-ratelimit-remaining-tokens"]) == 100_000 - 13  # spent in Redis: 8 + 5
        entry = control(live, "/requests?deployment=paygo")["data"][0]
        assert entry["quota"]["spillover"]["quota"] == {"cost": 13, "admitted": True, "retry_after_ms": 0}
