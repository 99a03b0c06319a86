"""Provisioned (PTU) deployments without HTTP: utilization on a hand-moved clock, Azure's immediate 429 and its
headers, spillover through the inference seam, and the configuration's checks."""

from __future__ import annotations

import random
from typing import Any

import pytest
from aoai_mock.behaviour import answering, provisioned
from aoai_mock.behaviour.inference import Call, Outcome, answer
from aoai_mock.behaviour.provisioned import ProvisionedMeter
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import ConfigError, Deployment, load_text
from aoai_mock.errors import AzureError, CapacityExceeded
from aoai_mock.settings import resolve
from aoai_mock.state.record import Record
from pydantic import ValidationError

GA = "2024-10-21"
PTU = {"name": "gpt-4o-ptu", "model": "gpt-4o", "kind": "chat", "sku": "global_provisioned", "ptu": 15}
PAYGO = {"name": "gpt-4o-paygo", "model": "gpt-4o", "kind": "chat", "sku": "global_standard"}


class FakeClock:
    """A monotonic clock that only moves when a test moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ptu(**fields: Any) -> Deployment:
    return Deployment.model_validate({**PTU, **fields})


# -- capacity -------------------------------------------------------------------------------------------------


def test_capacity_is_the_ptus_times_the_models_input_tokens_a_minute() -> None:
    assert provisioned.throughput(ptu()) == (2_500, 4)
    assert provisioned.capacity(ptu()) == 37_500
    assert provisioned.throughput(ptu(model="gpt-5")) == (4_750, 8)
    assert provisioned.throughput(ptu(model="gpt-4.1-nano")) == (59_400, 4)
    assert provisioned.throughput(ptu(model="a-model-azure-does-not-list")) == provisioned.DEFAULT_THROUGHPUT
    own = ptu(provisioned={"input_tpm_per_ptu": 1_000, "output_to_input_ratio": 3})
    assert provisioned.throughput(own) == (1_000, 3) and provisioned.capacity(own) == 15_000


def test_output_tokens_weigh_the_ratio_for_every_choice() -> None:
    assert provisioned.work(100, 50, 4) == 300
    assert provisioned.work(100, 50, 8, choices=2) == 900


# -- the meter --------------------------------------------------------------------------------------------------


def test_requests_are_admitted_until_utilization_reaches_100_then_refused_at_once() -> None:
    meter, d = ProvisionedMeter(FakeClock()), ptu()  # 37,500 input tokens a minute
    decisions = [meter.admit(d, 4_000) for _ in range(11)]
    assert [x.allowed for x in decisions] == [True] * 10 + [False]
    assert [round(x.utilization, 1) for x in decisions[:3]] == [10.7, 21.3, 32.0]
    assert decisions[9].utilization == pytest.approx(106.7, abs=0.05)  # admitted below 100%, it bursts above
    refused = decisions[10]
    assert refused.utilization == decisions[9].utilization  # a refusal takes nothing
    assert refused.retry_after_ms == 4_001  # 2,500 tokens over, draining 625 a second: 4 s, and 1 ms to be below


def test_retry_after_ms_is_right_for_any_load() -> None:
    rng = random.Random(18)
    for _ in range(300):
        clock = FakeClock()
        meter = ProvisionedMeter(clock)
        d = ptu(ptu=rng.choice([15, 50, 100]), model=rng.choice(["gpt-4o", "gpt-5", "o1"]))
        while (decision := meter.admit(d, rng.randint(1, 40_000))).allowed:
            clock.now += rng.random() * 0.5
        clock.now += (decision.retry_after_ms - 1) / 1000
        assert not meter.admit(d, 1).allowed, "admitted before the wait announced"
        clock.now += 0.001
        assert meter.admit(d, rng.randint(1, 40_000)).allowed


def test_utilization_drains_a_sixtieth_of_capacity_a_second() -> None:
    clock = FakeClock()
    meter, d = ProvisionedMeter(clock), ptu()
    meter.admit(d, 30_000)
    assert meter.utilization(d) == pytest.approx(80.0)
    clock.now += 24
    assert meter.utilization(d) == pytest.approx(40.0)
    clock.now += 1_000
    assert meter.utilization(d) == 0.0


def test_the_actual_work_replaces_the_estimate() -> None:
    meter, d = ProvisionedMeter(FakeClock()), ptu()
    meter.admit(d, 7_500)
    assert meter.settle(d, 7_500, 3_750) == pytest.approx(10.0)  # an overestimate is taken back
    assert meter.settle(d, 1_000, 4_750) == pytest.approx(20.0)  # an underestimate is added


def test_a_resized_deployment_starts_empty_and_reset_empties() -> None:
    meter = ProvisionedMeter(FakeClock())
    meter.admit(ptu(), 30_000)
    assert meter.utilization(ptu()) == pytest.approx(80.0)
    assert meter.utilization(ptu(ptu=30)) == 0.0 and meter.admit(ptu(ptu=30), 30_000).utilization == 40.0
    meter.reset()
    assert meter.utilization(ptu(ptu=30)) == 0.0


def test_the_refusal_is_a_429_with_the_wait_and_the_utilization() -> None:
    decision = provisioned.Decision(False, 104.26, 2_301)
    error = provisioned.refusal(ptu(), decision, "ChatCompletions_Create", GA)
    assert isinstance(error, CapacityExceeded) and error.status == 429
    utilization = {"azure-openai-deployment-utilization": "104.3%"}
    assert error.headers == {"retry-after": "3", "retry-after-ms": "2301", **utilization}
    assert error.body() == {"error": {"code": "429", "message": error.message}}
    assert error.message.startswith("Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
                                    "2024-10-21 have exceeded the provisioned throughput")
    assert error.message.endswith("Please retry after 3 seconds.")


@pytest.mark.parametrize(("status", "code", "spills"), [
    (429, "429", True), (500, None, True), (503, None, True), (400, "context_length_exceeded", True),
    (400, None, False), (404, "DeploymentNotFound", False), (408, None, False),
])  # fmt: skip
def test_which_answers_spill_over(status: int, code: str | None, spills: bool) -> None:
    assert provisioned.spills(AzureError("x", code=code, status=status)) is spills


def test_the_deployments_setting_wins_over_the_requests_header() -> None:
    header = {b"x-ms-spillover-deployment": b"gpt-4o-other"}
    assert provisioned.spillover_target(ptu(), header) == "gpt-4o-other"
    assert provisioned.spillover_target(ptu(), {}) is None
    assert provisioned.spillover_target(ptu(spillover_to="gpt-4o-paygo"), header) == "gpt-4o-paygo"


# -- through the seam ---------------------------------------------------------------------------------------------


def runtime_with(*deployments: dict[str, Any]) -> tuple[Runtime, FakeClock]:
    runtime = Runtime.create(resolve({"port": 0}, env={}))
    for d in deployments:
        runtime.add_deployment(d)
    clock = FakeClock()
    runtime.provisioned = ProvisionedMeter(clock)
    return runtime, clock


def ask(runtime: Runtime, name: str, headers: dict[bytes, bytes] | None = None, **body: Any) -> tuple[Call, Outcome]:
    payload = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1_000, **body}
    record = Record("rid", "POST", f"/openai/deployments/{name}/chat/completions", b"", [], 0.0)
    record.deployment, record.operation = name, "chat.completions"
    deployment = runtime.deployment(name)
    assert deployment is not None
    call = Call(runtime, record, "chat.completions", deployment, GA, payload, headers or {}, 0.0, [])
    return call, answer(call, answering.CHAT)


def named(call: Call) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in call.response_headers}


def test_a_provisioned_answer_states_its_utilization_and_no_quota() -> None:
    runtime, _ = runtime_with(PTU)
    call, outcome = ask(runtime, "gpt-4o-ptu")
    assert outcome.answer is not None and outcome.answer.body()["choices"][0]["message"]["content"] == "hi"
    assert named(call) == {"azure-openai-deployment-utilization": "10.7%"}  # 8 prompt tokens + 4 x 1000 estimated
    assert call.record.quota == {"cost": 4_008, "admitted": True, "retry_after_ms": 0, "utilization": 10.7}
    provisioned.finished(runtime.provisioned, call.deployment, call.record)  # the response ended: 1 token generated
    assert runtime.provisioned.utilization(call.deployment) == pytest.approx(12 / 375)


def test_an_admitted_request_another_deployment_answered_gives_its_estimate_back() -> None:
    meter, d = ProvisionedMeter(FakeClock()), ptu()
    meter.admit(d, 4_008)
    record = Record("rid", "POST", "/", b"", [], 0.0)
    record.tokens_in, record.tokens_out = 8, 500  # the standard deployment's answer
    record.quota = {"cost": 4_008, "admitted": True, "spillover": {"from": "gpt-4o-ptu", "to": "gpt-4o-paygo"}}
    provisioned.finished(meter, d, record)
    assert meter.utilization(d) == 0.0


def test_a_full_deployment_refuses_and_the_refusal_names_its_utilization() -> None:
    runtime, clock = runtime_with(PTU)
    for _ in range(10):
        ask(runtime, "gpt-4o-ptu")
    with pytest.raises(CapacityExceeded) as refused:
        ask(runtime, "gpt-4o-ptu")
    assert refused.value.headers["azure-openai-deployment-utilization"] == "106.9%"
    clock.now += int(refused.value.headers["retry-after-ms"]) / 1000
    assert ask(runtime, "gpt-4o-ptu")[1].answer is not None


def test_a_full_deployment_spills_over_to_its_standard_deployment() -> None:
    runtime, _ = runtime_with({**PTU, "spillover_to": "gpt-4o-paygo"}, PAYGO)
    for _ in range(10):
        ask(runtime, "gpt-4o-ptu")
    call, outcome = ask(runtime, "gpt-4o-ptu")
    assert outcome.answer is not None and outcome.answer.body()["choices"][0]["message"]["content"] == "hi"
    headers = named(call)
    assert headers["x-ms-spillover-from-deployment"] == "gpt-4o-ptu"
    assert headers["x-ms-deployment-name"] == "gpt-4o-paygo"
    assert "azure-openai-deployment-utilization" not in headers  # the standard deployment answered
    assert headers["x-ratelimit-remaining-tokens"] == "1000000"  # ... with its own quota's figures
    assert call.record.deployment == "gpt-4o-paygo"
    assert call.record.quota is not None and call.record.quota["spillover"] == {
        "from": "gpt-4o-ptu", "to": "gpt-4o-paygo", "status": 429, "error": None, "quota": None}


def test_the_requests_header_spills_over_when_the_deployment_names_none() -> None:
    runtime, _ = runtime_with(PTU, PAYGO)
    for _ in range(10):
        ask(runtime, "gpt-4o-ptu")
    with pytest.raises(CapacityExceeded):
        ask(runtime, "gpt-4o-ptu")
    call, _ = ask(runtime, "gpt-4o-ptu", {b"x-ms-spillover-deployment": b"gpt-4o-paygo"})
    assert named(call)["x-ms-spillover-from-deployment"] == "gpt-4o-ptu"


def test_a_spillover_that_fails_answers_with_the_provisioned_429_and_why() -> None:
    limited = {**PAYGO, "tokens_per_minute": 100, "rate_limit": {"enforce": True}}
    runtime, _ = runtime_with({**PTU, "spillover_to": "gpt-4o-paygo"}, limited)
    for _ in range(10):
        ask(runtime, "gpt-4o-ptu")
    with pytest.raises(CapacityExceeded) as refused:
        ask(runtime, "gpt-4o-ptu")
    assert refused.value.headers["x-ms-spillover-error"] == "429"  # the standard deployment's quota ran out too
    call, _ = ask(runtime, "gpt-4o-ptu", {b"x-ms-spillover-deployment": b"nowhere"}, max_tokens=10)
    assert named(call)["x-ms-deployment-name"] == "gpt-4o-paygo"  # small enough; the deployment's setting won


def test_a_spillover_to_no_deployment_fails_with_404() -> None:
    runtime, _ = runtime_with(PTU)
    for _ in range(10):
        ask(runtime, "gpt-4o-ptu")
    with pytest.raises(CapacityExceeded) as refused:
        ask(runtime, "gpt-4o-ptu", {b"x-ms-spillover-deployment": b"nowhere"})
    assert refused.value.headers["x-ms-spillover-error"] == "404"


def test_an_injected_503_spills_over_and_one_on_both_deployments_says_so() -> None:
    runtime, _ = runtime_with({**PTU, "spillover_to": "gpt-4o-paygo"}, PAYGO)
    runtime.faults.install([{"kind": "503", "match": {"deployment": "gpt-4o-ptu"}}])
    call, outcome = ask(runtime, "gpt-4o-ptu")
    assert outcome.answer is not None and named(call)["x-ms-deployment-name"] == "gpt-4o-paygo"
    with pytest.raises(AzureError) as both:
        ask(runtime, "gpt-4o-ptu", {b"x-aoai-mock-fault": b"500"})  # the request's own fault: both answer 500
    assert both.value.status == 500 and both.value.headers["x-ms-spillover-error"] == "500"


def test_a_too_long_context_spills_over_and_a_bad_request_does_not() -> None:
    runtime, _ = runtime_with({**PTU, "spillover_to": "gpt-4o-paygo", "context_window": 50}, PAYGO)
    call, outcome = ask(runtime, "gpt-4o-ptu", messages=[{"role": "user", "content": "word " * 60}], max_tokens=5)
    assert outcome.answer is not None and named(call)["x-ms-spillover-from-deployment"] == "gpt-4o-ptu"
    with pytest.raises(AzureError) as bad:
        ask(runtime, "gpt-4o-ptu", temperature=7)
    assert bad.value.status == 400 and "x-ms-spillover-error" not in bad.value.headers


# -- configuration ----------------------------------------------------------------------------------------------


def test_azures_sku_names_are_read() -> None:
    assert ptu(sku="DataZoneProvisionedManaged").sku.value == "data_zone_provisioned"


@pytest.mark.parametrize(("fields", "problem"), [
    ({"ptu": None}, "needs `ptu`"),
    ({"sku": "standard"}, "ptu is for a provisioned deployment"),
    ({"kind": "embeddings", "model": "text-embedding-3-small"}, "cannot be provisioned"),
    ({"rate_limit": {"enforce": True}}, "metered by its PTUs"),
    ({"spillover_to": "gpt-4o-ptu"}, "cannot spill over to itself"),
    ({"ptu": 0}, "greater than or equal to 1"),
])  # fmt: skip
def test_a_deployment_that_cannot_be_provisioned_is_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ptu(**fields)


@pytest.mark.parametrize(("target", "problem"), [
    ("gpt-4o-paygoo", "names no deployment 'gpt-4o-paygoo'; did you mean 'gpt-4o-paygo'?"),
    ("gpt-4o-standard", "must name a global_standard deployment"),
    ("gpt-4o-mini-paygo", "it must serve gpt-4o too"),
])  # fmt: skip
def test_spillover_to_must_name_a_standard_deployment_of_the_same_model_and_level(target: str, problem: str) -> None:
    text = f"""
deployments:
  - {{name: gpt-4o-ptu, model: gpt-4o, kind: chat, sku: global_provisioned, ptu: 15, spillover_to: {target}}}
  - {{name: gpt-4o-paygo, model: gpt-4o, kind: chat, sku: global_standard}}
  - {{name: gpt-4o-standard, model: gpt-4o, kind: chat}}
  - {{name: gpt-4o-mini-paygo, model: gpt-4o-mini, kind: chat, sku: global_standard}}
"""
    with pytest.raises(ConfigError) as caught:
        load_text(text)
    assert "deployments.0.spillover_to" in str(caught.value) and problem in str(caught.value)
