"""Transcriptions and translations on the wire: the five ``response_format`` renderings of one transcript.

* ``json``: ``{"text"}`` [spec example ``audio_transcription_object.json``];
* ``verbose_json``: ``{"task", "language", "duration", "text", "segments"?, "words"?}``, segments when the
  ``segment`` granularity is asked for (the default), words when ``word`` is [spec 2025-03-01-preview
  ``audioVerboseResponse``, ``audioSegment``, ``audioWord``]; ``language`` is the language's English name
  in lower case, as whisper writes it;
* ``text``, ``srt``, ``vtt``: ``text/plain`` [spec], cues from the segments, times as whisper prints them
  (``00:00:01,240`` in SRT, ``00:00:01.240`` in WebVTT).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Word", "Segment", "Transcript", "LANGUAGES", "render_transcript", "srt", "vtt"]

# ISO-639-1 codes whisper accepts, and the names it reports (whisper's own table, abridged to 639-1 codes).
LANGUAGES: dict[str, str] = {
    code: name.replace("_", " ")
    for code, name in (pair.split(":") for pair in (
        "en:english zh:chinese de:german es:spanish ru:russian ko:korean fr:french ja:japanese pt:portuguese "
        "tr:turkish pl:polish ca:catalan nl:dutch ar:arabic sv:swedish it:italian id:indonesian hi:hindi "
        "fi:finnish vi:vietnamese he:hebrew uk:ukrainian el:greek ms:malay cs:czech ro:romanian da:danish "
        "hu:hungarian ta:tamil no:norwegian th:thai ur:urdu hr:croatian bg:bulgarian lt:lithuanian la:latin "
        "mi:maori ml:malayalam cy:welsh sk:slovak te:telugu fa:persian lv:latvian bn:bengali sr:serbian "
        "az:azerbaijani sl:slovenian kn:kannada et:estonian mk:macedonian br:breton eu:basque is:icelandic "
        "hy:armenian ne:nepali mn:mongolian bs:bosnian kk:kazakh sq:albanian sw:swahili gl:galician "
        "mr:marathi pa:punjabi si:sinhala km:khmer sn:shona yo:yoruba so:somali af:afrikaans oc:occitan "
        "ka:georgian be:belarusian tg:tajik sd:sindhi gu:gujarati am:amharic yi:yiddish lo:lao uz:uzbek "
        "fo:faroese ht:haitian_creole ps:pashto tk:turkmen nn:nynorsk mt:maltese sa:sanskrit lb:luxembourgish "
        "my:myanmar bo:tibetan tl:tagalog mg:malagasy as:assamese tt:tatar ln:lingala ha:hausa ba:bashkir "
        "jw:javanese su:sundanese yue:cantonese"
    ).split())
}


@dataclass(frozen=True, slots=True)
class Word:
    word: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class Segment:
    id: int
    seek: int
    start: float
    end: float
    text: str  # with whisper's leading space
    tokens: tuple[int, ...]
    temperature: float
    avg_logprob: float
    compression_ratio: float
    no_speech_prob: float

    def body(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seek": self.seek,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "tokens": list(self.tokens),
            "temperature": self.temperature,
            "avg_logprob": self.avg_logprob,
            "compression_ratio": self.compression_ratio,
            "no_speech_prob": self.no_speech_prob,
        }


@dataclass(frozen=True, slots=True)
class Transcript:
    task: str  # "transcribe" | "translate"
    language: str  # whisper's name for it: "english"
    duration: float
    text: str
    segments: tuple[Segment, ...]
    words: tuple[Word, ...]


def _clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def srt(segments: Sequence[Segment]) -> str:
    cues = [
        f"{i}\n{_clock(s.start, ',')} --> {_clock(s.end, ',')}\n{s.text.strip()}\n"
        for i, s in enumerate(segments, start=1)
    ]
    return "\n".join(cues) + "\n"


def vtt(segments: Sequence[Segment]) -> str:
    cues = [f"{_clock(s.start, '.')} --> {_clock(s.end, '.')}\n{s.text.strip()}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(cues) + "\n"


def _verbose(transcript: Transcript, granularities: Sequence[str]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "task": transcript.task,
        "language": transcript.language,
        "duration": transcript.duration,
        "text": transcript.text,
    }
    if "segment" in granularities:
        body["segments"] = [s.body() for s in transcript.segments]
    if "word" in granularities:
        body["words"] = [{"word": w.word, "start": w.start, "end": w.end} for w in transcript.words]
    return body


def render_transcript(transcript: Transcript, response_format: str, granularities: Sequence[str]) -> str | dict[str, Any]:
    """The body for ``response_format``: a JSON object (json, verbose_json) or text (text, srt, vtt)."""
    if response_format == "json":
        return {"text": transcript.text}
    if response_format == "verbose_json":
        return _verbose(transcript, granularities)
    if response_format == "srt":
        return srt(transcript.segments)
    if response_format == "vtt":
        return vtt(transcript.segments)
    return transcript.text + "\n"
