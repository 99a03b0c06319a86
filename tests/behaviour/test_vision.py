"""Image tokens as Azure documents them, and the 400s for images the service refuses."""

from __future__ import annotations

import base64
import io

import pytest
from aoai_mock.behaviour.vision import image_tokens, takes_images, tokens_for_size
from aoai_mock.errors import InvalidRequest
from PIL import Image


@pytest.mark.parametrize(
    ("size", "detail", "expected"),
    [
        ((1024, 1024), "high", 765),  # scaled to 768 x 768: 4 tiles
        ((2048, 4096), "high", 1105),  # to 1024 x 2048, then 768 x 1536: 6 tiles
        ((4096, 8192), "low", 85),
        ((512, 512), "high", 255),  # never scaled up: 1 tile
        ((100, 3000), "auto", 85 + 170 * 4),  # fits 2048 first (68 x 2048), shorter side already < 768
    ],
)
def test_documented_examples(size: tuple[int, int], detail: str, expected: int) -> None:
    assert tokens_for_size(*size, detail) == expected


def _data_url(width: int, height: int, fmt: str = "PNG") -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, fmt)
    return f"data:image/{fmt.lower()};base64,{base64.b64encode(buffer.getvalue()).decode()}"


def _message(url: str, detail: str = "auto") -> list[dict]:
    return [{"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": url, "detail": detail}}]}]


def test_data_urls_are_measured() -> None:
    assert image_tokens(_message(_data_url(1024, 1024)), "gpt-4o") == 765
    assert image_tokens(_message(_data_url(300, 200, "JPEG"), "high"), "gpt-4o") == 255
    assert image_tokens(_message(_data_url(3000, 3000), "low"), "gpt-4o-mini") == 85


def test_http_urls_are_not_fetched_and_count_as_1024_square() -> None:
    assert image_tokens(_message("https://example.com/a.png"), "gpt-4o") == 765
    assert image_tokens(_message("https://example.com/a.png", "low"), "gpt-4o") == 85


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("data:text/plain;base64,aGVsbG8=", "invalid_image_format"),
        ("data:image/png;base64,%%%not-base64%%%", "invalid_image"),
        ("data:image/png;base64," + base64.b64encode(b"not an image").decode(), "invalid_image"),
        ("ftp://example.com/a.png", "invalid_value"),
    ],
)
def test_bad_images_are_400s(url: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        image_tokens(_message(url), "gpt-4o")
    assert caught.value.code == code
    assert caught.value.param == "messages.[0].content.[1].image_url.url"


def test_models_without_vision_refuse_images() -> None:
    assert not takes_images("gpt-35-turbo") and not takes_images("o3-mini") and takes_images("gpt-4o-mini")
    with pytest.raises(InvalidRequest) as caught:
        image_tokens(_message("https://example.com/a.png"), "gpt-35-turbo")
    assert "only supported by certain models" in caught.value.message
