"""The commands that read saved responses and captures: `extract` and `inspect`."""

from __future__ import annotations

import json
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openrouter_imagegen._exceptions import ImagegenError
from openrouter_imagegen.cli._console import partial_name

if TYPE_CHECKING:
    from openrouter_imagegen.images import GeneratedImage

__all__ = ["extract", "inspect"]


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Print each warning raised inside as one `warning: ...` line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:  # Python's own format would show a source path and line
            for warning in caught:
                click.echo(f"warning: {warning.message}", err=True)


@click.command()
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory for the images.",
)
@click.option("--partials", is_flag=True, help="Also extract partial images from captured streams.")
@click.option("--fetch", is_flag=True, help="Download results that are https URLs.")
def extract(files: tuple[Path, ...], output: Path, partials: bool, fetch: bool) -> None:
    """Extract every image from saved responses: JSON, JSONL logs, captured SSE streams.

    Exits 1 when a file could not be read or no file held an image.
    """
    output.mkdir(parents=True, exist_ok=True)
    failed_files = extracted = 0
    for path in files:
        with _warnings_as_lines():
            written, failed = _extract_one(path, output, partials, fetch)
        extracted += written
        failed_files += failed
    if failed_files or not extracted:
        if not extracted:
            click.echo("error: no image was extracted", err=True)
        sys.exit(1)


def _extract_one(path: Path, output: Path, partials: bool, fetch: bool) -> tuple[int, bool]:
    """Extract the images of one file; how many were written, and whether it failed."""
    from openrouter_imagegen._exceptions import ImageError, ImageIsRemoteError
    from openrouter_imagegen.cli._saved import read_saved
    from openrouter_imagegen.images._fetch import display_url

    saved = read_saved(path)
    written, skipped = 0, list(saved.skipped)
    if saved.error:
        click.echo(f"{path}: error: {saved.error}", err=True)
    for where, call in saved.calls:
        if not call.result:
            skipped.append(f"{where}: call {call.id} has no image (status {call.status})")
            continue
        try:
            image = call.image(fetch=fetch)
            _save_once(image, output)
            written += 1
        except ImageIsRemoteError as exc:
            url = display_url(exc.url)
            skipped.append(f"{where}: call {call.id} is a URL ({url}): pass --fetch")
        except (ImageError, FileExistsError) as exc:
            skipped.append(f"{where}: call {call.id}: {exc}")
    for event in saved.partials if partials else ():
        image = event.image()
        name = partial_name(image, event.partial_image_index)
        _save_once(image, output / name)
        written += 1
    click.echo(f"{path}: {written} image(s) extracted, {len(skipped)} skipped")
    for reason in skipped:
        click.echo(f"  skipped {reason}")
    return written, saved.error is not None


def _save_once(image: GeneratedImage, target: Path) -> Path:
    """Save, treating an identical existing file as already extracted."""
    path = target / image.filename() if target.is_dir() else target
    if path.exists() and path.read_bytes() == image.data:
        return path
    return image.save(path)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def inspect(file: Path, as_json: bool) -> None:
    """Show what FILE holds: for a saved response or capture, its image calls (id,
    status, media type, size, bytes); for an image, how it was made (prompt, model,
    parameters, seed, cost: the provenance saved images carry).

    Exits 1 when a response holds no image, saying why.
    """
    from openrouter_imagegen.cli._saved import read_saved
    from openrouter_imagegen.images import sniff_media_type

    with file.open("rb") as head:
        if sniff_media_type(head.read(4096)) is not None:
            _inspect_image(file, as_json)
            return

    with _warnings_as_lines():
        saved = read_saved(file)
        if saved.error:
            raise ImagegenError(f"{file}: {saved.error}")
        rows = _inspect_rows(saved.calls)
    if as_json:
        click.echo(
            json.dumps({"file": str(file), "calls": rows, "skipped": saved.skipped}, indent=2)
        )
    else:
        if rows:
            _print_table(file, rows)
        for reason in saved.skipped:
            click.echo(f"skipped {reason}")
    if not saved.has_image:
        why = "; ".join(saved.skipped) or "no image generation call in it"
        raise ImagegenError(f"{file} holds no image: {why}")


def _inspect_rows(calls: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    from openrouter_imagegen._exceptions import ImageError

    rows = []
    for where, call in calls:
        row: dict[str, Any] = {
            "where": where,
            "id": call.id or "-",
            "status": str(call.status),
            "media_type": None,
            "width": None,
            "height": None,
            "bytes": None,
            "note": None,
        }
        if call.result:
            try:
                image = call.image()
                row.update(
                    media_type=image.media_type,
                    width=image.width,
                    height=image.height,
                    bytes=len(image.data),
                )
            except ImageError as exc:
                row["note"] = str(exc)
        rows.append(row)
    return rows


def _print_table(file: Path, rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(str(file)))
    for column in ("where", "id", "status", "media type", "dimensions", "bytes"):
        table.add_column(column, justify="right" if column == "bytes" else "left")
    for row in rows:
        dims = f"{row['width']}x{row['height']}" if row["width"] is not None else "-"
        cells = (
            row["where"],
            row["id"],
            row["status"],
            row["media_type"] or row["note"] or "-",
            dims,
            f"{row['bytes']:,}" if row["bytes"] else "-",
        )
        table.add_row(*map(escape, cells))  # ids and notes come from files: text, not markup
    Console().print(table)


def _inspect_image(file: Path, as_json: bool) -> None:
    """An image file: its format and size, and the provenance it carries (or its sidecar)."""
    import dataclasses

    import pybase64

    from openrouter_imagegen.images import decode_result, read_metadata

    data = file.read_bytes()
    image = decode_result(pybase64.b64encode(data).decode("ascii"))  # sniffed and measured
    found = read_metadata(file)
    facts: dict[str, Any] = {
        "file": str(file),
        "media_type": image.media_type,
        "width": image.width,
        "height": image.height,
        "bytes": len(data),
        "metadata": dataclasses.asdict(found) if found is not None else None,
    }
    if as_json:
        click.echo(json.dumps(facts, indent=2, ensure_ascii=False))
        return
    size = f"{image.width}x{image.height}" if image.width is not None else "size unknown"
    click.echo(f"{file}: {image.media_type}, {size}, {len(data):,} bytes")
    if found is None:
        click.echo("  no provenance metadata (neither embedded nor in a sidecar)")
        return
    for name, value in dataclasses.asdict(found).items():
        if value not in (None, {}, ""):
            shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value
            click.echo(f"  {name}: {shown}")
