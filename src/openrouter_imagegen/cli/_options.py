"""The command-line options every generating command shares, checked locally.

A size, an aspect ratio or a format that cannot be right is a usage error
(exit 2) before anything is sent, never a 400 from the server after it; the
options become the library's `GenerationOptions`, so the CLI and the API
cannot disagree on a name.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from openrouter_imagegen.client import GenerationOptions

__all__ = [
    "DEFAULT_MODEL",
    "MODEL_ENV",
    "client_options",
    "connection_options",
    "generation_options",
    "model_option",
    "read_prompt",
    "to_generation_options",
]

_F = TypeVar("_F", bound=Callable[..., Any])

# The model used when none is named; OPENROUTER_IMAGEGEN_MODEL overrides it.
DEFAULT_MODEL = "openai/gpt-5-image"
MODEL_ENV = "OPENROUTER_IMAGEGEN_MODEL"

_SIZE = re.compile(r"[1-9][0-9]{0,4}x[1-9][0-9]{0,4}")
_RATIO = re.compile(r"[0-9]+(\.[0-9]+)?:[0-9]+(\.[0-9]+)?")
_TIERS = ("512", "1K", "2K", "4K")
_QUALITIES = ("low", "medium", "high", "auto")
_BACKGROUNDS = ("transparent", "opaque", "auto")
_FORMATS = ("png", "jpeg", "webp", "svg")
_ENDPOINTS = ("auto", "images", "chat", "responses")


def _size(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    if _SIZE.fullmatch(value) or value in _TIERS:
        return value
    raise click.BadParameter(
        f"{value!r} is neither WIDTHxHEIGHT (e.g. 1024x768) nor a tier ({', '.join(_TIERS)})"
    )


def _aspect_ratio(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or value == "auto":
        return value
    match = _RATIO.fullmatch(value)
    if match and all(float(side) > 0 for side in value.split(":")):
        return value
    raise click.BadParameter(f"{value!r} is not W:H (e.g. 16:9) or auto")


def _reference(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    checked = []
    for value in values:
        if value.startswith(("https://", "http://", "data:")):
            checked.append(value)
            continue
        if not Path(value).is_file():
            raise click.BadParameter(f"{value!r} is neither a readable image file nor a URL")
        checked.append(value)
    return checked


def model_option(function: _F) -> _F:
    return click.option(
        "-m",
        "--model",
        default=lambda: os.environ.get(MODEL_ENV, DEFAULT_MODEL),
        show_default=f"{DEFAULT_MODEL}, or ${MODEL_ENV}",
        help="The model, as OpenRouter names it (see `openrouter-imagegen models`).",
    )(function)


def generation_options(function: _F) -> _F:
    """The options of one generation, as the library names them (see `GenerationOptions`)."""
    options = [
        model_option,
        click.option(
            "--endpoint",
            type=click.Choice(_ENDPOINTS),
            default="auto",
            show_default=True,
            help="The route: auto picks the Image API for its models, else chat completions.",
        ),
        click.option(
            "--size",
            callback=_size,
            help="WIDTHxHEIGHT (e.g. 1024x768), or a tier: 512, 1K, 2K, 4K.",
        ),
        click.option("--aspect-ratio", callback=_aspect_ratio, help="W:H, e.g. 16:9 (or auto)."),
        click.option(
            "--resolution", type=click.Choice(_TIERS), help="A resolution tier (Image API)."
        ),
        click.option(
            "--format",
            "output_format",
            type=click.Choice(_FORMATS),
            help="The image format (svg where the model makes vector images).",
        ),
        click.option("--quality", type=click.Choice(_QUALITIES), help="Rendering quality."),
        click.option(
            "--background",
            type=click.Choice(_BACKGROUNDS),
            help="transparent needs png or webp.",
        ),
        click.option(
            "--compression",
            "output_compression",
            type=click.IntRange(0, 100),
            help="0 to 100, for jpeg and webp.",
        ),
        click.option("-n", "n", type=click.IntRange(1, 10), help="How many images (1 to 10)."),
        click.option("--seed", type=int, help="Repeat a generation exactly, where supported."),
        click.option(
            "--provider",
            "providers",
            multiple=True,
            help="A provider slug to try first; repeat for an order of preference.",
        ),
        click.option(
            "--reference",
            "references",
            multiple=True,
            callback=_reference,
            help="A reference image (a file or a URL); repeatable, up to 16.",
        ),
        click.option(
            "--no-check",
            "no_check",
            is_flag=True,
            help="Send options the model's catalogue entry does not list, as given.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def connection_options(function: _F) -> _F:
    """Where the API is and how patiently to talk to it."""
    options = [
        click.option(
            "--base-url",
            envvar="OPENROUTER_BASE_URL",
            show_default="https://openrouter.ai/api/v1, or $OPENROUTER_BASE_URL",
            help="The API's base URL (ending in /api/v1).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=300.0,
            show_default=True,
            help="Seconds to wait for the server's answer.",
        ),
        click.option(
            "--max-retries",
            type=click.IntRange(0, 20),
            default=2,
            show_default=True,
            help="Retries of a request the server surely did not start.",
        ),
        click.option(
            "--retry-unsafe",
            is_flag=True,
            help="Also retry a generation cut off after it was sent (it may be paid twice).",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def to_generation_options(kwargs: dict[str, Any]) -> GenerationOptions:
    """Pop the generation options out of a command's parameters, as the library's."""
    from openrouter_imagegen.client import IMAGE_API_OPTIONS

    options: dict[str, Any] = {}
    for name in IMAGE_API_OPTIONS:
        value = kwargs.pop(name, None)
        if value is not None:
            options[name] = value
    providers = kwargs.pop("providers", ())
    if providers:
        options["provider"] = {"order": list(providers)}
    references = kwargs.pop("references", ())
    if references:
        options["input_references"] = list(references)
    result: GenerationOptions = options  # type: ignore[assignment]
    return result


def client_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Pop the connection options out of a command's parameters, as client settings."""
    return {
        "base_url": kwargs.pop("base_url", None),
        "timeout": kwargs.pop("timeout", None),
        "max_retries": kwargs.pop("max_retries", 2),
        "retry_unsafe": kwargs.pop("retry_unsafe", False),
        "app_name": "openrouter-imagegen",
    }


def read_prompt(prompt: str) -> str:
    """The prompt as given, or standard input for `-`."""
    text = sys.stdin.read() if prompt == "-" else prompt
    if not text.strip():
        raise click.BadParameter("the prompt is empty", param_hint="PROMPT")
    return text.strip() if prompt == "-" else text
