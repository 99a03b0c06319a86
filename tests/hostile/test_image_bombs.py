"""Images that claim more pixels than they carry bytes: refused from their header, before anything is decoded."""

from __future__ import annotations

import base64
import io
import struct
import zlib

import httpx
import pytest
from aoai_mock.testing import LiveServer
from PIL import Image

from tests.hostile.conftest import assert_still_serving


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that is only a signature and an IHDR chunk claiming ``width`` x ``height``: under 50 bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk


def test_a_data_url_claiming_a_huge_picture_is_an_invalid_image(client: httpx.Client, server: LiveServer) -> None:
    png = png_header_only(100_000, 100_000)
    assert len(png) < 50
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    answer = client.post(
        "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        json={"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_image"
    assert_still_serving(server.url)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, on reading the header
def test_an_edit_of_a_decompression_bomb_is_refused_before_decoding(client: httpx.Client, server: LiveServer) -> None:
    buffer = io.BytesIO()
    Image.new("1", (13_000, 13_000)).save(buffer, "PNG")  # 169 megapixels in a few kilobytes
    bomb = buffer.getvalue()
    assert len(bomb) < 200_000
    answer = client.post(
        "/openai/deployments/gpt-image-1/images/edits?api-version=2025-04-01-preview",
        data={"prompt": "paint it"},
        files={"image": ("bomb.png", bomb, "image/png")},
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "invalid_image_file"
    assert_still_serving(server.url)
