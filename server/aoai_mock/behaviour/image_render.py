"""Real images for the images family: a pattern drawn from the prompt, in the requested size and format.

An image is a gradient in two colours, shapes laid over it and the prompt written along the bottom, all
drawn from a random generator seeded by the recipe: the same recipe gives the same bytes on every machine
with the same Pillow. ``style`` picks the palette (``vivid``: saturated, ``natural``: muted) and
``quality`` how many shapes (``hd``/``high``: many). An edit starts from the uploaded image, fitted to the
size, and paints the pattern where the mask is transparent (everywhere, half-blended, without a mask).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import textwrap
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont, ImageOps

from aoai_mock.behaviour.media_store import StoredImage

__all__ = ["ImageRecipe", "render", "render_edit", "MEDIA_TYPES", "open_upload"]

MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_SHAPES = {"low": 6, "standard": 14, "medium": 14, "hd": 36, "high": 36, "auto": 36}


@dataclass(frozen=True, slots=True)
class ImageRecipe:
    """Everything an image is drawn from. ``name`` is what its ``url`` ends with."""

    prompt: str
    width: int
    height: int
    quality: str = "standard"
    style: str = "vivid"
    output_format: str = "png"
    compression: int = 100  # jpeg/webp quality, 0-100
    transparent: bool = False
    seed: int = 0
    index: int = 0  # the n-th image of one request

    @property
    def name(self) -> str:
        digest = hashlib.sha256(repr(self).encode()).hexdigest()[:40]
        return f"{digest}.{'jpg' if self.output_format == 'jpeg' else self.output_format}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.output_format]

    def rng(self) -> random.Random:
        return random.Random(hashlib.sha256(repr(self).encode()).digest())

    def render(self) -> StoredImage:
        return render(self)


def _palette(rng: random.Random, style: str, count: int) -> list[tuple[int, int, int]]:
    saturation, value = ((0.75, 1.0), (0.85, 1.0)) if style == "vivid" else ((0.15, 0.45), (0.5, 0.8))
    base = rng.random()
    colours = []
    for i in range(count):
        hue = (base + i * 0.137 + rng.uniform(-0.05, 0.05)) % 1.0
        r, g, b = colorsys.hsv_to_rgb(hue, rng.uniform(*saturation), rng.uniform(*value))
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def _background(recipe: ImageRecipe, rng: random.Random, palette: list[tuple[int, int, int]]) -> Image.Image:
    size = (recipe.width, recipe.height)
    if recipe.transparent:
        return Image.new("RGBA", size, (0, 0, 0, 0))
    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 45, 90, 135, 180, 270)), expand=False).resize(size)
    first = Image.new("RGBA", size, (*palette[0], 255))
    second = Image.new("RGBA", size, (*palette[1], 255))
    return Image.composite(first, second, ramp)


def _shapes(canvas: Image.Image, rng: random.Random, palette: list[tuple[int, int, int]], count: int) -> None:
    width, height = canvas.size
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    unit = min(width, height)
    for _ in range(count):
        colour = (*rng.choice(palette[2:] or palette), rng.randint(110, 220))
        x, y = rng.uniform(0, width), rng.uniform(0, height)
        r = rng.uniform(0.04, 0.22) * unit
        kind = rng.random()
        if kind < 0.45:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif kind < 0.75:
            draw.rounded_rectangle((x - r, y - r * 0.6, x + r, y + r * 0.6), radius=r * 0.2, fill=colour)
        else:
            draw.regular_polygon((x, y, r), n_sides=rng.randint(3, 7), rotation=rng.uniform(0, 360), fill=colour)
    canvas.alpha_composite(layer)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # Pillow built without FreeType: the small bitmap font
        return ImageFont.load_default()


def _caption(canvas: Image.Image, prompt: str) -> None:
    width, height = canvas.size
    size = max(12, min(width, height) // 32)
    font = _font(size)
    lines = textwrap.wrap(" ".join(prompt.split()), width=max(10, int(width / (size * 0.55))))[:3]
    if not lines:
        return
    band = int(size * 1.35 * len(lines) + size)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.rectangle((0, height - band, width, height), fill=(0, 0, 0, 120))
    for i, line in enumerate(lines):
        draw.text((size // 2 + size // 4, height - band + size // 2 + i * size * 1.35), line, fill=(255, 255, 255, 235), font=font)
    canvas.alpha_composite(layer)


def _pattern(recipe: ImageRecipe) -> Image.Image:
    rng = recipe.rng()
    palette = _palette(rng, recipe.style, 6)
    canvas = _background(recipe, rng, palette)
    _shapes(canvas, rng, palette, _SHAPES.get(recipe.quality, 14))
    _caption(canvas, recipe.prompt)
    return canvas


def _encode(image: Image.Image, recipe: ImageRecipe) -> StoredImage:
    keep_alpha = recipe.transparent and recipe.output_format != "jpeg"
    image = image if keep_alpha else image.convert("RGB")
    buffer = io.BytesIO()
    if recipe.output_format == "png":
        image.save(buffer, "PNG", compress_level=3)
    else:
        image.save(buffer, _PIL_FORMATS[recipe.output_format], quality=max(1, recipe.compression))
    return StoredImage(buffer.getvalue(), recipe.media_type)


def render(recipe: ImageRecipe) -> StoredImage:
    """The generated image of ``recipe``, encoded."""
    return _encode(_pattern(recipe), recipe)


# The most pixels an uploaded image may have (4096 x 4096): its header is read first, so a small file that
# claims a huge picture (a decompression bomb) is refused before anything is decoded. Azure documents only a
# file size limit; the mock's own memory sets this one.
MAX_UPLOAD_PIXELS = 4096 * 4096


def open_upload(data: bytes) -> Image.Image | None:
    """An uploaded PNG, JPEG or WebP image, decoded; None when it is not one of those, is damaged, or has more
    than ``MAX_UPLOAD_PIXELS`` pixels."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in ("PNG", "JPEG", "WEBP") or image.width * image.height > MAX_UPLOAD_PIXELS:
            return None
        image.load()
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a bad file; all mean "not an image"
        return None
    return image


def render_edit(recipe: ImageRecipe, images: list[Image.Image], mask: Image.Image | None) -> StoredImage:
    """``images[0]`` fitted to the recipe's size, painted with the recipe's pattern where ``mask`` is
    transparent (half-blended everywhere without a mask); further images appear as thumbnails."""
    size = (recipe.width, recipe.height)
    base = ImageOps.fit(images[0].convert("RGBA"), size, method=Image.Resampling.BILINEAR)
    pattern = _pattern(recipe)
    if mask is not None:
        alpha = ImageOps.fit(mask.convert("RGBA"), size).getchannel("A")
        edited = Image.composite(base, pattern, alpha)  # opaque mask: keep the original
    else:
        edited = Image.blend(base, pattern, 0.5)
    thumb = max(32, min(size) // 6)
    for i, extra in enumerate(images[1:4]):
        edited.alpha_composite(ImageOps.fit(extra.convert("RGBA"), (thumb, thumb)), (8 + i * (thumb + 8), 8))
    return _encode(edited, recipe)
