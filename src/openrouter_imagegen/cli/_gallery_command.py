"""The `gallery` command: a folder's images as a static HTML page."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["gallery"]


@click.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--title", default=None, help="The page's title.  [default: the folder's name]")
def gallery(directory: Path, title: str | None) -> None:
    """Write DIRECTORY/index.html, a gallery of the images in DIRECTORY, and print its path.

    DIRECTORY is a `batch` or `compare` output (read from its index.jsonl)
    or any folder of images (described by their embedded metadata or
    NAME.json sidecars). A prompt made with several models or seeds is shown
    as a grid, one column per model and one row per seed. Thumbnails go to
    DIRECTORY/.thumbs/. The page opens from disk: no server, no network.
    """
    from openrouter_imagegen.gallery import write_gallery

    click.echo(str(write_gallery(directory, title=title)))
