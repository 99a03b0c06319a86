"""The audio family: text to speech, and speech to text (transcriptions and translations).

* ``POST /openai/deployments/{deployment}/audio/speech?api-version=...`` (previews from 2024-02-15-preview):
  a JSON body (what the SDK sends) or a form (what the spec declares); answers the audio file's bytes.
* ``POST /openai/deployments/{deployment}/audio/transcriptions`` and ``.../audio/translations``: multipart,
  at most 25 MB (26,214,400 bytes) of request body, else Azure's 413; JSON (``json``, ``verbose_json``) or
  ``text/plain`` (``text``, ``srt``, ``vtt``).

Behaviour: :mod:`aoai_mock.behaviour.speech` and :mod:`aoai_mock.behaviour.transcription`; encoding and
decoding are CPU work, done in a worker thread.
"""

from __future__ import annotations

import math
from typing import Any

import anyio.to_thread
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from aoai_mock.behaviour import speech, transcription
from aoai_mock.errors import ContentTooLarge, InvalidRequest
from aoai_mock.http.deps import json_body
from aoai_mock.http.front import answer_as
from aoai_mock.http.render import json_response
from aoai_mock.http.resource import azure_call
from aoai_mock.http.routes.images import deployment_of
from aoai_mock.http.uploads import read_form
from aoai_mock.wire import api_versions as av
from aoai_mock.wire.audio import render_transcript

__all__ = ["router"]

router = APIRouter()

_FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")
_SPEECH_FORM_LIMIT = 1024 * 1024


def _too_large(read: int) -> ContentTooLarge:
    return ContentTooLarge(transcription.MAX_UPLOAD_BYTES, read)


async def _speech_body(request: Request, limit: int) -> dict[str, Any]:
    """The speech request as a JSON object, from a JSON body or from a form's fields."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media not in _FORM_TYPES:
        _, parsed = await json_body(request.receive, request.headers.get("content-type"),
                                    request.headers.get("content-length"), limit)
        return parsed
    form = await read_form(request, _SPEECH_FORM_LIMIT, lambda _read: ContentTooLarge(_SPEECH_FORM_LIMIT, _read))
    body: dict[str, Any] = {name: values[-1] for name, values in form.fields.items()}
    if "speed" in body:
        try:
            body["speed"] = float(body["speed"])
        except ValueError:
            raise InvalidRequest(
                "Invalid type for 'speed': expected a decimal, but got a string instead.", param="speed", code="invalid_type"
            ) from None
    return body


@router.post("/openai/deployments/{deployment}/audio/speech")
async def create_speech(request: Request, deployment: str) -> Response:
    call = azure_call(request, av.AUDIO_SPEECH)
    deployment_of(request, call, deployment, av.AUDIO_SPEECH)
    job = speech.speech_job(await _speech_body(request, call.runtime.settings.config.max_body_bytes))
    audio = await anyio.to_thread.run_sync(speech.run_speech, job, call.runtime.media, speech.espeak_binary())
    return Response(audio.data, media_type=audio.media_type)


async def _speech_to_text(request: Request, deployment: str, operation: str, task: str) -> Response:
    call = azure_call(request, operation)
    deployment_of(request, call, deployment, operation)
    form = await read_form(request, transcription.MAX_UPLOAD_BYTES, _too_large)
    upload = form.file("file")
    job = transcription.transcription_job(
        task, form.fields, upload.data if upload else None, upload.filename if upload else None
    )
    runtime = call.runtime
    transcript = await anyio.to_thread.run_sync(
        transcription.run_transcription, job, runtime.media, runtime.fixtures_dir
    )
    answer_as(request.scope, audio_seconds=str(math.ceil(transcript.duration)))  # what whisper bills
    body = render_transcript(transcript, job.response_format, job.granularities)
    if isinstance(body, str):
        return Response(body, media_type="text/plain; charset=utf-8")
    return json_response(body)


@router.post("/openai/deployments/{deployment}/audio/transcriptions")
async def create_transcription(request: Request, deployment: str) -> Response:
    return await _speech_to_text(request, deployment, av.AUDIO_TRANSCRIPTIONS, "transcribe")


@router.post("/openai/deployments/{deployment}/audio/translations")
async def create_translation(request: Request, deployment: str) -> Response:
    return await _speech_to_text(request, deployment, av.AUDIO_TRANSLATIONS, "translate")
