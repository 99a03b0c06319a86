"""Images in chat messages (``image_url`` parts): checked, measured and counted as Azure counts them.

Token cost, as Azure documents it for GPT-4 Turbo with Vision and the GPT-4o family:

* ``detail: low``: 85 tokens, whatever the size;
* ``detail: high`` (and ``auto``, which the service resolves to high for any image over 512 px): the image
  is scaled to fit in 2048 x 2048, then so that its shorter side is 768 px (never scaled up); it costs
  85 tokens plus 170 for every 512 px tile that covers it.

A ``data:`` URL is decoded and its real size read (Pillow reads only the header). An ``http(s)`` URL is
never fetched (the mock has no network): it counts as a :data:`UNFETCHED_SIZE` image. A data URL that is
not a supported image, or whose base64 does not decode, is the service's 400; so is an image sent to a
model that takes none.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

from aoai_mock.errors import InvalidRequest

__all__ = ["image_tokens", "tokens_for_size", "takes_images", "UNFETCHED_SIZE", "LOW_DETAIL_TOKENS"]

LOW_DETAIL_TOKENS = 85
TILE_TOKENS = 170
UNFETCHED_SIZE = (1024, 1024)  # what an http(s) image URL counts as: the mock does not download it
_MIME_TYPES = ("image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp")
# Model families that read images; the rest answer the service's "only supported by certain models".
_VISION_MODELS = ("gpt-4o", "gpt-4.1", "gpt-4.5", "gpt-4-turbo", "gpt-4-vision", "gpt-5", "o1", "o3", "o4")
_NO_VISION = ("o1-mini", "o3-mini", "o1-preview")


def takes_images(model: str) -> bool:
    return model.startswith(_VISION_MODELS) and not model.startswith(_NO_VISION)


def tokens_for_size(width: int, height: int, detail: str) -> int:
    """Azure's image token count for an image of ``width`` x ``height`` at ``detail``."""
    if detail == "low":
        return LOW_DETAIL_TOKENS
    scale = min(1.0, 2048 / max(width, height))
    width, height = width * scale, height * scale
    scale = min(1.0, 768 / min(width, height))
    width, height = width * scale, height * scale
    tiles = math.ceil(width / 512) * math.ceil(height / 512)
    return LOW_DETAIL_TOKENS + TILE_TOKENS * tiles


def image_tokens(messages: Sequence[Mapping[str, Any]], model: str) -> int:
    """The image tokens of a chat request's messages; raises the service's 400 for a bad image."""
    total = 0
    for m_index, message in enumerate(messages):
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for p_index, part in enumerate(content):
            if not isinstance(part, Mapping) or part.get("type") != "image_url":
                continue
            param = f"messages.[{m_index}].content.[{p_index}].image_url.url"
            if not takes_images(model):
                raise InvalidRequest(
                    "Invalid content type. image_url is only supported by certain models.",
                    param=f"messages.[{m_index}].content.[{p_index}].type",
                    code="invalid_value",
                )
            image = part.get("image_url") or {}
            total += _part_tokens(str(image.get("url", "")), str(image.get("detail") or "auto"), param)
    return total


def _part_tokens(url: str, detail: str, param: str) -> int:
    if url.startswith(("http://", "https://")):
        return tokens_for_size(*UNFETCHED_SIZE, detail)
    if not url.startswith("data:"):
        raise InvalidRequest(
            "Invalid image URL: expected an http(s) URL or a base64-encoded data URL with an image MIME type.",
            param=param,
            code="invalid_value",
        )
    width, height = _data_url_size(url, param)
    return tokens_for_size(width, height, detail)


def _data_url_size(url: str, param: str) -> tuple[int, int]:
    header, _, data = url[5:].partition(",")
    mime, _, encoding = header.partition(";")
    if mime.lower() not in _MIME_TYPES or encoding.lower() != "base64":
        raise InvalidRequest(
            "Invalid image URL: Expected a base64-encoded data URL with an image MIME type (e.g. "
            f"'data:image/png;base64,aW1nIGJ5dGVzIGhlcmU='), but got unsupported MIME type '{mime}'.",
            param=param,
            code="invalid_image_format",
        )
    from PIL import (  # only when an image comes: Pillow takes a while to import
        Image,
        UnidentifiedImageError,
    )

    try:
        raw = base64.b64decode(data, validate=True)
        with Image.open(io.BytesIO(raw)) as image:  # the header only: nothing is decoded
            return image.size
    except (binascii.Error, ValueError, UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise InvalidRequest(
            "Invalid image data: the data URL does not hold a readable image.",
            param=param,
            code="invalid_image",
        ) from None
