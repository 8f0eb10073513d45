"""Request bodies for `POST /responses` and `POST /chat/completions`.

Pure functions: they never mutate what the caller passed (dicts are copied
before anything is merged into them).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from openrouter_imagegen._exceptions import ValidationError
from openrouter_imagegen.models.operations import OutputImageGenerationCall, Response

__all__ = [
    "ImageInput",
    "Previous",
    "chat_body",
    "edit_body",
    "generate_body",
    "input_image_url",
    "request_body",
    "uses_image_tool",
]

# An input image: a path, raw bytes, or a URL (https:, http:, or data:).
ImageInput = str | Path | bytes
Previous = Response | OutputImageGenerationCall | str

_TOOL_FIELDS = ("size", "quality", "background", "output_format")


def uses_image_tool(model: str) -> bool:
    """Whether `model` generates images through the `image_generation` tool.

    OpenAI's image models do (as on OpenAI's own Responses API); the others
    take `modalities` and `image_config`.
    """
    return model.startswith("openai/")


def _image_config(
    size: str | None,
    aspect_ratio: str | None,
    n: int | None,
    image_config: Mapping[str, Any] | None,
) -> dict[str, Any]:
    config = dict(image_config or {})
    if size is not None:
        config.setdefault("size", size)
    if aspect_ratio is not None:
        config.setdefault("aspect_ratio", aspect_ratio)
    if n is not None:
        if n < 1:
            raise ValidationError(
                f"n must be at least 1, got {n}", path="n", value=n, expected=">= 1"
            )
        config.setdefault("n", n)
    return config


def _add_style(
    config: dict[str, Any], quality: str | None, background: str | None, output_format: str | None
) -> None:
    for name, value in (
        ("quality", quality),
        ("background", background),
        ("output_format", output_format),
    ):
        if value is not None:
            config.setdefault(name, value)


def generate_body(
    prompt: str | list[Any],
    *,
    model: str,
    size: str | None = None,
    aspect_ratio: str | None = None,
    output_format: str | None = None,
    quality: str | None = None,
    background: str | None = None,
    n: int | None = None,
    image_config: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
    stream: bool = False,
    partial_images: int | None = None,
    use_image_tool: bool | None = None,
) -> dict[str, Any]:
    """The JSON body of a `POST /responses` image generation request."""
    body: dict[str, Any] = {
        "model": model,
        "input": copy.deepcopy(prompt) if isinstance(prompt, list) else prompt,
        "modalities": ["image", "text"],
    }
    config = _image_config(size, aspect_ratio, n, image_config)
    if use_image_tool if use_image_tool is not None else uses_image_tool(model):
        tool: dict[str, Any] = {"type": "image_generation"}
        for name, value in zip(
            _TOOL_FIELDS, (size, quality, background, output_format), strict=True
        ):
            if value is not None:
                tool[name] = value
        if stream:
            # The API refuses a streamed image_generation tool without 1 to 3 previews.
            tool["partial_images"] = min(max(partial_images or 1, 1), 3)
        elif partial_images:
            tool["partial_images"] = partial_images
        body["tools"] = [tool]
        config.pop("size", None)
    else:
        _add_style(config, quality, background, output_format)
    if config:
        body["image_config"] = config
    if stream:
        body["stream"] = True
    if extra_body:
        body.update(copy.deepcopy(dict(extra_body)))
    return body


def input_image_url(image: ImageInput) -> str:
    """An input image as a URL: URLs pass through, paths and bytes become data URLs."""
    from openrouter_imagegen.images import decode_result

    if isinstance(image, str) and image.startswith(("https://", "http://", "data:")):
        return image
    if isinstance(image, bytes):
        data = image
    else:
        path = Path(image)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ValidationError(
                f"input image {str(path)!r} cannot be read: {exc.strerror or exc}",
                path="images",
                value=str(path),
                expected="a readable image file, bytes, or a URL",
            ) from exc
    import pybase64

    encoded = pybase64.b64encode(data).decode("ascii")
    return decode_result(encoded).data_url()


def _previous_input(previous: Previous) -> tuple[list[Any], str | None]:
    """Input items carrying an earlier result forward, or a response id to continue from."""
    if isinstance(previous, str):
        return [], previous
    calls = previous.image_generation_calls if isinstance(previous, Response) else [previous]
    return [call.to_dict() for call in calls if call.result], None


def edit_body(
    previous: Previous | None,
    prompt: str,
    *,
    model: str,
    images: Sequence[ImageInput] = (),
    use_previous_response_id: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """A `POST /responses` body that refines an earlier image, or edits input images.

    The earlier `image_generation_call` items are sent back as input items
    (OpenRouter's Responses API is stateless); with
    `use_previous_response_id=True`, or when `previous` is a response id
    string, `previous_response_id` is sent instead.
    """
    items: list[Any] = []
    previous_id: str | None = None
    if previous is not None:
        if use_previous_response_id and isinstance(previous, Response):
            previous_id = previous.id
        else:
            items, previous_id = _previous_input(previous)
    content: list[dict[str, Any]] = [{"type": "input_text", "text": prompt}]
    content += [
        {"type": "input_image", "image_url": input_image_url(image), "detail": "auto"}
        for image in images
    ]
    items.append({"type": "message", "role": "user", "content": content})
    body = generate_body(items, model=model, **options)
    if previous_id is not None:
        body["previous_response_id"] = previous_id
    return body


def chat_body(
    prompt: str,
    *,
    model: str,
    images: Sequence[ImageInput] = (),
    size: str | None = None,
    aspect_ratio: str | None = None,
    output_format: str | None = None,
    quality: str | None = None,
    background: str | None = None,
    n: int | None = None,
    image_config: Mapping[str, Any] | None = None,
    extra_body: Mapping[str, Any] | None = None,
    stream: bool = False,
) -> dict[str, Any]:
    """The JSON body of a `POST /chat/completions` request for images."""
    if images:
        content: str | list[dict[str, Any]] = [{"type": "text", "text": prompt}] + [
            {"type": "image_url", "image_url": {"url": input_image_url(image)}} for image in images
        ]
    else:
        content = prompt
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "modalities": ["image", "text"],
    }
    config = _image_config(size, aspect_ratio, n, image_config)
    _add_style(config, quality, background, output_format)
    if config:
        body["image_config"] = config
    if stream:
        body["stream"] = True
    if extra_body:
        body.update(copy.deepcopy(dict(extra_body)))
    return body


def request_body(
    endpoint: str,
    prompt: str,
    *,
    stream: bool = False,
    partial_images: int | None = None,
    **options: Any,
) -> dict[str, Any]:
    """The body of a generation request for `endpoint` ("responses" or "chat")."""
    if endpoint == "chat":
        return chat_body(prompt, stream=stream, **options)
    return generate_body(prompt, stream=stream, partial_images=partial_images, **options)
