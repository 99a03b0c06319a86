"""The openai SDK's realtime clients against a live mock: the beta client (``beta.realtime.connect``, preview
events) and the GA client (``realtime.connect``, GA events), sync and async, each holding a text turn, an
audio turn and a tool-call turn."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from aoai_mock.testing import LiveServer
from openai import AsyncAzureOpenAI, AsyncOpenAI, AzureOpenAI, OpenAI

from tests.conftest import KEY
from tests.realtime.conftest import QUESTION, question_pcm

PREVIEW = "2025-04-01-preview"
WEATHER = {"x-aoai-mock-scenario": "weather-agent"}
TOOL = {"type": "function", "name": "get_current_weather", "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}


def _azure(server: LiveServer, version: str = PREVIEW) -> AzureOpenAI:
    ws = server.url.replace("http://", "ws://") + "/openai"
    return AzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=version, websocket_base_url=ws)


def _v1(server: LiveServer) -> OpenAI:
    ws = server.url.replace("http://", "ws://") + "/openai/v1"
    return OpenAI(base_url=server.url + "/openai/v1", api_key=KEY, websocket_base_url=ws)


def _until_done(connection: Any) -> list[Any]:
    events = []
    for event in connection:
        events.append(event)
        if event.type in ("response.done", "error"):
            return events
    raise AssertionError("the socket closed before response.done")


async def _until_done_async(connection: Any) -> list[Any]:
    events = []
    async for event in connection:
        events.append(event)
        if event.type in ("response.done", "error"):
            return events
    raise AssertionError("the socket closed before response.done")


def _types(events: list[Any]) -> list[str]:
    return [e.type for e in events]


def _say(text: str) -> dict[str, Any]:
    return {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}


# -- text ------------------------------------------------------------------------------------------------------


def test_beta_sync_text_turn(server: LiveServer) -> None:
    with _azure(server).beta.realtime.connect(model="gpt-4o-realtime-preview") as connection:
        created = connection.recv()
        assert created.type == "session.created"
        assert created.session.modalities == ["text", "audio"] and created.session.input_audio_format == "pcm16"
        connection.session.update(session={"modalities": ["text"], "instructions": "Be brief."})
        assert connection.recv().session.modalities == ["text"]
        connection.conversation.item.create(item=_say("Hello from the beta client"))
        assert connection.recv().type == "conversation.item.created"
        connection.response.create()
        events = _until_done(connection)
    types = _types(events)
    assert types[:4] == ["response.created", "response.output_item.added", "conversation.item.created",
                         "response.content_part.added"]
    deltas = [e.delta for e in events if e.type == "response.text.delta"]
    assert "".join(deltas) == "Hello from the beta client"
    assert "response.text.done" in types and "rate_limits.updated" in types
    done = events[-1].response
    assert done.status == "completed" and done.output[0].content[0].text == "Hello from the beta client"
    assert done.usage.output_tokens == len(deltas) and done.usage.input_tokens > 0
    assert done.usage.total_tokens == done.usage.input_tokens + done.usage.output_tokens


def test_ga_sync_text_turn_on_v1(server: LiveServer) -> None:
    with _v1(server).realtime.connect(model="gpt-realtime") as connection:
        created = connection.recv()
        assert created.session.type == "realtime"
        assert created.session.audio.input.format.type == "audio/pcm"
        assert created.session.audio.input.format.rate == 24000
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
        assert connection.recv().session.output_modalities == ["text"]
        connection.conversation.item.create(item=_say("Hello from GA"))
        assert _types([connection.recv(), connection.recv()]) == ["conversation.item.added", "conversation.item.done"]
        connection.response.create()
        events = _until_done(connection)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Hello from GA"
    assert "response.text.delta" not in _types(events)
    assert events[-1].response.output[0].content[0].type == "output_text"



def test_async_clients(server: LiveServer) -> None:
    async def beta() -> str:
        ws = server.url.replace("http://", "ws://") + "/openai"
        client = AsyncAzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=PREVIEW, websocket_base_url=ws)
        async with client.beta.realtime.connect(model="gpt-4o-mini-realtime-preview") as connection:
            await connection.recv()
            await connection.session.update(session={"modalities": ["text"]})
            await connection.recv()
            await connection.conversation.item.create(item=_say("async beta"))
            await connection.response.create()
            events = await _until_done_async(connection)
        return "".join(e.delta for e in events if e.type == "response.text.delta")

    async def ga() -> str:
        ws = server.url.replace("http://", "ws://") + "/openai"
        client = AsyncAzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version="2025-08-28",
                                  websocket_base_url=ws)
        async with client.realtime.connect(model="gpt-realtime") as connection:
            assert (await connection.recv()).session.type == "realtime"
            await connection.session.update(session={"type": "realtime", "output_modalities": ["text"]})
            await connection.recv()
            await connection.conversation.item.create(item=_say("async GA"))
            await connection.response.create()
            events = await _until_done_async(connection)
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")

    async def both() -> tuple[str, str]:
        return await asyncio.gather(beta(), ga())  # type: ignore[return-value]

    assert list(asyncio.run(both())) == ["async beta", "async GA"]


# -- audio -----------------------------------------------------------------------------------------------------


def test_beta_sync_audio_turn_with_commit(server: LiveServer) -> None:
    """PCM in (committed by hand), its transcript from the transcription fixture, audio and transcript out."""
    with _azure(server).beta.realtime.connect(model="gpt-4o-realtime-preview") as connection:
        connection.recv()
        connection.session.update(session={"turn_detection": None, "input_audio_transcription": {"model": "whisper-1"}})
        connection.recv()
        pcm = question_pcm()
        for start in range(0, len(pcm), 24_000):
            connection.input_audio_buffer.append(audio=base64.b64encode(pcm[start : start + 24_000]).decode())
        connection.input_audio_buffer.commit()
        committed = [connection.recv() for _ in range(3)]
        assert _types(committed) == ["input_audio_buffer.committed", "conversation.item.created",
                                     "conversation.item.input_audio_transcription.completed"]
        assert committed[2].transcript == QUESTION
        connection.response.create()
        events = _until_done(connection)
    transcript = "".join(e.delta for e in events if e.type == "response.audio_transcript.delta")
    assert transcript == QUESTION  # the echo responder says the question back
    audio = b"".join(base64.b64decode(e.delta) for e in events if e.type == "response.audio.delta")
    assert len(audio) > 24_000 and len(audio) % 2 == 0  # PCM16 at 24 kHz: more than half a second
    usage = events[-1].response.usage
    assert usage.input_token_details.audio_tokens > 0 and usage.output_token_details.audio_tokens > 0


def test_ga_sync_audio_turn_with_server_vad(server: LiveServer) -> None:
    """Server VAD hears the speech start and stop from the PCM's energy, commits it and answers in audio."""
    with _v1(server).realtime.connect(model="gpt-realtime") as connection:
        connection.recv()
        pcm = question_pcm()
        for start in range(0, len(pcm), 4_800):  # 100 ms appends
            connection.input_audio_buffer.append(audio=base64.b64encode(pcm[start : start + 4_800]).decode())
        events = _until_done(connection)
    types = _types(events)
    assert types[:3] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                         "input_audio_buffer.committed"]
    started, stopped = events[0], events[1]
    assert started.audio_start_ms == 0 and stopped.audio_end_ms > 1000
    assert started.item_id == stopped.item_id == events[2].item_id
    assert "response.output_audio.delta" in types and "response.output_audio_transcript.done" in types
    assert events[-1].response.output[0].content[0].type == "output_audio"


def test_audio_the_mock_spoke_transcribes_back(server: LiveServer) -> None:
    """The mock's own speech, sent back as input audio, is heard as the text it said."""
    with _azure(server).beta.realtime.connect(model="gpt-4o-realtime-preview") as connection:
        connection.recv()
        connection.session.update(session={"turn_detection": None})
        connection.recv()
        connection.conversation.item.create(item=_say("Round trip"))
        connection.recv()
        connection.response.create()
        spoken = b"".join(base64.b64decode(e.delta) for e in _until_done(connection) if e.type == "response.audio.delta")
        connection.input_audio_buffer.append(audio=base64.b64encode(spoken).decode())
        connection.input_audio_buffer.commit()
        connection.recv()
        item = connection.recv()
        assert item.type == "conversation.item.created"
        connection.response.create()
        events = _until_done(connection)
    assert events[-1].response.output[0].content[0].transcript == "Round trip"


# -- tools -----------------------------------------------------------------------------------------------------


def test_beta_sync_tool_call_turn(server: LiveServer) -> None:
    client = _azure(server)
    with client.beta.realtime.connect(model="gpt-4o-realtime-preview", extra_headers=WEATHER) as connection:
        connection.recv()
        connection.session.update(session={"modalities": ["text"], "tools": [TOOL]})
        connection.recv()
        connection.conversation.item.create(item=_say("What's the weather in Paris?"))
        connection.recv()
        connection.response.create()
        events = _until_done(connection)
        call = events[-1].response.output[0]
        assert call.type == "function_call" and call.name == "get_current_weather"
        pieces = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
        assert len(pieces) > 1 and "".join(pieces) == call.arguments
        assert '"location":"Paris"' in call.arguments
        output = {"type": "function_call_output", "call_id": call.call_id, "output": '{"location": "Paris", "temperature": 21}'}
        connection.conversation.item.create(item=output)
        connection.recv()
        connection.response.create()
        answer = _until_done(connection)
    assert answer[-1].response.output[0].content[0].text == "In Paris it is 21 degrees celsius."


def test_ga_async_tool_call_turn(server: LiveServer) -> None:
    async def run() -> Any:
        ws = server.url.replace("http://", "ws://") + "/openai/v1"
        client = AsyncOpenAI(base_url=server.url + "/openai/v1", api_key=KEY, websocket_base_url=ws)
        async with client.realtime.connect(model="gpt-realtime", extra_headers=WEATHER) as connection:
            await connection.recv()
            await connection.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [TOOL]})
            await connection.recv()
            await connection.conversation.item.create(item=_say("What's the weather in Oslo?"))
            await connection.response.create()
            return await _until_done_async(connection)

    events = asyncio.run(run())
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(done) == 1 and done[0].name == "get_current_weather" and "Oslo" in done[0].arguments


def test_ga_audio_item_is_heard_through_the_transcription_fixtures(server: LiveServer) -> None:
    """An ``input_audio`` part sent whole in ``conversation.item.create`` is transcribed as a committed buffer is."""
    audio = base64.b64encode(question_pcm()).decode()
    with _v1(server).realtime.connect(model="gpt-realtime") as connection:
        connection.recv()
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"],
                                           "audio": {"input": {"transcription": {"model": "whisper"}}}})
        connection.recv()
        connection.conversation.item.create(item={"type": "message", "role": "user",
                                                  "content": [{"type": "input_audio", "audio": audio}]})
        added = connection.recv()
        assert added.item.content[0].transcript == QUESTION and added.item.content[0].audio is None
        connection.recv()
        connection.response.create()
        events = _until_done(connection)
    assert events[-1].response.output[0].content[0].text == QUESTION
    assert events[-1].response.usage.input_token_details.audio_tokens > 0


def test_async_audio_and_tool_turns_in_both_eras(server: LiveServer) -> None:
    """The async clients: the beta client's audio and tool-call turns, the GA client's audio turn (server VAD)."""
    pcm = question_pcm()

    async def beta() -> tuple[str, str]:
        ws = server.url.replace("http://", "ws://") + "/openai"
        client = AsyncAzureOpenAI(azure_endpoint=server.url, api_key=KEY, api_version=PREVIEW, websocket_base_url=ws)
        async with client.beta.realtime.connect(model="gpt-4o-realtime-preview", extra_headers=WEATHER) as connection:
            await connection.recv()
            await connection.session.update(session={"turn_detection": None, "tools": [TOOL]})
            await connection.recv()
            await connection.input_audio_buffer.append(audio=base64.b64encode(pcm).decode())
            await connection.input_audio_buffer.commit()
            await connection.response.create()
            called = await _until_done_async(connection)
            call = called[-1].response.output[0]
            await connection.conversation.item.create(item={"type": "function_call_output", "call_id": call.call_id,
                                                            "output": '{"location": "Paris", "temperature": 19}'})
            await connection.response.create()
            answered = await _until_done_async(connection)
        spoken = "".join(e.delta for e in answered if e.type == "response.audio_transcript.delta")
        assert any(e.type == "response.audio.delta" for e in answered)
        return call.arguments, spoken

    async def ga() -> list[str]:
        ws = server.url.replace("http://", "ws://") + "/openai/v1"
        client = AsyncOpenAI(base_url=server.url + "/openai/v1", api_key=KEY, websocket_base_url=ws)
        async with client.realtime.connect(model="gpt-realtime") as connection:
            await connection.recv()
            for start in range(0, len(pcm), 9_600):
                await connection.input_audio_buffer.append(audio=base64.b64encode(pcm[start : start + 9_600]).decode())
            return _types(await _until_done_async(connection))

    async def both() -> list[Any]:
        return list(await asyncio.gather(beta(), ga()))

    (arguments, spoken), types = asyncio.run(both())
    assert '"location":"Paris"' in arguments  # the fixture's transcript asked for the weather in Paris
    assert spoken == "In Paris it is 19 degrees celsius."
    assert types[:2] == ["input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped"]
    assert "response.output_audio.delta" in types


def test_ga_sync_tool_call_turn_on_the_dated_route(server: LiveServer) -> None:
    with _azure(server, "2025-08-28").realtime.connect(model="gpt-realtime", extra_headers=WEATHER) as connection:
        assert connection.recv().session.type == "realtime"
        connection.session.update(session={"type": "realtime", "output_modalities": ["text"], "tools": [TOOL]})
        connection.recv()
        connection.conversation.item.create(item=_say("What's the weather in Lima?"))
        connection.response.create()
        events = _until_done(connection)
    call = events[-1].response.output[0]
    assert (call.type, call.name, call.status) == ("function_call", "get_current_weather", "completed")
    assert "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta") == call.arguments
    assert "Lima" in call.arguments
