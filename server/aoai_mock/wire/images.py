"""The images family on the wire: the request of ``images/generations`` and the ``data[]`` body.

Request values are checked per model in :mod:`aoai_mock.behaviour.images` (dall-e-3 and gpt-image-1 take
different sizes and qualities); here only their types, and the arguments the service knows at all.
Body shape [spec example 2024-10-21 ``image_generation.json``, seed 004]: ``{"created", "data": [{"url" |
"b64_json", "revised_prompt", "content_filter_results", "prompt_filter_results"}]}``; gpt-image models add
``background``, ``output_format``, ``quality``, ``size`` and ``usage`` at the top, as OpenAI's API does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["ImageGenerationRequest", "ImageItem", "images_body"]


class ImageGenerationRequest(BaseModel):
    """``images/generations``: types only (strict), unknown arguments refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    prompt: str
    n: int | None = None
    size: str | None = None
    quality: str | None = None
    style: str | None = None
    response_format: str | None = None
    user: str | None = None
    model: str | None = None  # the SDK sends the deployment name; Azure takes it from the path
    # gpt-image models
    output_format: str | None = None
    output_compression: int | None = None
    background: str | None = None
    moderation: str | None = None
    stream: bool | None = None
    partial_images: int | None = None
    safety_identifier: str | None = None


@dataclass(frozen=True, slots=True)
class ImageItem:
    """One entry of ``data[]``: a ``url`` or the base64 text of the image, never both."""

    url: str | None
    b64_json: str | None
    revised_prompt: str | None
    content_filter_results: Mapping[str, Any] | None
    prompt_filter_results: Mapping[str, Any] | None

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {}
        if self.url is not None:
            item["url"] = self.url
        if self.b64_json is not None:
            item["b64_json"] = self.b64_json
        if self.revised_prompt is not None:
            item["revised_prompt"] = self.revised_prompt
        if self.content_filter_results is not None:
            item["content_filter_results"] = self.content_filter_results
        if self.prompt_filter_results is not None:
            item["prompt_filter_results"] = self.prompt_filter_results
        return item


def images_body(created: int, items: Sequence[ImageItem], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``{"created", "data"}`` plus ``extra`` (gpt-image: background, output_format, quality, size, usage)."""
    return {"created": created, "data": [item.body() for item in items], **(extra or {})}
