"""Vision through the SDK: image tokens in usage, data URLs measured, refused images as BadRequestError."""

from __future__ import annotations

import base64
import io

import openai
import pytest
from openai import AzureOpenAI
from PIL import Image

from tests.conftest import GA, KEY


@pytest.fixture()
def client(base_url: str) -> AzureOpenAI:
    return AzureOpenAI(azure_endpoint=base_url, api_key=KEY, api_version=GA, max_retries=0)


def _png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "navy").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _ask(client: AzureOpenAI, url: str, detail: str = "auto", model: str = "gpt-4o") -> int:
    completion = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "What's in this image?"},
            {"type": "image_url", "image_url": {"url": url, "detail": detail}},
        ]}],
    )
    assert completion.usage is not None
    return completion.usage.prompt_tokens


def test_image_tokens_follow_size_and_detail(client: AzureOpenAI) -> None:
    text_only = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": [{"type": "text", "text": "What's in this image?"}]}]
    ).usage.prompt_tokens  # type: ignore[union-attr]
    assert _ask(client, _png(1024, 1024)) == text_only + 765
    assert _ask(client, _png(2048, 4096), "high") == text_only + 1105
    assert _ask(client, _png(2048, 4096), "low") == text_only + 85
    assert _ask(client, "https://example.com/seattle.png") == text_only + 765  # not fetched


def test_bad_images_are_refused(client: AzureOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, "data:image/png;base64,bm90IGFuIGltYWdl")
    assert caught.value.code == "invalid_image"
    with pytest.raises(openai.BadRequestError) as refused:
        _ask(client, "https://example.com/a.png", model="gpt-35-turbo")
    assert "only supported by certain models" in refused.value.message
