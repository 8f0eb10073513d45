"""The generation options: one typed description shared by every method, body
builder and CLI command, so that a misspelt option is a mypy error and, at run
time, a `TypeError` naming it before any request is sent."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, TypedDict, get_type_hints

__all__ = [
    "IMAGE_API_OPTIONS",
    "OPTION_NAMES",
    "Endpoint",
    "GenerationOptions",
    "ImageInput",
    "ProviderPreferences",
    "check_options",
]

# Where a generation goes: "auto" picks the route from the model catalogue.
Endpoint = Literal["auto", "images", "chat", "responses"]

# An input or reference image: a path, raw bytes, or a URL (https:, http:, data:).
ImageInput = str | Path | bytes


class ProviderPreferences(TypedDict, total=False):
    """OpenRouter's provider routing for one request."""

    order: list[str]
    only: list[str]
    ignore: list[str]
    allow_fallbacks: bool
    sort: str | dict[str, Any]
    options: dict[str, dict[str, Any]]


class GenerationOptions(TypedDict, total=False):
    """What a generation may ask for, on any route (each route sends what it has).

    - `size`: "WIDTHxHEIGHT" (or, on the Image API, a tier such as "2K").
    - `aspect_ratio`: "W:H", e.g. "16:9".
    - `resolution`: a tier, "512", "1K", "2K" or "4K" (Image API).
    - `output_format`: "png", "jpeg", "webp" (or "svg" where a model makes SVG).
    - `quality`: "low", "medium", "high" or "auto"; `background`:
      "transparent", "opaque" or "auto"; `output_compression`: 0 to 100.
    - `n`: how many images, 1 to 10.
    - `seed`: repeat a generation exactly, where the model supports it.
    - `input_references`: reference images (paths, bytes or URLs; at most 16).
    - `provider`: OpenRouter's provider routing (`order`, `only`, ...).
    - `image_config`, `extra_body`: merged into the request body as given,
      for what this library does not name yet.
    """

    size: str
    aspect_ratio: str
    resolution: str
    output_format: str
    quality: str
    background: str
    output_compression: int
    n: int
    seed: int
    input_references: Sequence[ImageInput]
    provider: ProviderPreferences | Mapping[str, Any]
    image_config: Mapping[str, Any]
    extra_body: Mapping[str, Any]


OPTION_NAMES: frozenset[str] = frozenset(get_type_hints(GenerationOptions))
# The options the Image API takes by these names, each a plain value: what a model's
# endpoints list among their supported parameters, and the CLI's flags.
IMAGE_API_OPTIONS = (
    "size",
    "aspect_ratio",
    "resolution",
    "output_format",
    "quality",
    "background",
    "output_compression",
    "n",
    "seed",
)


def check_options(options: Mapping[str, Any], *, allowed: frozenset[str] = OPTION_NAMES) -> None:
    """Raise `TypeError` naming the first option that is not a generation option."""
    for name in options:
        if name not in allowed:
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise TypeError(f"unexpected generation option {name!r}{hint}")
