"""Audio in and out of a realtime session: the input buffer with server VAD, its transcription, and the mock's
own speech as PCM16 at 24 kHz.

Server VAD is simulated from the energy of what the client appends: the buffer is read in 20 ms frames, and
a frame is speech when its RMS (as a fraction of full scale) is at least ``threshold / 10`` (0.05 at the
default 0.5, about -26 dBFS) [inferred: Azure does not say how its VAD decides; this rule is the mock's].
Speech starts with the first loud frame and stops once ``silence_duration_ms`` of quiet frames follow.

A committed buffer is transcribed the way ``audio/transcriptions`` is: a fixture
``fixtures/transcriptions/<sha256 of the PCM>.txt`` first, then the text of audio the mock spoke itself
(its PCM's sha256 in ``runtime.media.spoken``), else sentences drawn from the audio's hash.
"""

from __future__ import annotations

import array
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aoai_mock.behaviour.media_store import MediaStore
from aoai_mock.behaviour.speech import RATE, tone_pcm
from aoai_mock.behaviour.transcription import generated_text

__all__ = ["RATE", "FRAME_MS", "Vad", "VadChange", "InputBuffer", "transcript_of", "spoken", "chunks", "duration_ms"]

FRAME_MS = 20
_BYTES_PER_MS = 48  # 24 kHz, 16-bit mono
_FRAME_BYTES = FRAME_MS * _BYTES_PER_MS
_CHUNK_BYTES = 200 * _BYTES_PER_MS  # the mock sends its speech in 200 ms deltas [inferred]


def duration_ms(pcm: bytes | bytearray) -> int:
    return len(pcm) // _BYTES_PER_MS


def _rms(frame: bytes | bytearray) -> float:
    samples = array.array("h")
    samples.frombytes(bytes(frame[: len(frame) // 2 * 2]))
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768


@dataclass(frozen=True, slots=True)
class VadChange:
    """Speech started (``started``) or stopped, at this many ms of the buffer."""

    started: bool
    at_ms: int


@dataclass(slots=True)
class Vad:
    """The state of server VAD over one buffer."""

    threshold: float = 0.5
    silence_ms: int = 200
    speaking: bool = False
    quiet_ms: int = 0
    started_ms: int = 0

    def frame(self, loud_level: float, at_ms: int) -> VadChange | None:
        """One frame's RMS at ``at_ms`` (its start): the change it makes, if any."""
        loud = loud_level >= self.threshold / 10
        if loud:
            self.quiet_ms = 0
            if not self.speaking:
                self.speaking, self.started_ms = True, at_ms
                return VadChange(True, at_ms)
            return None
        if self.speaking:
            self.quiet_ms += FRAME_MS
            if self.quiet_ms >= self.silence_ms:
                self.speaking, self.quiet_ms = False, 0
                return VadChange(False, at_ms + FRAME_MS)
        return None


@dataclass(slots=True)
class InputBuffer:
    """``input_audio_buffer``: the PCM appended since the last commit or clear, read by VAD as it comes."""

    pcm: bytearray = field(default_factory=bytearray)
    read: int = 0  # bytes VAD has looked at
    base_ms: int = 0  # audio taken before this buffer's, so VAD's times count from the session's first audio
    vad: Vad | None = None

    def append(self, pcm: bytes) -> Iterator[VadChange]:
        """Add ``pcm``; VAD's changes as it reads the new frames. At a change, :meth:`take` takes the audio
        up to the frame that made it (the rest stays for the next item)."""
        self.pcm.extend(pcm)
        while self.vad is not None and self.read + _FRAME_BYTES <= len(self.pcm):
            frame = self.pcm[self.read : self.read + _FRAME_BYTES]
            change = self.vad.frame(_rms(frame), self.base_ms + self.read // _BYTES_PER_MS)
            self.read += _FRAME_BYTES
            if change is not None:
                yield change

    def take(self, whole: bool = True) -> bytes:
        """The buffer's audio (``whole``: all of it, as a commit takes it; else what VAD has read), leaving
        the rest."""
        end = len(self.pcm) if whole else self.read
        if whole and self.vad is not None:
            self.vad.speaking, self.vad.quiet_ms = False, 0
        taken = bytes(self.pcm[:end])
        del self.pcm[:end]
        self.read = 0
        self.base_ms += duration_ms(taken)
        return taken

    def clear(self) -> None:
        self.base_ms += duration_ms(self.pcm)
        self.pcm.clear()
        self.read = 0
        if self.vad is not None:
            self.vad.speaking, self.vad.quiet_ms = False, 0


def transcript_of(pcm: bytes, media: MediaStore, fixtures_dir: Path) -> str:
    """What the committed audio says (see the module's docstring)."""
    sha = hashlib.sha256(pcm).hexdigest()
    fixture = fixtures_dir / "transcriptions" / f"{sha}.txt"
    if fixture.is_file():
        return fixture.read_text(encoding="utf-8").strip()
    return media.spoken.get(sha) or generated_text(sha, duration_ms(pcm) / 1000)


def spoken(text: str, voice: str, media: MediaStore) -> bytes:
    """The mock's speech of ``text`` as PCM16 at 24 kHz (tones, one burst a word); remembered, so that sending
    it back as input audio transcribes to the same text."""
    pcm = tone_pcm(text or " ", voice)
    media.spoken.put(hashlib.sha256(pcm).hexdigest(), text)
    return pcm


def chunks(pcm: bytes) -> list[bytes]:
    """The speech as the deltas that carry it."""
    return [pcm[i : i + _CHUNK_BYTES] for i in range(0, len(pcm), _CHUNK_BYTES)] or [b""]
