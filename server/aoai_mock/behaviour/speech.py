"""``audio/speech``: real audio in the requested format, as long as the text takes to say.

The sound comes from espeak-ng when it is installed (``shutil.which("espeak-ng")``), at 150 words a minute
times ``speed``; otherwise from tones: one two-pitch burst per word (0.3 s, then 0.1 s of silence, longer
after punctuation), so 150 words last about a minute and no word is silence. The voice sets the pitch.
Either way the result is 24 kHz mono 16-bit PCM, encoded with PyAV (FFmpeg's encoders, bundled in its
wheels): ``mp3`` (LAME), ``opus`` (Ogg Opus), ``aac`` (ADTS), ``flac``, ``wav``; ``pcm`` is the raw samples.

Every file remembers its text: in ``runtime.media.spoken`` by the file's sha256, and, where the format has
room for it (mp3's ID3, Ogg and FLAC comments, WAV's LIST/INFO), in a ``comment`` tag that starts with
:data:`TRANSCRIPT_TAG`. Transcribing the file gives the text back (:mod:`aoai_mock.behaviour.transcription`).
The output is deterministic: FFmpeg runs bit-exact.
"""

from __future__ import annotations

import array
import hashlib
import io
import math
import re
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from aoai_mock.behaviour.media_store import MediaStore
from aoai_mock.errors import InvalidRequest
from aoai_mock.wire.validation import validate

if TYPE_CHECKING:
    import av  # loaded with the first audio file the server writes (tens of milliseconds at start-up otherwise)

__all__ = [
    "RATE",
    "FORMATS",
    "MEDIA_TYPES",
    "VOICES",
    "TRANSCRIPT_TAG",
    "SpeechRequest",
    "SpeechJob",
    "SpokenAudio",
    "speech_job",
    "tone_pcm",
    "espeak_pcm",
    "encode",
    "run_speech",
]

RATE = 24_000
FORMATS = ("mp3", "opus", "aac", "flac", "wav", "pcm")
MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
# The spec's six (2025-03-01-preview createSpeechRequest) and the ones OpenAI's tts models added since.
VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer", "verse")
TRANSCRIPT_TAG = "aoai-mock transcript: "
MAX_INPUT = 4096

_CONTAINERS = {  # format -> (muxer, encoder, bit rate)
    "mp3": ("mp3", "libmp3lame", 64_000),
    "opus": ("ogg", "libopus", 32_000),
    "aac": ("adts", "aac", 64_000),
    "flac": ("flac", "flac", 0),
    "wav": ("wav", "pcm_s16le", 0),
}
_PITCH = {  # voice -> multiplier of the period (higher: lower voice)
    "alloy": 1.0, "ash": 1.3, "ballad": 1.2, "coral": 0.8, "echo": 1.25, "fable": 1.1,
    "onyx": 1.45, "nova": 0.78, "sage": 0.85, "shimmer": 0.75, "verse": 1.15,
}
_ESPEAK_VOICES = {
    "alloy": "en-us", "ash": "en-us+m3", "ballad": "en-gb+m2", "coral": "en-us+f2", "echo": "en-us+m3",
    "fable": "en-gb", "onyx": "en-us+m7", "nova": "en-us+f3", "sage": "en-us+f4", "shimmer": "en-us+f4",
    "verse": "en-gb+m4",
}
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)


class SpeechRequest(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    input: str
    voice: Literal[VOICES]  # type: ignore[valid-type]
    model: str | None = None
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] | None = None
    speed: float | None = None
    instructions: str | None = None
    stream_format: Literal["audio"] | None = None


@dataclass(frozen=True, slots=True)
class SpeechJob:
    text: str
    voice: str
    response_format: str
    speed: float


@dataclass(frozen=True, slots=True)
class SpokenAudio:
    data: bytes
    media_type: str


def speech_job(body: dict[str, Any]) -> SpeechJob:
    """The checked request body, or the 400 the service answers."""
    request = validate(SpeechRequest, body)
    if not request.input.strip():
        raise InvalidRequest(
            "Invalid 'input': empty string. Expected a string with minimum length 1, but got an empty string instead.",
            param="input",
            code="empty_string",
        )
    if len(request.input) > MAX_INPUT:
        raise InvalidRequest(
            f"Invalid 'input': string too long. Expected a string with maximum length {MAX_INPUT}, but got a "
            f"string with length {len(request.input)} instead.",
            param="input",
            code="string_above_max_length",
        )
    speed = 1.0 if request.speed is None else request.speed
    if not 0.25 <= speed <= 4.0:
        sign, where, code = (">=", "below minimum", "below_min") if speed < 0.25 else ("<=", "above maximum", "above_max")
        limit = 0.25 if speed < 0.25 else 4
        raise InvalidRequest(
            f"Invalid 'speed': decimal {where} value. Expected a value {sign} {limit}, but got {float(speed)} instead.",
            param="speed",
            code=f"decimal_{code}_value",
        )
    return SpeechJob(request.input, request.voice, request.response_format or "mp3", speed)


# -- sound ------------------------------------------------------------------------------------------------


def _period_table(period: int) -> array.array:
    """One period of a voiced tone (a fundamental and two harmonics), 16-bit."""
    return array.array(
        "h",
        (
            int(9000 * (math.sin(t) + 0.45 * math.sin(2 * t) + 0.2 * math.sin(3 * t)) / 1.65)
            for t in (2 * math.pi * i / period for i in range(period))
        ),
    )


_TABLES: dict[int, array.array] = {}


def _tone(period: int, samples: int) -> array.array:
    table = _TABLES.get(period)
    if table is None:
        table = _TABLES[period] = _period_table(period)
    out = table * (samples // period + 1)
    del out[samples:]
    fade = min(240, samples // 4)  # 10 ms in and out, no clicks
    for i in range(fade):
        out[i] = out[i] * i // fade
        out[samples - 1 - i] = out[samples - 1 - i] * i // fade
    return out


def _pause(after: str) -> float:
    """Seconds of silence after a word: longer at the end of a sentence or a clause."""
    if after and after in ".!?":
        return 0.35
    if after and after in ",;:":
        return 0.22
    return 0.1


def tone_pcm(text: str, voice: str = "alloy", speed: float = 1.0) -> bytes:
    """The text as tones: 24 kHz mono s16le, about 0.4 s a word (150 words a minute) at speed 1."""
    out = array.array("h")
    scale = _PITCH.get(voice, 1.0)
    words = [(m.group(0), text[m.end() : m.end() + 1]) for m in _WORD.finditer(text)] or [(text, "")]
    length = int(RATE * 0.3 / speed)
    for word, after in words:
        digest = hashlib.blake2b(word.lower().encode(), digest_size=2).digest()
        first, second = (int((80 + (b % 70)) * scale) for b in digest)  # 115-300 Hz at alloy's pitch
        out.extend(_tone(first, length // 2))
        out.extend(_tone(second, length - length // 2))
        out.frombytes(bytes(2 * int(RATE * _pause(after) / speed)))
    return out.tobytes()


@cache
def espeak_binary() -> str | None:
    return shutil.which("espeak-ng")


def espeak_pcm(text: str, voice: str = "alloy", speed: float = 1.0, binary: str = "espeak-ng") -> bytes | None:
    """The text spoken by espeak-ng, resampled to 24 kHz mono s16le; None when espeak-ng fails."""
    words_per_minute = str(max(80, min(450, round(150 * speed))))
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "speech.wav"
        command = [binary, "-v", _ESPEAK_VOICES.get(voice, "en-us"), "-s", words_per_minute, "-w", str(target), "--stdin"]
        try:
            subprocess.run(command, input=text.encode(), capture_output=True, timeout=60, check=True)
            with wave.open(str(target)) as spoken:
                rate, frames = spoken.getframerate(), spoken.readframes(spoken.getnframes())
        except (OSError, subprocess.SubprocessError, wave.Error, EOFError):
            return None
    return _resampled(frames, rate) if frames else None


def _resampled(pcm: bytes, rate: int) -> bytes:
    if rate == RATE:
        return pcm
    import av

    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    frames = resampler.resample(_frame(pcm, rate)) + resampler.resample(None)
    return b"".join(bytes(frame.planes[0])[: frame.samples * 2] for frame in frames)


def _frame(pcm: bytes, rate: int) -> av.AudioFrame:
    import av

    frame = av.AudioFrame(format="s16", layout="mono", samples=len(pcm) // 2)
    frame.sample_rate = rate
    frame.planes[0].update(pcm[: (len(pcm) // 2) * 2])
    return frame


# -- files ------------------------------------------------------------------------------------------------


def encode(pcm: bytes, response_format: str, text: str | None = None) -> bytes:
    """24 kHz mono s16le samples as a file of ``response_format``, tagged with ``text`` where it fits."""
    if response_format == "pcm":
        return pcm
    import av

    muxer, codec, bit_rate = _CONTAINERS[response_format]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=muxer, options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream(codec, rate=RATE, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        if text is not None:
            tag = TRANSCRIPT_TAG + text
            (stream if muxer == "ogg" else container).metadata["comment"] = tag
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=RATE)
        for frame in resampler.resample(_frame(pcm, RATE)) + resampler.resample(None):
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def run_speech(job: SpeechJob, media: MediaStore, espeak: str | None = None) -> SpokenAudio:
    """The spoken file; ``espeak``: the espeak-ng binary to use (None: tones). CPU-bound: run it in a thread."""
    pcm = espeak_pcm(job.text, job.voice, job.speed, espeak) if espeak else None
    if pcm is None:
        pcm = tone_pcm(job.text, job.voice, job.speed)
    data = encode(pcm, job.response_format, job.text)
    media.spoken.put(hashlib.sha256(data).hexdigest(), job.text)
    return SpokenAudio(data, MEDIA_TYPES[job.response_format])
