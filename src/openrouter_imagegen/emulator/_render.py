"""Real, deterministic pictures drawn with Pillow from a prompt.

The same parameters always give the same bytes (colours and shapes come from
a hash of the prompt; the encoders write no timestamps), and renders are
cached, so a repeated request costs almost nothing.
"""

from __future__ import annotations

import hashlib
import io
import re
import textwrap
import threading
from collections import OrderedDict
from dataclasses import dataclass
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["RenderSpec", "Rendered", "render"]

_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
# Characters XML 1.0 cannot carry, which a prompt may: dropped from the SVG's text.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_QUALITY = {"low": 60, "medium": 80, "high": 92, "auto": 85}
# A byte budget rather than an entry count: a few 4096x4096 renders must not pin gigabytes.
_CACHE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RenderSpec:
    """Everything that decides a picture's bytes."""

    prompt: str
    width: int
    height: int
    output_format: str = "png"  # png | jpeg | webp | svg
    background: str = "auto"  # transparent | opaque | auto
    quality: str = "auto"  # low | medium | high | auto: the JPEG and WebP quality
    variant: int = 0  # which of the `n` pictures of one request
    context: str = ""  # a digest of input images or earlier results, for edits
    seed: int | None = None
    compression: int | None = None  # the JPEG and WebP quality, 0 to 100, instead of `quality`'s


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
    """The encoded picture for `spec`, with `previews` progressively sharper previews.

    An SVG is markup, with no previews.
    """
    key = (spec, previews)
    rendered = _cache.get(key)
    if rendered is None:
        if spec.output_format == "svg":
            rendered = Rendered(_svg(spec).encode(), ())  # markup streams as text, not previews
        else:
            image = _draw(spec)
            rendered = Rendered(
                _encode(image, spec),
                tuple(_encode(_preview(image, step, previews), spec) for step in range(previews)),
            )
        _cache.put(key, rendered)
    return rendered


_Colour = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class _Shape:
    kind: str  # ellipse | rectangle: both fill a square box
    box: tuple[int, int, int, int]  # left, top, right, bottom
    fill: _Colour


@dataclass(frozen=True, slots=True)
class _Design:
    """What a picture shows, whatever it is encoded as: drawn by Pillow or written as SVG."""

    background: tuple[_Colour, _Colour] | None  # a gradient, top to bottom; None: transparent
    shapes: tuple[_Shape, ...]
    text: str  # the prompt, wrapped to the width
    text_size: int


def _design(spec: RenderSpec) -> _Design:
    """Colours and shapes from a hash of everything but the encoding, so the seed matters."""
    seed = f"{spec.prompt}\0{spec.variant}\0{spec.context}"
    if spec.seed is not None:
        seed += f"\0{spec.seed}"
    digest = hashlib.sha256(seed.encode()).digest()
    digest += hashlib.sha256(seed.encode() + b"more").digest()
    colours = [(digest[i], digest[i + 1], digest[i + 2]) for i in range(0, 30, 3)]
    transparent = spec.background == "transparent" and spec.output_format != "jpeg"
    width, height = spec.width, spec.height
    shapes = []
    for i in range(6):
        d = digest[32 + i * 5 : 37 + i * 5]
        x, y = d[0] * width // 256, d[1] * height // 256
        r = max(4, (d[2] % 40 + 10) * min(width, height) // 100)
        kind = "ellipse" if d[3] % 2 else "rectangle"
        shapes.append(_Shape(kind, (x - r, y - r, x + r, y + r), colours[2 + i % 8]))
    text_size = max(10, min(width, height) // 12)
    text = textwrap.fill(spec.prompt, width=max(8, width // (text_size // 2 + 1)))[:300]
    background = None if transparent else (colours[0], colours[1])
    return _Design(background, tuple(shapes), text, text_size)


def _draw(spec: RenderSpec) -> Image.Image:
    design = _design(spec)
    width, height = spec.width, spec.height
    opaque = design.background is not None
    if design.background is None:
        image = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    else:
        top, bottom = design.background
        gradient = Image.linear_gradient("L").resize((width, height))
        image = Image.composite(
            Image.new("RGB", (width, height), bottom),
            Image.new("RGB", (width, height), top),
            gradient,
        )
    draw = ImageDraw.Draw(image)
    for shape in design.shapes:
        fill = shape.fill if opaque else (*shape.fill, 255)
        if shape.kind == "ellipse":
            draw.ellipse(shape.box, fill=fill)
        else:
            draw.rectangle(shape.box, fill=fill)
    size = design.text_size
    font = ImageFont.load_default(size=size)
    ink = (255, 255, 255) if opaque else (255, 255, 255, 255)
    draw.multiline_text(
        (size // 2, size // 2),
        design.text,
        font=font,
        fill=ink,
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    return image


def _svg(spec: RenderSpec) -> str:
    """The same picture as SVG markup, one element a line."""
    design = _design(spec)
    width, height = spec.width, spec.height
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    if design.background is not None:
        top, bottom = design.background
        lines += [
            '<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1">'
            f'<stop offset="0" stop-color="{_hex(top)}"/>'
            f'<stop offset="1" stop-color="{_hex(bottom)}"/></linearGradient></defs>',
            f'<rect width="{width}" height="{height}" fill="url(#sky)"/>',
        ]
    for shape in design.shapes:
        left, top_edge, right, _ = shape.box
        r = (right - left) // 2
        if shape.kind == "ellipse":
            lines.append(
                f'<circle cx="{left + r}" cy="{top_edge + r}" r="{r}" fill="{_hex(shape.fill)}"/>'
            )
        else:
            lines.append(
                f'<rect x="{left}" y="{top_edge}" width="{2 * r}" height="{2 * r}" '
                f'fill="{_hex(shape.fill)}"/>'
            )
    size = design.text_size
    lines.append(
        f'<text x="{size // 2}" y="{size}" font-family="sans-serif" font-size="{size}" '
        'fill="#ffffff" stroke="#000000" stroke-width="2" paint-order="stroke">'
    )
    text = escape(_XML_UNSAFE.sub("", design.text))
    lines += [
        f'<tspan x="{size // 2}" dy="{size if n else 0}">{line}</tspan>'
        for n, line in enumerate(text.splitlines())
    ]
    lines += ["</text>", "</svg>"]
    return "\n".join(lines) + "\n"


def _hex(colour: _Colour) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


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
        quality = _QUALITY[spec.quality] if spec.compression is None else spec.compression
        image.save(buffer, fmt, quality=quality)
    return buffer.getvalue()
