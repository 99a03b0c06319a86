"""The Responses API end to end: the real openai SDK (``AzureOpenAI`` on 2025-03-01-preview, ``OpenAI`` with an
Azure v1 base URL) against a live server, every body and event checked against the spec excerpts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AsyncAzureOpenAI, AzureOpenAI, OpenAI

from tests import responses_spec as spec
from tests.conftest import GA, KEY

PREVIEW = "2025-03-01-preview"
WEATHER = {
    "type": "function",
    "name": "get_current_weather",
    "description": "The current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string"}},
        "required": ["location"],
        "additionalProperties": False,
    },
    "strict": True,
}
# A tool loop in the scenario format: ask for the weather, then answer from the tool's result.
TOOL_LOOP = r"""
name: responses-tools
on_no_match: error
rules:
  - name: answer-from-results
    match: {operation: responses, tool_result: {name: get_current_weather}}
    reply:
      text: >-
        {% for r in tool_results %}{% set w = r.text | from_json %}{{ w.location }} is {{ w.temperature }}
        degrees{{ '. ' if not loop.last else '.' }}{% endfor %}
  - name: ask-for-the-weather
    match:
      operation: responses
      tools: [get_current_weather]
      message: {regex: "weather in (?P<city>[A-Z]\\w+)"}
    reply:
      tool_calls:
        - {name: get_current_weather, arguments: {location: "{{ match.city }}"}}
"""
TEMPERATURES = {"Paris": 18, "Oslo": 4}


@pytest.fixture(scope="module")
def azure(base_url: str) -> Iterator[AzureOpenAI]:
    with AzureOpenAI(azure_endpoint=base_url, api_key=KEY, api_version=PREVIEW, max_retries=0) as client:
        yield client


@pytest.fixture(scope="module")
def v1(base_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{base_url}/openai/v1/", api_key=KEY, max_retries=0) as client:
        yield client


def _checked(body: dict[str, Any], spec_name: str) -> dict[str, Any]:
    assert spec.response_errors(body, spec_name) == []
    assert spec.undeclared(body, spec_name) == set()
    return body


def _create(client: AzureOpenAI | OpenAI, spec_name: str, **body: Any) -> Any:
    """Create through the SDK; the body on the wire is checked against the spec, the parsed one returned."""
    raw = client.responses.with_raw_response.create(**body)
    _checked(raw.http_response.json(), spec_name)
    return raw.parse()


# -- create, retrieve, delete, input items -------------------------------------------------------------


def test_text_and_instructions_on_the_preview_api(azure: AzureOpenAI) -> None:
    response = _create(azure, spec.PREVIEW, model="gpt-4o", input="Hello Responses", instructions="Answer briefly.")
    assert response.output_text == "Hello Responses"  # the echo responder
    assert response.status == "completed" and response.instructions == "Answer briefly."
    assert response.id.startswith("resp_") and response.model == "gpt-4o"  # the deployment's name, as recorded
    assert response.usage is not None and response.usage.input_tokens > 0 and response.usage.output_tokens == 2


def test_plain_text_on_the_v1_api_through_openai_with_an_azure_base_url(v1: OpenAI) -> None:
    response = _create(v1, spec.V1, model="gpt-4o-mini", input="Hello v1")
    assert response.output_text == "Hello v1" and response.model == "gpt-4o-mini"


def test_multimodal_input_with_parts(azure: AzureOpenAI) -> None:
    content = [
        {"type": "input_text", "text": "What is in this picture?"},
        {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"},
    ]
    plain = azure.responses.create(model="gpt-4o", input=[{"role": "user", "content": content[:1]}])
    with_image = azure.responses.create(model="gpt-4o", input=[{"role": "user", "content": content}])
    assert with_image.output_text == "What is in this picture?"
    assert plain.usage and with_image.usage and with_image.usage.input_tokens == plain.usage.input_tokens + 85
    items = azure.responses.input_items.list(with_image.id)
    assert items.data[0].content[1].type == "input_image"  # type: ignore[union-attr]


def test_retrieve_input_items_and_delete(azure: AzureOpenAI, http: httpx.Client) -> None:
    created = azure.responses.create(model="gpt-4o", input=[
        {"role": "developer", "content": "Be kind."}, {"role": "user", "content": "first"},
        {"role": "user", "content": "second"}])
    assert azure.responses.retrieve(created.id).model_dump() == created.model_dump()
    listed = azure.responses.input_items.list(created.id)
    assert [i.role for i in listed.data] == ["developer", "user", "user"]  # type: ignore[union-attr]
    page = http.get(f"/openai/responses/{created.id}/input_items?api-version={PREVIEW}&limit=2").json()
    assert page["has_more"] is True and len(page["data"]) == 2
    assert spec.item_list_errors(page, spec.PREVIEW) == []
    assert azure.responses.delete(created.id) is None
    with pytest.raises(openai.NotFoundError):
        azure.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        azure.responses.input_items.list(created.id)


def test_the_v1_routes_retrieve_list_newest_first_and_delete(v1: OpenAI, base_url: str) -> None:
    created = v1.responses.create(model="gpt-4o", input=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    assert v1.responses.retrieve(created.id).output_text == "b"
    listed = v1.responses.input_items.list(created.id)
    assert [i.content[0].text for i in listed.data] == ["b", "a"]  # type: ignore[union-attr]
    raw = httpx.get(f"{base_url}/openai/v1/responses/{created.id}/input_items", headers={"Authorization": f"Bearer {KEY}"})
    assert spec.item_list_errors(raw.json(), spec.V1) == []
    deleted = httpx.delete(f"{base_url}/openai/v1/responses/{created.id}?api-version=preview", headers={"api-key": KEY})
    assert deleted.json() == {"id": created.id, "object": "response.deleted", "deleted": True}
    with pytest.raises(openai.NotFoundError) as caught:
        v1.responses.retrieve(created.id)
    assert created.id in caught.value.message


def test_store_false_is_answered_but_not_kept(azure: AzureOpenAI) -> None:
    response = azure.responses.create(model="gpt-4o", input="forget me", store=False)
    assert response.output_text == "forget me"
    with pytest.raises(openai.NotFoundError):
        azure.responses.retrieve(response.id)
    with pytest.raises(openai.BadRequestError) as caught:
        azure.responses.create(model="gpt-4o", input="and then?", previous_response_id=response.id)
    assert caught.value.code == "previous_response_not_found" and caught.value.param == "previous_response_id"


def test_chaining_with_previous_response_id(azure: AzureOpenAI, http: httpx.Client) -> None:
    first = azure.responses.create(model="gpt-4o", input="My name is Ada.", instructions="Remember names.")
    second = azure.responses.create(model="gpt-4o", input="What is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id and second.output_text == "What is my name?"
    assert first.usage and second.usage and second.usage.input_tokens > first.usage.input_tokens
    # only this request's input is listed; the chain is kept to continue from
    assert [i.content[0].text for i in azure.responses.input_items.list(second.id).data] == ["What is my name?"]  # type: ignore[union-attr]
    assert _checked(http.get(f"/openai/responses/{second.id}?api-version={PREVIEW}").json(), spec.PREVIEW)


def test_large_requests_answered_in_a_worker_thread_chain_and_refer_to_kept_items(azure: AzureOpenAI) -> None:
    """A body of 64 KiB and more is answered in a worker thread; what it continues from and what it keeps are
    read and written around that, on the event loop (the store is asynchronous)."""
    big = "lorem ipsum " * 6_000
    first = azure.responses.create(model="gpt-4o", input=big)
    assert azure.responses.retrieve(first.id).output_text == first.output_text == big
    second = azure.responses.create(model="gpt-4o", input=big + "again", previous_response_id=first.id)
    assert first.usage and second.usage and second.usage.input_tokens > 2 * first.usage.input_tokens
    referred = azure.responses.create(
        model="gpt-4o", input=[{"type": "item_reference", "id": first.output[0].id}, {"role": "user", "content": big}]
    )
    assert referred.usage and referred.usage.input_tokens > first.usage.input_tokens + first.usage.output_tokens // 2
    with pytest.raises(openai.BadRequestError) as caught:
        azure.responses.create(model="gpt-4o", input=big, previous_response_id="resp_never_kept")
    assert caught.value.code == "previous_response_not_found"


def test_a_reasoning_deployment_reports_reasoning(azure: AzureOpenAI) -> None:
    response = _create(azure, spec.PREVIEW, model="o3-mini", input="Think first", reasoning={"effort": "low"})
    assert [o.type for o in response.output] == ["reasoning", "message"]
    assert response.usage and response.usage.output_tokens_details.reasoning_tokens == 64
    assert response.reasoning and response.reasoning.effort == "low"


# -- streaming ---------------------------------------------------------------------------------------


TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
TEXT_END = ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]


def test_the_stream_helper_with_its_event_helpers(azure: AzureOpenAI) -> None:
    with azure.responses.stream(model="gpt-4o", input="Stream these four words", instructions="Echo.") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert kinds == TEXT_EVENTS + ["response.output_text.delta"] * len(deltas) + TEXT_END
    assert len(deltas) == 4 and deltas[-1].snapshot == "Stream these four words"
    assert all(e.sequence_number is None for e in events)  # not numbered in 2025-03-01-preview (wire/eras.py)
    assert final.output_text == "Stream these four words" and final.status == "completed"
    assert azure.responses.retrieve(final.id).output_text == final.output_text  # streamed responses are stored too


def test_plain_stream_true_iteration_on_v1_equals_the_json_answer(v1: OpenAI, base_url: str) -> None:
    body: dict[str, Any] = {"model": "gpt-4o", "input": "Same words either way", "stream": True}
    headers = {"api-key": KEY, "x-aoai-mock-responder": "generated"}
    events = list(v1.responses.create(**body, extra_headers={"x-aoai-mock-responder": "generated"}))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    completed = events[-1]
    assert completed.type == "response.completed" and completed.response.output_text == text and len(text) > 20
    plain = httpx.post(f"{base_url}/openai/v1/responses", json={**body, "stream": False}, headers=headers).json()
    assert plain["output"][0]["content"][0]["text"] == text


@pytest.mark.parametrize(
    ("path", "spec_name"),
    [(f"/openai/responses?api-version={PREVIEW}", spec.PREVIEW), ("/openai/v1/responses", spec.V1)],
)
@pytest.mark.parametrize(
    "extra",
    [{"model": "gpt-4o"}, {"model": "o3-mini"}, {"model": "gpt-4o", "tools": [WEATHER], "tool_choice": "required"}],
    ids=["text", "reasoning", "function-call"],
)
def test_the_stream_on_the_wire(base_url: str, path: str, spec_name: str, extra: dict[str, Any]) -> None:
    body = {"input": "wire", "stream": True, **extra}
    with httpx.stream("POST", base_url + path, json=body, headers={"api-key": KEY}) as r:
        raw = r.read().decode()
        assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    blocks = raw.strip("\n").split("\n\n")
    assert "[DONE]" not in raw and "\r" not in raw
    for block in blocks:
        event_line, data_line = block.split("\n")
        event = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {event['type']}"
        assert spec.event_errors(event, spec_name) == []
    last = json.loads(blocks[-1].split("\n")[1][6:])["response"]["output"][-1]
    assert last["content"][0]["text"] == "wire" if "tools" not in extra else json.loads(last["arguments"])


async def test_the_async_stream_helper(base_url: str) -> None:
    client = AsyncAzureOpenAI(azure_endpoint=base_url, api_key=KEY, api_version=PREVIEW, max_retries=0)
    async with client, client.responses.stream(model="gpt-4o", input="async words") as stream:
        deltas = [e.delta async for e in stream if e.type == "response.output_text.delta"]
        final = await stream.get_final_response()
    assert "".join(deltas) == final.output_text == "async words"


# -- a tool loop, scripted by a scenario --------------------------------------------------------------


@pytest.fixture(scope="module")
def tools_server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0}, env={})) as live:
        loaded = httpx.post(f"{live.url}/_mock/scenarios", content=TOOL_LOOP, headers={"content-type": "application/yaml"})
        assert loaded.status_code in (200, 201), loaded.text
        yield live


def _results(calls: list[Any]) -> list[dict[str, Any]]:
    """What the application sends back: one function_call_output per call."""
    return [
        {"type": "function_call_output", "call_id": c.call_id,
         "output": json.dumps({"location": json.loads(c.arguments)["location"],
                               "temperature": TEMPERATURES[json.loads(c.arguments)["location"]]})}
        for c in calls
    ]


def test_a_tool_loop_chained_with_previous_response_id(tools_server: LiveServer) -> None:
    azure = AzureOpenAI(azure_endpoint=tools_server.url, api_key=KEY, api_version=PREVIEW, max_retries=0)
    first = _create(azure, spec.PREVIEW, model="gpt-4o", input="What is the weather in Paris?", tools=[WEATHER])
    calls = [o for o in first.output if o.type == "function_call"]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("get_current_weather", {"location": "Paris"})]
    assert calls[0].call_id.startswith("call_") and calls[0].id and calls[0].id.startswith("fc_")
    second = azure.responses.create(model="gpt-4o", input=_results(calls), previous_response_id=first.id, tools=[WEATHER])
    assert second.output_text == "Paris is 18 degrees."
    listed = azure.responses.input_items.list(second.id).data
    assert [i.type for i in listed] == ["function_call_output"]


def test_a_tool_loop_streamed_on_v1(tools_server: LiveServer) -> None:
    client = OpenAI(base_url=f"{tools_server.url}/openai/v1/", api_key=KEY, max_retries=0)
    with client.responses.stream(model="gpt-4o", input="And the weather in Oslo?", tools=[WEATHER]) as stream:
        events = list(stream)
        first = stream.get_final_response()
    kinds = [e.type for e in events]
    assert kinds[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    arguments = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert arguments and arguments[-1].snapshot == '{"location":"Oslo"}'
    assert kinds[-3:] == ["response.function_call_arguments.done", "response.output_item.done", "response.completed"]
    (call,) = first.output
    assert call.type == "function_call" and call.parsed_arguments == {"location": "Oslo"}  # strict tool: parsed
    with client.responses.stream(model="gpt-4o", input=_results([call]), previous_response_id=first.id,
                                 tools=[WEATHER]) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        assert stream.get_final_response().output_text == text == "Oslo is 4 degrees."


def test_a_tool_loop_keeping_the_conversation_client_side(tools_server: LiveServer) -> None:
    azure = AzureOpenAI(azure_endpoint=tools_server.url, api_key=KEY, api_version=PREVIEW, max_retries=0)
    conversation: list[Any] = [{"role": "user", "content": "Tell me the weather in Paris"}]
    first = azure.responses.create(model="gpt-4o", input=conversation, tools=[WEATHER], store=False)
    conversation += first.output  # the SDK's output items go back in as input
    conversation += _results([o for o in first.output if o.type == "function_call"])
    second = azure.responses.create(model="gpt-4o", input=conversation, tools=[WEATHER], store=False)
    assert second.output_text == "Paris is 18 degrees."


# -- errors ---------------------------------------------------------------------------------------------


def _post(base_url: str, path: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(base_url + path, json=body, headers={"api-key": KEY, **(headers or {})})


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        (f"/openai/responses?api-version={GA}", {"model": "gpt-4o", "input": "x"}, 404, "404"),  # GA: no Responses
        ("/openai/responses", {"model": "gpt-4o", "input": "x"}, 404, "404"),  # api-version required
        ("/openai/responses?api-version=2099-01-01", {"model": "gpt-4o", "input": "x"}, 400, "BadRequest"),
        (f"/openai/v1/responses?api-version={PREVIEW}", {"model": "gpt-4o", "input": "x"}, 400, "BadRequest"),
        ("/openai/v1/responses", {"model": "nope", "input": "x"}, 404, "DeploymentNotFound"),
        ("/openai/v1/responses", {"model": "text-embedding-3-small", "input": "x"}, 400, "OperationNotSupported"),
        ("/openai/v1/responses", {"input": "x"}, 400, None),
        ("/openai/v1/responses", {"model": "gpt-4o", "input": "x", "frequency_penalty": 1}, 400, None),
        ("/openai/v1/responses", {"model": "gpt-4o", "input": {"text": "x"}}, 400, "invalid_type"),
        ("/openai/v1/responses", {"model": "gpt-4o", "input": "x", "previous_response_id": "resp_none"}, 400,
         "previous_response_not_found"),
        ("/openai/v1/responses", {"model": "gpt-4o", "input": [
            {"type": "function_call_output", "call_id": "call_nobody", "output": "1"}]}, 400, None),
    ],
)
def test_bad_requests(base_url: str, path: str, body: Any, status: int, code: str | None) -> None:
    r = _post(base_url, path, body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code


def test_the_key_is_checked_and_bad_json_is_a_400(base_url: str) -> None:
    body = {"model": "gpt-4o", "input": "x"}
    assert httpx.post(f"{base_url}/openai/v1/responses", json=body).status_code == 401
    assert httpx.get(f"{base_url}/openai/responses/resp_x?api-version={PREVIEW}").status_code == 401
    r = httpx.post(f"{base_url}/openai/v1/responses", content=b"{not json", headers={"api-key": KEY,
                                                                                     "content-type": "application/json"})
    assert r.status_code == 400


def test_sdk_errors_name_the_parameter(azure: AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        azure.responses.create(model="gpt-4o", input="x", max_output_tokens=4)
    assert caught.value.param == "max_output_tokens"
    with pytest.raises(openai.BadRequestError) as unknown:
        azure.responses.create(model="gpt-4o", input="x", extra_body={"n": 2})
    assert "Unrecognized request argument supplied: n" in unknown.value.message
