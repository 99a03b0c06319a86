"""Images behaviour without HTTP: each model's rules and errors, the rendered images, url recipes, edits."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from aoai_mock.behaviour import images
from aoai_mock.behaviour.image_render import ImageRecipe, render
from aoai_mock.behaviour.media_store import BoundedMap, MediaStore
from aoai_mock.config import default_config
from aoai_mock.errors import (
    AzureError,
    InvalidImageFile,
    InvalidPayload,
    InvalidRequest,
    OperationNotSupported,
)
from aoai_mock.wire.images import ImageGenerationRequest
from PIL import Image

GA = "2024-10-21"
PREVIEW = "2025-04-01-preview"
DALLE = default_config().deployment("dall-e-3")
GPT_IMAGE = default_config().deployment("gpt-image-1")
SAFE = {"filtered": False, "severity": "safe"}


def job(deployment: Any = DALLE, version: str = GA, **body: Any) -> images.ImageJob:
    return images.generation_job(ImageGenerationRequest(**{"prompt": "A rabbit eating pancakes", **body}), deployment, version, 0)


def decoded(b64: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(b64)))


def png(size: tuple[int, int], colour: Any = "red", mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, colour).save(buffer, "PNG")
    return buffer.getvalue()


# -- dall-e-3's rules ------------------------------------------------------------------------------------------


def test_dalle3_defaults() -> None:
    found = job()
    assert (found.recipe.width, found.recipe.height) == (1024, 1024)
    assert (found.recipe.quality, found.recipe.style, found.response_format, found.n) == ("standard", "vivid", "url", 1)


@pytest.mark.parametrize("size", ["1024x1024", "1792x1024", "1024x1792"])
def test_dalle3_sizes(size: str) -> None:
    found = job(size=size)
    assert f"{found.recipe.width}x{found.recipe.height}" == size


@pytest.mark.parametrize(
    ("prop", "value"),
    [("size", "512x512"), ("size", "1536x1024"), ("quality", "high"), ("style", "cartoon"), ("response_format", "png"), ("n", 2), ("n", 0)],
)
def test_dalle3_refuses_values_it_does_not_take(prop: str, value: Any) -> None:
    with pytest.raises(InvalidPayload) as caught:
        job(**{prop: value})
    assert caught.value.status == 400
    # The gateway's short shape [captured for quality].
    assert caught.value.body() == {
        "error": {"code": "invalidPayload", "message": f"Invalid payload: Value for property {prop} is invalid."}
    }


def test_dalle3_refuses_gpt_image_arguments() -> None:
    with pytest.raises(InvalidRequest, match="Unrecognized request argument supplied: output_format"):
        job(output_format="webp")


@pytest.mark.parametrize("prompt", ["", "   "])
def test_empty_prompt(prompt: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        job(prompt=prompt)
    assert caught.value.code == "empty_string" and caught.value.param == "prompt"


def test_prompt_too_long() -> None:
    with pytest.raises(InvalidRequest) as caught:
        job(prompt="x" * 4001)
    assert caught.value.code == "string_above_max_length"
    job(GPT_IMAGE, PREVIEW, prompt="x" * 4001)  # gpt-image-1 takes 32000


# -- gpt-image-1's rules ---------------------------------------------------------------------------------------


def test_gpt_image_invalid_size_is_worded_as_captured() -> None:
    with pytest.raises(InvalidRequest) as caught:
        job(GPT_IMAGE, PREVIEW, size="2560x1440")
    assert caught.value.body()["error"] == {
        "message": "Invalid value: '2560x1440'. Supported values are: '1024x1024', '1536x1024', '1024x1536', and 'auto'.",
        "type": "invalid_request_error",
        "param": "size",
        "code": "invalid_value",
    }


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"quality": "hd"}, "quality", "invalid_value"),
        ({"output_format": "gif"}, "output_format", "invalid_value"),
        ({"background": "blue"}, "background", "invalid_value"),
        ({"response_format": "url"}, "response_format", "invalid_value"),
        ({"n": 11}, "n", "integer_above_max_value"),
        ({"n": 0}, "n", "integer_below_min_value"),
        ({"output_compression": 101}, "output_compression", "integer_above_max_value"),
        ({"background": "transparent", "output_format": "jpeg"}, "background", "invalid_value"),
    ],
)
def test_gpt_image_refusals(body: dict[str, Any], param: str, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        job(GPT_IMAGE, PREVIEW, **body)
    assert (caught.value.param, caught.value.code) == (param, code)


def test_gpt_image_takes_no_style() -> None:
    with pytest.raises(InvalidRequest, match="Unrecognized request argument supplied: style"):
        job(GPT_IMAGE, PREVIEW, style="vivid")


def test_gpt_image_defaults_and_options() -> None:
    found = job(GPT_IMAGE, PREVIEW, n=3, output_format="jpeg", output_compression=60)
    assert (found.recipe.width, found.recipe.height, found.recipe.quality) == (1024, 1024, "auto")
    assert (found.n, found.response_format, found.recipe.output_format, found.recipe.compression) == (3, "b64_json", "jpeg", 60)


def test_unknown_image_model_gets_dalle3_rules() -> None:
    assert images.rules_for("some-future-model") is images.DALLE3
    assert images.rules_for("gpt-image-1") is images.GPT_IMAGE


# -- answers ---------------------------------------------------------------------------------------------------


def test_url_answer_names_a_recipe_the_store_renders() -> None:
    media = MediaStore()
    body = images.run_images(job(size="1792x1024", quality="hd"), media, 1_700_000_000, "http://mock/_mock/files/images/")
    item = body["data"][0]
    assert body["created"] == 1_700_000_000 and "b64_json" not in item
    name = item["url"].removeprefix("http://mock/_mock/files/images/")
    recipe = media.image_recipes.get(name)
    assert recipe is not None
    image = images.stored_image(media, recipe)
    opened = Image.open(io.BytesIO(image.data))
    assert (opened.format, opened.size, image.media_type) == ("PNG", (1792, 1024), "image/png")
    assert item["content_filter_results"] == {"hate": SAFE, "self_harm": SAFE, "sexual": SAFE, "violence": SAFE}
    assert item["prompt_filter_results"]["profanity"] == {"detected": False, "filtered": False}


def test_b64_answer_and_revised_prompt() -> None:
    body = images.run_images(job(response_format="b64_json", style="natural"), MediaStore(), 1, "")
    item = body["data"][0]
    assert "url" not in item and decoded(item["b64_json"]).size == (1024, 1024)
    assert "rabbit eating pancakes" in item["revised_prompt"] and "natural" in item["revised_prompt"]
    assert item["revised_prompt"] == images.revised_prompt("A rabbit eating pancakes", "natural", "standard")


def test_gpt_image_answer_has_usage_and_no_revised_prompt() -> None:
    body = images.run_images(job(GPT_IMAGE, PREVIEW, n=2, size="1024x1536", quality="low"), MediaStore(), 1, "")
    assert len(body["data"]) == 2 and all("revised_prompt" not in item for item in body["data"])
    assert [decoded(item["b64_json"]).size for item in body["data"]] == [(1024, 1536)] * 2
    assert body["data"][0]["b64_json"] != body["data"][1]["b64_json"]  # two images, not one twice
    assert (body["size"], body["quality"], body["output_format"], body["background"]) == ("1024x1536", "low", "png", "opaque")
    usage = body["usage"]
    assert usage["output_tokens"] == 2 * 408
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


# -- rendering -------------------------------------------------------------------------------------------------


def test_render_is_deterministic_and_follows_the_prompt() -> None:
    one = render(ImageRecipe("A corgi in a field", 1024, 1024))
    assert render(ImageRecipe("A corgi in a field", 1024, 1024)).data == one.data
    assert render(ImageRecipe("A cat in a field", 1024, 1024)).data != one.data
    assert render(ImageRecipe("A corgi in a field", 1024, 1024, seed=7)).data != one.data


@pytest.mark.parametrize(("fmt", "pil"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
def test_render_formats(fmt: str, pil: str) -> None:
    image = render(ImageRecipe("A fox", 1536, 1024, output_format=fmt, compression=70))
    opened = Image.open(io.BytesIO(image.data))
    opened.load()
    assert (opened.format, opened.size) == (pil, (1536, 1024))


def test_transparent_background_keeps_alpha() -> None:
    opened = Image.open(io.BytesIO(render(ImageRecipe("A sticker", 1024, 1024, transparent=True)).data))
    assert opened.mode == "RGBA"
    assert opened.getchannel("A").getextrema()[0] == 0  # some pixels are fully transparent


def test_image_is_not_one_colour() -> None:
    opened = Image.open(io.BytesIO(render(ImageRecipe("Anything", 1024, 1024)).data)).convert("RGB")
    assert len(opened.getcolors(maxcolors=1 << 20) or ()) > 50


# -- edits -----------------------------------------------------------------------------------------------------


def edit(upload: images.EditUpload, **fields: Any) -> images.ImageJob:
    return images.edit_job({"prompt": "Add a hat", **fields}, upload, GPT_IMAGE, PREVIEW, 0)


def test_edit_fits_the_size_and_keeps_what_the_mask_covers() -> None:
    mask = Image.new("RGBA", (512, 512), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, 256, 512))  # left half transparent: edit there only
    buffer = io.BytesIO()
    mask.save(buffer, "PNG")
    upload = images.EditUpload((png((512, 512), (10, 200, 30)),), buffer.getvalue())
    body = images.run_images(edit(upload, size="1024x1024"), MediaStore(), 1, "")
    result = decoded(body["data"][0]["b64_json"]).convert("RGB")
    assert result.size == (1024, 1024)
    assert result.getpixel((900, 500)) == (10, 200, 30)  # right half: the original
    assert body["usage"]["input_tokens_details"]["image_tokens"] > 0


def test_edit_auto_size_follows_the_image() -> None:
    assert edit(images.EditUpload((png((900, 400)),))).recipe.width == 1536
    assert edit(images.EditUpload((png((400, 900)),))).recipe.height == 1536
    assert edit(images.EditUpload((png((500, 500)),))).recipe.width == 1024


@pytest.mark.parametrize("data", [b"not an image", b"", b"GIF89a" + bytes(20)])
def test_edit_refuses_what_is_not_an_image(data: bytes) -> None:
    with pytest.raises(InvalidImageFile) as caught:
        edit(images.EditUpload((png((64, 64)), data)))
    assert "image 2" in caught.value.message and caught.value.param == "image"


def test_edit_refuses_a_mask_of_another_size() -> None:
    with pytest.raises(InvalidRequest) as caught:
        edit(images.EditUpload((png((64, 64)),), png((32, 32), mode="RGBA")))
    assert caught.value.param == "mask"


def test_edit_needs_an_image_and_a_gpt_image_model() -> None:
    with pytest.raises(InvalidRequest) as caught:
        edit(images.EditUpload(()))
    assert caught.value.code == "missing_required_parameter"
    with pytest.raises(OperationNotSupported):
        images.edit_job({"prompt": "x"}, images.EditUpload((png((8, 8)),)), DALLE, PREVIEW, 0)


def test_edit_refuses_unknown_fields() -> None:
    with pytest.raises(AzureError, match="Unrecognized request argument supplied: style"):
        edit(images.EditUpload((png((8, 8)),)), style="vivid")


# -- the store -------------------------------------------------------------------------------------------------


def test_bounded_map_forgets_the_least_recently_used() -> None:
    kept: BoundedMap[str, int] = BoundedMap(2)
    kept.put("a", 1)
    kept.put("b", 2)
    kept.get("a")
    kept.put("c", 3)
    assert (kept.get("a"), kept.get("b"), kept.get("c")) == (1, None, 3)


def test_bounded_map_by_bytes() -> None:
    kept: BoundedMap[str, bytes] = BoundedMap(100, max_bytes=10, size=len)
    kept.put("a", b"123456")
    kept.put("b", b"123456")
    assert kept.get("a") is None and kept.get("b") == b"123456" and len(kept) == 1
