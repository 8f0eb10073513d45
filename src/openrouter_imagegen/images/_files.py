"""Safe file names from ids, and atomic writes."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import tempfile
import unicodedata
from pathlib import Path

__all__ = ["safe_filename", "write_atomic"]

_MAX_NAME_BYTES = 255
_FORBIDDEN = set('<>:"/\\|?*')
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{kind}{n}" for kind in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")
}


def _clean(raw: str) -> str:
    text = unicodedata.normalize("NFC", raw)
    text = "".join(
        "_"
        if c in _FORBIDDEN or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
        else c
        for c in text
    )
    text = text.strip().strip(".").rstrip(" ")
    if text.split(".")[0].strip().upper() in _RESERVED:
        text = "_" + text
    return text


def _cut_to_bytes(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")


def safe_filename(raw_id: str, extension: str) -> str:
    """A file name for `raw_id` that cannot leave its directory.

    Path separators, `..`, NUL and other control characters, characters
    Windows forbids, its reserved device names, leading dots and overlong
    names are all made safe; whenever that changed the id, a short hash of
    the raw id is appended, so two different ids never share a name.
    """
    suffix = f".{extension}"
    budget = _MAX_NAME_BYTES - len(suffix.encode())
    stem = _clean(raw_id)
    if stem != raw_id or len(stem.encode()) > budget or not stem:
        digest = hashlib.sha256(raw_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        stem = f"{_cut_to_bytes(stem, budget - len(digest) - 1)}-{digest}".lstrip("-")
        if stem.split(".")[0].upper() in _RESERVED:  # cannot be, but keep the invariant local
            stem = "_" + stem
    return stem + suffix


def write_atomic(path: Path, data: bytes, *, overwrite: bool) -> Path:
    """Write `data` to `path` all at once: a temporary file, fsync, then rename.

    A crash leaves either the old file or the new one, never half of one, and
    no temporary file behind. Without `overwrite`, an existing file raises
    `FileExistsError`, checked atomically (by a hard link where possible).
    """
    directory = path.parent
    fd, temporary = tempfile.mkstemp(prefix=".imagegen-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            _link_exclusive(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _sync_directory(directory)
    return path


def _link_exclusive(temporary: str, path: Path) -> None:
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise FileExistsError(
            errno.EEXIST, "file exists; pass overwrite=True to replace it", str(path)
        ) from None
    except OSError:
        # No hard links on this file system: check, then rename (a narrow race).
        if path.exists():
            raise FileExistsError(
                errno.EEXIST, "file exists; pass overwrite=True to replace it", str(path)
            ) from None
        os.replace(temporary, path)
        return
    os.unlink(temporary)


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable (POSIX only; best effort)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
