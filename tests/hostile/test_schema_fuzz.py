"""Schema fuzzing: schemathesis sends what Azure's inference specs allow, and much they do not, to a live mock.

Both files in ``../shared/azure-openai-spec`` (skipped, saying so, where that folder is absent): every operation of
``inference-2024-10-21.json`` (6) and ``inference-2025-03-01-preview.json`` (49), each with up to ``MAX_EXAMPLES``
generated requests per phase (the spec's examples, coverage, then positive and negative fuzzing), derandomized
from a fixed seed, to 127.0.0.1 only. Each answer is checked for two things: no 5xx (``not_a_server_error``; a
request that hangs past ``request-timeout`` fails too), and the body as the spec describes it for its status
(``response_schema_conformance``; a 4xx against the spec's error schema). ``SCHEMA_FUZZ_EXAMPLES=100`` runs a
deeper search (about 12,000 requests, three minutes); ``SCHEMA_FUZZ_SEED`` another one.

The requests name served deployments (``DEPLOYMENTS``), the spec's own api-version, and, in place of a made-up
id, objects made first (an assistant, a thread, its message, run and step, a vector store with a file and a
batch, a stored response), so they reach the handlers behind the 404; a DELETE keeps its made-up id.

Nothing is excluded: the mock serves every operation of both files ("On your data" is the chat body's
``data_sources``, taken and not acted on; realtime is in neither file). Where a spec is wrong, or the mock
answers as the recorded service did, the spec is patched, one JSON pointer at a time, and the check stays on:

* error bodies have ``"param": null``, ``"code": null`` (``"type": null`` on a blocked prompt), as recorded;
  the spec says strings (``error``, ``errorBase``, ``dalleError``);
* ``"system_fingerprint": null`` from a deployment without one (gpt-35-turbo-instruct), as recorded for chat;
* completions' ``logprobs: 0`` answers ``"top_logprobs": null`` (the legacy API's answer; the spec has a list);
* 2024-10-21 chat has no ``refusal`` (``tests/spec_schema.py``'s ``RECORDED_VS_SPEC``, recorded Dec 2024);
* Responses: ``tests/responses_spec.py``'s ``OVERRIDES`` (``user``, ``usage`` null; no ``tool_choice`` in Mar
  2025; reasoning ``summary``); the stream's schema is each event's ``data`` (the spec predates OpenAPI 3.2's
  SSE items), rewritten as 3.2's ``contentSchema``; five discriminators on ``type`` have no mapping, so by
  OpenAPI's rule they would want schema names (``"OutputMessage"``) where items say ``"message"``: dropped;
* assistants: an empty list's ``first_id``/``last_id`` are null, as recorded; runs, steps, messages and vector
  stores as ``tests/e2e/assistants/support.py``'s ``KNOWN_DIFFERENCES`` says (a message without ``status``,
  a finished run's ``expires_at`` null, ``usage_bytes`` without the undeclared ``bytes`` the spec requires, ...);
* six preview operations (vector store file attributes and content, search, and a stored response's get,
  delete and input items) leave out the ``api-version`` query parameter the service needs: it is added.

What the fuzzing found is pinned in ``test_fuzz_findings.py``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests import responses_spec
from tests.conftest import KEY
from tests.e2e.assistants.support import KNOWN_DIFFERENCES
from tests.spec_schema import RECORDED_VS_SPEC

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "azure-openai-spec"
if not SPEC_DIR.is_dir():
    pytest.skip(
        "../shared/azure-openai-spec is absent (a plain clone): the schema fuzzing reads Azure's spec files from it",
        allow_module_level=True,
    )

GA = "2024-10-21"
PREVIEW = "2025-03-01-preview"
MAX_EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "10"))  # per operation and generation phase
SEED = int(os.environ.get("SCHEMA_FUZZ_SEED", "20241021"))

DEPLOYMENTS = {
    "Completions_Create": "gpt-35-turbo-instruct",
    "embeddings_create": "text-embedding-3-small",
    "Embeddings_Create": "text-embedding-3-small",
    "ChatCompletions_Create": "gpt-4o",
    "Transcriptions_Create": "whisper",
    "Translations_Create": "whisper",
    "Speech_Create": "tts",
    "ImageGenerations_Create": "dall-e-3",
}


def config(version: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"api-key": KEY},
            "parameters": {"query.api-version": version},
            "request-timeout": 10,  # seconds: an answer slower than that is a hang
            "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
            "checks": {
                "enabled": False,
                "not_a_server_error": {"enabled": True},
                "response_schema_conformance": {"enabled": True},
            },
            "operations": [
                {"include-operation-id": op, "parameters": {"path.deployment-id": name}}
                for op, name in DEPLOYMENTS.items()
            ],
        }
    )


S = "/components/schemas/"
NULLABLE = {"type": "string", "nullable": True}  # both files read `nullable` (the 3.1.0 one too, as schemathesis does)
# Where the spec is known wrong, or the mock follows recorded traffic: the spec, as the service answers.
BOTH_OVERRIDES: dict[str, Any] = {
    # Azure's error bodies carry "param": null, "code": null (and "type": null for a blocked prompt)
    # [captured: WIRE-NOTES.md, recordings/assistants, recordings/responses]; the spec types them as strings.
    S + "errorBase/properties/code": NULLABLE,
    S + "error/properties/param": NULLABLE,
    S + "error/properties/type": NULLABLE,
    S + "dalleError/properties/param": NULLABLE,
    S + "dalleError/properties/type": NULLABLE,
    # A deployment whose model has no fingerprint answers "system_fingerprint": null
    # [captured: recordings/chat/net-old-*-2024-04-01-preview].
    S + "createCompletionResponse/properties/system_fingerprint": NULLABLE,
    # `logprobs: 0` gives "top_logprobs": null (the legacy completions API's answer; behaviour/shaping.py).
    S + "createCompletionResponse/properties/choices/items/properties/logprobs/properties/top_logprobs":
        {"type": "array", "nullable": True, "items": {"type": "object", "additionalProperties": {"type": "number"}}},
}
GA_OVERRIDES = {**BOTH_OVERRIDES, **RECORDED_VS_SPEC}
PREVIEW_OVERRIDES = {
    **BOTH_OVERRIDES,
    **responses_spec.OVERRIDES[responses_spec.PREVIEW],
    # An empty list has "first_id": null and "last_id": null
    # [captured: recordings/assistants/net-BasicRunOperationsWork exchange 2].
    **{S + f"{name}/properties/{key}": NULLABLE for key in ("first_id", "last_id") for name in (
        "listAssistantsResponse", "listRunsResponse", "listMessagesResponse", "listRunStepsResponse",
        "listVectorStoresResponse", "listVectorStoreFilesResponse")},
    # The stream's schema is what each event's `data` holds (the spec predates OpenAPI 3.2's SSE items);
    # schemathesis reads a text/event-stream schema as the whole event ({event, data}), as 3.2 does.
    "/paths/~1responses/post/responses/200/content/text~1event-stream/schema": {
        "type": "object", "required": ["data"],
        "properties": {"data": {"contentMediaType": "application/json",
                                "contentSchema": {"$ref": "#" + S + "responseStreamEvent"}}},
    },
    # Five discriminators on `type` have no mapping, so by OpenAPI's rule their values would be the schema names
    # ("OutputMessage"), which no item has ("message"): dropped; oneOf still picks the item's schema.
    **{S + f"{name}/discriminator": None for name in ("InputItem", "Item", "ItemResource", "OutputItem",
                                                      "responseStreamEvent")},
    # Runs, steps, messages and vector stores as recorded (tests/e2e/assistants/support.py says which and why).
    **KNOWN_DIFFERENCES,
}


def patched(version: str, overrides: dict[str, Any]) -> dict[str, Any]:
    document = json.loads((SPEC_DIR / f"inference-{version}.json").read_text())
    for pointer, schema in overrides.items():
        *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
        node = document
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert last in node, f"override {pointer} names nothing in {version}"
        if schema is None:
            del node[last]
        else:
            node[last] = schema
    for item in document["paths"].values():  # six preview operations leave out the api-version they need
        for operation in (v for v in item.values() if isinstance(v, dict) and "responses" in v):
            if not any(p.get("name") == "api-version" for p in operation.get("parameters", [])):
                operation.setdefault("parameters", []).append(
                    {"in": "query", "name": "api-version", "required": True, "schema": {"type": "string"}})
    return document


ga = schemathesis.openapi.from_dict(patched(GA, GA_OVERRIDES), config=config(GA))
preview = schemathesis.openapi.from_dict(patched(PREVIEW, PREVIEW_OVERRIDES), config=config(PREVIEW))


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "run_seconds": 0}, env={})) as live:  # runs end when next looked at
        yield live


@pytest.fixture(scope="module")
def objects(server: LiveServer) -> dict[str, str]:
    """Objects the fuzzed requests name in place of a made-up id, so they reach the handlers behind the 404."""
    with httpx.Client(base_url=server.url + "/openai", headers={"api-key": KEY}, params={"api-version": PREVIEW},
                      timeout=30) as http:
        def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
            answer = http.post(path, json=body)
            assert answer.status_code == 200, answer.text[:300]
            return answer.json()  # type: ignore[no-any-return]

        def listed(path: str) -> dict[str, Any]:
            answer = http.get(path)
            assert answer.status_code == 200 and answer.json()["data"], answer.text[:300]
            return answer.json()["data"][0]  # type: ignore[no-any-return]

        uploaded = http.post("/files", data={"purpose": "assistants"}, files={"file": ("notes.txt", b"Fuzz notes.")})
        assert uploaded.status_code in (200, 201), uploaded.text[:300]
        file_id = uploaded.json()["id"]
        assistant = made("/assistants", {"model": "gpt-4o", "instructions": "Be brief."})
        thread = made("/threads", {"messages": [{"role": "user", "content": "hi"}]})
        run = made(f"/threads/{thread['id']}/runs", {"assistant_id": assistant["id"]})
        store = made("/vector_stores", {"name": "fuzz", "file_ids": [file_id]})
        batch = made(f"/vector_stores/{store['id']}/file_batches", {"file_ids": [file_id]})
        return {
            "assistant_id": assistant["id"], "thread_id": thread["id"], "run_id": run["id"],
            "message_id": listed(f"/threads/{thread['id']}/messages")["id"],
            "step_id": listed(f"/threads/{thread['id']}/runs/{run['id']}/steps")["id"],
            "vector_store_id": store["id"], "file_id": file_id, "batch_id": batch["id"],
            "response_id": made("/responses", {"model": "gpt-4o", "input": "hi", "store": True})["id"],
        }


SENT: Counter[tuple[str, str, int]] = Counter()  # (spec, operation, status) -> requests


def fuzz(case: Any, server: LiveServer, objects: dict[str, str], version: str) -> None:
    if case.method != "DELETE":  # the shared objects stay; a DELETE is fuzzed with made-up ids
        for name in case.path_parameters or {}:
            if name in objects:
                case.path_parameters[name] = objects[name]
    if isinstance(case.body, dict):  # a string where a deployment or an assistant is named: a real one
        if isinstance(case.body.get("model"), str):
            case.body["model"] = "gpt-4o"
        if isinstance(case.body.get("assistant_id"), str):
            case.body["assistant_id"] = objects["assistant_id"]
    response = case.call_and_validate(base_url=server.url + "/openai")
    SENT[version, case.operation.label, response.status_code] += 1


@ga.parametrize()
def test_ga(case: Any, server: LiveServer, objects: dict[str, str]) -> None:
    fuzz(case, server, objects, GA)


@preview.parametrize()
def test_preview(case: Any, server: LiveServer, objects: dict[str, str]) -> None:
    fuzz(case, server, objects, PREVIEW)


def test_the_fuzzing_reached_the_handlers() -> None:
    """Every operation but a DELETE (made-up ids) got an answer other than a 404 (an unserved deployment, a wrong
    api-version, an object that is not there): the requests reach the code behind the routes."""
    if not SENT:
        pytest.skip("no fuzzing ran in this session")
    answers: dict[tuple[str, str], Counter[int]] = {}
    for (version, label, status), n in SENT.items():
        answers.setdefault((version, label), Counter())[status] += n
    for (version, label), statuses in sorted(answers.items()):
        print(f"{version} {label}: {sum(statuses.values())} {dict(sorted(statuses.items()))}")
    total = sum(SENT.values())
    print(f"{len(answers)} operations, {total} requests")
    stuck = [f"{v} {lb}" for (v, lb), st in answers.items() if not lb.startswith("DELETE") and set(st) == {404}]
    assert not stuck, f"only 404s: {stuck}"
