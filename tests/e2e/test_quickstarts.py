"""The seed quickstarts run as written, against a live aoai-mock: only the endpoint and the key change.

004 is the Python SDK reference page (api-version 2024-10-21), 002 the ``requests`` completions
quickstart (2022-06-01-preview), 003 the curl chat quickstart (2023-05-15). The page's endpoint and key
come from the environment, as the page reads them (``os.getenv``), so the snippets stay verbatim.
Images, audio and assistants snippets belong to other suites.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai import AzureOpenAI

from tests.conftest import KEY
from tests.e2e.conftest import GENERATED, SEED_MESSAGES

SAFE = {"filtered": False, "severity": "safe"}
FOUR_CATEGORIES = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
EMBEDDINGS_RESPONSE = (  # the spec declares this response inline
    "/paths/~1deployments~1{deployment-id}~1embeddings/post/responses/200/content/application~1json/schema"
)


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, base_url: str) -> None:
    """What a reader of the page exports before running it."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", base_url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_API_VERSION", "2024-10-21")


@pytest.fixture()
def client(page_env: None) -> AzureOpenAI:
    # 004, "Authentication", API Key tab -- verbatim.
    client = AzureOpenAI(
        api_key=os.getenv("AZURE_OPENAI_API_KEY"),
        api_version="2024-10-21",
        azure_endpoint = os.getenv("AZURE_OPENAI_ENDPOINT")
        )
    return client


def printed_json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    return json.loads(capsys.readouterr().out)


# -- 004: chat ------------------------------------------------------------------------------------------


def test_004_chat_completions_create(
    client: AzureOpenAI, capsys: pytest.CaptureFixture[str], spec_check: Callable[[Any, str], None]
) -> None:
    completion = client.chat.completions.create(
      model="gpt-4o", # Replace with your model dpeloyment name.
      messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "When was Microsoft founded?"}
      ]
    )

    #print(completion.choices[0].message)
    print(completion.model_dump_json(indent=2))  # the page misses this closing parenthesis

    body = printed_json(capsys)
    assert body["object"] == "chat.completion" and body["model"] == "gpt-4o-2024-08-06"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["choices"][0]["message"]["role"] == "assistant" and body["choices"][0]["message"]["content"]
    # A plain answer of 2024-10-21 also carries the default filter's protected-material models, not detected
    # [captured: recordings/chat/net-ChatCompletion, Dec 2024].
    not_detected = {"filtered": False, "detected": False}
    assert body["choices"][0]["content_filter_results"] == {
        **FOUR_CATEGORIES, "protected_material_code": not_detected, "protected_material_text": not_detected}
    assert body["usage"]["prompt_tokens"] == 22
    spec_check(completion.model_dump(exclude_unset=True), "createChatCompletionResponse")


def test_004_chat_completions_streaming(client: AzureOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    completion = client.chat.completions.create(
      model="gpt-4o", # Replace with your model dpeloyment name.
      messages=[
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "When was Microsoft founded?"}
      ],
      stream=True
    )

    for chunk in completion:
        if chunk.choices and chunk.choices[0].delta.content is not None:
            print(chunk.choices[0].delta.content, end='',)

    streamed = capsys.readouterr().out
    whole = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "When was Microsoft founded?"},
        ],
    )
    assert streamed and streamed == whole.choices[0].message.content


def test_004_chat_image_input_is_answered_without_fetching(
    client: AzureOpenAI, capsys: pytest.CaptureFixture[str]
) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What's in this image?"},
                    {
                        "type": "image_url",
                        "image_url": {
                            "url": "https://raw.githubusercontent.com/MicrosoftDocs/azure-ai-docs/main/articles/ai-services/openai/media/how-to/generated-seattle.png",
                        }
                    },
                ],
            }
        ],
        max_tokens=300,
    )

    print(completion.model_dump_json(indent=2))

    body = printed_json(capsys)
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"]
    assert body["choices"][0]["finish_reason"] == "stop"


# -- 004: embeddings and legacy completions -------------------------------------------------------------


def test_004_embeddings_create(
    client: AzureOpenAI, capsys: pytest.CaptureFixture[str], spec_check: Callable[[Any, str], None]
) -> None:
    embedding = client.embeddings.create(
      model="text-embedding-3-large", # Replace with your model deployment name
      input="Attenion is all you need",
      encoding_format="float"
    )

    print(embedding)

    out = capsys.readouterr().out
    assert out.startswith("CreateEmbeddingResponse(data=[Embedding(embedding=[")
    assert out.rstrip().endswith(
        "index=0, object='embedding')], model='text-embedding-3-large', object='list', "
        "usage=Usage(prompt_tokens=7, total_tokens=7))"
    )
    assert len(embedding.data[0].embedding) == 3072
    spec_check(embedding.model_dump(), EMBEDDINGS_RESPONSE)


def test_004_legacy_completions_create(client: AzureOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    legacy_completion = client.completions.create(
      model="gpt-35-turbo-instruct", # Replace with model deployment name
      prompt="Hello World!",
      max_tokens=100,
      temperature=0
    )

    print(legacy_completion.model_dump_json(indent=2))

    body = printed_json(capsys)
    assert body["object"] == "text_completion" and body["model"] == "gpt-35-turbo-instruct"
    assert body["id"].startswith("cmpl-")
    choice = body["choices"][0]
    assert choice["finish_reason"] == "stop" and choice["logprobs"] is None and choice["text"]
    assert choice["content_filter_results"] == FOUR_CATEGORIES
    assert body["usage"]["prompt_tokens"] == 3
    assert body["usage"]["total_tokens"] == 3 + body["usage"]["completion_tokens"]


def test_004_legacy_completion_prompt_filter_categories(client: AzureOpenAI) -> None:
    """The page's captured legacy completion annotates the prompt with the four harm categories only."""
    legacy_completion = client.completions.create(
        model="gpt-35-turbo-instruct", prompt="Hello World!", max_tokens=100, temperature=0
    )
    results = legacy_completion.model_extra["prompt_filter_results"]
    assert results == [{"prompt_index": 0, "content_filter_results": FOUR_CATEGORIES}]


# -- 004: authentication, request ids, retries, errors --------------------------------------------------


def test_004_entra_id_token_provider(page_env: None) -> None:
    issued: list[str] = []

    def token_provider() -> str:  # stands in for get_bearer_token_provider(DefaultAzureCredential(), ...)
        issued.append("fake-entra-token")
        return "fake-entra-token"

    client = AzureOpenAI(
      azure_endpoint = os.getenv("AZURE_OPENAI_ENDPOINT"),
      azure_ad_token_provider=token_provider,
      api_version="2024-10-21"
    )
    completion = client.chat.completions.create(
        model="gpt-4o",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": "When was Microsoft founded?"},
        ],
    )
    assert issued and completion.usage.prompt_tokens == 22


def test_004_request_ids(client: AzureOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    completion = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    legacy_completion = client.completions.create(model="gpt-35-turbo-instruct", prompt="Hello World!")

    print(completion._request_id)
    print(legacy_completion._request_id)

    first, second = capsys.readouterr().out.split()
    assert uuid.UUID(first) != uuid.UUID(second)


def test_004_retries_for_all_requests(page_env: None) -> None:
    # For all requests

    from openai import AzureOpenAI
    client = AzureOpenAI(
          max_retries=0
    )

    assert client.max_retries == 0
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Hi"}])
    assert reply.choices[0].message.content == "Hi"


def test_004_retries_for_one_request(client: AzureOpenAI) -> None:
    # max retires for specific requests

    completion = client.with_options(max_retries=5).chat.completions.create(
        messages=[
            {
                "role": "user",
                "content": "When was Microsoft founded?",
            }
        ],
        model="gpt-4o",
    )

    assert completion.choices[0].message.content == "When was Microsoft founded?"


def test_004_error_handling(client: AzureOpenAI, capsys: pytest.CaptureFixture[str]) -> None:
    import openai

    try:
        client.fine_tuning.jobs.create(
            model="gpt-4o",
            training_file="file-test",
        )
    except openai.APIConnectionError as e:
        print("The server could not be reached")
        print(e.__cause__)  # an underlying Exception, likely raised within httpx.
    except openai.RateLimitError as e:
        print("A 429 status code was received; we should back off a bit.")
    except openai.APIStatusError as e:
        print("Another non-200-range status code was received")
        print(e.status_code)
        print(e.response)

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Another non-200-range status code was received"
    assert 400 <= int(lines[1]) < 500


# -- 002: REST with requests, completions, 2022-06-01-preview -------------------------------------------


def run_002(base_url: str, extra_headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The quickstart's script (``requests`` is installed); ``extra_headers`` only picks the responder."""
    import json
    import os  # noqa: F401

    import requests

    apiKey = KEY
    base_url = base_url + "/"  # the page's example endpoint ends with a slash
    deploymentName ="gpt-35-turbo-instruct"

    url = base_url + "openai/deployments/" + deploymentName + "/completions?api-version=2022-06-01-preview"
    prompt = "Once upon a time"
    payload = {
        "prompt":prompt
        }

    r = requests.post(url,
          headers={
            "api-key": apiKey,
            "Content-Type": "application/json",
            **(extra_headers or {}),
          },
          json = payload
        )

    response = json.loads(r.text)
    formatted_response = json.dumps(response, indent=4)

    print(formatted_response)
    assert r.status_code == 200, formatted_response
    return response


def test_002_requests_completion(base_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    response = run_002(base_url)
    assert json.loads(capsys.readouterr().out) == response
    assert response["object"] == "text_completion" and response["id"].startswith("cmpl-")
    choice = response["choices"][0]
    assert choice["text"] == "Once upon a time" and choice["index"] == 0 and choice["logprobs"] is None
    assert choice["finish_reason"] == "stop"
    # Content-filter annotations start with 2023-06-01-preview.
    assert "prompt_filter_results" not in response and "content_filter_results" not in choice


def test_002_default_max_tokens_is_16(base_url: str) -> None:
    response = run_002(base_url, GENERATED)
    assert response["choices"][0]["finish_reason"] == "length"
    assert response["usage"]["completion_tokens"] == 16
    assert response["usage"]["prompt_tokens"] == 4


# -- 003: curl, chat completions, 2023-05-15 ------------------------------------------------------------

CURL_003 = (
    '{"messages":[{"role": "system", "content": "You are a helpful assistant."},{"role": "user", "content": '
    '"Does Azure OpenAI support customer managed keys?"},{"role": "assistant", "content": "Yes, customer '
    'managed keys are supported by Azure OpenAI."},{"role": "user", "content": "Do other Azure AI services '
    'support this too?"}]}'
)


@pytest.mark.parametrize("endpoint_suffix", ["", "/"], ids=["endpoint", "endpoint-with-trailing-slash"])
def test_003_curl_chat(base_url: str, endpoint_suffix: str) -> None:
    endpoint = base_url + endpoint_suffix
    r = httpx.post(
        f"{endpoint}/openai/deployments/gpt-35-turbo/chat/completions?api-version=2023-05-15",
        headers={"Content-Type": "application/json", "api-key": KEY},
        content=CURL_003,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"].startswith("chatcmpl-") and body["object"] == "chat.completion"
    assert body["model"] == "gpt-35-turbo" and isinstance(body["created"], int)
    choice = body["choices"][0]
    assert choice["index"] == 0 and choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["content"] == "Do other Azure AI services support this too?"  # the echo responder
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    # api-versions before 2023-06-01-preview carry no content-filter annotations.
    assert "prompt_filter_results" not in body and "content_filter_results" not in choice


# -- the shipped `quickstarts` scenario: each page's snippet prints what the page shows ------------------

QUICKSTARTS = {"x-aoai-mock-scenario": "quickstarts"}


@pytest.fixture(scope="module")
def quickstarts_url() -> Any:
    from aoai_mock.settings import resolve
    from aoai_mock.testing import LiveServer

    with LiveServer(resolve({"port": 0, "scenarios": ("quickstarts",)}, env={})) as live:
        yield live.url


def test_quickstarts_scenario_004_chat_prints_the_pages_answer(quickstarts_url: str) -> None:
    client = AzureOpenAI(api_key=KEY, api_version="2024-10-21", azure_endpoint=quickstarts_url)
    completion = client.chat.completions.create(model="gpt-4o", messages=SEED_MESSAGES)
    assert completion.choices[0].message.content == (
        "Microsoft was founded on April 4, 1975, by Bill Gates and Paul Allen in Albuquerque, New Mexico."
    )


def test_quickstarts_scenario_002_prints_the_pages_completion(quickstarts_url: str) -> None:
    response = run_002(quickstarts_url)
    assert response["choices"][0]["text"] == " there was a girl who"
    assert response["choices"][0]["finish_reason"] == "length"


def test_quickstarts_scenario_003_reports_the_pages_usage(quickstarts_url: str) -> None:
    r = httpx.post(
        f"{quickstarts_url}/openai/deployments/gpt-35-turbo/chat/completions?api-version=2023-05-15",
        headers={"Content-Type": "application/json", "api-key": KEY},
        content=CURL_003,
    )
    body = r.json()
    assert body["choices"][0]["message"]["content"].startswith("Yes, other Azure AI services also support")
    assert (body["usage"]["prompt_tokens"], body["usage"]["completion_tokens"]) == (58, 68)
