"""One record per request, for every API family: the journal entry of a request a scenario rule answered
(its scenario and rule), of a faulted request (its fault and what became of the response), and its tokens
where the family reports usage. Real SDK calls against a live server, read back from ``/_mock/requests``."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer
from openai import AzureOpenAI

from tests.conftest import GA
from tests.e2e.clients import azure, v1

ADMIN = {"x-aoai-mock-admin-key": "admin-secret"}
PREVIEW = "2025-04-01-preview"  # Responses, assistants v2, gpt-image-1
SCENARIO = """
name: families
rules:
  - name: chat-hello
    match: {operation: chat, message: {contains: hello}}
    reply: {text: Hello from the scenario.}
  - name: old-completions
    match: {operation: completions}
    reply: {text: Completed by the scenario.}
  - name: vectors-refused
    match: {operation: embeddings, message: {contains: refuse}}
    reply: {error: {status: 400, code: scripted, message: refused by the scenario}}
  - name: responses-hello
    match: {operation: responses}
    reply: {text: Responded by the scenario.}
  - name: run-answer
    match: {operation: assistants}
    reply: {text: The assistant's scripted answer.}
  - name: no-images
    match: {operation: images.generations}
    reply: {error: {status: 429, code: "429", message: no images today}}
  - name: no-speech
    match: {operation: audio.speech}
    reply: {error: {status: 500, code: server_error, message: speech is down}}
  - name: no-uploads
    match: {operation: files}
    reply: {error: {status: 503, code: unavailable, message: files are down}}
  - name: no-batches
    match: {operation: batches}
    reply: {error: {status: 400, code: batches_off, message: no batches here}}
  - name: no-fine-tuning
    match: {operation: fine_tuning}
    reply: {error: {status: 400, code: fine_tuning_off, message: no fine-tuning here}}
"""


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with LiveServer(resolve({"port": 0, "admin_key": "admin-secret", "run_seconds": 0}, env={})) as live:
        yield live


@pytest.fixture()
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/_mock", headers=ADMIN) as client:
        client.post("/reset").raise_for_status()
        client.delete("/requests").raise_for_status()
        yield client
        client.post("/scenarios/deactivate")


@pytest.fixture()
def scenario(admin: httpx.Client) -> str:
    loaded = admin.post("/scenarios?activate=true", content=SCENARIO, headers={"content-type": "application/yaml"})
    assert loaded.status_code == 201, loaded.text
    admin.delete("/requests").raise_for_status()
    return "families"


def sdk(server: LiveServer, version: str = GA, fault: str | None = None) -> AzureOpenAI:
    return azure(server, version, fault)


def last(admin: httpx.Client, **filters: Any) -> dict[str, Any]:
    """The newest entry with ``filters``; a request whose connection the client gave up on is recorded
    when the server sees it go, a moment after the client raised, so wait for it (at most 5 s)."""
    deadline = time.monotonic() + 5
    while True:
        entries = admin.get("/requests", params=filters).json()["data"]
        if entries or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert entries, f"no journal entry with {filters}"
    return entries[-1]


def answered_by(entry: dict[str, Any], rule: str) -> None:
    assert (entry["scenario"], entry["rule"]) == ("families", rule), entry
    assert entry["outcome"] == "sent" and entry["fault"] is None


def faulted(entry: dict[str, Any], kind: str, outcome: str, status: int | None) -> None:
    assert entry["fault"]["kind"] == kind and entry["fault"]["source"] == "header", entry
    assert entry["fault"]["effect"], entry
    assert (entry["outcome"], entry["status"]) == (outcome, status), entry


# -- chat completions ------------------------------------------------------------------------------------------


def test_chat(server: LiveServer, admin: httpx.Client, scenario: str) -> None:
    answer = sdk(server).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hello"}])
    assert answer.choices[0].message.content == "Hello from the scenario."
    entry = last(admin, operation="chat.completions")
    answered_by(entry, "chat-hello")
    assert entry["responder"] == "scenario" and entry["api_version"] == GA
    assert entry["tokens"] == {"prompt": answer.usage.prompt_tokens, "completion": answer.usage.completion_tokens}
    assert entry["response"]["body"]["choices"][0]["message"]["content"] == "Hello from the scenario."

    stream = sdk(server, fault="cut=3").chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hello there"}], stream=True)
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    entry = last(admin, fault="cut")
    faulted(entry, "cut", "cut", 200)
    assert entry["stream"] is True and entry["events"] == 3 and entry["rule"] == "chat-hello"


def test_chat_transport_faults_say_what_was_sent(server: LiveServer, admin: httpx.Client) -> None:
    for kind, outcome in (("reset", "reset"), ("close", "closed")):
        with pytest.raises(openai.APIConnectionError):
            sdk(server, fault=kind).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": kind}])
        faulted(last(admin, fault=kind), kind, outcome, None)
    client = sdk(server, fault="hang").with_options(timeout=0.5)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hang"}])
    entry = last(admin, fault="hang")
    faulted(entry, "hang", "hung", None)
    stream = sdk(server, fault="malformed=2").chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "broken"}], stream=True)
    with pytest.raises(Exception):  # noqa: B017  (the SDK's JSON decoder says it its own way)
        list(stream)
    faulted(last(admin, fault="malformed"), "malformed", "malformed", 200)


# -- completions and embeddings -----------------------------------------------------------------------------------


def test_completions(server: LiveServer, admin: httpx.Client, scenario: str) -> None:
    done = sdk(server).completions.create(model="gpt-35-turbo-instruct", prompt="Say something")
    assert done.choices[0].text == "Completed by the scenario."
    entry = last(admin, operation="completions")
    answered_by(entry, "old-completions")
    assert entry["tokens"] == {"prompt": done.usage.prompt_tokens, "completion": done.usage.completion_tokens}

    with pytest.raises(openai.InternalServerError):
        sdk(server, fault="500").completions.create(model="gpt-35-turbo-instruct", prompt="Say more")
    faulted(last(admin, fault="500"), "500", "sent", 500)


def test_embeddings(server: LiveServer, admin: httpx.Client, scenario: str) -> None:
    with pytest.raises(openai.BadRequestError, match="refused by the scenario"):
        sdk(server).embeddings.create(model="text-embedding-3-small", input="refuse this")
    entry = last(admin, operation="embeddings")
    assert (entry["scenario"], entry["rule"], entry["status"]) == ("families", "vectors-refused", 400)

    made = sdk(server).embeddings.create(model="text-embedding-3-small", input="count these tokens")
    entry = last(admin, operation="embeddings", status=200)
    assert (entry["scenario"], entry["rule"]) == ("families", "(default reply)")
    assert entry["tokens"] == {"prompt": made.usage.prompt_tokens, "completion": 0}

    with pytest.raises(openai.RateLimitError):
        sdk(server, fault="429").embeddings.create(model="text-embedding-3-small", input="throttled")
    entry = last(admin, fault="429")
    faulted(entry, "429", "sent", 429)
    assert entry["response_headers"]["retry-after-ms"]


# -- the Responses API --------------------------------------------------------------------------------------------


def test_responses(server: LiveServer, admin: httpx.Client, scenario: str) -> None:
    made = sdk(server, PREVIEW).responses.create(model="gpt-4o", input="Tell me something")
    assert made.output_text == "Responded by the scenario."
    entry = last(admin, operation="responses")
    answered_by(entry, "responses-hello")
    assert entry["deployment"] == "gpt-4o" and entry["body"]["input"] == "Tell me something"
    assert entry["tokens"] == {"prompt": made.usage.input_tokens, "completion": made.usage.output_tokens}

    stream = v1(server, fault="cut=2").responses.create(model="gpt-4o", input="Tell me more", stream=True)
    with pytest.raises(openai.APIConnectionError):
        list(stream)
    entry = last(admin, fault="cut")
    faulted(entry, "cut", "cut", 200)
    assert entry["events"] == 2 and entry["path"] == "/openai/v1/responses"


def test_a_faulted_responses_request_keeps_its_body(server: LiveServer, admin: httpx.Client) -> None:
    with pytest.raises(openai.InternalServerError):
        sdk(server, PREVIEW, fault="503").responses.create(model="gpt-4o", input="keep me")
    entry = last(admin, fault="503")
    faulted(entry, "503", "sent", 503)
    assert entry["body"]["input"] == "keep me"


# -- assistants: runs, polled and streamed -------------------------------------------------------------------------


def _thread_and_assistant(client: AzureOpenAI) -> tuple[str, str]:
    assistant = client.beta.assistants.create(model="gpt-4o", instructions="Answer briefly.")
    thread = client.beta.threads.create(messages=[{"role": "user", "content": "What is new?"}])
    return assistant.id, thread.id


def test_assistant_runs(server: LiveServer, admin: httpx.Client, scenario: str) -> None:
    client = sdk(server, PREVIEW)
    assistant_id, thread_id = _thread_and_assistant(client)
    run = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed"
    answering = [e for e in admin.get("/requests", params={"operation": "assistants"}).json()["data"]
                 if e["rule"] is not None]
    # The turn is taken while the run is polled: that one request carries the rule, and the run's tokens.
    (polled,) = answering
    answered_by(polled, "run-answer")
    assert polled["method"] == "GET" and f"/runs/{run.id}" in polled["path"]
    assert run.usage is not None
    assert polled["tokens"] == {"prompt": run.usage.prompt_tokens, "completion": run.usage.completion_tokens}

    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as events:
        text = "".join(events.text_deltas)
    assert text == "The assistant's scripted answer."
    streamed = [e for e in admin.get("/requests", params={"operation": "assistants"}).json()["data"] if e["stream"]][-1]
    answered_by(streamed, "run-answer")
    assert streamed["events"] and streamed["outcome"] == "sent"


def test_assistant_run_streams_take_stream_faults(server: LiveServer, admin: httpx.Client) -> None:
    client = sdk(server, PREVIEW)
    assistant_id, thread_id = _thread_and_assistant(client)
    faulty = sdk(server, PREVIEW, fault="cut=2")
    # The assistant stream helper lets the transport's own error through (the connection dropped mid-body).
    with pytest.raises(Exception, match="incomplete chunked read|Connection error"):
        with faulty.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as events:
            events.until_done()
    entry = last(admin, fault="cut")
    faulted(entry, "cut", "cut", 200)
    assert entry["events"] == 2 and entry["stream"] is True


# -- files, batches, fine-tuning, images, audio ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "call", "error", "status"),
    [
        ("no-uploads", lambda c: c.files.create(file=("a.jsonl", b"{}"), purpose="batch"),
         openai.InternalServerError, 503),
        ("no-batches", lambda c: c.batches.create(input_file_id="file-x", endpoint="/chat/completions",
                                                  completion_window="24h"), openai.BadRequestError, 400),
        ("no-fine-tuning", lambda c: c.fine_tuning.jobs.create(model="gpt-4o-mini", training_file="file-x"),
         openai.BadRequestError, 400),
        ("no-images", lambda c: c.images.generate(model="dall-e-3", prompt="a lighthouse"), openai.RateLimitError, 429),
        ("no-speech", lambda c: c.audio.speech.create(model="tts", voice="alloy", input="hello"),
         openai.InternalServerError, 500),
    ],
    ids=["files", "batches", "fine-tuning", "images", "audio"],
)
def test_resource_families_answered_by_a_scenario_rule(
    server: LiveServer, admin: httpx.Client, scenario: str, rule: str, call: Any, error: type, status: int
) -> None:
    with pytest.raises(error):
        call(sdk(server, PREVIEW))
    entry = last(admin, rule=rule)
    assert (entry["scenario"], entry["rule"], entry["status"], entry["outcome"]) == ("families", rule, status, "sent")


@pytest.mark.parametrize(
    ("kind", "outcome", "status", "call"),
    [
        ("reset", "reset", None, lambda c: c.files.list()),
        ("503", "sent", 503, lambda c: c.batches.list()),
        ("close", "closed", None, lambda c: c.fine_tuning.jobs.list()),
        ("429", "sent", 429, lambda c: c.images.generate(model="dall-e-3", prompt="a lighthouse")),
        ("500", "sent", 500, lambda c: c.audio.transcriptions.create(model="whisper", file=("a.wav", io.BytesIO(b"RIFF")))),
    ],
    ids=["files", "batches", "fine-tuning", "images", "audio"],
)
def test_resource_families_journal_their_faults(
    server: LiveServer, admin: httpx.Client, kind: str, outcome: str, status: int | None, call: Any
) -> None:
    with pytest.raises(openai.APIError):
        call(sdk(server, PREVIEW, fault=kind))
    entry = last(admin, fault=kind)
    faulted(entry, kind, outcome, status)
    assert entry["operation"] is not None


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [("stall=2;seconds=0.01", "sent"), ("malformed=2", "malformed"), ("stream_error=2", "error_event")],
    ids=["stall", "malformed", "error-event"],
)
def test_assistant_run_streams_take_every_stream_fault(
    server: LiveServer, admin: httpx.Client, fault: str, outcome: str
) -> None:
    client = sdk(server, PREVIEW)
    assistant_id, thread_id = _thread_and_assistant(client)
    faulty = sdk(server, PREVIEW, fault=fault)
    kind = fault.split("=")[0]
    if kind == "stall":
        with faulty.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as events:
            events.until_done()
            assert events.current_run is not None and events.current_run.status == "completed"
    else:
        # A broken event fails the SDK's JSON parser; an error event is raised as the APIError it carries.
        with pytest.raises((ValueError, openai.APIError)):
            with faulty.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as events:
                events.until_done()
    entry = last(admin, fault=kind)
    faulted(entry, kind, outcome, 200)
    assert entry["stream"] is True


def test_image_usage_is_journaled_and_counted(server: LiveServer, admin: httpx.Client) -> None:
    made = sdk(server, PREVIEW).images.generate(model="gpt-image-1", prompt="a lighthouse", size="1024x1024",
                                                quality="low")
    assert made.usage is not None
    entry = last(admin, operation="images.generations")
    assert entry["tokens"] == {"prompt": made.usage.input_tokens, "completion": made.usage.output_tokens}
    scraped = httpx.get(f"{server.url}/metrics").text
    assert 'aoai_mock_tokens_total{deployment="gpt-image-1",kind="completion",operation="images.generations"}' in scraped



def test_a_client_retrying_on_its_own_is_linked_and_the_fault_log_agrees(server: LiveServer, admin: httpx.Client) -> None:
    """As langchain-js, llama-index or litellm's num_retries do: the SDK's own retries off (every attempt says
    x-stainless-retry-count: 0), the same request sent again after the 429, within the wait it asked for."""
    client = sdk(server)
    ask = {"model": "gpt-4o", "messages": [{"role": "user", "content": "retry me"}]}
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**ask, extra_headers={"x-aoai-mock-fault": "429;retry_after_ms=10"})
    client.chat.completions.create(**ask)
    failed, retried = admin.get("/requests", params={"path": "/openai/deployments/gpt-4o/chat/completions"}).json()["data"]
    assert failed["retry_count"] == retried["retry_count"] == 0
    assert retried["retry"]["of"] == failed["seq"] and retried["retry"]["after_status"] == 429
    (injected,) = admin.get("/faults").json()["injected"]
    assert injected["client"]["answer"] == "retried" and injected["client"]["request_id"] == retried["id"]
    assert injected["client"]["after_ms"] == retried["retry"]["wait_ms"]
