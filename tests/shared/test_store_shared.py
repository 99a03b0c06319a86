"""Stored objects in Redis, with real processes: two ``serve`` commands on one Redis. A file uploaded through one
is downloaded through the other, an assistants run created through one is polled to completion through the
other, a batch created on one is answered and read on the other, ids made from one ``--seed`` by both at once
never collide; and a Redis that keeps its data (append-only file, fsync always) killed and started again: a
500 in Azure's shape meanwhile, then every object acknowledged before is there again, with no restart."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import openai
import pytest
from openai import AzureOpenAI

from tests.processes import running
from tests.redis_server import REDIS_SERVER, RedisServer
from tests.shared.test_fault_schedules import until

pytestmark = pytest.mark.filterwarnings("ignore:.*(deprecated|Assistants API).*:DeprecationWarning")

GA = "2024-10-21"
PREVIEW = "2024-05-01-preview"  # assistants
RESPONSES = "2025-03-01-preview"
SPEECH_PREVIEW = "2024-10-01-preview"
KEY = {"api-key": "k"}


def sdk(url: str, version: str = GA) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=url, api_key="k", api_version=version, max_retries=0)


SERVE = ("--run-seconds", "0", "--batch-seconds", "0", "--fine-tuning-seconds", "0", "--seed", "7")


@pytest.fixture()
def two(redis_url: str) -> Iterator[tuple[str, str]]:
    """Two servers on one Redis (runs, batches and fine-tuning jobs finish at once), their URLs."""
    with ExitStack() as stack:
        urls = [stack.enter_context(running("serve", "--state", redis_url, *SERVE))[0] for _ in range(2)]
        yield urls[0], urls[1]


def test_a_file_uploaded_through_one_is_downloaded_through_the_other(two: tuple[str, str]) -> None:
    one, other = sdk(two[0]), sdk(two[1])
    data = os.urandom(9 * 1024 * 1024 + 17)  # several pieces in Redis
    uploaded = one.files.create(file=("data.bin", data), purpose="assistants")
    assert other.files.retrieve(uploaded.id).model_dump() == uploaded.model_dump()
    assert other.files.content(uploaded.id).content == data
    assert [f.id for f in other.files.list()] == [uploaded.id]
    assert other.files.delete(uploaded.id).deleted
    assert httpx.get(f"{two[0]}/openai/files/{uploaded.id}?api-version={GA}", headers=KEY).status_code == 404


def test_an_assistants_run_created_through_one_is_polled_to_completion_through_the_other(two: tuple[str, str]) -> None:
    one, other = sdk(two[0], PREVIEW), sdk(two[1], PREVIEW)
    assistant = one.beta.assistants.create(model="gpt-4o", instructions="Answer briefly.")
    thread = one.beta.threads.create(messages=[{"role": "user", "content": "Say hello"}])
    run = one.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant.id)
    until(lambda: other.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed")
    messages = other.beta.threads.messages.list(thread_id=thread.id, order="asc").data
    assert [m.role for m in messages] == ["user", "assistant"] and messages[1].run_id == run.id
    assert one.beta.threads.runs.retrieve(run.id, thread_id=thread.id).status == "completed"
    assert [s.status for s in one.beta.threads.runs.steps.list(run.id, thread_id=thread.id)] == ["completed"]
    assert other.beta.assistants.retrieve(assistant.id).instructions == "Answer briefly."


def test_a_response_stored_through_one_is_continued_through_the_other(two: tuple[str, str]) -> None:
    """Small requests, and large ones answered in a worker thread: both read and keep stored responses in Redis."""
    one, other = sdk(two[0], RESPONSES), sdk(two[1], RESPONSES)
    for text in ("My name is Ada.", "lorem ipsum " * 6_000):
        first = one.responses.create(model="gpt-4o", input=text)
        second = other.responses.create(model="gpt-4o", input="And then?", previous_response_id=first.id)
        assert first.usage and second.usage and second.usage.input_tokens > first.usage.input_tokens
        assert one.responses.retrieve(second.id).previous_response_id == first.id
        other.responses.delete(first.id)
        with pytest.raises(openai.BadRequestError):
            one.responses.create(model="gpt-4o", input=text, previous_response_id=first.id)


def test_a_batch_created_on_one_is_read_and_answered_on_the_other(two: tuple[str, str]) -> None:
    one, other = sdk(two[0]), sdk(two[1])
    rows = [
        {"custom_id": f"task-{i}", "method": "POST", "url": "/chat/completions",
         "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": f"Question {i}"}]}}
        for i in range(5)
    ]  # fmt: skip
    lines = "".join(json.dumps(row) + "\n" for row in rows).encode()
    input_file = one.files.create(file=("requests.jsonl", lines), purpose="batch")
    batch = one.batches.create(input_file_id=input_file.id, endpoint="/chat/completions", completion_window="24h")
    until(lambda: other.batches.retrieve(batch.id).status == "completed")
    done = one.batches.retrieve(batch.id)
    assert (done.request_counts.completed, done.request_counts.total) == (5, 5)
    output = [json.loads(line) for line in one.files.content(done.output_file_id).text.splitlines()]
    assert [line["custom_id"] for line in output] == [f"task-{i}" for i in range(5)]
    assert [b.id for b in one.batches.list()] == [batch.id]


def test_a_fine_tuned_model_is_served_where_its_job_was_read_and_by_processes_started_after(
    two: tuple[str, str], redis_url: str
) -> None:
    one, other = sdk(two[0]), sdk(two[1])
    examples = [
        {"messages": [{"role": "user", "content": f"What is {i} + {i}?"}, {"role": "assistant", "content": f"{2 * i}"}]}
        for i in range(12)
    ]
    training = one.files.create(file=("train.jsonl", "".join(json.dumps(e) + "\n" for e in examples).encode()),
                                purpose="fine-tune")  # fmt: skip
    job = one.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=training.id)
    until(lambda: one.fine_tuning.jobs.retrieve(job.id).status == "succeeded")
    model = one.fine_tuning.jobs.retrieve(job.id).fine_tuned_model
    chat = {"model": model, "messages": [{"role": "user", "content": "What is 2 + 2?"}]}
    assert one.chat.completions.create(**chat).model == model
    assert other.fine_tuning.jobs.retrieve(job.id).status == "succeeded"  # read here: served here too
    assert other.chat.completions.create(**chat).model == model
    with running("serve", "--state", redis_url, *SERVE) as (later, _):
        assert sdk(later).chat.completions.create(**chat).model == model


def test_an_image_url_one_process_handed_out_is_served_by_the_other(two: tuple[str, str]) -> None:
    path = f"/openai/deployments/dall-e-3/images/generations?api-version={GA}"
    answer = httpx.post(two[0] + path, json={"prompt": "A red fox", "response_format": "url"}, headers=KEY, timeout=30)
    image = urlsplit(answer.json()["data"][0]["url"]).path
    there, here = httpx.get(two[1] + image, timeout=30), httpx.get(two[0] + image, timeout=30)
    assert there.status_code == 200 and there.headers["content-type"] == "image/png"
    assert there.content == here.content  # rendered again there, identically
    assert httpx.post(two[1] + "/_mock/state/reset").status_code == 200
    assert httpx.get(two[0] + image).status_code == 404  # forgotten everywhere


def test_audio_one_process_spoke_is_transcribed_to_its_text_by_the_other(two: tuple[str, str]) -> None:
    speech = f"/openai/deployments/tts/audio/speech?api-version={SPEECH_PREVIEW}"
    text = "The quick brown fox jumps over the lazy dog."
    spoken = httpx.post(two[0] + speech, json={"input": text, "voice": "alloy", "response_format": "aac"},
                        headers=KEY, timeout=60)  # fmt: skip
    assert spoken.status_code == 200  # ADTS: no room in the file for its text
    transcribe = f"/openai/deployments/whisper/audio/transcriptions?api-version={GA}"
    heard = httpx.post(two[1] + transcribe, files={"file": ("speech.m4a", spoken.content)}, headers=KEY, timeout=60)
    assert heard.status_code == 200, heard.text
    assert heard.json()["text"] == text


def test_ids_from_one_seed_never_collide_when_both_create_at_once(two: tuple[str, str], redis_url: str) -> None:
    def upload(n: int) -> tuple[str, bytes]:
        data = f"file number {n}\n".encode()
        return sdk(two[n % 2]).files.create(file=(f"f{n}.txt", data), purpose="assistants").id, data

    with ThreadPoolExecutor(10) as pool:
        made = list(pool.map(upload, range(50)))
    assert len({file_id for file_id, _ in made}) == 50
    assert len(sdk(two[0]).files.list().data) == 20 and len(list(sdk(two[1]).files.list())) == 50  # pages
    for n, (file_id, data) in enumerate(made):
        assert sdk(two[(n + 1) % 2]).files.content(file_id).content == data  # read through the other
    reset = httpx.post(two[0] + "/_mock/state/reset")
    assert reset.json() == {"reset": True, "state": redis_url}
    assert sdk(two[1]).files.list().data == []  # forgotten for every process


# -- a Redis that is slow to answer ------------------------------------------------------------------------------------
def test_a_request_waiting_for_the_store_holds_up_no_other(redis_server: RedisServer, redis_url: str) -> None:
    """Redis paused (SIGSTOP): a files request waits for the store, on the event loop without blocking it, while
    a chat request on the same process (no quota, fault or scenario: nothing in Redis) is answered at once."""
    with running("serve", "--state", redis_url) as (url, _), httpx.Client(headers=KEY, timeout=30) as client:
        files, chat = f"{url}/openai/files?api-version={GA}", f"{url}/openai/deployments/gpt-4o/chat/completions"
        ask = {"messages": [{"role": "user", "content": "hi"}]}
        assert client.get(files).status_code == 200  # everything loaded, the store's connection made
        assert client.post(chat + f"?api-version={GA}", json=ask).status_code == 200
        assert redis_server.proc is not None
        os.kill(redis_server.proc.pid, signal.SIGSTOP)
        try:
            with ThreadPoolExecutor(1) as pool:
                waiting = pool.submit(lambda: httpx.get(files, headers=KEY, timeout=30))
                time.sleep(0.3)  # the files request reaches the server and waits for Redis (its timeout: 2 s)
                started = time.monotonic()
                answer = client.post(chat + f"?api-version={GA}", json=ask)
                took = time.monotonic() - started
                assert answer.status_code == 200 and not waiting.done()
                assert took < 1.0, f"the chat answer waited {took:.2f} s for the store's request"
                os.kill(redis_server.proc.pid, signal.SIGCONT)
                assert waiting.result().status_code in (200, 500)  # answered, or timed out: Azure's 500
        finally:
            os.kill(redis_server.proc.pid, signal.SIGCONT)
        assert client.get(files).status_code == 200


# -- a Redis that keeps its data, killed and started again -----------------------------------------------------------
class PersistentRedis(RedisServer):
    """A redis-server that writes each change to its append-only file, fsynced, before it answers."""

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                   "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no"]  # fmt: skip
        with open(self.folder / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        until(self.answers)

    def kill(self) -> None:
        """Gone at once, as a crash: nothing written at shutdown."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture()
def persistent(tmp_path: Path) -> Iterator[PersistentRedis]:
    if shutil.which(REDIS_SERVER) is None:
        pytest.skip(f"{REDIS_SERVER} is missing: install Debian's redis-server (apt-get install -y redis-server)")
    server = PersistentRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_killed_redis_is_a_500_and_what_it_acknowledged_is_there_when_it_is_back(persistent: PersistentRedis) -> None:
    with running("serve", "--state", persistent.url) as (url, proc):
        client = sdk(url)
        data = os.urandom(300_000)
        uploaded = client.files.create(file=("kept.bin", data), purpose="assistants")
        assistant = sdk(url, PREVIEW).beta.assistants.create(model="gpt-4o", name="kept")
        persistent.kill()
        try:
            started = time.monotonic()
            failed = httpx.get(f"{url}/openai/files/{uploaded.id}?api-version={GA}", headers=KEY, timeout=30)
            assert time.monotonic() - started < 10
            assert failed.status_code == 500
            error = failed.json()["error"]
            assert error["type"] == "server_error" and "The server had an error" in error["message"]
            assert failed.headers["apim-request-id"] in error["message"]
            assert httpx.post(f"{url}/openai/files?api-version={GA}", headers=KEY,
                              files={"file": ("x.txt", b"x", "text/plain")}, data={"purpose": "assistants"}
                              ).status_code == 500  # fmt: skip
            assert httpx.get(url + "/_mock/health").status_code == 200  # nothing stored asked for
        finally:
            persistent.start()
        until(lambda: httpx.get(f"{url}/openai/files/{uploaded.id}?api-version={GA}", headers=KEY).status_code == 200)
        assert client.files.content(uploaded.id).content == data
        assert sdk(url, PREVIEW).beta.assistants.retrieve(assistant.id).name == "kept"
        assert [f.id for f in client.files.list()] == [uploaded.id]  # the refused upload stored nothing
    log = proc.stdout.read().decode()
    assert f"Redis at {persistent.url} is unavailable" in log
    assert log.count("is unavailable") == 1 and log.count(f"Redis at {persistent.url} answers again\n") == 1
    assert "Traceback" not in log
