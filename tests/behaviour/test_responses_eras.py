"""The Responses API's answers by api-version era, the model it names, and ``item_reference`` input items,
without HTTP. The shapes are the recorded ones (../shared/recordings/responses/; the file each rests on is named).
"""

from __future__ import annotations

from typing import Any

import pytest
from aoai_mock.behaviour import responses, tokens
from aoai_mock.behaviour.responders.base import Choice, ToolCall
from aoai_mock.behaviour.runtime import Runtime
from aoai_mock.config import Deployment
from aoai_mock.errors import InvalidRequest
from aoai_mock.settings import resolve

from tests.behaviour.scripted import Scripted

MAR_2025 = "2025-03-01-preview"
AUG_2025 = "2025-04-01-preview"
WEATHER = {"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}
LIFECYCLE = ("background", "max_tool_calls", "service_tier", "tool_choice")
AZURE_NULLS = ("content_filters", "prompt_cache_key", "safety_identifier")


@pytest.fixture()
def runtime() -> Runtime:
    return Runtime.create(resolve({"port": 0, "seed": 5}, env={}))


async def run(runtime: Runtime, version: str, responder: Any = None, deployment: str = "gpt-4o-mini",
        **body: Any) -> responses.Created:
    found = runtime.deployment(deployment)
    assert found is not None
    prepared = await responses.prepare(runtime, found, version, {"model": deployment, **body})
    return await responses.create(runtime, prepared, responder or Scripted(Choice(content="Hello! How are you?")))


def kinds_of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == kind]


# -- 2025-03-01-preview: as recorded in Mar 2025 ------------------------------------------------------------


async def test_the_march_2025_response_object(runtime: Runtime) -> None:
    """responses/net-HelloWorldStreaming-2025-03-01-preview-Mar2025: no lifecycle keys, no top_logprobs,
    reasoning with generate_summary, none of Aug 2025's Azure keys."""
    body = (await run(runtime, MAR_2025, input="Hello, responses!")).response
    assert not set(LIFECYCLE + AZURE_NULLS + ("top_logprobs",)) & set(body)
    assert body["reasoning"] == {"effort": None, "generate_summary": None}
    reasoning = (await run(runtime, MAR_2025, deployment="o3-mini", input="x")).response["reasoning"]
    assert reasoning == {"effort": "medium", "generate_summary": None}


async def test_the_march_2025_stream_has_no_sequence_numbers_logprobs_or_obfuscation(runtime: Runtime) -> None:
    """responses/net-HelloWorldStreaming-2025-03-01-preview-Mar2025."""
    events = list((await run(runtime, MAR_2025, input="Hello, responses!", stream=True)).events())
    assert not any("sequence_number" in e for e in events)
    deltas = kinds_of(events, "response.output_text.delta")
    assert deltas and not any("logprobs" in e or "obfuscation" in e for e in deltas)
    assert "logprobs" not in kinds_of(events, "response.output_text.done")[0]
    assert "service_tier" not in events[0]["response"]


async def test_march_2025_input_tokens_carry_the_recorded_overhead(runtime: Runtime) -> None:
    """28 input tokens for "Hello, responses!" in Mar 2025, the conversation's count in Aug 2025 and on v1."""
    counts = {v: (await run(runtime, v, input="Hello, responses!")).response["usage"]["input_tokens"]
              for v in (MAR_2025, AUG_2025, "v1")}
    assert counts == {MAR_2025: 28, AUG_2025: 11, "v1": 11}


# -- 2025-04-01-preview: as recorded in Aug 2025 ------------------------------------------------------------


async def test_the_august_2025_response_object(runtime: Runtime) -> None:
    """responses/net-CanDeleteResponse-2025-04-01-preview: content_filters, prompt_cache_key and
    safety_identifier null, the lifecycle keys, no top_logprobs; a cache key or safety id sent is echoed."""
    body = (await run(runtime, AUG_2025, input="Hello, model!")).response
    assert {k: body[k] for k in AZURE_NULLS} == dict.fromkeys(AZURE_NULLS)
    assert set(LIFECYCLE) <= set(body) and "top_logprobs" not in body
    assert body["reasoning"] == {"effort": None, "summary": None} and body["service_tier"] == "default"
    sent = (await run(runtime, AUG_2025, input="x", prompt_cache_key="k1", safety_identifier="u-9")).response
    assert (sent["prompt_cache_key"], sent["safety_identifier"]) == ("k1", "u-9")
    assert await responses.retrieve(runtime, body["id"]) == body  # stored as returned


async def test_the_august_2025_stream_is_numbered_without_logprobs_or_obfuscation(runtime: Runtime) -> None:
    """responses/net-StreamingResponses-2025-04-01-preview-Aug2025."""
    events = list((await run(runtime, AUG_2025, input="Hello, world!", stream=True)).events())
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    deltas = kinds_of(events, "response.output_text.delta")
    assert deltas and not any("logprobs" in e or "obfuscation" in e for e in deltas)
    assert "logprobs" not in kinds_of(events, "response.output_text.done")[0]
    assert events[0]["response"]["content_filters"] is None and "top_logprobs" not in events[0]["response"]


async def test_the_response_in_progress_states_the_tier_asked_for(runtime: Runtime) -> None:
    """Aug 2025: "service_tier": "auto" in response.created and response.in_progress, "default" when done."""
    events = list((await run(runtime, AUG_2025, input="Hello, world!", stream=True)).events())
    assert [e["response"]["service_tier"] for e in events if "response" in e] == ["auto", "auto", "default"]
    flex = list((await run(runtime, "v1", input="x", service_tier="flex", stream=True)).events())
    assert flex[0]["response"]["service_tier"] == "flex"


# -- the v1 family: the newest shape -------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1", "preview"])
async def test_the_v1_family_keeps_the_newest_shape(runtime: Runtime, version: str) -> None:
    created = await run(runtime, version, input="Hello, world!", stream=True)
    body = created.response
    assert set(LIFECYCLE) <= set(body) and body["top_logprobs"] == 0 and not set(AZURE_NULLS) & set(body)
    events = list(created.events())
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    delta = kinds_of(events, "response.output_text.delta")[0]
    assert delta["logprobs"] == [] and "obfuscation" in delta


# -- the model ------------------------------------------------------------------------------------------------


async def test_the_model_is_the_deployments_name(runtime: Runtime) -> None:
    """The recordings answer "gpt-4o-mini" from a deployment of that name (chat says gpt-4o-mini-2024-07-18)."""
    assert (await run(runtime, AUG_2025, input="x")).response["model"] == "gpt-4o-mini"
    mine = Deployment.model_validate({"name": "my-mini", "model": "gpt-4o-mini", "version": "2024-07-18",
                                      "kind": "chat"})
    assert mine.response_model == "gpt-4o-mini-2024-07-18"
    prepared = await responses.prepare(runtime, mine, "v1", {"model": "my-mini", "input": "x"})
    assert (await responses.create(runtime, prepared, Scripted(Choice(content="hi")))).response["model"] == "my-mini"


# -- item_reference -----------------------------------------------------------------------------------------------


def reference(item: dict[str, Any]) -> dict[str, str]:
    return {"type": "item_reference", "id": item["id"]}


async def test_item_references_stand_for_the_items_kept(runtime: Runtime) -> None:
    """The AI SDK's tool loop with a reasoning model and store on: the earlier reasoning and call by reference."""
    call = ToolCall("call_1", "get_weather", "{}")
    question = {"role": "user", "content": "Weather?"}
    first = (await run(runtime, "v1", Scripted(Choice(tool_calls=(call,))), deployment="o3-mini", input=[question],
                tools=[WEATHER])).response
    reasoning, function_call = first["output"]
    answer = {"type": "function_call_output", "call_id": "call_1", "output": "sunny"}
    responder = Scripted(Choice(content="It is sunny."))
    second = (await run(runtime, "v1", responder, deployment="o3-mini", tools=[WEATHER],
                 input=[question, reference(reasoning), reference(function_call), answer])).response
    seen = responder.seen[0].messages
    assert [m.role for m in seen] == ["user", "assistant", "tool"]
    assert seen[1].tool_calls[0]["id"] == "call_1" and seen[2].text == "sunny"
    listed = (await responses.list_input_items(runtime, second["id"]))["data"]
    assert listed[1:3] == [reasoning, function_call]  # the kept items themselves
    chat = [{"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]
    tool = {"type": "function", "function": {k: v for k, v in WEATHER.items() if k != "type"}}
    assert second["usage"]["input_tokens"] == tokens.count_chat(chat, "o200k_base", [tool])


async def test_an_input_item_kept_is_referred_to_as_well(runtime: Runtime) -> None:
    first = await run(runtime, AUG_2025, input="Remember this.")
    kept = (await responses.list_input_items(runtime, first.response["id"]))["data"][0]
    responder = Scripted(Choice(content="ok"))
    await run(runtime, AUG_2025, responder, input=[reference(kept), reference(first.response["output"][0])])
    assert [(m.role, m.text) for m in responder.seen[0].messages] == [
        ("user", "Remember this."), ("assistant", "Hello! How are you?")]


async def test_an_unknown_item_reference_is_the_services_400(runtime: Runtime) -> None:
    """[captured, third party: Azure's answer in maximhq/bifrost#6382]."""
    with pytest.raises(InvalidRequest) as caught:
        await run(runtime, AUG_2025, input=[{"type": "item_reference", "id": "fc_nothere"}])
    assert caught.value.status == 400
    assert caught.value.body() == {"error": {"message": "Item with id 'fc_nothere' not found.",
                                             "type": "invalid_request_error", "param": "input", "code": None}}


async def test_with_store_false_the_400_says_items_are_not_persisted(runtime: Runtime) -> None:
    """[captured, third party: Azure's answer in openclaw/openclaw#21782]; a store: false answer keeps nothing."""
    unkept = (await run(runtime, AUG_2025, input="x", store=False)).response["output"][0]
    with pytest.raises(InvalidRequest) as caught:
        await run(runtime, AUG_2025, input=[reference(unkept)], store=False)
    assert caught.value.message == (
        f"Item with id '{unkept['id']}' not found. Items are not persisted when `store` is set to false. "
        "Try again with `store` set to true, or remove this item from your input."
    )


async def test_a_deleted_responses_items_are_forgotten_but_not_those_it_only_referred_to(runtime: Runtime) -> None:
    first = (await run(runtime, AUG_2025, input="one")).response
    message = first["output"][0]
    second = (await run(runtime, AUG_2025, input=[reference(message), {"role": "user", "content": "two"}])).response
    await responses.delete(runtime, second["id"])
    await run(runtime, AUG_2025, input=[reference(message)])  # still first's
    await responses.delete(runtime, first["id"])
    with pytest.raises(InvalidRequest) as caught:
        await run(runtime, AUG_2025, input=[reference(message)])
    assert caught.value.message == f"Item with id '{message['id']}' not found."
