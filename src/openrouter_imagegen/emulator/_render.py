"""Real, deterministic pictures drawn with Pillow from a prompt.

The same parameters always give the same bytes (colours and shapes come from
a hash of the prompt; the encoders write no timestamps), and renders are
cached, so a repeated request costs almost nothing. The prompt is written in
DejaVu Sans, shipped in `fonts/`, which covers Latin, Greek and Cyrillic.

An edit starts from its input image: cropped to the size, tinted, with the
shapes outlined over it rather than filled. An input image that does not
decode, or has more than `_MAX_INPUT_PIXELS`, changes only the colours.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
from dataclasses import dataclass
from importlib import resources
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from openrouter_imagegen.emulator._cache import BudgetCache

__all__ = ["RenderSpec", "Rendered", "render"]

_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
# Characters XML 1.0 cannot carry, which a prompt may: dropped from the SVG's text.
_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_QUALITY = {"low": 60, "medium": 80, "high": 92, "auto": 85}
# A byte budget rather than an entry count: a few 4096x4096 renders must not pin gigabytes.
_CACHE_BYTES = 128 * 1024 * 1024
_MAX_TEXT_CHARS = 300  # of the prompt drawn: the picture shows its start, not all of it
_MAX_INPUT_PIXELS = 40_000_000
_TINT = 0.25  # how much of the design's gradient shows through an input image


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
    base: bytes | None = None  # an encoded input image that the picture starts from
    model: str = ""  # models draw differently, as real ones do: a comparison shows it


@dataclass(frozen=True, slots=True)
class Rendered:
    """An encoded picture, and its previews (blurry to sharp, in the same format)."""

    data: bytes
    previews: tuple[bytes, ...]

    @property
    def size(self) -> int:
        return len(self.data) + sum(map(len, self.previews))


_RenderKey = tuple[RenderSpec, int]  # the spec, and how many previews


class _RenderCache(BudgetCache[_RenderKey, Rendered]):
    """Renders, each weighed with the input image its key holds."""

    def __init__(self, budget: int) -> None:
        super().__init__(budget, lambda key, rendered: rendered.size + len(key[0].base or b""))


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
    seed = f"{spec.prompt}\0{spec.variant}\0{spec.context}\0{spec.model}"
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
    # DejaVu Sans averages about 0.6 em a character; a line is about 1.2 em high.
    columns = max(8, width * 5 // (text_size * 3))
    rows = max(1, (height - text_size) * 5 // (text_size * 6))
    text = _wrap(spec.prompt, columns, rows)
    background = None if transparent else (colours[0], colours[1])
    return _Design(background, tuple(shapes), text, text_size)


def _wrap(text: str, columns: int, rows: int) -> str:
    """The start of `text` in at most `rows` lines of at most `columns` characters, cutting
    words longer than a line. Only what can be drawn is looked at, so any prompt is quick."""
    lines: list[str] = []
    line = ""
    for word in text[: min(columns * rows, _MAX_TEXT_CHARS)].split():
        for start in range(0, len(word), columns):
            piece = word[start : start + columns]
            if line and len(line) + 1 + len(piece) <= columns:
                line += " " + piece
                continue
            if line:
                lines.append(line)
            line = piece
    if line:
        lines.append(line)
    return "\n".join(lines[:rows])


@functools.cache
def _font_file() -> bytes:
    return (resources.files(__package__) / "fonts" / "DejaVuSans.ttf").read_bytes()


def _font(size: int) -> ImageFont.FreeTypeFont:
    # A font object per render: FreeType faces must not be shared between threads.
    return ImageFont.truetype(io.BytesIO(_font_file()), size)


def _input_picture(data: bytes, size: tuple[int, int], mode: str) -> Image.Image | None:
    """The input image `data` cropped and scaled to `size`, or None when it does not decode
    or is too large to."""
    try:
        with Image.open(io.BytesIO(data)) as picture:
            if picture.width * picture.height > _MAX_INPUT_PIXELS:
                return None
            picture.draft("RGB", size)  # a JPEG decodes at a reduced scale when it can
            return ImageOps.fit(picture.convert(mode), size)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


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
    base = _input_picture(spec.base, (width, height), image.mode) if spec.base else None
    if base is not None:
        image = Image.blend(base, image, _TINT) if opaque else base
    draw = ImageDraw.Draw(image)
    size = design.text_size
    for shape in design.shapes:
        colour = shape.fill if opaque else (*shape.fill, 255)
        # Over an input image, outlines: the picture must still show what it was made from.
        fill, outline = (colour, None) if base is None else (None, colour)
        line_width = max(2, size // 6)
        if shape.kind == "ellipse":
            draw.ellipse(shape.box, fill=fill, outline=outline, width=line_width)
        else:
            draw.rectangle(shape.box, fill=fill, outline=outline, width=line_width)
    font = _font(size)
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
        f'<text x="{size // 2}" y="{size}" font-family="DejaVu Sans, sans-serif" '
        f'font-size="{size}" '
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
