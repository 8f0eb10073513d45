"""Saving several images to where a user pointed: the one rule every entry
point (`Response.save_images`, both clients, the CLI) follows.

A destination is a directory when it ends with a path separator, when it is
an existing directory, or when its name has no image extension (so
`run.2024-01-05` is a directory); otherwise it is a file name, numbered
`NAME-1.EXT`, `NAME-2.EXT`, ... when there are several images. A missing
directory is created, parents included.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openrouter_imagegen._exceptions import ImageExistsError, ImageSaveError
from openrouter_imagegen.images._sniff import EXTENSIONS

if TYPE_CHECKING:
    from openrouter_imagegen.images._image import GeneratedImage

__all__ = ["is_directory_destination", "save_all", "saving_error"]

_IMAGE_SUFFIXES = frozenset({f".{ext}" for ext in EXTENSIONS.values()} | {".jpeg", ".tif"})


def is_directory_destination(destination: str | Path) -> bool:
    """Whether `destination` names a directory to save into (see the module's rule)."""
    text = os.fspath(destination)
    if text.endswith(("/", os.sep)):
        return True
    path = Path(text)
    if path.is_dir():
        return True
    if path.exists():
        return False
    return path.suffix.lower() not in _IMAGE_SUFFIXES


def saving_error(exc: OSError, path: Path | str) -> ImageSaveError:
    """An `OSError` from writing `path` as the library's error, saying what to do."""
    if isinstance(exc, ImageSaveError):
        return exc
    if isinstance(exc, FileExistsError):
        return ImageExistsError(
            f"{path} exists; pass overwrite=True (--overwrite on the command line) to replace it",
            errno=errno.EEXIST,
            filename=str(path),
        )
    reason = exc.strerror or str(exc)
    return ImageSaveError(f"cannot write {path}: {reason}", errno=exc.errno, filename=str(path))


def _prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ImageSaveError(
            f"cannot save into {directory}: it exists and is not a directory",
            errno=errno.ENOTDIR,
            filename=str(directory),
        ) from None
    except OSError as exc:
        raise saving_error(exc, directory) from exc


def targets(destination: str | Path, images: Sequence[GeneratedImage]) -> list[Path]:
    """The file each image goes to, following the module's rule (no I/O beyond stat)."""
    if is_directory_destination(destination):
        directory = Path(destination)
        return [directory / image.filename() for image in images]
    path = Path(destination)
    if len(images) == 1:
        return [path]
    return [path.with_name(f"{path.stem}-{i}{path.suffix}") for i in range(1, len(images) + 1)]


def save_all(
    images: Sequence[GeneratedImage], destination: str | Path, *, overwrite: bool = False
) -> list[Path]:
    """Save `images` to `destination` (a directory or a file name; see the module's rule).

    Raises `ImageExistsError` for an existing file unless `overwrite`, and
    `ImageSaveError` for anything else the file system refused.
    """
    paths = targets(destination, images)
    for directory in dict.fromkeys(path.parent for path in paths):
        _prepare_directory(directory)
    return [
        image.save(path, overwrite=overwrite) for image, path in zip(images, paths, strict=True)
    ]
