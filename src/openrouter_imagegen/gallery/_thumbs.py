"""Thumbnails: small WebP copies made with Pillow, named by the content they show.

A thumbnail's name is a digest of its source's bytes, so an unchanged image
keeps its thumbnail across runs and a changed one gets a new one; names no
longer used are removed. SVG gets no thumbnail: Pillow cannot render it, and
the page shows the file itself through `<img>`, where its scripts never run.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from openrouter_imagegen.images._files import write_atomic
from openrouter_imagegen.images._sniff import dimensions, sniff_media_type, svg_has_active_content

__all__ = ["THUMBS_NAME", "Preview", "Thumbnailer"]

THUMBS_NAME = ".thumbs"
THUMB_SIDE = 320  # the longer side, in pixels, at most
_THUMB_QUALITY = 80
_DIGEST_CHARS = 24
_THUMB_NAME = re.compile(rf"[0-9a-f]{{{_DIGEST_CHARS}}}\.webp")


@dataclass(frozen=True)
class Preview:
    """How the page shows one image file.

    `src` is the path (relative to the folder, `/`-separated) to put in an
    `<img>`, or None when there is nothing safe to show, with the reason in
    `problem`. `linked` says whether the full image may be linked: an SVG
    with scripts is not, since opening it as a page would run them.
    """

    src: str | None
    width: int | None = None
    height: int | None = None
    linked: bool = True
    problem: str | None = None


class Thumbnailer:
    """Makes the previews of one folder's images into `folder/.thumbs/`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.thumbs = directory / THUMBS_NAME
        self.used: set[str] = set()

    def preview(self, name: str) -> Preview:
        """The preview of the image file `name` (relative to the folder)."""
        try:
            data = (self.directory / name).read_bytes()
        except OSError as exc:
            return Preview(None, problem=f"{name} cannot be read: {exc.strerror or exc}")
        media_type = sniff_media_type(data)
        if media_type is None:
            return Preview(None, problem=f"{name} is no known image format")
        if media_type == "image/svg+xml":
            size = dimensions(data, media_type)
            width, height = size if size is not None else (None, None)
            return Preview(name, width, height, linked=not svg_has_active_content(data))
        thumb = hashlib.sha256(data).hexdigest()[:_DIGEST_CHARS] + ".webp"
        self.used.add(thumb)
        path = self.thumbs / thumb
        if path.is_file():
            size = dimensions(path.read_bytes(), "image/webp")
            if size is not None:
                return Preview(f"{THUMBS_NAME}/{thumb}", *size)
        try:
            encoded, size = _thumbnail(data)
        except Exception as exc:  # Pillow raises many kinds of error on corrupt data
            self.used.discard(thumb)
            return Preview(None, problem=f"no preview: Pillow cannot read {name} ({exc})")
        self.thumbs.mkdir(exist_ok=True)
        write_atomic(path, encoded, overwrite=True)
        return Preview(f"{THUMBS_NAME}/{thumb}", *size)

    def remove_unused(self) -> None:
        """Delete the thumbnails no preview asked for since this object was made."""
        if not self.thumbs.is_dir():
            return
        for path in self.thumbs.iterdir():
            if _THUMB_NAME.fullmatch(path.name) and path.name not in self.used:
                path.unlink(missing_ok=True)


def _thumbnail(data: bytes) -> tuple[bytes, tuple[int, int]]:
    """WebP bytes of `data` shrunk to fit THUMB_SIDE (never enlarged), upright, and its size."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        # An image past Pillow's pixel limit is refused, not shrunk at any cost.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (THUMB_SIDE, THUMB_SIDE))  # JPEG: decode at a reduced scale
            image = ImageOps.exif_transpose(opened)
            has_alpha = "A" in image.getbands() or "transparency" in image.info
            image = image.convert("RGBA" if has_alpha else "RGB")
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            out = io.BytesIO()
            image.save(out, "WEBP", quality=_THUMB_QUALITY, method=4)
    return out.getvalue(), image.size
