"""Audio behaviour without HTTP: speech requests, the sound and its files (decoded by PyAV), transcripts."""

from __future__ import annotations

import array
import hashlib
import io
import math
import wave
from pathlib import Path
from typing import Any

import av
import pytest
from aoai_mock.behaviour import speech, transcription
from aoai_mock.behaviour.media_store import MediaStore
from aoai_mock.errors import InvalidRequest, UnrecognizedFileFormat
from aoai_mock.wire.audio import Segment, render_transcript, srt, vtt

FIXTURES = Path(__file__).resolve().parent.parent / "data"
PAGE_MP3 = FIXTURES / "audio" / "speech1.mp3"
TEXT = "Testing, testing, 1,2,3."
CODECS = {"mp3": ("mp3", "mp3"), "opus": ("ogg", "opus"), "aac": ("aac", "aac"), "flac": ("flac", "flac"), "wav": ("wav", "pcm_s16le")}


def decode(data: bytes) -> tuple[str, str, float, dict[str, str]]:
    """Container, codec, duration in seconds and tags of an audio file, as FFmpeg's decoders read it."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return container.format.name, stream.codec_context.codec.canonical_name, samples / stream.rate, {**container.metadata, **stream.metadata}


def rms(pcm: bytes) -> float:
    samples = array.array("h", pcm)
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


# -- the request -----------------------------------------------------------------------------------------------


def test_speech_defaults() -> None:
    job = speech.speech_job({"model": "tts-hd", "voice": "alloy", "input": TEXT})
    assert (job.text, job.voice, job.response_format, job.speed) == (TEXT, "alloy", "mp3", 1.0)


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"voice": "robot"}, "voice", "invalid_value"),
        ({"response_format": "ogg"}, "response_format", "invalid_value"),
        ({"speed": 4.5}, "speed", "decimal_above_max_value"),
        ({"speed": 0.1}, "speed", "decimal_below_min_value"),
        ({"input": ""}, "input", "empty_string"),
        ({"input": "x" * 4097}, "input", "string_above_max_length"),
        ({"input": None}, "input", "invalid_type"),
        ({"stream_format": "sse"}, "stream_format", "invalid_value"),
    ],
)
def test_speech_refusals(body: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        speech.speech_job({"voice": "alloy", "input": TEXT, **body})
    assert (caught.value.param, caught.value.code) == (param, code)


def test_speech_needs_input_and_voice() -> None:
    with pytest.raises(InvalidRequest, match="Missing required parameter: 'voice'"):
        speech.speech_job({"input": TEXT})


# -- the sound -------------------------------------------------------------------------------------------------


def test_tones_last_as_long_as_speech() -> None:
    words = " ".join(["word"] * 150)
    seconds = len(speech.tone_pcm(words)) / 2 / speech.RATE
    assert 55 <= seconds <= 65  # 150 words a minute
    assert len(speech.tone_pcm(words, speed=2.0)) / 2 / speech.RATE == pytest.approx(seconds / 2, rel=0.01)


def test_every_word_is_heard() -> None:
    pcm = speech.tone_pcm("one two three four")
    window = int(0.3 * speech.RATE) * 2  # each word's tone, then its pause
    step = int(0.4 * speech.RATE) * 2
    loud = [rms(pcm[i * step : i * step + window]) for i in range(4)]
    assert all(level > 1000 for level in loud)


def test_voices_differ() -> None:
    assert speech.tone_pcm(TEXT, "alloy") != speech.tone_pcm(TEXT, "onyx")


# -- the files -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(CODECS))
def test_each_format_decodes_to_the_right_length(fmt: str) -> None:
    pcm = speech.tone_pcm(TEXT)
    data = speech.encode(pcm, fmt, TEXT)
    container, codec, seconds, tags = decode(data)
    assert (container, codec) == CODECS[fmt]
    assert seconds == pytest.approx(len(pcm) / 2 / speech.RATE, abs=0.06)  # AAC adds its priming samples
    assert speech.encode(pcm, fmt, TEXT) == data  # bit-exact
    if fmt != "aac":  # ADTS has nowhere to keep a tag
        assert tags["comment"] == speech.TRANSCRIPT_TAG + TEXT


def test_pcm_is_the_raw_samples() -> None:
    pcm = speech.tone_pcm(TEXT)
    assert speech.encode(pcm, "pcm", TEXT) == pcm


def test_wav_reads_with_the_standard_library() -> None:
    with wave.open(io.BytesIO(speech.encode(speech.tone_pcm(TEXT), "wav", TEXT))) as read:
        assert (read.getnchannels(), read.getsampwidth(), read.getframerate()) == (1, 2, 24000)
        assert 2.0 < read.getnframes() / read.getframerate() < 4.0


def test_run_speech_remembers_the_text() -> None:
    media = MediaStore()
    spoken = speech.run_speech(speech.SpeechJob(TEXT, "alloy", "aac", 1.0), media)
    assert spoken.media_type == "audio/aac"
    assert media.spoken.get(hashlib.sha256(spoken.data).hexdigest()) == TEXT


@pytest.mark.skipif(speech.espeak_binary() is None, reason="espeak-ng is not installed")
def test_espeak_speaks_when_installed() -> None:
    pcm = speech.espeak_pcm(TEXT, "nova", 1.0, speech.espeak_binary() or "")
    assert pcm is not None and 1.5 < len(pcm) / 2 / speech.RATE < 5.0 and rms(pcm) > 300


def test_espeak_failure_falls_back_to_tones() -> None:
    assert speech.espeak_pcm(TEXT, binary="/nonexistent/espeak-ng") is None
    spoken = speech.run_speech(speech.SpeechJob(TEXT, "alloy", "wav", 1.0), MediaStore(), "/nonexistent/espeak-ng")
    assert decode(spoken.data)[1] == "pcm_s16le"


# -- transcription requests ------------------------------------------------------------------------------------


def job(fields: dict[str, list[str]] | None = None, audio: bytes | None = b"x", name: str | None = "a.mp3", task: str = "transcribe") -> transcription.TranscriptionJob:
    return transcription.transcription_job(task, fields or {}, audio, name)


def test_transcription_defaults() -> None:
    found = job()
    assert (found.response_format, found.granularities, found.language, found.temperature) == ("json", ("segment",), None, 0.0)


@pytest.mark.parametrize("name", ["speech.aac", "speech.txt", "speech", None, "upload"])
def test_unsupported_names(name: str | None) -> None:
    with pytest.raises(UnrecognizedFileFormat) as caught:
        job(name=name)
    assert caught.value.message == (
        "Unrecognized file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', 'mpeg', 'mpga', 'oga', 'ogg', "
        "'wav', 'webm']"
    )


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"response_format": ["xml"]}, "response_format", "invalid_value"),
        ({"timestamp_granularities[]": ["word"]}, "timestamp_granularities", "invalid_value"),
        ({"response_format": ["verbose_json"], "timestamp_granularities[]": ["char"]}, "timestamp_granularities", "invalid_value"),
        ({"language": ["english"]}, "language", "invalid_language_format"),
        ({"temperature": ["hot"]}, "temperature", "invalid_type"),
        ({"temperature": ["1.5"]}, "temperature", "decimal_above_max_value"),
    ],
)
def test_transcription_refusals(fields: dict[str, list[str]], param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        job(fields)
    assert (caught.value.param, caught.value.code) == (param, code)


def test_missing_file() -> None:
    with pytest.raises(InvalidRequest) as caught:
        job(audio=None)
    assert (caught.value.param, caught.value.code) == ("file", "missing_required_parameter")


@pytest.mark.parametrize("data", [b"", b"definitely not audio", bytes(4096)])
def test_probe_refuses_what_does_not_decode(data: bytes) -> None:
    with pytest.raises(InvalidRequest, match="Audio file might be corrupted or unsupported"):
        transcription.probe(data)


# -- where the text comes from ---------------------------------------------------------------------------------


def run(audio: bytes, name: str = "a.mp3", media: MediaStore | None = None, task: str = "transcribe", fields: dict[str, list[str]] | None = None) -> Any:
    found = transcription.transcription_job(task, fields or {}, audio, name)
    return transcription.run_transcription(found, media or MediaStore(), FIXTURES)


def test_a_fixture_wins() -> None:
    assert run(PAGE_MP3.read_bytes()).text == "Testing, testing, one, two, three."


def test_the_mocks_own_audio_by_hash_and_by_tag() -> None:
    media = MediaStore()
    spoken = speech.run_speech(speech.SpeechJob("Hello from the mock.", "alloy", "flac", 1.0), media)
    assert run(spoken.data, "a.flac", media).text == "Hello from the mock."
    assert run(spoken.data, "a.flac", MediaStore()).text == "Hello from the mock."  # after a restart: the tag


def test_unknown_audio_gets_generated_text_in_proportion() -> None:
    short = speech.encode(bytes(2 * speech.RATE * 4), "wav")
    long = speech.encode(bytes(2 * speech.RATE * 40), "wav")
    first = run(short, "a.wav").text
    assert first == run(short, "a.wav").text  # deterministic
    assert 3 <= len(first.split()) <= 20 and 70 <= len(run(long, "a.wav").text.split()) <= 130


def test_translation_reports_english() -> None:
    found = run(PAGE_MP3.read_bytes(), task="translate", fields={"response_format": ["verbose_json"]})
    assert (found.task, found.language) == ("translate", "english")


def test_language_name_as_whisper_writes_it() -> None:
    assert run(PAGE_MP3.read_bytes(), fields={"language": ["de"]}).language == "german"


def test_words_and_segments_are_timed_within_the_audio() -> None:
    media = MediaStore()
    text = "First sentence here. And the second one, a little longer! Third?"
    spoken = speech.run_speech(speech.SpeechJob(text, "alloy", "wav", 1.0), media)
    found = run(spoken.data, "a.wav", media)
    assert [s.text for s in found.segments] == [" First sentence here.", " And the second one, a little longer!", " Third?"]
    assert [w.word for w in found.words][:4] == ["First", "sentence", "here", "And"]
    starts = [w.start for w in found.words]
    assert starts == sorted(starts) and found.words[-1].end <= found.duration
    assert found.segments[0].start == 0.0 and found.segments[-1].end == found.duration
    assert all(a.end == b.start for a, b in zip(found.segments, found.segments[1:]))


# -- renderings ------------------------------------------------------------------------------------------------


def segment(i: int, start: float, end: float, text: str) -> Segment:
    return Segment(i, 0, start, end, text, (), 0.0, -0.2, 1.0, 0.01)


def test_srt_and_vtt_bytes() -> None:
    cues = [segment(0, 0.0, 1.24, " Hello there."), segment(1, 1.24, 3661.5, " General Kenobi.")]
    assert srt(cues) == (
        "1\n00:00:00,000 --> 00:00:01,240\nHello there.\n\n2\n00:00:01,240 --> 01:01:01,500\nGeneral Kenobi.\n\n"
    )
    assert vtt(cues) == (
        "WEBVTT\n\n00:00:00.000 --> 00:00:01.240\nHello there.\n\n00:00:01.240 --> 01:01:01.500\nGeneral Kenobi.\n\n"
    )


def test_verbose_json_granularities() -> None:
    found = run(PAGE_MP3.read_bytes())
    assert set(render_transcript(found, "verbose_json", ("segment",))) == {"task", "language", "duration", "text", "segments"}
    assert set(render_transcript(found, "verbose_json", ("word",))) == {"task", "language", "duration", "text", "words"}
    assert render_transcript(found, "json", ()) == {"text": "Testing, testing, one, two, three."}
    assert render_transcript(found, "text", ()) == "Testing, testing, one, two, three.\n"
