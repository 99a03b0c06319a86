"""Images and audio end to end: the seed page's snippets verbatim, the real SDK, images decoded and measured,
audio decoded by FFmpeg's decoders (PyAV), speech to text and back, and bad uploads.

The page (seed 004, the Python SDK reference) reads the endpoint and key from the environment; only those
change. Its speech snippet needs a preview api-version, as the page says ("Set
api_version="2024-10-01-preview" to use this function"); gpt-image-1 and images/edits need 2025-04-01-preview.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any

import av
import httpx
import openai
import pytest
from openai import AzureOpenAI
from PIL import Image

from tests import media_spec
from tests.conftest import KEY, ROOT

PAGE_MP3 = ROOT / "tests" / "data" / "audio" / "speech1.mp3"
IMAGES_PREVIEW = "2025-04-01-preview"
SPEECH_PREVIEW = "2024-10-01-preview"
SAFE = {"filtered": False, "severity": "safe"}
FOUR = {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}


@pytest.fixture()
def page_env(monkeypatch: pytest.MonkeyPatch, base_url: str, tmp_path: Path) -> Path:
    """What a reader of the page exports before running it, in a folder of their own."""
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", base_url)
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", KEY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def page_client(api_version: str = "2024-10-21") -> AzureOpenAI:
    # 004, "Authentication", API Key tab (the api-version as the section in use asks).
    client = AzureOpenAI(
        api_key=os.getenv("AZURE_OPENAI_API_KEY"),
        api_version=api_version,
        azure_endpoint = os.getenv("AZURE_OPENAI_ENDPOINT")
        )
    return client


def sdk(base_url: str, version: str) -> AzureOpenAI:
    return AzureOpenAI(api_key=KEY, api_version=version, azure_endpoint=base_url, max_retries=0)


def decode_audio(data: bytes) -> tuple[str, str, float]:
    """Container, codec and duration of an audio file, read by FFmpeg's decoders."""
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return container.format.name, stream.codec_context.codec.canonical_name, samples / stream.rate


def image_of(b64: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


# -- 004: images.generate() ------------------------------------------------------------------------------------


def test_004_images_generate(page_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    client = page_client()

    generate_image = client.images.generate(
      model="dall-e-3", #replace with your model deployment name
      prompt="A rabbit eating pancakes",
      n=1,
      size="1024x1024",
      quality = "hd",
      response_format = "url",
      style = "vivid"
    )

    print(generate_image.model_dump_json(indent=2))

    body = json.loads(capsys.readouterr().out)
    item = body["data"][0]
    assert isinstance(body["created"], int) and len(body["data"]) == 1
    assert item["b64_json"] is None and item["revised_prompt"] and "rabbit eating pancakes" in item["revised_prompt"]
    assert item["content_filter_results"] == FOUR
    assert item["prompt_filter_results"] == {**FOUR, "profanity": {"detected": False, "filtered": False}}
    fetched = httpx.get(item["url"])  # no key: a link, as Azure's SAS URL is
    assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(fetched.content))
    assert (image.format, image.size) == ("PNG", (1024, 1024))
    sent = generate_image.model_dump(exclude_unset=True)
    assert not media_spec.errors("generateImagesResponse", sent)
    assert media_spec.undeclared("generateImagesResponse", sent) == set()


def test_generate_is_deterministic_for_a_prompt(base_url: str) -> None:
    client = sdk(base_url, "2024-10-21")
    first, second = (
        client.images.generate(model="dall-e-3", prompt="A lighthouse at dusk", size="1024x1792", response_format="b64_json")
        for _ in range(2)
    )
    assert first.data[0].b64_json == second.data[0].b64_json
    assert image_of(first.data[0].b64_json or "").size == (1024, 1792)
    other = client.images.generate(model="dall-e-3", prompt="A lighthouse at dawn", size="1024x1792", response_format="b64_json")
    assert other.data[0].b64_json != first.data[0].b64_json


@pytest.mark.parametrize("size", ["1792x1024", "1024x1792"])
def test_url_images_have_the_requested_size(base_url: str, size: str) -> None:
    reply = sdk(base_url, "2024-10-21").images.generate(model="dall-e-3", prompt="A red kite", size=size)
    url = reply.data[0].url or ""
    assert url.startswith(base_url + "/_mock/files/images/")
    assert "x".join(map(str, Image.open(io.BytesIO(httpx.get(url).content)).size)) == size
    head = httpx.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) > 1000


def test_an_unknown_image_is_blob_storages_404(base_url: str) -> None:
    missing = httpx.get(base_url + "/_mock/files/images/0000.png")
    assert missing.status_code == 404 and b"<Code>BlobNotFound</Code>" in missing.content


def test_gpt_image_1(base_url: str) -> None:
    raw = sdk(base_url, IMAGES_PREVIEW).images.with_raw_response.generate(
        model="gpt-image-1", prompt="A fox in the snow", n=2, size="1536x1024", quality="medium", output_format="webp"
    )
    reply = raw.parse()
    assert [image_of(d.b64_json or "").format for d in reply.data or ()] == ["WEBP", "WEBP"]
    assert [image_of(d.b64_json or "").size for d in reply.data or ()] == [(1536, 1024)] * 2
    assert (reply.size, reply.quality, reply.output_format) == ("1536x1024", "medium", "webp")
    assert reply.usage is not None and reply.usage.output_tokens == 2 * 1568
    assert not media_spec.errors("generateImagesResponse", json.loads(raw.text), preview=True)


def test_gpt_image_1_transparent_png(base_url: str) -> None:
    reply = sdk(base_url, IMAGES_PREVIEW).images.generate(model="gpt-image-1", prompt="A sticker", background="transparent")
    image = image_of(reply.data[0].b64_json or "")
    assert image.mode == "RGBA" and image.getchannel("A").getextrema()[0] == 0 and reply.background == "transparent"


def png(size: tuple[int, int], colour: Any, mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def test_images_edit_with_a_mask(base_url: str) -> None:
    mask = Image.new("RGBA", (600, 400), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 300, 400))
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    reply = sdk(base_url, IMAGES_PREVIEW).images.edit(
        model="gpt-image-1",
        image=[("room.png", png((600, 400), (20, 40, 200)), "image/png"), ("hat.png", png((64, 64), "yellow"), "image/png")],
        mask=("mask.png", buffer.getvalue(), "image/png"),
        prompt="Put a yellow hat in the room",
    )
    image = image_of(reply.data[0].b64_json or "").convert("RGB")
    assert image.size == (1536, 1024)  # "auto" follows the first image's shape
    assert image.getpixel((1400, 900)) == (20, 40, 200)  # where the mask is opaque, the room is untouched


def test_edit_refusals(base_url: str) -> None:
    preview = sdk(base_url, IMAGES_PREVIEW)
    with pytest.raises(openai.BadRequestError) as caught:
        preview.images.edit(model="gpt-image-1", image=("a.png", b"not a png", "image/png"), prompt="x")
    assert caught.value.body["message"] == "Invalid image file or mode for image 1, please check your image file."
    with pytest.raises(openai.BadRequestError, match="OperationNotSupported|imageEdit"):
        preview.images.edit(model="dall-e-3", image=("a.png", png((8, 8), "red"), "image/png"), prompt="x")
    with pytest.raises(openai.NotFoundError):  # edits arrived with 2025-04-01-preview
        sdk(base_url, "2024-10-21").images.edit(model="gpt-image-1", image=("a.png", png((8, 8), "red"), "image/png"), prompt="x")


@pytest.mark.parametrize(
    ("model", "version", "body", "status", "error"),
    [
        ("dall-e-3", "2024-10-21", {"size": "512x512"}, 400, {"code": "invalidPayload", "message": "Invalid payload: Value for property size is invalid."}),
        ("dall-e-3", "2024-10-21", {"n": 2}, 400, {"code": "invalidPayload", "message": "Invalid payload: Value for property n is invalid."}),
        ("dall-e-3", "2024-10-21", {"prompt": ""}, 400, None),
        ("gpt-image-1", IMAGES_PREVIEW, {"response_format": "url"}, 400, None),
        ("whisper", "2024-10-21", {}, 400, None),
        ("no-such-deployment", "2024-10-21", {}, 404, None),
        ("dall-e-3", "2023-09-01-preview", {}, 404, None),  # images/generations came with 2023-12-01-preview
    ],
)
def test_generation_refusals(
    http: httpx.Client, model: str, version: str, body: dict[str, Any], status: int, error: dict[str, Any] | None
) -> None:
    answer = http.post(
        f"/openai/deployments/{model}/images/generations?api-version={version}", json={"prompt": "A cat", **body}
    )
    assert answer.status_code == status, answer.text
    assert "error" in answer.json()
    if error is not None:
        assert answer.json() == {"error": error}


def test_images_need_a_key(base_url: str) -> None:
    answer = httpx.post(f"{base_url}/openai/deployments/dall-e-3/images/generations?api-version=2024-10-21", json={"prompt": "x"})
    assert answer.status_code == 401


# -- 004: audio.speech.create() --------------------------------------------------------------------------------


def test_004_audio_speech_create(page_env: Path) -> None:
    client = page_client(SPEECH_PREVIEW)

    # from openai import AzureOpenAI
    # client = AzureOpenAI()

    import os
    from pathlib import Path

    speech_file_path = Path("speech.mp3")

    response = client.audio.speech.create(
      model="tts-hd", #Replace with model deployment name
      voice="alloy",
      input="Testing, testing, 1,2,3."
    )
    response.write_to_file(speech_file_path)

    container, codec, seconds = decode_audio((page_env / "speech.mp3").read_bytes())
    assert (container, codec) == ("mp3", "mp3")
    assert 1.5 < seconds < 5.0  # five spoken words


def test_004_speech_needs_a_preview_version(page_env: Path) -> None:
    with pytest.raises(openai.NotFoundError):
        page_client().audio.speech.create(model="tts-hd", voice="alloy", input="Testing, testing, 1,2,3.")


@pytest.mark.parametrize(
    ("fmt", "container", "codec"),
    [("mp3", "mp3", "mp3"), ("opus", "ogg", "opus"), ("aac", "aac", "aac"), ("flac", "flac", "flac"), ("wav", "wav", "pcm_s16le")],
)
def test_speech_formats_decode(base_url: str, fmt: str, container: str, codec: str) -> None:
    text = "The quick brown fox jumps over the lazy dog, twice over and once again."  # 14 words
    response = sdk(base_url, SPEECH_PREVIEW).audio.speech.create(model="tts", voice="echo", input=text, response_format=fmt)  # type: ignore[arg-type]
    found = decode_audio(response.content)
    assert found[:2] == (container, codec)
    assert 14 * 0.25 < found[2] < 14 * 0.8  # about 150 words a minute, whatever the engine


def test_speech_pcm_is_24khz_samples(base_url: str) -> None:
    response = sdk(base_url, SPEECH_PREVIEW).audio.speech.create(model="tts", voice="nova", input="One two three.", response_format="pcm")
    assert response.response.headers["content-type"] == "audio/pcm"
    assert len(response.content) % 2 == 0 and 0.6 < len(response.content) / 2 / 24000 < 3


def test_speech_speed(base_url: str) -> None:
    client = sdk(base_url, SPEECH_PREVIEW)
    text = "A sentence of nine words, said at two speeds."
    slow, fast = (client.audio.speech.create(model="tts", voice="alloy", input=text, speed=s, response_format="wav") for s in (1.0, 2.0))
    assert decode_audio(fast.content)[2] == pytest.approx(decode_audio(slow.content)[2] / 2, rel=0.1)


def test_speech_refusals(http: httpx.Client) -> None:
    path = f"/openai/deployments/tts/audio/speech?api-version={SPEECH_PREVIEW}"
    bad_voice = http.post(path, json={"input": "x", "voice": "robot"})
    assert bad_voice.status_code == 400 and bad_voice.json()["error"]["param"] == "voice"
    too_long = http.post(path, json={"input": "x" * 4097, "voice": "alloy"})
    assert too_long.status_code == 400 and too_long.json()["error"]["code"] == "string_above_max_length"
    wrong_kind = http.post(f"/openai/deployments/whisper/audio/speech?api-version={SPEECH_PREVIEW}", json={"input": "x", "voice": "alloy"})
    assert wrong_kind.status_code == 400 and wrong_kind.json()["error"]["code"] == "OperationNotSupported"


def test_speech_as_a_form(http: httpx.Client) -> None:
    """The spec declares the speech request as multipart/form-data; the SDK sends JSON. Both are served."""
    answer = http.post(
        f"/openai/deployments/tts/audio/speech?api-version={SPEECH_PREVIEW}",
        data={"input": "Hello there.", "voice": "alloy", "response_format": "flac", "speed": "1.5"},
        files={"unused": ("x.txt", b"")},
    )
    assert answer.status_code == 200, answer.text
    assert decode_audio(answer.content)[:2] == ("flac", "flac")


# -- 004: audio.transcriptions.create() ------------------------------------------------------------------------


def test_004_audio_transcriptions_create(page_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(PAGE_MP3, page_env / "speech1.mp3")  # the reader's recording; its text is a fixture
    client = page_client()

    # from openai import AzureOpenAI
    # client = AzureOpenAI()

    audio_file = open("speech1.mp3", "rb")
    transcript = client.audio.transcriptions.create(
      model="whisper", # Replace with model deployment name
      file=audio_file
    )

    print(transcript)

    audio_file.close()
    assert capsys.readouterr().out.startswith("Transcription(text='Testing, testing, one, two, three.'")


def test_004_speech_then_transcription_round_trip(page_env: Path) -> None:
    """The page's two audio snippets in a row: what the mock says, it hears back."""
    speech = page_client(SPEECH_PREVIEW).audio.speech.create(model="tts-hd", voice="alloy", input="Testing, testing, 1,2,3.")
    speech.write_to_file(Path("speech.mp3"))
    shutil.copy("speech.mp3", "speech1.mp3")
    with open("speech1.mp3", "rb") as audio_file:
        transcript = page_client().audio.transcriptions.create(model="whisper", file=audio_file)
    assert transcript.text == "Testing, testing, 1,2,3."


@pytest.mark.parametrize(("fmt", "name"), [("opus", "speech.ogg"), ("flac", "speech.flac"), ("wav", "speech.wav"), ("aac", "speech.m4a")])
def test_round_trip_in_other_formats(base_url: str, fmt: str, name: str) -> None:
    text = f"A round trip through {fmt}, and back again."
    audio = sdk(base_url, SPEECH_PREVIEW).audio.speech.create(model="tts", voice="shimmer", input=text, response_format=fmt)  # type: ignore[arg-type]
    heard = sdk(base_url, "2024-10-21").audio.transcriptions.create(model="whisper", file=(name, audio.content))
    assert heard.text == text


def test_transcription_text_srt_vtt(base_url: str) -> None:
    client = sdk(base_url, "2024-10-21")
    audio = ("speech1.mp3", PAGE_MP3.read_bytes())
    assert client.audio.transcriptions.create(model="whisper", file=audio, response_format="text") == "Testing, testing, one, two, three.\n"
    srt = client.audio.transcriptions.create(model="whisper", file=audio, response_format="srt")
    assert srt.startswith("1\n00:00:00,000 --> 00:00:0") and srt.endswith("\n\n")
    assert "\nTesting, testing, one, two, three.\n" in srt
    vtt = client.audio.transcriptions.create(model="whisper", file=audio, response_format="vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:0") and "\nTesting, testing, one, two, three.\n" in vtt


def test_transcription_verbose_json(base_url: str) -> None:
    raw = sdk(base_url, "2024-10-21").audio.transcriptions.with_raw_response.create(
        model="whisper", file=("speech1.mp3", PAGE_MP3.read_bytes()), response_format="verbose_json",
        timestamp_granularities=["word", "segment"],
    )
    body = json.loads(raw.text)
    seconds = decode_audio(PAGE_MP3.read_bytes())[2]
    assert (body["task"], body["language"], body["text"]) == ("transcribe", "english", "Testing, testing, one, two, three.")
    assert body["duration"] == pytest.approx(seconds, abs=0.01)
    assert [w["word"] for w in body["words"]] == ["Testing", "testing", "one", "two", "three"]
    assert body["segments"][0]["start"] == 0 and body["segments"][-1]["end"] == body["duration"]
    assert not media_spec.errors("audioVerboseResponse", body, preview=True)
    assert media_spec.undeclared("audioVerboseResponse", body, preview=True) == set()
    default = sdk(base_url, "2024-10-21").audio.transcriptions.with_raw_response.create(
        model="whisper", file=("speech1.mp3", PAGE_MP3.read_bytes()), response_format="verbose_json"
    )
    assert "words" not in json.loads(default.text)
    assert not media_spec.errors("audioVerboseResponse", json.loads(default.text))  # 2024-10-21's shape


def test_translation(base_url: str) -> None:
    raw = sdk(base_url, "2024-10-21").audio.translations.with_raw_response.create(
        model="whisper", file=("speech1.mp3", PAGE_MP3.read_bytes())
    )
    assert json.loads(raw.text) == {"text": "Testing, testing, one, two, three."}
    assert not media_spec.errors("audioResponse", json.loads(raw.text))


# -- bad uploads -----------------------------------------------------------------------------------------------

TRANSCRIBE = "/openai/deployments/whisper/audio/transcriptions?api-version=2024-10-21"


def test_no_file(http: httpx.Client) -> None:
    answer = http.post(TRANSCRIBE, data={"model": "whisper"}, files={"other": ("a.txt", b"x")})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "file"


def test_a_file_of_another_kind(http: httpx.Client) -> None:
    answer = http.post(TRANSCRIBE, files={"file": ("notes.txt", b"hello")})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"].startswith("Unrecognized file format. Supported formats: ['flac', 'm4a'")


def test_a_damaged_file(http: httpx.Client) -> None:
    answer = http.post(TRANSCRIBE, files={"file": ("speech.mp3", b"\x00garbage" * 100)})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Audio file might be corrupted or unsupported"


def test_over_25_mb(http: httpx.Client) -> None:
    answer = http.post(TRANSCRIBE, files={"file": ("long.mp3", bytes(26_214_401))}, timeout=60)
    assert answer.status_code == 413
    error = answer.json()["error"]
    assert error["message"].startswith("Maximum content size limit (26214400) exceeded (")
    assert (error["type"], error["param"], error["code"]) == ("server_error", None, None)


def test_a_body_that_is_not_multipart(http: httpx.Client) -> None:
    answer = http.post(TRANSCRIBE, json={"file": "speech.mp3"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == "file"


def test_transcription_options_need_verbose_json(base_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(base_url, "2024-10-21").audio.transcriptions.create(
            model="whisper", file=("a.mp3", PAGE_MP3.read_bytes()), timestamp_granularities=["word"]
        )
    assert caught.value.body["param"] == "timestamp_granularities"


def test_whisper_is_not_a_speech_deployment(base_url: str) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(base_url, "2024-10-21").audio.transcriptions.create(model="tts", file=("a.mp3", PAGE_MP3.read_bytes()))
    assert caught.value.body["code"] == "OperationNotSupported"
