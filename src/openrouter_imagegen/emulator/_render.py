"""Real, deterministic pictures drawn with Pillow from a prompt.

The same parameters always give the same bytes (colours and shapes come from
a hash of the prompt; encoders are run without timestamps), and renders are
cached, so repeated requests cost almost nothing.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["RenderSpec", "render", "render_preview"]

_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_QUALITY = {"low": 60, "medium": 80, "high": 92, "auto": 85}


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """Everything that decides a picture's bytes."""

    prompt: str
    width: int
    height: int
    output_format: str = "png"  # png | jpeg | webp
    background: str = "auto"  # transparent | opaque | auto
    quality: str = "auto"
    variant: int = 0  # which of the `n` images of one request
    context: str = ""  # a digest of input images or earlier results, for edits


def _palette(digest: bytes) -> list[tuple[int, int, int]]:
    return [(digest[i], digest[i + 1], digest[i + 2]) for i in range(0, 30, 3)]


def _draw(spec: RenderSpec) -> Image.Image:
    seed = f"{spec.prompt}\0{spec.variant}\0{spec.context}".encode()
    digest = hashlib.sha256(seed).digest() + hashlib.sha256(seed + b"more").digest()
    colours = _palette(digest)
    transparent = spec.background == "transparent" and spec.output_format != "jpeg"
    mode = "RGBA" if transparent else "RGB"
    width, height = spec.width, spec.height
    # A vertical gradient between two colours of the palette.
    top, bottom = colours[0], colours[1]
    gradient = Image.linear_gradient("L").resize((width, height))
    base = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), gradient
    )
    image = (
        base.convert(mode) if not transparent else Image.new("RGBA", (width, height), (0, 0, 0, 0))
    )
    draw = ImageDraw.Draw(image)
    for i in range(6):
        d = digest[32 + i * 5 : 37 + i * 5]
        x, y = d[0] * width // 256, d[1] * height // 256
        r = max(4, (d[2] % 40 + 10) * min(width, height) // 100)
        fill = (*colours[2 + i % 8], 255) if transparent else colours[2 + i % 8]
        box = (x - r, y - r, x + r, y + r)
        if d[3] % 2:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    size = max(10, min(width, height) // 12)
    font = ImageFont.load_default(size=size)
    words = textwrap.fill(spec.prompt, width=max(8, width // (size // 2 + 1)))[:300]
    ink = (255, 255, 255, 255) if transparent else (255, 255, 255)
    draw.multiline_text(
        (size // 2, size // 2), words, font=font, fill=ink, stroke_width=2, stroke_fill=(0, 0, 0)
    )
    return image


def _encode(image: Image.Image, spec: RenderSpec) -> bytes:
    buffer = io.BytesIO()
    fmt = _PIL_FORMATS[spec.output_format]
    if fmt == "PNG":
        image.save(buffer, fmt, compress_level=3)
    else:
        image.save(buffer, fmt, quality=_QUALITY.get(spec.quality, 85))
    return buffer.getvalue()


@lru_cache(maxsize=256)
def render(spec: RenderSpec) -> bytes:
    """The encoded picture for `spec`."""
    return _encode(_draw(spec), spec)


@lru_cache(maxsize=256)
def render_preview(spec: RenderSpec, step: int, steps: int) -> bytes:
    """Preview `step` of `steps` (0-based): blurrier and coarser the earlier it is."""
    image = _draw(spec)
    factor = 2 ** (steps - step + 1)
    small = image.resize((max(1, spec.width // factor), max(1, spec.height // factor)))
    coarse = small.resize((spec.width, spec.height), Image.Resampling.NEAREST)
    return _encode(coarse.filter(ImageFilter.GaussianBlur(radius=steps - step)), spec)
