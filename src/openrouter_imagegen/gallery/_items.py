"""What a folder of generated images holds: one `GalleryItem` per request.

A folder with an `index.jsonl` (written by `batch` and `compare`) is read
line by line: each line is an item, its files are the images it made, and
what the line does not say (seed, parameters, latency) comes from the first
image's provenance metadata. Images the index does not list, and every image
of a folder without an index, become items of their own, described by their
metadata (embedded, else the `NAME.json` sidecar) alone.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from openrouter_imagegen._exceptions import ImageError, ValidationError, shorten
from openrouter_imagegen.images._metadata import read_metadata
from openrouter_imagegen.images._sniff import sniff_media_type

__all__ = ["GalleryItem", "collect_items"]

_INDEX_NAME = "index.jsonl"
_SNIFF_BYTES = 64 * 1024  # enough for every signature, SVG's root element included
# Options of an index line that say how to send a request, not what it made.
_TRANSPORT_OPTIONS = frozenset({"endpoint", "check_parameters"})


@dataclass(frozen=True)
class GalleryItem:
    """One request and what came of it.

    `files` are paths relative to the folder, with `/` separators; a failed
    or pending item has none and says why in `error`. `notes` are problems
    found while reading the item's files (a missing file, unreadable
    metadata), shown beside it rather than stopping the gallery.
    """

    key: str
    status: str
    prompt: str | None = None
    model: str | None = None
    files: tuple[str, ...] = ()
    seed: int | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    cost_usd: float | None = None
    latency_s: float | None = None
    generation_id: str | None = None
    error: str | None = None
    notes: tuple[str, ...] = ()


def _is_image_file(path: Path) -> bool:
    """Whether `path` is a readable regular file whose bytes are a known image format."""
    if not path.is_file():  # before opening: a named pipe would block
        return False
    try:
        with path.open("rb") as file:
            return sniff_media_type(file.read(_SNIFF_BYTES)) is not None
    except OSError:
        return False


def collect_items(directory: Path) -> list[GalleryItem]:
    """The items of `directory`: its index's lines in order, then unlisted images by name.

    Raises `ValidationError` naming the line and field when `index.jsonl`
    holds something other than what `batch` writes.
    """
    items: list[GalleryItem] = []
    listed: set[str] = set()
    index = directory / _INDEX_NAME
    if index.is_file():
        with index.open("rb") as file:
            for number, raw in enumerate(file, 1):
                if raw.strip():
                    item = _from_index_line(directory, index, number, raw)
                    items.append(item)
                    listed.update(item.files)
    for path in sorted(directory.iterdir()):
        if path.name.startswith(".") or path.name in listed or not _is_image_file(path):
            continue
        unlisted = _from_image(directory, path.name)
        if unlisted is not None:
            items.append(unlisted)
    return items


# -- index lines ---------------------------------------------------------------------------


def _from_index_line(directory: Path, index: Path, number: int, raw: bytes) -> GalleryItem:
    where = f"{index} line {number}"
    try:
        entry = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"{where}: not UTF-8 (byte {exc.start} of the line)", offset=exc.start, expected="UTF-8"
        ) from None
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{where}: not JSON ({exc.msg} at column {exc.colno})",
            offset=exc.pos,
            expected="a JSON object",
        ) from None
    if not isinstance(entry, dict):
        raise _invalid(where, "$", entry, "a JSON object")
    fields = _Fields(where, entry)
    notes: list[str] = []
    files = tuple(name for name in fields.names("files") if _usable(directory, name, notes))
    options = fields.mapping("options")
    seed = fields.integer("seed")
    stated: dict[str, Any] = {
        "key": fields.text("key"),
        "status": fields.text("status"),
        "prompt": fields.text("prompt"),
        "model": fields.text("model"),
        "seed": _integer(options.get("seed")) if seed is None else seed,
        "parameters": {
            k: v for k, v in options.items() if k != "seed" and k not in _TRANSPORT_OPTIONS
        },
        "cost_usd": fields.number("cost_usd"),
        "latency_s": fields.number("latency_s"),
        "generation_id": fields.text("generation_id"),
        "error": fields.text("error"),
    }
    described = _described(
        directory,
        files[0] if files else f"line {number}",
        files,
        status="done" if files else "pending",
        notes=notes,
    )
    return replace(described, **{k: v for k, v in stated.items() if v is not None and v != {}})


class _Fields:
    """Typed access to an index line's fields; a field of the wrong type raises."""

    def __init__(self, where: str, entry: dict[str, Any]) -> None:
        self.where = where
        self.entry = entry

    def _get(self, name: str, check: Any, expected: str) -> Any:
        value = self.entry.get(name)
        if value is not None and not check(value):
            raise _invalid(self.where, f"$.{name}", value, expected)
        return value

    def text(self, name: str) -> str | None:
        value: str | None = self._get(name, lambda v: isinstance(v, str), "a string or null")
        return value

    def number(self, name: str) -> float | None:
        return _number(self._get(name, lambda v: _number(v) is not None, "a number or null"))

    def integer(self, name: str) -> int | None:
        value: int | None = self._get(name, lambda v: _integer(v) is not None, "an integer or null")
        return value

    def mapping(self, name: str) -> dict[str, Any]:
        value: dict[str, Any] | None = self._get(
            name, lambda v: isinstance(v, dict), "an object or null"
        )
        return value or {}

    def names(self, name: str) -> list[str]:
        value: list[str] | None = self._get(
            name,
            lambda v: isinstance(v, list) and all(isinstance(n, str) and n for n in v),
            "a list of file names",
        )
        return value or []


def _invalid(where: str, path: str, value: Any, expected: str) -> ValidationError:
    return ValidationError(
        f"{where}: {path}: expected {expected}, found {shorten(value)}",
        path=path,
        value=value,
        expected=expected,
    )


def _number(value: Any) -> float | None:
    """`value` as a float when it is a finite JSON number (not a boolean), else None."""
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None


def _integer(value: Any) -> int | None:
    return value if type(value) is int else None


# -- image metadata ------------------------------------------------------------------------


def _from_image(directory: Path, name: str) -> GalleryItem | None:
    notes: list[str] = []
    if not _usable(directory, name, notes):
        return None
    return _described(directory, name, (name,), status="done", notes=notes)


def _described(
    directory: Path, key: str, files: tuple[str, ...], *, status: str, notes: list[str]
) -> GalleryItem:
    """An item of `files` as far as the first one's readable metadata tells."""
    metadata = None
    for name in files:
        try:
            metadata = read_metadata(directory / name)
        except (ImageError, ValueError, OSError) as exc:
            notes.append(f"{name}: metadata unreadable: {exc}")
        if metadata is not None:
            break
    if metadata is None:
        return GalleryItem(key=key, status=status, files=files, notes=tuple(notes))
    return GalleryItem(
        key=key,
        status=status,
        prompt=metadata.prompt,
        model=metadata.model,
        files=files,
        seed=metadata.seed,
        parameters=dict(metadata.parameters),
        cost_usd=metadata.cost_usd,
        latency_s=_number(metadata.extra.get("latency_s")),
        generation_id=metadata.generation_id,
        notes=tuple(notes),
    )


def _usable(directory: Path, name: str, notes: list[str]) -> bool:
    """Whether `name` is a file inside `directory`; if not, why not goes into `notes`."""
    path = directory / name
    try:
        inside = path.resolve().is_relative_to(directory.resolve())
    except (OSError, ValueError) as exc:  # a symbolic link loop, a NUL in the name
        notes.append(f"{name}: not a usable file name ({exc})")
        return False
    if not inside:
        notes.append(f"{name}: outside the folder, not shown")
        return False
    if not path.is_file():
        notes.append(f"{name}: missing")
        return False
    return True
