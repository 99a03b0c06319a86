"""Response bodies from a live server, validated against the official 2024-10-21 OpenAPI schemas.

Two checks per body: it validates against the spec's schema (with the few places where the service is
known to differ from its spec stated in ``WIRE_VS_SPEC``: captured beats spec, as ``WIRE-NOTES.md`` says),
and every key the spec does not declare is one of the documented extras (the spec itself never says
``additionalProperties: false``, so without the strict check a misspelt key would pass unnoticed).
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import jsonschema
import pytest

from tests.conftest import GA, chat_path
from tests.spec_schema import RECORDED_VS_SPEC, errors, spec, undeclared

PREVIEW = "2024-12-01-preview"
EMBEDDINGS = "/paths/~1deployments~1{deployment-id}~1embeddings/post/responses/200/content/application~1json/schema"
_CHOICE = "/components/schemas/{}/properties/choices/items/properties/{}"

# Where the wire differs from the 2024-10-21 spec, and why we follow the wire.
WIRE_VS_SPEC: dict[str, dict[str, Any]] = {
    # Deployments whose model has no fingerprint (gpt-4 0613, gpt-35-turbo-instruct) send null, as the
    # service and api.openai.com do (the SDKs type it Optional[str]); the spec says a plain string.
    "/components/schemas/createChatCompletionResponse/properties/system_fingerprint": {
        "type": "string", "nullable": True},
    "/components/schemas/createChatCompletionStreamResponse/properties/system_fingerprint": {
        "type": "string", "nullable": True},
    "/components/schemas/createCompletionResponse/properties/system_fingerprint": {
        "type": "string", "nullable": True},
    # The spec reuses createCompletionResponse for stream chunks, whose finish_reason is null until the
    # last chunk of a choice (captured: api.openai.com text_completion streams); the spec forbids null.
    _CHOICE.format("createCompletionResponse", "finish_reason"): {
        "type": "string", "enum": ["stop", "length", "content_filter"], "nullable": True},
    **RECORDED_VS_SPEC,
}
# encoding_format=base64 sends each embedding as a base64 string; the spec only knows arrays of numbers.
BASE64_EMBEDDING = {
    EMBEDDINGS + "/properties/data/items/properties/embedding": {"type": "string", "format": "byte"}}

# Keys the service sends that the 2024-10-21 spec does not declare (newer API additions, all captured).
USAGE_DETAILS = {
    "usage/completion_tokens_details/accepted_prediction_tokens",
    "usage/completion_tokens_details/audio_tokens",
    "usage/completion_tokens_details/rejected_prediction_tokens",
    "usage/prompt_tokens_details",
}
# The stream schema of 2024-10-21 lacks per-choice content_filter_results and the include_usage chunk's
# `usage` (its `required: [prompt_tokens, ...]` sits, misplaced, under `object`).
CHUNK_EXTRAS = {"choices/*/content_filter_results", "usage"}

MESSAGES = [{"role": "user", "content": "Name three colours of the rainbow."}]
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
    "required": ["city"]}}}]
ANSWER_SCHEMA = {"type": "object", "properties": {"colours": {"type": "array", "items": {"type": "string"}},
                 "count": {"type": "integer"}}, "required": ["colours", "count"], "additionalProperties": False}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": ANSWER_SCHEMA}}

CHAT_CASES = {
    "plain": ("gpt-4o", GA, {}),
    "n=2": ("gpt-4o", GA, {"n": 2}),
    "tool_calls": ("gpt-4o", GA, {"tools": TOOLS, "tool_choice": "required"}),
    "logprobs": ("gpt-4o", GA, {"logprobs": True, "top_logprobs": 2}),
    "json_schema": ("gpt-4o", GA, {"response_format": JSON_SCHEMA}),
    "o-series": ("o3-mini", PREVIEW, {"max_completion_tokens": 500}),
    "no fingerprint": ("gpt-4", GA, {}),
}
CHUNK_CASES = {k: CHAT_CASES[k] for k in ("plain", "n=2", "tool_calls", "logprobs")} | {
    "include_usage": ("gpt-4o", GA, {"stream_options": {"include_usage": True}}),
}


def _data(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    return [json.loads(e.removeprefix("data: ")) for e in events[:-2]]


def _chat(http: httpx.Client, case: tuple[str, str, dict[str, Any]], **extra: Any) -> httpx.Response:
    deployment, version, body = case
    return http.post(chat_path(deployment, version), json={"messages": MESSAGES, **body, **extra})


def _completion(http: httpx.Client, **body: Any) -> httpx.Response:
    path = f"/openai/deployments/gpt-35-turbo-instruct/completions?api-version={GA}"
    return http.post(path, json={"prompt": "Once upon a time", "max_tokens": 8, **body})


def _embed(http: httpx.Client, deployment: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"/openai/deployments/{deployment}/embeddings?api-version={GA}", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


# -- the helper itself ---------------------------------------------------------------------------------


def test_spec_copy_is_pinned_and_never_forbids_extra_keys() -> None:
    schemas = spec()["components"]["schemas"]  # spec() checks the sha256 of the copy
    closed = [name for name, s in schemas.items() if '"additionalProperties": false' in json.dumps(s)]
    assert closed == []  # no schema of 2024-10-21 is closed; hence the strict check below


@pytest.mark.parametrize(
    ("name", "instance", "expected"),
    [
        ("chatCompletionResponseMessage", {"role": "assistant", "content": None, "refusal": None}, []),
        ("chatCompletionResponseMessage", {"role": "assistant", "content": 5, "refusal": None},
         ["content: 5 is not valid under any of the given schemas"]),
        ("chatCompletionResponseMessage", {"role": "user", "content": "x"},
         ["(root): 'refusal' is a required property", "role: 'user' is not one of ['assistant']"]),
        ("contentFilterChoiceResults", {"hate": {"filtered": False}},
         ["hate: 'severity' is a required property"]),
    ],
)
def test_openapi_conversion_nullable_refs_and_allof(name: str, instance: Any, expected: list[str]) -> None:
    assert errors(name, instance) == expected


def test_strict_mode_reports_undeclared_keys_through_allof_and_nullable() -> None:
    choice = {"finish_reason": "stop", "index": 0, "logprobs": {"content": None, "refusal": None, "x": 1},
              "message": {"role": "assistant", "content": "", "refusal": None, "typo": 1},
              "content_filter_results": {"hate": {"filtered": False, "severity": "safe"},
                                         "protected_material_text": {"filtered": False, "detected": False}}}
    body = {"id": "", "object": "chat.completion", "created": 0, "model": "", "choices": [choice], "extra": 1}
    assert undeclared("createChatCompletionResponse", body) == {
        "extra", "choices/*/message/typo", "choices/*/logprobs/x"}


# -- chat ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CHAT_CASES.values(), ids=CHAT_CASES.keys())
def test_chat_completion_matches_spec(http: httpx.Client, case: tuple[str, str, dict[str, Any]]) -> None:
    body = _chat(http, case).json()
    assert errors("createChatCompletionResponse", body, overrides=WIRE_VS_SPEC) == []
    assert undeclared("createChatCompletionResponse", body, overrides=WIRE_VS_SPEC) <= USAGE_DETAILS
    assert len(body["choices"]) == case[2].get("n", 1)


def test_chat_tool_call_and_json_schema_answers_fit_what_was_asked(http: httpx.Client) -> None:
    call = _chat(http, CHAT_CASES["tool_calls"]).json()["choices"][0]["message"]["tool_calls"][0]
    jsonschema.validate(json.loads(call["function"]["arguments"]), TOOLS[0]["function"]["parameters"])
    content = _chat(http, CHAT_CASES["json_schema"]).json()["choices"][0]["message"]["content"]
    jsonschema.validate(json.loads(content), ANSWER_SCHEMA)


@pytest.mark.parametrize("case", CHUNK_CASES.values(), ids=CHUNK_CASES.keys())
def test_every_stream_chunk_matches_spec(http: httpx.Client, case: tuple[str, str, dict[str, Any]]) -> None:
    first, *chunks = _data(_chat(http, case, stream=True))
    assert first["object"] == ""  # the annotation chunk, checked on its own below
    for chunk in chunks:
        assert errors("createChatCompletionStreamResponse", chunk, overrides=RECORDED_VS_SPEC) == [], chunk
        assert undeclared("createChatCompletionStreamResponse", chunk) <= CHUNK_EXTRAS, chunk
        if chunk.get("usage") is not None:  # "usage": null on the chunks before it [recorded]
            assert errors("completionUsage", chunk["usage"]) == []
    assert (chunks[-1].get("usage") is not None) == ("stream_options" in case[2])


def test_prompt_annotation_chunk_breaks_the_spec_as_azure_does(http: httpx.Client) -> None:
    # Captured (WIRE-NOTES, Streaming 1): Azure's first chunk has empty id/model/object and created 0.
    # The spec demands object "chat.completion.chunk" and has no prompt_filter_results on chunks, so
    # the chunk is held to a hand-written expectation, and its annotations to the spec's own schema.
    first = _data(_chat(http, CHAT_CASES["plain"], stream=True))[0]
    assert errors("createChatCompletionStreamResponse", first) == [
        "object: '' is not one of ['chat.completion.chunk']"]
    annotations = first.pop("prompt_filter_results")
    assert first == {"choices": [], "created": 0, "id": "", "model": "", "object": ""}
    assert errors("promptFilterResults", annotations) == []
    assert [a["prompt_index"] for a in annotations] == [0]
    assert undeclared("promptFilterResult", annotations[0]) == set()


# -- completions ---------------------------------------------------------------------------------------

COMPLETION_CASES = {
    "plain": {},
    "echo": {"echo": True},
    "logprobs": {"logprobs": 2},
    "n=2 echo logprobs": {"n": 2, "echo": True, "logprobs": 1},
}


@pytest.mark.parametrize("body", COMPLETION_CASES.values(), ids=COMPLETION_CASES.keys())
def test_text_completion_matches_spec(http: httpx.Client, body: dict[str, Any]) -> None:
    result = _completion(http, **body).json()
    assert errors("createCompletionResponse", result, overrides=WIRE_VS_SPEC) == []
    assert undeclared("createCompletionResponse", result, overrides=WIRE_VS_SPEC) == set()
    echoed = 2 if body.get("echo") else 1  # the echo responder answers with the prompt itself
    assert [c["text"].count("Once upon a time") for c in result["choices"]] == [echoed] * body.get("n", 1)


@pytest.mark.parametrize("body", COMPLETION_CASES.values(), ids=COMPLETION_CASES.keys())
def test_text_completion_stream_chunks_match_spec(http: httpx.Client, body: dict[str, Any]) -> None:
    first, *chunks = _data(_completion(http, stream=True, **body))
    assert first["object"] == "" and first["choices"] == []
    for chunk in chunks:
        assert errors("createCompletionResponse", chunk, overrides=WIRE_VS_SPEC) == [], chunk
        assert undeclared("createCompletionResponse", chunk, overrides=WIRE_VS_SPEC) == set(), chunk
    # The override above is needed: the spec itself rejects the null finish_reason of a middle chunk.
    assert errors("createCompletionResponse", chunks[0]) != []


# -- embeddings ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deployment", "body", "dims"),
    [
        ("text-embedding-ada-002", {"input": "hello world"}, 1536),
        ("text-embedding-3-small", {"input": ["a", "b c"], "dimensions": 256}, 256),
        ("text-embedding-3-large", {"input": [[15339, 1917]]}, 3072),
    ],
    ids=["ada", "dimensions", "token input"],
)
def test_float_embeddings_match_spec(http: httpx.Client, deployment: str, body: dict[str, Any], dims: int) -> None:
    result = _embed(http, deployment, **body)
    assert errors(EMBEDDINGS, result) == []
    assert undeclared(EMBEDDINGS, result) == set()
    assert {len(d["embedding"]) for d in result["data"]} == {dims}


def test_base64_embeddings_match_spec_where_the_wire_differs(http: httpx.Client) -> None:
    result = _embed(http, "text-embedding-3-small", input=["a", "b"], encoding_format="base64")
    assert errors(EMBEDDINGS, result) != []  # the spec knows only arrays of numbers
    assert errors(EMBEDDINGS, result, overrides=BASE64_EMBEDDING) == []
    assert undeclared(EMBEDDINGS, result, overrides=BASE64_EMBEDDING) == set()
    assert {len(base64.b64decode(d["embedding"])) for d in result["data"]} == {1536 * 4}
