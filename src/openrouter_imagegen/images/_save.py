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
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from openrouter_imagegen._exceptions import (
    ContentCredentialsWarning,
    ImageExistsError,
    ImageSaveError,
    MetadataError,
)
from openrouter_imagegen.images._files import write_atomic
from openrouter_imagegen.images._metadata import (
    METADATA_MEDIA_TYPES,
    ImageMetadata,
    content_credentials,
    embed_metadata,
    sidecar_path,
    write_sidecar,
)
from openrouter_imagegen.images._sniff import EXTENSIONS

if TYPE_CHECKING:
    from openrouter_imagegen.images._image import GeneratedImage

__all__ = ["is_directory_destination", "save_all", "saving_error", "write_image"]

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
    images: Sequence[GeneratedImage],
    destination: str | Path,
    *,
    overwrite: bool = False,
    metadata: bool = True,
    sidecar: bool = False,
) -> list[Path]:
    """Save `images` to `destination` (a directory or a file name; see the module's rule).

    Each image's provenance is embedded (`metadata=False`: nothing is), or
    written to a sidecar where it cannot be; see `GeneratedImage.save`.
    Raises `ImageExistsError` for an existing file unless `overwrite`, and
    `ImageSaveError` for anything else the file system refused.
    """
    paths = targets(destination, images)
    for directory in dict.fromkeys(path.parent for path in paths):
        _prepare_directory(directory)
    return [
        image.save(path, overwrite=overwrite, metadata=metadata, sidecar=sidecar)
        for image, path in zip(images, paths, strict=True)
    ]


def write_image(
    image: GeneratedImage,
    target: Path,
    *,
    overwrite: bool,
    metadata: ImageMetadata | None,
    sidecar: bool,
) -> Path:
    """Write `image` to `target` with `metadata` embedded, its pixels untouched.

    An image whose format holds no metadata, or that carries C2PA content
    credentials (which any change would break), is written as it is, and the
    metadata goes to the sidecar `<file name>.json`; `sidecar=True` writes
    that file in every case.
    """
    data = image.data
    needs_sidecar = sidecar and metadata is not None
    if metadata is not None:
        if image.media_type not in METADATA_MEDIA_TYPES:
            needs_sidecar = True
        elif content_credentials(data, image.media_type):
            warnings.warn(
                f"{target.name} carries C2PA content credentials: left as it is, "
                f"its provenance written to {sidecar_path(target).name}",
                ContentCredentialsWarning,
                stacklevel=4,
            )
            needs_sidecar = True
        else:
            try:
                data = embed_metadata(data, image.media_type, metadata)
            except MetadataError:  # too large for the format, or a header it cannot walk
                needs_sidecar = True
    try:
        path = write_atomic(target, data, overwrite=overwrite)
        if needs_sidecar and metadata is not None:
            write_sidecar(path, metadata, overwrite=overwrite)
    except OSError as exc:
        raise saving_error(exc, target) from exc
    return path
