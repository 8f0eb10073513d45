"""What image the bytes hold, and its size, read from headers alone.

Everything here runs on untrusted bytes, so it reads a bounded head, uses
no backtracking regular expression, and never raises: what it cannot read
is simply unknown. SVG goes through a real XML parser (defusedxml: no
entity expansion, no external entities, no DTD retrieval).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import NoReturn
from xml.etree.ElementTree import ParseError

from defusedxml.ElementTree import DefusedXMLParser

__all__ = [
    "EXTENSIONS",
    "describe_head",
    "dimensions",
    "sniff_media_type",
    "svg_has_active_content",
]

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
_MAX_SIDE = 65_535  # a header claiming more (or 0) is corrupt or hostile: the size is unknown
_SVG_HEAD_BYTES = 64 * 1024  # the root element must start within this to count as SVG
_SVG_VETTED_BYTES = 8 * 1024 * 1024  # a larger SVG is not scanned for script: it counts as active
_SVG_NAMESPACE = "http://www.w3.org/2000/svg"
_XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"


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
    if _svg_root(data) is not None:
        return "image/svg+xml"
    return None


def _ftyp_brands(data: bytes) -> list[bytes]:
    size = int.from_bytes(data[:4], "big")
    end = min(size if size >= 16 else 16, len(data), 256)
    return [data[8:12]] + [data[i : i + 4] for i in range(16, end - 3, 4)]


def dimensions(data: bytes, media_type: str | None) -> tuple[int, int] | None:
    """(width, height) from the header, without decoding pixels; None when unknown.

    Each side must be 1 to 65,535 pixels; a header claiming anything else is
    treated as unknown rather than trusted.
    """
    reader = _READERS.get(media_type or "")
    if reader is None:
        return None
    try:
        size = reader(data)
    except (struct.error, IndexError, ValueError):
        return None  # a truncated header: the format is known, the size is not
    if size is None or not all(1 <= side <= _MAX_SIDE for side in size):
        return None
    return size


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


def _svg(data: bytes) -> tuple[int, int] | None:
    root = _svg_root(data)
    if root is None:
        return None
    width, height = _svg_length(root.get("width")), _svg_length(root.get("height"))
    if width is not None and height is not None:
        return round(width), round(height)
    box = root.get("viewBox", "").replace(",", " ").split()
    if len(box) == 4:
        width, height = _svg_number(box[2]), _svg_number(box[3])
        if width is not None and height is not None:
            return round(width), round(height)
    return None


def _svg_length(value: str | None) -> float | None:
    """A width or height in user units (`120`, `120.5px`); None for %, em, mm and the like."""
    if value is None:
        return None
    return _svg_number(value.strip().lower().removesuffix("px").rstrip())


def _svg_number(text: str) -> float | None:
    """A plain non-negative decimal (`12`, `12.5`, `.5`); None for anything else.

    The integer part is capped at nine digits, so a 400-digit value is
    unknown instead of an infinity (or an error) further on.
    """
    whole, _, fraction = text.partition(".")
    digits = whole + fraction
    if not digits or not (digits.isascii() and digits.isdigit()) or len(whole) > 9:
        return None
    return float(f"{whole or 0}.{fraction[:9] or 0}")


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


class _Stop(Exception):
    """Raised by a parser target that has seen what it needs, to end the parse there."""


def _is_svg_element(tag: str) -> bool:
    return tag in ("svg", f"{{{_SVG_NAMESPACE}}}svg")


def _parse(document: bytes, target: object, on_doctype: Callable[..., None] | None = None) -> None:
    """Run the hardened parser over `document` in one call (expat stays linear that way)."""
    parser = DefusedXMLParser(target=target)
    if on_doctype is not None:
        parser.parser.StartDoctypeDeclHandler = on_doctype
    parser.feed(document)
    parser.close()


def _xml_text(data: bytes) -> bytes | None:
    """The bytes from the first markup on (past a UTF-8 BOM and blanks), or None if no markup."""
    text = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    return text if text.startswith(b"<") else None


class _RootElement:
    """Parser target that keeps the first element's name and attributes, then stops."""

    def __init__(self) -> None:
        self.tag = ""
        self.attributes: dict[str, str] = {}

    def start(self, tag: str, attributes: dict[str, str]) -> NoReturn:
        self.tag, self.attributes = tag, attributes
        raise _Stop

    def close(self) -> None:
        return None


def _svg_root(data: bytes) -> dict[str, str] | None:
    """The attributes of the root `<svg>` element, if it starts within the head; else None."""
    head = _xml_text(data[:_SVG_HEAD_BYTES])
    if head is None:
        return None
    root = _RootElement()
    try:
        _parse(head, root)
    except _Stop:
        return root.attributes if _is_svg_element(root.tag) else None
    # Malformed; entities or external references refused; an encoding expat cannot read.
    except (ParseError, ValueError, LookupError):
        return None
    return None  # the head ended before any element


_ACTIVE_ELEMENTS = frozenset(
    {"script", "foreignobject", "handler", "listener", "iframe", "embed", "object"}
)
_RASTER_DATA_URLS = tuple(
    f"data:image/{kind}" for kind in ("png", "jpeg", "jpg", "gif", "webp", "avif")
)


def _squeezed(value: str) -> str:
    # Browsers drop blanks and control characters inside a URL scheme (`java\tscript:`).
    return "".join(c for c in value if c > " ").lower()


def _local_name(name: str) -> str:
    return name.rpartition("}")[2].lower()


def _is_active_attribute(name: str, value: str) -> bool:
    local = _local_name(name)
    if local.startswith("on"):
        return True
    url = _squeezed(value)
    if "javascript:" in url or "vbscript:" in url:
        return True
    if local == "href" and url.startswith("data:") and not url.startswith(_RASTER_DATA_URLS):
        return True
    # <set>/<animate> can write an event handler or a link at run time.
    target = url.rpartition(":")[2]
    return local == "attributename" and (target == "href" or target.startswith("on"))


class _ActiveContent:
    """Parser target that stops at the first thing that could run script."""

    def __init__(self) -> None:
        self.elements = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        if self.elements == 0 and not _is_svg_element(tag):
            raise _Stop  # not an SVG document at all
        self.elements += 1
        namespace = tag[1:].partition("}")[0] if tag.startswith("{") else ""
        if (
            namespace == _XHTML_NAMESPACE
            or _local_name(tag) in _ACTIVE_ELEMENTS
            or any(_is_active_attribute(name, value) for name, value in attributes.items())
        ):
            raise _Stop

    def pi(self, target: str, text: str) -> NoReturn:
        raise _Stop  # xml-stylesheet can pull in XSLT, which can emit script

    def doctype_declared(
        self, name: str, system_id: str | None, public_id: str | None, has_internal_subset: int
    ) -> None:
        if has_internal_subset:
            raise _Stop  # an internal subset can give elements default `on*` attributes

    def close(self) -> None:
        return None


def svg_has_active_content(data: bytes) -> bool:
    """Whether the SVG `data` could run script if a browser rendered it inline.

    True for `<script>`, event-handler attributes (`on*`), `javascript:`
    URLs (and non-image `data:` links), `<foreignObject>`, XHTML content,
    processing instructions and internal DTD subsets; for anything that is
    not a well-formed SVG document the hardened parser accepts; and for
    documents over 8 MiB, which are not scanned. Smaller ones are read to
    the end, once, in linear time.
    """
    text = _xml_text(data) if len(data) <= _SVG_VETTED_BYTES else None
    if text is None:
        return True
    scan = _ActiveContent()
    try:
        _parse(text, scan, scan.doctype_declared)
    except Exception:  # fail closed: whatever stopped the parse, the SVG is not known safe
        return True
    return scan.elements == 0


def describe_head(data: bytes, count: int = 16) -> str:
    """The first bytes, as hex and as printable text, for error messages."""
    head = data[:count]
    text = "".join(chr(b) if 32 <= b < 127 else "." for b in head)
    return f"{head.hex(' ')} ({text!r})" if head else "no bytes at all"
