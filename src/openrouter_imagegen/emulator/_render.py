"""Real, deterministic pictures drawn with Pillow from a prompt.

The same parameters always give the same bytes (colours and shapes come from
a hash of the prompt; the encoders write no timestamps), and renders are
cached, so a repeated request costs almost nothing.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
import threading
from collections import OrderedDict
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["RenderSpec", "Rendered", "render"]

_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
_QUALITY = {"low": 60, "medium": 80, "high": 92, "auto": 85}
# A byte budget rather than an entry count: a few 4096x4096 renders must not pin gigabytes.
_CACHE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """Everything that decides a picture's bytes."""

    prompt: str
    width: int
    height: int
    output_format: str = "png"  # png | jpeg | webp
    background: str = "auto"  # transparent | opaque | auto
    quality: str = "auto"  # low | medium | high | auto: the JPEG and WebP quality
    variant: int = 0  # which of the `n` pictures of one request
    context: str = ""  # a digest of input images or earlier results, for edits
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """An encoded picture, and its previews (blurry to sharp, in the same format)."""

    data: bytes
    previews: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return len(self.data) + sum(map(len, self.previews))


class _RenderCache:
    """The least recently used renders that fit in a byte budget; shared by worker threads."""

    def __init__(self, budget: int) -> None:
        self._budget = budget
        self._used = 0
        self._entries: OrderedDict[tuple[RenderSpec, int], Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[RenderSpec, int]) -> Rendered | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[RenderSpec, int], rendered: Rendered) -> None:
        if rendered.size > self._budget:
            return
        with self._lock:
            if key in self._entries:
                return
            self._entries[key] = rendered
            self._used += rendered.size
            while self._used > self._budget:
                _, evicted = self._entries.popitem(last=False)
                self._used -= evicted.size


_cache = _RenderCache(_CACHE_BYTES)


def render(spec: RenderSpec, previews: int = 0) -> Rendered:
    """The encoded picture for `spec`, with `previews` progressively sharper previews."""
    key = (spec, previews)
    rendered = _cache.get(key)
    if rendered is None:
        image = _draw(spec)
        rendered = Rendered(
            _encode(image, spec),
            tuple(_encode(_preview(image, step, previews), spec) for step in range(previews)),
        )
        _cache.put(key, rendered)
    return rendered


def _draw(spec: RenderSpec) -> Image.Image:
    seed = f"{spec.prompt}\0{spec.variant}\0{spec.context}"
    if spec.seed is not None:
        seed += f"\0{spec.seed}"
    digest = hashlib.sha256(seed.encode()).digest()
    digest += hashlib.sha256(seed.encode() + b"more").digest()
    colours = [(digest[i], digest[i + 1], digest[i + 2]) for i in range(0, 30, 3)]
    transparent = spec.background == "transparent" and spec.output_format != "jpeg"
    width, height = spec.width, spec.height
    if transparent:
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    else:
        # A vertical gradient between the first two colours.
        gradient = Image.linear_gradient("L").resize((width, height))
        image = Image.composite(
            Image.new("RGB", (width, height), colours[1]),
            Image.new("RGB", (width, height), colours[0]),
            gradient,
        )
    draw = ImageDraw.Draw(image)
    for i in range(6):
        d = digest[32 + i * 5 : 37 + i * 5]
        x, y = d[0] * width // 256, d[1] * height // 256
        r = max(4, (d[2] % 40 + 10) * min(width, height) // 100)
        colour = colours[2 + i % 8]
        fill = (*colour, 255) if transparent else colour
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


def _preview(image: Image.Image, step: int, steps: int) -> Image.Image:
    """Preview `step` of `steps` (0-based): the earlier, the coarser and blurrier."""
    width, height = image.size
    factor = 2 ** (steps - step + 1)
    small = image.resize((max(1, width // factor), max(1, height // factor)))
    coarse = small.resize((width, height), Image.Resampling.NEAREST)
    return coarse.filter(ImageFilter.GaussianBlur(radius=steps - step))


def _encode(image: Image.Image, spec: RenderSpec) -> bytes:
    buffer = io.BytesIO()
    fmt = _PIL_FORMATS[spec.output_format]
    if fmt == "PNG":
        image.save(buffer, fmt, compress_level=3)
    else:
        image.save(buffer, fmt, quality=_QUALITY[spec.quality])
    return buffer.getvalue()
