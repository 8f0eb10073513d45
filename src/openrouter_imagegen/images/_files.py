"""Safe file names from ids, and atomic writes that never follow a symbolic link."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
import string
import unicodedata
from pathlib import Path

__all__ = ["safe_filename", "write_atomic"]

_MAX_NAME_BYTES = 255
_HASH_CHARS = 16  # 64 bits of SHA-256: a hashed name says which id it came from
_HEX = frozenset("0123456789abcdef")
# Ids made only of these are kept as they are: no case, no Unicode, no dots, so two
# different kept ids differ on every file system, case-folding or normalising ones too.
_PLAIN = frozenset(string.ascii_lowercase + string.digits + "_-")
_SUFFIX_CHARS = frozenset(string.ascii_letters + string.digits + "._-")
_FORBIDDEN = frozenset('<>:"/\\|?*')
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Cs", "Co", "Cn"})
_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"} | {
    f"{kind}{n}" for kind in ("COM", "LPT") for n in (*"123456789", "¹", "²", "³")
}
_HOW_TO_OVERWRITE = "pass overwrite=True (--overwrite on the command line)"


def safe_filename(raw_id: str, extension: str, *, suffix: str = "") -> str:
    """A file name for `raw_id` that cannot leave its directory or hide.

    An id of lower-case ASCII letters, digits, `_` and `-` is kept as it is
    (`ig_abc-123.png`). Any other id keeps a readable, sanitised stem (no
    separators, control or bidi characters, Windows-reserved names, leading
    dots) and gains `-` and 16 hex digits of its SHA-256, so two different
    ids never share a name, even where the file system ignores case or
    Unicode normalisation. `suffix` (such as `.partial-2`) goes before the
    extension, and the whole name always fits in 255 bytes.
    """
    if not extension.isascii() or not extension.isalnum():
        raise ValueError(f"extension must be ASCII letters and digits, got {extension!r}")
    if suffix and (suffix[0] != "." or not set(suffix) <= _SUFFIX_CHARS):
        raise ValueError(
            f"suffix must start with '.' and hold only ASCII letters, digits, '.', '_' "
            f"and '-', got {suffix!r}"
        )
    tail = f"{suffix}.{extension}"
    budget = _MAX_NAME_BYTES - len(tail)  # `tail` is ASCII: characters are bytes
    if budget < _HASH_CHARS + 3:
        raise ValueError(f"suffix and extension leave no room for a name: {tail!r}")
    if _is_plain(raw_id) and len(raw_id) <= budget:
        return raw_id + tail
    digest = hashlib.sha256(raw_id.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]
    stem = _readable_stem(raw_id, budget - _HASH_CHARS - 1) or "id"
    return f"{stem}-{digest}{tail}"


def _is_plain(raw_id: str) -> bool:
    return (
        raw_id[:1] in _PLAIN - {"-"}
        and set(raw_id) <= _PLAIN
        and not _ends_like_digest(raw_id)
        and raw_id.upper() not in _RESERVED
    )


def _ends_like_digest(text: str) -> bool:
    # A kept id must never look like a hashed name, or it could take that name.
    return text[-_HASH_CHARS - 1 : -_HASH_CHARS] == "-" and set(text[-_HASH_CHARS:]) <= _HEX


def _readable_stem(raw_id: str, limit: int) -> str:
    text = unicodedata.normalize("NFC", raw_id)
    text = "".join(
        "_" if c in _FORBIDDEN or unicodedata.category(c) in _UNSAFE_CATEGORIES else c for c in text
    ).lstrip(".-")
    text = _cut_to_bytes(text, limit - 1)  # room for the `_` that defuses a reserved name
    if text.partition(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text


def _cut_to_bytes(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")


def write_atomic(path: Path, data: bytes, *, overwrite: bool) -> Path:
    """Write `data` to `path` all at once: a temporary file, fsync, then rename.

    A crash leaves either the old file or the new one, never half of one, and
    no temporary file behind. Without `overwrite`, an existing file raises
    `FileExistsError`, checked atomically (by a hard link where possible).

    No symbolic link is followed: if `path`'s directory is one, the write is
    refused; if `path` itself is one, it is refused without `overwrite` and
    the link itself (never its target) is replaced with it. The file gets
    the usual permissions (0o666 less the process umask). POSIX only.
    """
    name = path.name
    if name in ("", ".", ".."):
        raise IsADirectoryError(errno.EISDIR, "not a file name", str(path))
    directory = _open_directory(path.parent)
    try:
        _write_into(directory, name, path, data, overwrite=overwrite)
        with contextlib.suppress(OSError):
            os.fsync(directory)  # makes the rename itself durable (best effort)
    finally:
        os.close(directory)
    return path


def _open_directory(directory: Path) -> int:
    try:
        return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if directory.is_symlink():
            raise OSError(
                errno.ELOOP,
                "the directory is a symbolic link, which is never followed; "
                "pass the directory's real path",
                str(directory),
            ) from exc
        raise


def _write_into(directory: int, name: str, path: Path, data: bytes, *, overwrite: bool) -> None:
    temporary = f".imagegen-{secrets.token_hex(8)}.tmp"  # a batch sweeps up strays by this
    # 0o666 lets the kernel apply the umask, as for any other new file.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(temporary, flags, 0o666, dir_fd=directory)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if overwrite:
            # rename(2) replaces the entry `name` itself, be it a file or a link.
            os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        else:
            _link_exclusive(directory, temporary, name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=directory)
        raise


def _link_exclusive(directory: int, temporary: str, name: str, path: Path) -> None:
    try:
        os.link(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
    except FileExistsError:
        raise _taken(directory, name, path) from None
    except OSError:
        # No hard links on this file system: check, then rename (a narrow race).
        if _entry(directory, name) is not None:
            raise _taken(directory, name, path) from None
        os.replace(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
        return
    os.unlink(temporary, dir_fd=directory)


def _entry(directory: int, name: str) -> os.stat_result | None:
    """What is at `name` itself (a link is not followed), or None."""
    try:
        return os.stat(name, dir_fd=directory, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _taken(directory: int, name: str, path: Path) -> FileExistsError:
    entry = _entry(directory, name)
    what = (
        f"a symbolic link is in the way and is never followed; {_HOW_TO_OVERWRITE} "
        "to replace the link itself"
        if entry is not None and stat.S_ISLNK(entry.st_mode)
        else f"file exists; {_HOW_TO_OVERWRITE} to replace it"
    )
    return FileExistsError(errno.EEXIST, what, str(path))
