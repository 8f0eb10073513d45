"""What image the bytes hold, and its size, read from headers alone."""

from __future__ import annotations

import re
import struct

__all__ = ["EXTENSIONS", "describe_head", "dimensions", "sniff_media_type"]

EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/avif": "avif",
    "image/heic": "heic",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
    "image/svg+xml": "svg",
}

_AVIF_BRANDS = (b"avif", b"avis")
_HEIC_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")
_SVG_START = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>]", re.S | re.I
)


def sniff_media_type(data: bytes) -> str | None:
    """The media type the bytes' own signature announces, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[4:8] == b"ftyp":
        brands = _ftyp_brands(data)
        if any(b in brands for b in _AVIF_BRANDS):
            return "image/avif"
        if any(b in brands for b in _HEIC_BRANDS):
            return "image/heic"
        return None
    if data[:2] == b"BM" and len(data) >= 26:
        return "image/bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "image/tiff"
    if _SVG_START.match(data[:4096].removeprefix(b"\xef\xbb\xbf")):
        return "image/svg+xml"
    return None


def _ftyp_brands(data: bytes) -> list[bytes]:
    size = int.from_bytes(data[:4], "big")
    end = min(size if size >= 16 else 16, len(data), 256)
    return [data[8:12]] + [data[i : i + 4] for i in range(16, end - 3, 4)]


def dimensions(data: bytes, media_type: str | None) -> tuple[int, int] | None:
    """(width, height) from the header, without decoding pixels; None when unknown."""
    try:
        reader = _READERS.get(media_type or "")
        return reader(data) if reader else None
    except (struct.error, IndexError, ValueError):
        return None  # a truncated header: the format is known, the size is not


def _png(data: bytes) -> tuple[int, int] | None:
    if data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _jpeg(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def _webp(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        b0, b1, b2, b3 = data[21:25]
        width = 1 + (b0 | (b1 & 0x3F) << 8)
        height = 1 + (b1 >> 6 | b2 << 2 | (b3 & 0x0F) << 10)
        return width, height
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    return None


def _gif(data: bytes) -> tuple[int, int] | None:
    width, height = struct.unpack("<HH", data[6:10])
    return width, height


def _bmp(data: bytes) -> tuple[int, int] | None:
    header = int.from_bytes(data[14:18], "little")
    if header == 12:  # OS/2 BITMAPCOREHEADER
        width, height = struct.unpack("<HH", data[18:22])
        return width, height
    width, height = struct.unpack("<ii", data[18:26])
    return abs(width), abs(height)


def _isobmff(data: bytes) -> tuple[int, int] | None:
    # The first `ispe` (image spatial extents) property names the primary image's size.
    at = data.find(b"ispe", 0, 1 << 16)
    if at == -1:
        return None
    width, height = struct.unpack(">II", data[at + 8 : at + 16])
    return width, height


_SVG_LENGTH = rb"\s*=\s*[\"']\s*([0-9]+(?:\.[0-9]+)?)\s*(?:px)?\s*[\"']"
_SVG_WIDTH = re.compile(rb"<svg\b[^>]*?\swidth" + _SVG_LENGTH, re.S | re.I)
_SVG_HEIGHT = re.compile(rb"<svg\b[^>]*?\sheight" + _SVG_LENGTH, re.S | re.I)
_SVG_VIEWBOX = re.compile(
    rb"<svg\b[^>]*?\sviewBox\s*=\s*[\"']\s*[-0-9.]+[\s,]+[-0-9.]+[\s,]+([0-9.]+)[\s,]+([0-9.]+)\s*[\"']",
    re.S | re.I,
)


def _svg(data: bytes) -> tuple[int, int] | None:
    head = data[:8192]
    width, height = _SVG_WIDTH.search(head), _SVG_HEIGHT.search(head)
    if width and height:
        return round(float(width[1])), round(float(height[1]))
    box = _SVG_VIEWBOX.search(head)
    if box:
        return round(float(box[1])), round(float(box[2]))
    return None


_READERS = {
    "image/png": _png,
    "image/jpeg": _jpeg,
    "image/webp": _webp,
    "image/gif": _gif,
    "image/bmp": _bmp,
    "image/avif": _isobmff,
    "image/heic": _isobmff,
    "image/svg+xml": _svg,
}


def describe_head(data: bytes, count: int = 16) -> str:
    """The first bytes, as hex and as printable text, for error messages."""
    head = data[:count]
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in head)
    return f"{head.hex(' ')} ({text!r})" if head else "no bytes at all"
