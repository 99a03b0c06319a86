"""``images/generations`` and ``images/edits``: the parameters each model takes, and the images it returns.

Two families of rules, chosen by the deployment's model name (:data:`MODEL_RULES`; an unknown model gets
dall-e-3's):

* **dall-e-3**: sizes ``1024x1024``, ``1792x1024``, ``1024x1792``; quality ``standard``/``hd``; style
  ``vivid``/``natural``; ``n`` exactly 1; ``response_format`` ``url`` (default) or ``b64_json``; a
  ``revised_prompt``; no edits. A value it does not take is the gateway's ``invalidPayload`` 400 [captured].
* **gpt-image-1**: sizes ``1024x1024``, ``1536x1024``, ``1024x1536``, ``auto``; quality ``low``/``medium``/
  ``high``/``auto``; ``n`` 1-10; ``output_format`` png/jpeg/webp with ``output_compression``; ``background``
  ``transparent``/``opaque``/``auto``; always base64; ``usage`` in tokens; edits with up to 16 images and a
  mask. A value it does not take is the model service's ``invalid_value`` 400 [captured wording].

Images are rendered by :mod:`aoai_mock.behaviour.image_render`, deterministic for the recipe (prompt, size,
quality, style, format, the server's seed and the image's index), and cached in ``runtime.media``; a ``url``
names the recipe, so the mock serves the file again whenever it is fetched.
"""

from __future__ import annotations

import base64
import hashlib
import random
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NoReturn

from aoai_mock.behaviour import content_filter, tokens
from aoai_mock.behaviour.image_render import ImageRecipe, open_upload, render_edit
from aoai_mock.behaviour.media_store import MediaStore, StoredImage
from aoai_mock.config import Deployment
from aoai_mock.errors import (
    InvalidImageFile,
    InvalidPayload,
    InvalidRequest,
    OperationNotSupported,
)
from aoai_mock.wire.images import ImageGenerationRequest, ImageItem, images_body
from aoai_mock.wire.validation import validate

__all__ = [
    "ImageModelRules",
    "MODEL_RULES",
    "rules_for",
    "ImageJob",
    "EditUpload",
    "generation_job",
    "edit_job",
    "run_images",
    "answer_images",
    "ImagesAnswer",
    "stored_image",
]

_DALLE_SIZES = ("1024x1024", "1792x1024", "1024x1792")
_GPT_SIZES = ("1024x1024", "1536x1024", "1024x1536", "auto")
_GPT_ONLY = ("output_format", "output_compression", "background", "moderation", "partial_images")
MAX_IMAGE_BYTES = 50 * 1024 * 1024  # per uploaded image (gpt-image-1)


@dataclass(frozen=True, slots=True)
class ImageModelRules:
    gpt_image: bool  # False: DALL-E rules and errors
    sizes: tuple[str, ...]
    qualities: tuple[str, ...]
    styles: tuple[str, ...]  # empty: no style parameter
    max_n: int
    output_formats: tuple[str, ...]
    response_formats: tuple[str, ...]
    default_size: str
    default_quality: str
    default_response_format: str
    max_prompt: int
    edits: bool


DALLE3 = ImageModelRules(
    False, _DALLE_SIZES, ("standard", "hd"), ("vivid", "natural"), 1, ("png",), ("url", "b64_json"),
    "1024x1024", "standard", "url", 4000, False,
)
GPT_IMAGE = ImageModelRules(
    True, _GPT_SIZES, ("low", "medium", "high", "auto"), (), 10, ("png", "jpeg", "webp"), ("b64_json",),
    "auto", "auto", "b64_json", 32000, True,
)
MODEL_RULES: dict[str, ImageModelRules] = {
    "dall-e-3": DALLE3,
    "gpt-image-1": GPT_IMAGE,
    "gpt-image-1-mini": GPT_IMAGE,
    "gpt-image-1.5": GPT_IMAGE,
}


def rules_for(model: str) -> ImageModelRules:
    return MODEL_RULES.get(model, DALLE3)


# Output tokens of one gpt-image-1 image, by quality and size (OpenAI's published table).
_OUTPUT_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}


@dataclass(frozen=True, slots=True)
class EditUpload:
    """The files of an ``images/edits`` request, as uploaded."""

    images: tuple[bytes, ...]
    mask: bytes | None = None


@dataclass(frozen=True, slots=True)
class ImageJob:
    """A checked request: what to render and how to answer."""

    deployment: Deployment
    rules: ImageModelRules
    recipe: ImageRecipe  # of the first image; the others differ by ``index``
    n: int
    response_format: str
    api_version: str
    edit: EditUpload | None = None


def _choice(rules: ImageModelRules, prop: str, value: str | None, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value in allowed:
        return value
    if not rules.gpt_image:
        raise InvalidPayload(prop)
    listed = ", ".join(f"'{v}'" for v in allowed[:-1]) + f", and '{allowed[-1]}'" if len(allowed) > 1 else f"'{allowed[0]}'"
    raise InvalidRequest(f"Invalid value: '{value}'. Supported values are: {listed}.", param=prop, code="invalid_value")


def _check_prompt(prompt: str, limit: int) -> None:
    if not prompt.strip():
        raise InvalidRequest(
            "Invalid 'prompt': empty string. Expected a string with minimum length 1, but got an empty string instead.",
            param="prompt",
            code="empty_string",
        )
    if len(prompt) > limit:
        raise InvalidRequest(
            f"Invalid 'prompt': string too long. Expected a string with maximum length {limit}, but got a string "
            f"with length {len(prompt)} instead.",
            param="prompt",
            code="string_above_max_length",
        )


def _check_n(rules: ImageModelRules, n: int | None) -> int:
    if n is None:
        return 1
    if 1 <= n <= rules.max_n:
        return n
    if not rules.gpt_image:
        raise InvalidPayload("n")
    _raise_range("n", n, 1 if n < 1 else rules.max_n, n < 1)


def _raise_range(param: str, value: int, limit: int, below: bool) -> NoReturn:
    sign, where, code = (">=", "below minimum", "below_min") if below else ("<=", "above maximum", "above_max")
    raise InvalidRequest(
        f"Invalid '{param}': integer {where} value. Expected a value {sign} {limit}, but got {value} instead.",
        param=param,
        code=f"integer_{code}_value",
    )


def _gpt_options(request: ImageGenerationRequest, rules: ImageModelRules) -> dict[str, Any]:
    if not rules.gpt_image:
        for name in _GPT_ONLY:
            if getattr(request, name) is not None:
                raise InvalidRequest(f"Unrecognized request argument supplied: {name}")
        return {}
    if request.style is not None:
        raise InvalidRequest("Unrecognized request argument supplied: style")
    output = _choice(rules, "output_format", request.output_format, rules.output_formats, "png")
    background = _choice(rules, "background", request.background, ("transparent", "opaque", "auto"), "auto")
    if background == "transparent" and output == "jpeg":
        raise InvalidRequest(
            "Transparent background is not supported for the jpeg output format; use png or webp.",
            param="background",
            code="invalid_value",
        )
    _choice(rules, "moderation", request.moderation, ("low", "auto"), "auto")
    compression = 100 if request.output_compression is None else request.output_compression
    if not 0 <= compression <= 100:
        _raise_range("output_compression", compression, 0 if compression < 0 else 100, compression < 0)
    return {"output_format": output, "compression": compression, "transparent": background == "transparent"}


def _size(value: str, edit_source: bytes | None) -> tuple[int, int]:
    if value != "auto":
        width, _, height = value.partition("x")
        return int(width), int(height)
    image = open_upload(edit_source) if edit_source is not None else None
    ratio = image.width / image.height if image is not None else 1.0
    return (1536, 1024) if ratio > 1.2 else (1024, 1536) if ratio < 0.83 else (1024, 1024)


def generation_job(request: ImageGenerationRequest, deployment: Deployment, api_version: str, seed: int) -> ImageJob:
    """The checked ``images/generations`` request, or the 400 the model would answer."""
    return _job(request, deployment, api_version, seed, None)


def _job(
    request: ImageGenerationRequest, deployment: Deployment, api_version: str, seed: int, edit: EditUpload | None
) -> ImageJob:
    rules = rules_for(deployment.model)
    _check_prompt(request.prompt, rules.max_prompt)
    n = _check_n(rules, request.n)
    size = _choice(rules, "size", request.size, rules.sizes, rules.default_size)
    quality = _choice(rules, "quality", request.quality, rules.qualities, rules.default_quality)
    style = "vivid"
    if rules.styles:
        style = _choice(rules, "style", request.style, rules.styles, "vivid")
    response_format = _choice(
        rules, "response_format", request.response_format, rules.response_formats, rules.default_response_format
    )
    options = _gpt_options(request, rules)
    if request.stream:
        raise InvalidRequest("Streaming is not supported by this mock for images.", param="stream", code="invalid_value")
    width, height = _size(size, edit.images[0] if edit else None)
    recipe = ImageRecipe(request.prompt, width, height, quality=quality, style=style, seed=seed, **options)
    return ImageJob(deployment, rules, recipe, n, response_format, api_version, edit)


def edit_job(
    fields: Mapping[str, Any], upload: EditUpload, deployment: Deployment, api_version: str, seed: int
) -> ImageJob:
    """The checked ``images/edits`` request (``fields``: the form's text fields, typed)."""
    if not rules_for(deployment.model).edits:
        raise OperationNotSupported("imageEdit", deployment.model)
    if not upload.images:
        raise InvalidRequest("Missing required parameter: 'image'.", param="image", code="missing_required_parameter")
    if len(upload.images) > 16:
        raise InvalidRequest("Too many images: at most 16 can be edited at once.", param="image", code="invalid_value")
    for i, data in enumerate(upload.images, start=1):
        if len(data) > MAX_IMAGE_BYTES or open_upload(data) is None:
            raise InvalidImageFile(i)
    _check_mask(upload)
    known = set(ImageGenerationRequest.model_fields) - {"style", "moderation"} | {"input_fidelity"}
    for name in fields:
        if name not in known:
            raise InvalidRequest(f"Unrecognized request argument supplied: {name}")
    values = {k: v for k, v in fields.items() if k != "input_fidelity"}
    return _job(validate(ImageGenerationRequest, values), deployment, api_version, seed, upload)


def _check_mask(upload: EditUpload) -> None:
    if upload.mask is None:
        return
    mask = open_upload(upload.mask)
    first = open_upload(upload.images[0])
    if mask is None or mask.format != "PNG" or first is None or mask.size != first.size:
        raise InvalidRequest(
            "Invalid mask image: the mask must be a PNG image with an alpha channel, the same size as the first image.",
            param="mask",
            code="invalid_image_file",
        )


_OPENINGS = (
    "A {style}, {detail} illustration of {subject}",
    "An image in a {style} style showing {subject}",
    "A {detail} {style} scene of {subject}",
)
_ENDINGS = (
    "with soft lighting and a balanced composition.",
    "set against a gently blurred background.",
    "with rich colours and careful attention to texture.",
)


def revised_prompt(prompt: str, style: str, quality: str) -> str:
    """dall-e-3's rewrite of the prompt, deterministic for it."""
    rng = random.Random(hashlib.sha256(f"{prompt}|{style}|{quality}".encode()).digest())
    subject = " ".join(prompt.split()).rstrip(".!?;:,")
    if subject[:1].isupper() and not subject[1:2].isupper():
        subject = subject[0].lower() + subject[1:]
    words = {"style": "vivid" if style == "vivid" else "natural", "detail": "highly detailed" if quality == "hd" else "clean"}
    return f"{rng.choice(_OPENINGS).format(subject=subject, **words)}, {rng.choice(_ENDINGS)}"


def stored_image(media: MediaStore, recipe: ImageRecipe) -> StoredImage:
    """The encoded image of a recipe, from the cache or rendered (and cached)."""
    found = media.image_bytes.get(recipe.name)
    if found is None:
        found = recipe.render()
        media.image_bytes.put(recipe.name, found)
    return found


def _edited(job: ImageJob, recipe: ImageRecipe) -> StoredImage:
    assert job.edit is not None
    images = [open_upload(data) for data in job.edit.images]
    mask = open_upload(job.edit.mask) if job.edit.mask is not None else None
    return render_edit(recipe, [image for image in images if image is not None], mask)


def _usage(job: ImageJob) -> dict[str, Any]:
    text = tokens.count(job.recipe.prompt, "o200k_base")
    image_in = 0
    if job.edit is not None:
        image_in = 323 * len(job.edit.images)  # 65 + 129 per 512-pixel tile of a 1024x1024 input, about
    quality = "high" if job.recipe.quality == "auto" else job.recipe.quality
    size = f"{job.recipe.width}x{job.recipe.height}"
    output = _OUTPUT_TOKENS[quality][size] * job.n
    return {
        "input_tokens": text + image_in,
        "input_tokens_details": {"image_tokens": image_in, "text_tokens": text},
        "output_tokens": output,
        "total_tokens": text + image_in + output,
    }


def _gpt_extra(job: ImageJob) -> dict[str, Any]:
    recipe = job.recipe
    return {
        "background": "transparent" if recipe.transparent else "opaque",
        "output_format": recipe.output_format,
        "quality": "high" if recipe.quality == "auto" else recipe.quality,
        "size": f"{recipe.width}x{recipe.height}",
        "usage": _usage(job),
    }


@dataclass(frozen=True, slots=True)
class ImagesAnswer:
    """An images answer, and the recipes its ``url``s name: kept (:meth:`keep`) once the answer is sent."""

    body: dict[str, Any]
    recipes: tuple[ImageRecipe, ...] = ()

    async def keep(self, media: MediaStore) -> None:
        """Remember the images the ``url``s name, so ``GET /_mock/files/images/{name}`` serves them (on the event
        loop: with shared state they are kept in Redis)."""
        for recipe in self.recipes:
            await media.image_recipes.keep(recipe.name, recipe)


def answer_images(job: ImageJob, media: MediaStore, created: int, url_prefix: str) -> ImagesAnswer:
    """Render the job's images and build the response body. ``url_prefix`` + a recipe's name is its ``url``;
    nothing is remembered for it until :meth:`ImagesAnswer.keep` (a failed answer keeps nothing).

    CPU-bound (Pillow): the HTTP layer runs it in a worker thread."""
    # CONTENT-FILTER HOOK, the one call site for both operations: prompt screening (which raises Azure's
    # ImagePromptFiltered 400 for a blocked prompt) and the data[i] annotations of the api-version.
    screened = content_filter.screen_image_prompt(job.deployment, job.api_version, job.recipe.prompt)
    content_side, prompt_side = screened.content_filter_results, screened.prompt_filter_results
    revised = None if job.rules.gpt_image else revised_prompt(job.recipe.prompt, job.recipe.style, job.recipe.quality)
    items = []
    named: list[ImageRecipe] = []
    for index in range(job.n):
        recipe = replace(job.recipe, index=index)
        url = b64 = None
        if job.response_format == "url" and job.edit is None:
            named.append(recipe)
            url = url_prefix + recipe.name
        else:
            image = _edited(job, recipe) if job.edit is not None else stored_image(media, recipe)
            b64 = base64.b64encode(image.data).decode("ascii")
        items.append(ImageItem(url, b64, revised, content_side, prompt_side))
    body = images_body(created, items, _gpt_extra(job) if job.rules.gpt_image else None)
    return ImagesAnswer(body, tuple(named))


def run_images(job: ImageJob, media: MediaStore, created: int, url_prefix: str) -> dict[str, Any]:
    """:func:`answer_images`, its images kept at once (in a worker thread, or with no event loop): the response
    body."""
    answered = answer_images(job, media, created, url_prefix)
    for recipe in answered.recipes:
        media.image_recipes.put(recipe.name, recipe)
    return answered.body
