"""Real recorded Azure OpenAI traffic is the oracle: replay every recorded exchange against one live mock.

Reads ../shared/recordings/ (README.md there says what to compare); one test per exchange, id
``family/file#n``. An exchange that does not match today is an xfail naming the differences, so the list of
xfails is the to-do list; ``N of M exchanges match`` closes the module.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aoai_mock.settings import resolve
from aoai_mock.testing import LiveServer

from tests.recordings_compare import Answer, compare, id_pairs

RECORDINGS = Path(__file__).resolve().parents[1].parent / "shared" / "recordings"
KEY = "replay-key"
TTS_VERSION = "2025-03-01-preview"

if not RECORDINGS.is_dir():
    pytest.skip(
        "../shared/recordings is absent (a plain clone): the recorded-traffic comparison needs it",
        allow_module_level=True,
    )

FILES = sorted(p.relative_to(RECORDINGS).as_posix() for p in RECORDINGS.glob("*/*.json"))
EXCHANGES = [
    (name, n) for name in FILES for n in range(len(json.loads((RECORDINGS / name).read_text())["exchanges"]))
]

# Every deployment name the recordings use (request uris and bodies' `model`), as its model. gpt-35-turbo is
# 0301: the Aug 2023 pirate chat counted 68 prompt tokens, 0301's 4 a message (64 in 0613's 3)
# [captured: recordings/chat/js-ChatAcrossModels-2023-08-01-preview].
CONFIG = """
region: East US
deployments:
  - {name: gpt-35-turbo, model: gpt-35-turbo, version: "0301", kind: chat, response_model: gpt-35-turbo,
     operations: [chat.completions, completions], context_window: 4096, responder: generated}
  - {name: gpt-4-0613, model: gpt-4, version: "0613", kind: chat, response_model: gpt-4, context_window: 8192,
     max_output_tokens: 8192, responder: generated}
  - {name: gpt-4-turbo, model: gpt-4, version: turbo-2024-04-09, kind: chat, context_window: 128000,
     responder: generated}
  - {name: gpt-4o, model: gpt-4o, version: "2024-08-06", kind: chat, system_fingerprint: fp_04751d0b65,
     max_output_tokens: 16384, responder: generated}
  - {name: gpt-4o-0806, model: gpt-4o, version: "2024-08-06", kind: chat, system_fingerprint: fp_04751d0b65,
     max_output_tokens: 16384, responder: generated}
  - name: gpt-4o-violence
    model: gpt-4o
    version: "2024-08-06"
    kind: chat
    responder: generated
    content_filter:
      triggers: [{words: [stab], category: violence, severity: medium}]
  - {name: gpt-4o-mini, model: gpt-4o-mini, version: "2024-07-18", kind: chat, system_fingerprint: fp_d54531d9eb,
     max_output_tokens: 16384, responder: generated}
  - name: gpt-4o-mini-async-block-banana
    model: gpt-4o-mini
    version: "2024-07-18"
    kind: chat
    system_fingerprint: fp_7a53abb7a2
    responder: generated
    content_filter:
      mode: asynchronous
      blocklists: [{id: TestBlocklistNoBanana, terms: [banana, bananas]}]
  - {name: o1, model: o1, version: "2024-12-17", kind: chat, reasoning: true, context_window: 200000,
     max_output_tokens: 100000, system_fingerprint: fp_f7bd2a7bb0, responder: generated}
  - {name: o3-mini, model: o3-mini, version: "2025-01-31", kind: chat, reasoning: true, context_window: 200000,
     max_output_tokens: 100000, system_fingerprint: fp_42bfad963b, responder: generated}
  - {name: text-embedding-ada-002, model: text-embedding-ada-002, version: "2", kind: embeddings,
     dimensions: 1536, custom_dimensions: false}
  - {name: text-embedding-3-small, model: text-embedding-3-small, version: "1", kind: embeddings, dimensions: 1536}
  - {name: dall-e-3, model: dall-e-3, version: "3.0", kind: image}
  - {name: whisper, model: whisper, version: "001", kind: audio}
  - {name: tts, model: tts, version: "001", kind: speech}
"""

# The recordings that show a tool call or a filtered text: the scenario makes the mock answer in kind.
SCENARIO = """
name: recordings
rules:
  - name: honolulu-tool-call
    match: {tools: [get_future_temperature], tool_result: false}
    reply: {tool_calls: [{name: get_future_temperature, arguments: {locationName: Honolulu, date: "2023-11-02"}}]}
  - name: weather-tool-call
    match: {tools: [get_weather_at_location], tool_result: false}
    reply: {tool_calls: [{name: get_weather_at_location, arguments: {location: "San Francisco, CA"}}]}
  - name: yellow-fruit-meets-the-blocklist
    match: {operation: chat, message: {contains: yellow and grow on trees}}
    reply:
      text: >-
        Hello! Several popular fruits are yellow and grow on trees. Bananas are the best known, though
        they grow on large herbaceous plants. Lemons grow on citrus trees, and mangoes turn yellow when ripe.
"""


def _id(item: tuple[str, int]) -> str:
    return f"{item[0].removesuffix('.json')}#{item[1]}"


# -- replaying ---------------------------------------------------------------------------------------


class Replay:
    """Replays each recording file once, in order, substituting the ids the mock returned."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.results: dict[tuple[str, int], list[str] | str] = {}  # differences, or the skip reason

    def result(self, name: str, n: int) -> list[str] | str:
        if (name, n) not in self.results:
            self._replay_file(name)
        return self.results[(name, n)]

    def _replay_file(self, name: str) -> None:
        ids: dict[str, str] = {}
        for n, exchange in enumerate(json.loads((RECORDINGS / name).read_text())["exchanges"]):
            request, recorded = exchange["request"], exchange["response"]
            if request.get("skip_replay"):
                self.results[(name, n)] = str(request["skip_replay"])
                continue
            try:
                answer = self._send(_as_sent(name, _substitute(request, ids)))
            except httpx.HTTPError as exc:
                self.results[(name, n)] = [f"transport: {type(exc).__name__}: {exc}"]
                continue
            # Ids the recording names (in an error message, say) are the mock's ids in this replay.
            self.results[(name, n)] = compare(_substitute(recorded, ids), answer, request)
            _learn_ids(recorded, answer, ids)

    def _send(self, request: dict[str, Any]) -> Answer:
        time.sleep(float(request.get("wait_before_s", 0)))
        headers = {"api-key": "wrong-key" if request.get("bad_key") else KEY}
        headers |= request.get("headers", {}) | request.get("mock_headers", {})
        kwargs: dict[str, Any] = {"headers": headers}
        if "multipart" in request:
            kwargs["data"], kwargs["files"] = self._multipart(request["multipart"])
        elif request.get("body") is not None:
            kwargs["json"] = request["body"]
        answer = self._call(request["method"], request["uri"], kwargs)
        until = request.get("poll_until_status")
        deadline = time.monotonic() + 15
        while until and (answer.json() or {}).get("status") != until and time.monotonic() < deadline:
            time.sleep(0.2)
            answer = self._call(request["method"], request["uri"], kwargs)
        return answer

    def _call(self, method: str, uri: str, kwargs: dict[str, Any]) -> Answer:
        with self.client.stream(method, uri, **kwargs) as response:
            text = response.read().decode("utf-8", "replace")
            return _answer(response.status_code, dict(response.headers), text)

    def _multipart(self, form: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
        fields = {k: str(v) for k, v in form.items() if k != "file"}
        spec = form["file"]
        filename = spec["filename"].replace("\\", "/").rsplit("/", 1)[-1]
        return fields, {"file": (filename, self._file_bytes(spec, filename))}

    def _file_bytes(self, spec: dict[str, Any], filename: str) -> bytes:
        if "speech_of" in spec:
            speech = self.client.post(
                f"/openai/deployments/tts/audio/speech?api-version={TTS_VERSION}",
                headers={"api-key": KEY},
                json={"model": "tts", "input": spec["speech_of"], "voice": "alloy", "response_format": "mp3"},
            )
            speech.raise_for_status()
            return speech.content
        if "batch_lines" in spec:
            return _jsonl(_batch_line(i) for i in range(spec["batch_lines"]))
        if "finetune_lines" in spec:
            return _jsonl(_finetune_line(i) for i in range(spec["finetune_lines"]))
        size = int(spec.get("bytes", 16))
        if filename.endswith(".jsonl"):
            line = b'{"text": "' + b"x" * max(0, size - 13) + b'"}\n'
            return line[:size] if size >= 13 else b"x" * size
        return (b"Hello world! " * (size // 13 + 1))[:size]


def _jsonl(lines: Iterator[dict[str, Any]] | Any) -> bytes:
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def _batch_line(i: int) -> dict[str, Any]:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Say the number {i}."}]}
    return {"custom_id": f"task-{i}", "method": "POST", "url": "/chat/completions", "body": body}


def _finetune_line(i: int) -> dict[str, Any]:
    return {"messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": f"What is {i} plus {i}?"},
        {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."},
    ]}


# The JS recorder wrote its playback values over the real values of its environment wherever they occurred,
# prompts included: AZURE_SEARCH_INDEX was "test", so the completions test's ["This is a test"] (4 tokens, as
# recorded) reads "This is a azure_search_index" [captured: Azure/azure-sdk-for-js sdk/openai/openai/test/public/
# openai.spec.ts (the prompt) and test/public/utils/recordedClient.ts (envSetupForPlayback), Aug 2023].
JS_RECORDER_PLACEHOLDERS = {"azure_search_index": "test"}


def _as_sent(name: str, request: dict[str, Any]) -> dict[str, Any]:
    """The request as the client sent it, where the recorder's placeholders stand for what it sent."""
    if not name.split("/")[-1].startswith("js-") or request.get("body") is None:
        return request
    text = json.dumps(request["body"])
    for placeholder, value in JS_RECORDER_PLACEHOLDERS.items():
        text = text.replace(placeholder, value)
    return {**request, "body": json.loads(text)}


def _substitute(recorded: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    if not ids:
        return recorded
    text = json.dumps(recorded)
    pattern = re.compile("|".join(re.escape(k) for k in sorted(ids, key=len, reverse=True)))
    return json.loads(pattern.sub(lambda m: ids[m.group(0)], text))


def _learn_ids(recorded: dict[str, Any], answer: Answer, ids: dict[str, str]) -> None:
    pairs: list[tuple[str, str]] = []
    if "body" in recorded:
        pairs = id_pairs(recorded["body"], answer.json())
    elif "events" in recorded and answer.events:
        got = {e.get("event"): e.get("data") for e in reversed(answer.events)}
        for event in recorded["events"]:
            pairs += id_pairs(event.get("data"), got.get(event.get("event")))
    for old, new in pairs:
        ids.setdefault(old, new)


def _answer(status: int, headers: dict[str, str], text: str) -> Answer:
    headers = {k.lower(): v for k, v in headers.items()}
    answer = Answer(status, headers, text)
    if not headers.get("content-type", "").startswith("text/event-stream"):
        return answer
    blocks = [b for b in text.replace("\r\n", "\n").split("\n\n") if b.strip()]
    parsed = [_sse_block(b) for b in blocks]
    if any(event is not None for event, _ in parsed):
        answer.events = [{"event": event, "data": data} for event, data in parsed]
    else:
        answer.sse = [data for _, data in parsed]
    return answer


def _sse_block(block: str) -> tuple[str | None, Any]:
    event, data = None, []
    for line in block.split("\n"):
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    joined = "\n".join(data)
    try:
        return event, json.loads(joined)
    except ValueError:
        return event, joined


# -- the tests ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    folder = tmp_path_factory.mktemp("recordings-replay")
    (folder / "config.yaml").write_text(CONFIG)
    (folder / "recordings.yaml").write_text(SCENARIO)
    cli = {"port": 0, "api_keys": (KEY,), "config_path": str(folder / "config.yaml"),
           "scenarios": (str(folder / "recordings.yaml"),)}
    with LiveServer(resolve(cli, env={})) as live, httpx.Client(base_url=live.url, timeout=20) as client:
        yield Replay(client)


# Why an exchange cannot match as replayed, where the difference lies in the recording rather than the mock.
WHY_NOT = {
    "errors/issues-error-bodies#1": (
        "an injected 429 waits 1 s by default and says 'Please retry after 1 second.' as Azure words a wait of 1 "
        "(real answers quoted in public issues); the recording's pattern asks for the plural, from an 86400 s wait"
    ),
    "fine_tuning/net-CreateCancelDelete-2025-04-01-preview#1": (
        "the recorded client polled the upload until it was processed (about 6 s, as the file service takes) and "
        "the recording kept only its last GET, without poll_until_status; replayed at once, the upload is pending"
    ),
}


@pytest.mark.parametrize("item", EXCHANGES, ids=[_id(e) for e in EXCHANGES])
def test_exchange_answers_as_azure_answered(replay: Replay, item: tuple[str, int]) -> None:
    result = replay.result(*item)
    if isinstance(result, str):
        print(f"{_id(item)}: SKIPPED ({result})")
        pytest.skip(f"skip_replay: {result}")
    print(f"{_id(item)}: " + ("MATCH" if not result else "; ".join(result)))
    if result:
        why = WHY_NOT.get(_id(item))
        shown = "; ".join(result[:4]) + (f" (+{len(result) - 4} more)" if len(result) > 4 else "")
        pytest.xfail(f"{shown} [{why}]" if why else shown)


def test_summary(replay: Replay, capsys: pytest.CaptureFixture[str]) -> None:
    """Last in the module: how many replayed exchanges match (replays any file not replayed yet)."""
    results = [replay.result(*item) for item in EXCHANGES]
    replayed = [r for r in results if not isinstance(r, str)]
    with capsys.disabled():
        print(f"\nrecordings: {sum(not r for r in replayed)} of {len(replayed)} exchanges match"
              f" ({len(results) - len(replayed)} not replayed: skip_replay)")
