"""What every command shares about its output: stderr, JSON errors, partial image names."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from openrouter_imagegen.images import GeneratedImage

__all__ = ["JSON_ERRORS", "partial_name", "stderr"]

# Set by a command run with --json: its errors are JSON on stdout too.
JSON_ERRORS = {"enabled": False}


def stderr() -> Console:
    """A console on stderr: rich honours NO_COLOR itself; no live widgets off a terminal."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def partial_name(image: GeneratedImage, index: int) -> str:
    """The file name of a call's `index`th preview, beside its final image's."""
    from openrouter_imagegen.images import safe_filename

    stem = image.call_id or "image"
    return safe_filename(stem, image.extension, suffix=f".partial-{index}")
