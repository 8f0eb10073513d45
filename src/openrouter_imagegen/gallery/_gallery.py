"""`write_gallery`: a folder's images as one static page beside them."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from openrouter_imagegen._exceptions import MissingDependencyError
from openrouter_imagegen.gallery._items import collect_items
from openrouter_imagegen.gallery._render import render_page
from openrouter_imagegen.gallery._thumbs import Thumbnailer
from openrouter_imagegen.images._files import write_atomic

__all__ = ["PAGE_NAME", "write_gallery"]

PAGE_NAME = "index.html"


def write_gallery(directory: str | os.PathLike[str], *, title: str | None = None) -> Path:
    """Write `directory/index.html`, a gallery of the images in it, and return its path.

    Works on any folder: a `batch` or `compare` output (read from its
    `index.jsonl`: prompts, models, seeds, costs, failures with their
    reasons) or plain saved images (described by their embedded metadata or
    `NAME.json` sidecars). Thumbnails go to `directory/.thumbs/`. The page
    needs no server and no network; its title is `title`, else the folder's name.

    Raises `NotADirectoryError` when `directory` is not a directory,
    `MissingDependencyError` without Pillow (the `pil` extra), and
    `ValidationError` when `index.jsonl` is malformed (naming the line).
    """
    try:
        import PIL  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError("the gallery", "pil", "Pillow") from exc
    folder = Path(directory)
    if not folder.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(folder))
    items = collect_items(folder)
    thumbnails = Thumbnailer(folder)
    page = render_page(title or folder.resolve().name, items, thumbnails.preview)
    thumbnails.remove_unused()
    return write_atomic(folder / PAGE_NAME, page.encode("utf-8"), overwrite=True)
