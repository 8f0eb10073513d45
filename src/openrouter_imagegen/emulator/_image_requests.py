"""Reading a `POST /images` body: first against the API, then against the model's endpoint.

A value the API refuses, or a parameter (or value) the model's catalogue
entry does not accept, is a 400 whose message starts with the parameter.
"""

from __future__ import annotations

import hashlib
from typing import Any

from openrouter_imagegen.emulator._catalog import IMAGE_MODELS, ImageModel, image_model
from openrouter_imagegen.emulator._requests import (
    ImageRequest,
    RequestRefused,
    check_prompt,
    choice,
    inline_image,
    integer,
    pixel_size,
    read_flag,
    read_model,
    read_seed,
)

__all__ = ["read_image_generation"]

_ASPECT_RATIOS = (
    "1:1", "1:2", "1:4", "1:8", "2:1", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1",
    "9:16", "16:9", "9:19.5", "19.5:9", "9:20", "20:9", "9:21", "21:9", "auto",
)  # fmt: skip
_TIERS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}  # the long side of each resolution
_DEFAULT_TIER = "1K"
_FORMATS = ("png", "jpeg", "webp", "svg")
_QUALITIES = ("auto", "low", "medium", "high")
_BACKGROUNDS = ("auto", "transparent", "opaque")
_MAX_N = 10
_MAX_REFERENCES = 16
_RATIO_TOLERANCE = 0.01  # an explicit size matches an aspect ratio within 1%
# The request has no count of previews: a streamed raster image gets this many before it.
_STREAMED_PREVIEWS = 2
# The parameters a model's endpoint must list to accept them.
_MODEL_PARAMETERS = (
    "n", "size", "aspect_ratio", "resolution", "quality", "background", "output_format",
    "output_compression", "input_references", "seed",
)  # fmt: skip


def read_image_generation(body: dict[str, Any]) -> tuple[ImageModel, ImageRequest]:
    """The model a `POST /images` body names, and the pictures it asks of it.

    A streamed request streams only when the model's endpoint streams
    natively; otherwise it gets the plain answer, as OpenRouter gives it.
    """
    model = image_model(read_model(body, lambda name: name in IMAGE_MODELS))
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise RequestRefused(400, f"prompt: expected a non-empty string, got {prompt!r}")
    check_prompt(prompt, "prompt")
    given = {name: body[name] for name in _MODEL_PARAMETERS if body.get(name) is not None}
    n = integer(given.get("n", 1), "n", 1, _MAX_N)
    aspect = choice(given.get("aspect_ratio"), "aspect_ratio", _ASPECT_RATIOS, "auto")
    resolution = choice(given.get("resolution"), "resolution", _TIERS, _DEFAULT_TIER)
    quality = choice(given.get("quality"), "quality", _QUALITIES, "auto")
    background = choice(given.get("background"), "background", _BACKGROUNDS, "auto")
    output_format = choice(
        given.get("output_format"), "output_format", _FORMATS, model.default_format
    )
    if background == "transparent" and output_format == "jpeg":
        raise RequestRefused(400, "background: transparent needs an output_format with alpha")
    compression = None
    if "output_compression" in given:
        compression = integer(given["output_compression"], "output_compression", 0, 100)
    context, input_image = _references(given.get("input_references"))
    seed = read_seed(body)
    provider = body.get("provider")
    if provider is not None and not isinstance(provider, dict):
        raise RequestRefused(400, f"provider: expected an object, got {provider!r}")
    stream = read_flag(body, "stream")
    for name, value in given.items():
        _check_supported(model, name, value)
    width, height = _dimensions(given, aspect, resolution)
    streams = stream and model.streaming
    return model, ImageRequest(
        model=model.id, prompt=prompt, context=context, width=width, height=height,
        output_format=output_format, background=background, quality=quality, n=n,
        partial_images=_STREAMED_PREVIEWS if streams and output_format != "svg" else 0,
        stream=streams, seed=seed,
        compression=compression if output_format in ("jpeg", "webp") else None,
        input_image=input_image,
    )  # fmt: skip


def _dimensions(given: dict[str, Any], aspect: str, resolution: str) -> tuple[int, int]:
    """The pixels: an explicit `size`, else the tier (`size` or `resolution`) at the ratio."""
    size = given.get("size")
    tier = size if isinstance(size, str) and size in _TIERS else None
    pixels = None if tier else pixel_size(size, "size")
    if pixels is not None:
        width, height = pixels
        # An explicit size is authoritative: a resolution or ratio that disagrees is refused.
        if "resolution" in given and _TIERS[resolution] != max(width, height):
            raise RequestRefused(
                400, f"resolution: {resolution!r} contradicts the explicit size {size!r}"
            )
        if aspect != "auto" and abs(width / height / _ratio(aspect) - 1) > _RATIO_TOLERANCE:
            raise RequestRefused(
                400, f"aspect_ratio: {aspect!r} contradicts the explicit size {size!r}"
            )
        return width, height
    if tier and "resolution" in given and tier != resolution:
        raise RequestRefused(400, f"size: the tier {tier!r} contradicts resolution {resolution!r}")
    side = _TIERS[tier or resolution]
    ratio = 1.0 if aspect == "auto" else _ratio(aspect)
    if ratio >= 1:
        return side, max(1, round(side / ratio))
    return max(1, round(side * ratio)), side


def _ratio(aspect: str) -> float:
    width, height = aspect.split(":")
    return float(width) / float(height)


def _references(value: Any) -> tuple[str, bytes | None]:
    """A digest of the reference images (`ContentPartImage`s), which change the picture, and
    the last of them sent inline, which an edit starts from."""
    if value is None:
        return "", None
    if not isinstance(value, list):
        raise RequestRefused(400, "input_references: expected an array of image_url parts")
    if len(value) > _MAX_REFERENCES:
        raise RequestRefused(
            400, f"input_references: at most {_MAX_REFERENCES} images, got {len(value)}"
        )
    digest = hashlib.sha256()
    last_inline = None
    for index, part in enumerate(value):
        field = f"input_references[{index}]"
        if not isinstance(part, dict) or part.get("type") != "image_url":
            raise RequestRefused(
                400, f"{field}: expected {{'type': 'image_url', 'image_url': {{'url': ...}}}}"
            )
        url = part.get("image_url")
        url = url.get("url") if isinstance(url, dict) else None
        if not isinstance(url, str) or not url.startswith(("data:image/", "https://", "http://")):
            raise RequestRefused(
                400, f"{field}.image_url.url: expected a data:image/ URL or an http(s) URL"
            )
        digest.update(url.encode() + b"\0")
        last_inline = inline_image(url) or last_inline
    return digest.hexdigest()[:16] if value else "", last_inline


def _check_supported(model: ImageModel, name: str, value: Any) -> None:
    """Refuse a parameter the model's endpoint does not list, or a value outside its descriptor."""
    tier = name == "size" and isinstance(value, str) and value in _TIERS
    descriptor = model.parameters.get("resolution" if tier else name)
    if descriptor is None:
        what = "resolution tiers are" if tier else "this parameter is"
        raise RequestRefused(400, f"{name}: {what} not supported by {model.id}")
    kind = descriptor["type"]
    if kind == "enum" and value not in descriptor["values"]:
        allowed = ", ".join(descriptor["values"])
        raise RequestRefused(400, f"{name}: {model.id} accepts {allowed}; got {value!r}")
    if kind == "range" and not descriptor["min"] <= value <= descriptor["max"]:
        low, high = descriptor["min"], descriptor["max"]
        raise RequestRefused(400, f"{name}: {model.id} accepts {low} to {high}; got {value!r}")
