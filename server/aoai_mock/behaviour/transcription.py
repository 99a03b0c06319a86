"""``audio/transcriptions`` and ``audio/translations``: deterministic text for an uploaded audio file.

The upload is checked as whisper checks it: present, at most 25 MB (26,214,400 bytes, the request's body
included, 413 past it [captured]), a name ending in one of :data:`SUPPORTED_FORMATS` and audio that
decodes (PyAV), which also gives its duration. Its text, in this order:

1. a fixture: ``<fixtures>/transcriptions/<sha256 of the file>.txt`` (translations look in
   ``<fixtures>/translations/`` first), UTF-8, the text as the service would return it, surrounding
   whitespace stripped;
2. the text the mock spoke, for a file ``audio/speech`` produced: by its sha256 in ``runtime.media``, or
   from its ``comment`` tag (mp3, Ogg Opus, FLAC, WAV), which survives a restart;
3. sentences from faker seeded by the file's sha256, about 150 words a minute of audio.

Segments follow the sentences and words are timed in proportion to their length over the duration.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
import threading
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from aoai_mock.behaviour import tokens
from aoai_mock.behaviour.media_store import MediaStore
from aoai_mock.behaviour.speech import TRANSCRIPT_TAG
from aoai_mock.errors import InvalidRequest, UnrecognizedFileFormat
from aoai_mock.wire.audio import LANGUAGES, Segment, Transcript, Word

__all__ = [
    "SUPPORTED_FORMATS",
    "MAX_UPLOAD_BYTES",
    "RESPONSE_FORMATS",
    "TranscriptionJob",
    "Probe",
    "transcription_job",
    "probe",
    "run_transcription",
]

SUPPORTED_FORMATS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "wav", "webm")
MAX_UPLOAD_BYTES = 26_214_400
RESPONSE_FORMATS = ("json", "text", "srt", "verbose_json", "vtt")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class TranscriptionJob:
    audio: bytes
    filename: str
    task: str  # "transcribe" | "translate"
    response_format: str
    granularities: tuple[str, ...]
    language: str | None  # ISO-639-1
    temperature: float

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.audio).hexdigest()


@dataclass(frozen=True, slots=True)
class Probe:
    duration: float  # seconds
    tagged_text: str | None  # the text an aoai-mock file carries in its comment tag


def _one(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[-1] if values else None


def _invalid_value(param: str, value: str, allowed: Sequence[str]) -> InvalidRequest:
    listed = ", ".join(f"'{v}'" for v in allowed[:-1]) + f", and '{allowed[-1]}'"
    return InvalidRequest(f"Invalid value: '{value}'. Supported values are: {listed}.", param=param, code="invalid_value")


def _checked_file(audio: bytes | None, filename: str | None) -> tuple[bytes, str]:
    if audio is None:
        raise InvalidRequest("Missing required parameter: 'file'.", param="file", code="missing_required_parameter")
    name = filename or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in SUPPORTED_FORMATS:
        raise UnrecognizedFileFormat(SUPPORTED_FORMATS)
    return audio, name


def _granularities(fields: Mapping[str, Sequence[str]], response_format: str) -> tuple[str, ...]:
    asked = tuple(fields.get("timestamp_granularities[]", ())) + tuple(fields.get("timestamp_granularities", ()))
    for value in asked:
        if value not in ("word", "segment"):
            raise _invalid_value("timestamp_granularities", value, ("word", "segment"))
    if asked and response_format != "verbose_json":
        raise InvalidRequest(
            "timestamp_granularities is only supported when response_format is verbose_json.",
            param="timestamp_granularities",
            code="invalid_value",
        )
    return asked or ("segment",)


def _temperature(value: str | None) -> float:
    if value is None:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(
            "Invalid type for 'temperature': expected a decimal, but got a string instead.",
            param="temperature",
            code="invalid_type",
        ) from None
    if not 0.0 <= number <= 1.0:
        raise InvalidRequest(
            f"Invalid 'temperature': decimal {'below minimum' if number < 0 else 'above maximum'} value. Expected a "
            f"value {'>= 0' if number < 0 else '<= 1'}, but got {number} instead.",
            param="temperature",
            code=f"decimal_{'below_min' if number < 0 else 'above_max'}_value",
        )
    return number


def transcription_job(
    task: str, fields: Mapping[str, Sequence[str]], audio: bytes | None, filename: str | None
) -> TranscriptionJob:
    """The checked request (``fields``: the form's text fields, every value of each), or its 400."""
    audio, name = _checked_file(audio, filename)
    response_format = _one(fields, "response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise _invalid_value("response_format", response_format, RESPONSE_FORMATS)
    granularities = _granularities(fields, response_format)
    language = _one(fields, "language") if task == "transcribe" else None
    if language is not None and language not in LANGUAGES:
        raise InvalidRequest(
            f"Invalid language '{language}'. Language parameter must be specified in ISO-639-1 format.",
            param="language",
            code="invalid_language_format",
        )
    if (_one(fields, "stream") or "false").lower() not in ("false", "0"):
        raise InvalidRequest("Streaming is not supported for whisper models.", param="stream", code="invalid_value")
    return TranscriptionJob(audio, name, task, response_format, granularities, language, _temperature(_one(fields, "temperature")))


def probe(audio: bytes) -> Probe:
    """Decode the whole file: its duration and tag, or whisper's 400 for a file that is not audio."""
    import av  # loaded with the first audio file (tens of milliseconds at start-up otherwise)

    try:
        with av.open(io.BytesIO(audio), "r") as container:
            stream = container.streams.audio[0]
            samples, rate = 0, stream.rate or 0
            for frame in container.decode(stream):
                samples += frame.samples
                rate = frame.sample_rate or rate
            tags = {**container.metadata, **stream.metadata}
    except (av.FFmpegError, IndexError, ValueError, OSError, UnicodeDecodeError):
        raise _corrupted() from None
    if not samples or not rate:
        raise _corrupted()
    tagged = next(
        (v[len(TRANSCRIPT_TAG) :] for k, v in tags.items() if k.lower() == "comment" and v.startswith(TRANSCRIPT_TAG)),
        None,
    )
    return Probe(samples / rate, tagged)


def _corrupted() -> InvalidRequest:
    return InvalidRequest("Audio file might be corrupted or unsupported", param="file", code="invalid_value")


def _fixture(fixtures_dir: Path, task: str, sha256: str) -> str | None:
    folders = ("translations", "transcriptions") if task == "translate" else ("transcriptions",)
    for folder in folders:
        path = fixtures_dir / folder / f"{sha256}.txt"
        if path.is_file():
            return path.read_text(encoding="utf-8").strip()
    return None


@cache
def _faker() -> Any:
    from faker import Faker  # imported on first use: slow to import

    return Faker("en_US")


_FAKER_LOCK = threading.Lock()


def generated_text(sha256: str, duration: float) -> str:
    """Sentences drawn from the file's hash, about 150 words a minute of audio."""
    rng = random.Random(sha256)
    target = max(3, round(duration * 2.5))
    with _FAKER_LOCK:
        fake = _faker()
        fake.seed_instance(int(sha256[:16], 16))
        sentences, words = [], 0
        while words < target:
            count = min(rng.randint(6, 16), max(3, target - words))
            sentences.append(fake.sentence(nb_words=count, variable_nb_words=False))
            words += count
    return " ".join(sentences)


def _text(job: TranscriptionJob, found: Probe, media: MediaStore, fixtures_dir: Path) -> str:
    sha = job.sha256
    return (
        _fixture(fixtures_dir, job.task, sha)
        or media.spoken.get(sha)
        or found.tagged_text
        or generated_text(sha, found.duration)
    )


def _words(text: str, duration: float) -> list[tuple[Word, int]]:
    """Every word, timed in proportion to its length (pauses after punctuation), with its end offset."""
    matches = list(_WORD.finditer(text))
    weights = [len(m.group(0)) + 1 + (2 if text[m.end() : m.end() + 1] in (".", ",", "!", "?", ";", ":") else 0) for m in matches]
    total = sum(weights) or 1
    timed, cursor = [], 0
    for match, weight in zip(matches, weights):
        start = duration * cursor / total
        end = duration * (cursor + len(match.group(0)) + 1) / total
        timed.append((Word(match.group(0), round(start, 2), round(min(end, duration), 2)), match.end()))
        cursor += weight
    return timed


def _segment(index: int, text: str, start: float, end: float, temperature: float, sha256: str) -> Segment:
    raw = text.encode()
    rng = random.Random(f"{sha256}:{index}")
    return Segment(
        id=index,
        seek=int(start // 30) * 3000,
        start=round(start, 2),
        end=round(end, 2),
        text=" " + text,
        tokens=tuple(tokens.encode(" " + text, "cl100k_base")),
        temperature=temperature,
        avg_logprob=round(-rng.uniform(0.1, 0.4), 6),
        compression_ratio=round(len(raw) / len(zlib.compress(raw)), 6) if raw else 0.0,
        no_speech_prob=round(rng.uniform(0.001, 0.05), 6),
    )


def _segments(text: str, words: list[tuple[Word, int]], duration: float, job: TranscriptionJob) -> list[Segment]:
    """One segment a sentence, from its first word's start to its last word's end (the last: the end)."""
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    segments: list[Segment] = []
    offset, cursor, start = 0, 0, 0.0
    for number, sentence in enumerate(sentences):
        offset = text.index(sentence, offset) + len(sentence)
        last = cursor
        while last < len(words) and words[last][1] <= offset:
            last += 1
        end = duration if number == len(sentences) - 1 else words[last - 1][0].end if last > cursor else start
        segments.append(_segment(len(segments), sentence.strip(), start, end, job.temperature, job.sha256))
        cursor, start = last, end
    if not segments:
        segments.append(_segment(0, text.strip(), 0.0, duration, job.temperature, job.sha256))
    return segments


def run_transcription(job: TranscriptionJob, media: MediaStore, fixtures_dir: Path) -> Transcript:
    """The transcript of the job's file. Decodes the whole file: run it in a worker thread."""
    found = probe(job.audio)
    text = _text(job, found, media, fixtures_dir)
    duration = round(found.duration, 2)
    words = _words(text, duration)
    language = "english" if job.task == "translate" else LANGUAGES.get(job.language or "en", "english")
    segments = _segments(text, words, duration, job)
    return Transcript(job.task, language, duration, text, tuple(segments), tuple(w for w, _ in words))
