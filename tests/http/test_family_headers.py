"""The family headers on the wire, per family, era, outcome and framing, as the recordings show them
(../shared/recordings; the table is wire/headers.py, tested alone in tests/wire/test_headers.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import chat_path

AUDIO = Path(__file__).resolve().parent.parent / "data" / "audio" / "speech1.mp3"
HI = [{"role": "user", "content": "Hi"}]
REMAINING = ("x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens")
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def chat(http: httpx.Client, version: str, deployment: str = "gpt-4o", **extra: Any) -> httpx.Response:
    response = http.post(chat_path(deployment, version), json={"messages": HI, **extra})
    assert response.status_code == 200, response.text
    return response


def stream_headers(http: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Headers:
    with http.stream("POST", path, json={**body, "stream": True}) as response:
        assert response.status_code == 200
        response.read()
        return response.headers


def jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def upload(http: httpx.Client, version: str, purpose: str, data: bytes) -> httpx.Response:
    return http.post(f"/openai/files?api-version={version}", data={"purpose": purpose},
                     files={"file": ("data.jsonl", data, "application/octet-stream")})


# -- chat and completions -------------------------------------------------------------------------------------------


def test_a_2023_chat_answer_names_its_model_and_group_without_quota_figures(http: httpx.Client) -> None:
    headers = chat(http, "2023-08-01-preview", "gpt-35-turbo").headers
    assert (headers["openai-model"], headers["azureml-model-group"]) == ("gpt-35-turbo", "online")
    assert headers["x-accel-buffering"] == "no" and headers["access-control-allow-origin"] == "*"
    assert float(headers["openai-processing-ms"]) >= 0
    assert not any(name in headers for name in REMAINING)


def test_a_2023_completions_answer_names_its_model(http: httpx.Client) -> None:
    response = http.post("/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2023-08-01-preview",
                         json={"prompt": "Hi", "max_tokens": 5})
    assert response.status_code == 200
    headers = response.headers
    assert headers["openai-model"] == "gpt-35-turbo-instruct" and headers["x-accel-buffering"] == "no"
    assert not any(name in headers for name in REMAINING)
    later = http.post("/openai/deployments/gpt-35-turbo-instruct/completions?api-version=2024-10-21",
                      json={"prompt": "Hi", "max_tokens": 5}).headers
    assert "openai-model" not in later and all(name in later for name in REMAINING)


def test_later_chat_answers_say_neither_model_nor_group(http: httpx.Client) -> None:
    headers = chat(http, "2024-04-01-preview").headers
    assert "openai-model" not in headers and "azureml-model-group" not in headers
    assert all(name in headers for name in REMAINING)


def test_a_2024_04_chat_stream_says_its_upstream_time_and_buffers_once(http: httpx.Client) -> None:
    headers = stream_headers(http, chat_path(version="2024-04-01-preview"), {"messages": HI})
    assert headers.get_list("x-accel-buffering") == ["no"]
    assert int(headers["cmp-upstream-response-duration"]) >= 0
    assert "cmp-upstream-response-duration" not in chat(http, "2024-04-01-preview").headers


def test_a_2025_chat_stream_neither_buffers_nor_allows_any_origin(http: httpx.Client) -> None:
    headers = stream_headers(http, chat_path(version="2025-01-01-preview"), {"messages": HI})
    assert "x-accel-buffering" not in headers and "access-control-allow-origin" not in headers
    assert headers["x-ms-deployment-name"] == "gpt-4o"


def test_2025_chat_answers_say_the_deployments_quota(http: httpx.Client) -> None:
    headers = chat(http, "2025-04-01-preview").headers
    assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-limit-tokens"]) == ("6000", "1000000")
    assert headers.get_list("x-ratelimit-limit-tokens") == ["1000000"]
    assert "x-ratelimit-limit-requests" not in chat(http, "2024-10-21").headers


def test_o_series_chat_answers_come_from_their_cluster(http: httpx.Client) -> None:
    early = chat(http, "2025-01-01-preview", "o3-mini").headers
    assert early["x-accel-buffering"] == "no" and early["x-aml-cluster"] == "hyena-eastus-02"
    assert not any(name in early for name in ("x-envoy-upstream-service-time", "x-ratelimit-limit-requests",
                                              "x-ms-deployment-name", "cmp-upstream-response-duration"))
    later = chat(http, "2025-03-01-preview", "o3-mini").headers
    assert later["x-aml-cluster"] == "hyena-eastus-02" and later["x-ratelimit-limit-tokens"] == "1000000"
    assert "x-envoy-upstream-service-time" in later and "x-ms-deployment-name" not in later


def test_a_chat_error_says_only_its_processing_time(http: httpx.Client) -> None:
    response = http.post(chat_path("text-embedding-ada-002", "2023-08-01-preview"), json={"messages": HI})
    assert response.status_code == 400
    assert "openai-processing-ms" in response.headers and "openai-model" not in response.headers


# -- assistants ------------------------------------------------------------------------------------------------------

ASSISTANTS = "2024-05-01-preview"


def test_creating_an_assistant_says_its_models_quota(http: httpx.Client) -> None:
    created = http.post(f"/openai/assistants?api-version={ASSISTANTS}", json={"model": "gpt-4o-mini"})
    assert created.status_code == 200
    headers = created.headers
    assert (headers["x-ratelimit-remaining-requests"], headers["x-ratelimit-remaining-tokens"]) == ("5999", "1000000")
    assert headers["x-ms-middleware-request-id"] == headers["apim-request-id"]
    path = f"/openai/assistants/{created.json()['id']}?api-version={ASSISTANTS}"
    read = http.get(path).headers
    assert "x-ms-middleware-request-id" in read and not any(name in read for name in REMAINING)
    assert http.delete(path).status_code == 200
    gone = http.delete(path)
    assert gone.status_code == 404 and "x-ms-middleware-request-id" not in gone.headers


# -- files, batches, fine-tuning -------------------------------------------------------------------------------------


def test_the_assistants_file_service_answers_with_the_openai_backends_headers(http: httpx.Client) -> None:
    version = "2025-03-01-preview"
    created = upload(http, version, "assistants", b"hello")
    assert created.status_code == 200
    path = f"/openai/files/{created.json()['id']}?api-version={version}"
    for response in (created, http.delete(path), http.delete(path)):  # the second delete: its 404
        headers = response.headers
        assert headers["access-control-allow-origin"] == "*" and headers["openai-version"] == "2020-10-01"
        assert "openai-processing-ms" in headers and UUID.match(headers["x-ms-middleware-request-id"])
        assert "x-envoy-upstream-service-time" not in headers
    assert response.status_code == 404


def test_the_files_service_names_the_middleware_on_an_upload_and_the_envoy_time_after(http: httpx.Client) -> None:
    version = "2025-04-01-preview"
    created = upload(http, version, "batch", jsonl([{"custom_id": "1", "method": "POST", "url": "/chat/completions",
                                                     "body": {"model": "gpt-4o", "messages": HI}}]))
    assert created.status_code == 201
    assert "x-ms-middleware-request-id" in created.headers
    assert "x-envoy-upstream-service-time" not in created.headers
    for response in (http.get(f"/openai/files/{created.json()['id']}?api-version={version}"),
                     http.delete(f"/openai/files/{created.json()['id']}?api-version={version}")):
        assert response.status_code == 200
        assert "x-envoy-upstream-service-time" in response.headers
        assert "x-ms-middleware-request-id" not in response.headers
        assert "openai-version" not in response.headers


def test_files_before_2025_03_carry_none_of_the_services_headers(http: httpx.Client) -> None:
    created = upload(http, "2024-10-21", "assistants", b"hello")
    assert created.status_code == 201  # one service then
    for name in ("x-ms-middleware-request-id", "openai-version", "x-envoy-upstream-service-time"):
        assert name not in created.headers


def test_the_batch_service_says_its_cluster_and_a_new_batch_its_enqueued_tokens(http: httpx.Client) -> None:
    version = "2025-04-01-preview"
    line = {"method": "POST", "url": "/chat/completions", "body": {"model": "gpt-4o", "messages": HI}}
    file_id = upload(http, version, "batch", jsonl([{"custom_id": str(i), **line} for i in range(2)])).json()["id"]
    created = http.post(f"/openai/batches?api-version={version}",
                        json={"input_file_id": file_id, "endpoint": "/chat/completions", "completion_window": "24h"})
    assert created.status_code == 200, created.text
    headers = created.headers
    assert int(headers["deployment-enqueued-tokens"]) > 0
    assert int(headers["deployment-maximum-enqueued-tokens"]) > int(headers["deployment-enqueued-tokens"])
    assert (headers["x-aml-cluster"], headers["x-ms-response-type"], headers["vary"], headers["request-context"]) == (
        "vienna-eastus-02", "standard", "Accept-Encoding", "appId=")
    assert float(headers["x-request-time"]) >= 0 and headers["mise-correlation-id"]
    read = http.get(f"/openai/batches/{created.json()['id']}?api-version={version}").headers
    assert read["x-aml-cluster"] == "vienna-eastus-02" and "deployment-enqueued-tokens" not in read
    older = http.get(f"/openai/batches/{created.json()['id']}?api-version=2024-10-21").headers
    assert "x-aml-cluster" not in older


def test_fine_tuning_answers_say_the_envoy_time_from_2025_04(http: httpx.Client) -> None:
    version = "2025-04-01-preview"
    example = {"messages": [{"role": "user", "content": "Q?"}, {"role": "assistant", "content": "A."}]}
    file_id = upload(http, version, "fine-tune", jsonl([example] * 12)).json()["id"]
    created = http.post(f"/openai/fine_tuning/jobs?api-version={version}",
                        json={"model": "gpt-4o-mini-2024-07-18", "training_file": file_id})
    assert created.status_code == 201, created.text
    assert "x-envoy-upstream-service-time" in created.headers
    older = http.get(f"/openai/fine_tuning/jobs/{created.json()['id']}?api-version=2024-10-21")
    assert older.status_code == 200 and "x-envoy-upstream-service-time" not in older.headers


# -- Responses -------------------------------------------------------------------------------------------------------


def test_a_2025_04_responses_create_names_its_deployment_and_quota(http: httpx.Client) -> None:
    path = "/openai/responses?api-version=2025-04-01-preview"
    created = http.post(path, json={"model": "gpt-4o-mini", "input": "Hi"})
    assert created.status_code == 200, created.text
    headers = created.headers
    assert headers["x-ms-deployment-name"] == "gpt-4o-mini"
    assert headers["x-ms-middleware-request-id"] == headers["apim-request-id"]
    assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-limit-tokens"]) == ("6000", "1000000")
    assert "openai-version" not in headers and "openai-organization" not in headers
    streamed = stream_headers(http, path, {"model": "gpt-4o-mini", "input": "Hi"})
    assert "x-ratelimit-limit-requests" in streamed and "x-ratelimit-remaining-requests" in streamed
    assert "x-ratelimit-limit-tokens" not in streamed and "x-ratelimit-remaining-tokens" not in streamed


def test_a_2025_03_responses_stream_comes_from_the_openai_backend(http: httpx.Client) -> None:
    headers = stream_headers(http, "/openai/responses?api-version=2025-03-01-preview",
                             {"model": "gpt-4o-mini", "input": "Hi"})
    assert headers["openai-version"] == "2020-10-01" and re.fullmatch("[0-9a-f]{32}", headers["openai-organization"])
    assert "openai-processing-ms" in headers and "x-ms-deployment-name" not in headers
    assert not any(name in headers for name in REMAINING)


def test_responses_retrieve_delete_and_their_404_come_from_the_openai_backend(http: httpx.Client) -> None:
    version = "2025-04-01-preview"
    created = http.post(f"/openai/responses?api-version={version}", json={"model": "gpt-4o-mini", "input": "Hi"})
    path = f"/openai/responses/{created.json()['id']}?api-version={version}"
    answers = [http.get(path), http.delete(path), http.get(path)]
    assert [a.status_code for a in answers] == [200, 200, 404]
    for answer in answers:
        assert answer.headers["openai-version"] == "2020-10-01" and "openai-organization" in answer.headers
        assert "x-ms-middleware-request-id" in answer.headers


def test_a_responses_create_the_front_end_refuses_carries_no_backend_headers(http: httpx.Client) -> None:
    refused = http.post("/openai/responses?api-version=2025-04-01-preview", json={"input": "Hi"})
    assert refused.status_code == 400
    for name in ("x-ms-middleware-request-id", "openai-version", "openai-processing-ms", "x-ms-deployment-name"):
        assert name not in refused.headers


# -- audio and images ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["transcriptions", "translations"])
def test_whisper_bills_the_audios_seconds(http: httpx.Client, task: str) -> None:
    response = http.post(f"/openai/deployments/whisper/audio/{task}?api-version=2024-10-21",
                         data={"response_format": "verbose_json"},
                         files={"file": ("speech1.mp3", AUDIO.read_bytes(), "audio/mpeg")})
    assert response.status_code == 200, response.text
    seconds = response.json()["duration"]
    billed = response.headers["csp-billing-usage"]
    assert billed == f"CognitiveServices.OpenAI.Whisper={-int(-seconds // 1)}"
    assert "x-ratelimit-remaining-requests" in response.headers
    assert "x-ratelimit-remaining-tokens" not in response.headers


def test_an_image_answer_says_only_its_remaining_requests(http: httpx.Client) -> None:
    response = http.post("/openai/deployments/dall-e-3/images/generations?api-version=2024-10-21",
                         json={"prompt": "a red square", "n": 1})
    assert response.status_code == 200, response.text
    assert "x-ratelimit-remaining-requests" in response.headers
    assert "x-ratelimit-remaining-tokens" not in response.headers


def test_only_the_models_own_answers_name_its_session(http: httpx.Client) -> None:
    answer = chat(http, "2024-10-21")
    assert answer.headers["azureml-model-session"] == "d" + answer.headers["apim-request-id"][:8]
    embedded = http.post("/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21",
                         json={"input": "hi"})
    assert "azureml-model-session" in embedded.headers
    refused = http.post(chat_path("gpt-4o", "2024-10-21"), json={"messages": HI, "temperature": 9})
    assert refused.status_code == 400 and "azureml-model-session" not in refused.headers
    for other in (http.get("/openai/files?api-version=2024-10-21"),
                  http.get("/openai/assistants?api-version=2024-05-01-preview"),
                  http.post("/openai/v1/responses", json={"model": "gpt-4o", "input": "hi"})):
        assert other.status_code == 200 and "azureml-model-session" not in other.headers, other.request.url
