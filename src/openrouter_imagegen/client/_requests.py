"""Request bodies for the three image routes, generation and edit alike.

Pure functions: they never mutate what the caller passed (dicts are copied
before anything is merged into them). Every route takes the same
`GenerationOptions`; each sends them where its API expects them.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openrouter_imagegen._exceptions import ValidationError
from openrouter_imagegen.client._options import (
    IMAGE_API_OPTIONS,
    GenerationOptions,
    ImageInput,
    check_options,
)
from openrouter_imagegen.models.operations import OutputImageGenerationCall, Response
from openrouter_imagegen.models.routes import Route

__all__ = [
    "MAX_REFERENCES",
    "Previous",
    "generation_body",
    "input_image_url",
    "uses_image_tool",
]

Previous = Response | OutputImageGenerationCall | str
MAX_REFERENCES = 16  # the Image API's limit on input_references

_TOOL_FIELDS = ("size", "quality", "background", "output_format", "output_compression")
_CONFIG_FIELDS = ("size", "aspect_ratio", "n", "quality", "background", "output_format")


def uses_image_tool(model: str) -> bool:
    """Whether `model` generates images through the Responses API's `image_generation` tool.

    OpenAI's image models do (as on OpenAI's own Responses API); the others
    take `modalities` and `image_config`.
    """
    return model.startswith("openai/")


def input_image_url(image: ImageInput, *, field: str = "images") -> str:
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
                path=field,
                value=str(path),
                expected="a readable image file, bytes, or a URL",
            ) from exc
    import pybase64

    encoded = pybase64.b64encode(data).decode("ascii")
    return decode_result(encoded).data_url()


def _given(options: GenerationOptions) -> dict[str, Any]:
    """The options that were given a value (None means not given)."""
    check_options(options)
    given = {name: value for name, value in options.items() if value is not None}
    n = given.get("n")
    if n is not None and not (isinstance(n, int) and 1 <= n <= 10):
        raise ValidationError(
            f"n must be an integer from 1 to 10, got {n!r}", path="n", value=n, expected="1 to 10"
        )
    return given


def _previous_calls(previous: Previous | None) -> list[OutputImageGenerationCall]:
    if previous is None or isinstance(previous, str):
        return []
    calls = previous.image_generation_calls if isinstance(previous, Response) else [previous]
    return [call for call in calls if call.result]


def _input_urls(options: dict[str, Any], images: Sequence[ImageInput]) -> list[str]:
    """Reference and input images as URLs: `input_references` first, then `images`."""
    references = list(options.pop("input_references", None) or ()) + list(images)
    if len(references) > MAX_REFERENCES:
        raise ValidationError(
            f"at most {MAX_REFERENCES} reference images can be sent, got {len(references)}",
            path="input_references",
            value=len(references),
            expected=f"at most {MAX_REFERENCES}",
        )
    return [input_image_url(image, field="input_references") for image in references]


def _image_config(options: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    config = dict(options.pop("image_config", None) or {})
    for name in fields:
        if name in options:
            config.setdefault(name, options[name])
    if "resolution" in options:
        config.setdefault("image_size", options["resolution"])
    return config


def generation_body(
    route: Route,
    prompt: str,
    *,
    model: str,
    options: GenerationOptions,
    stream: bool = False,
    partial_images: int | None = None,
    previous: Previous | None = None,
    images: Sequence[ImageInput] = (),
    modalities: Sequence[str] = ("image", "text"),
    use_previous_response_id: bool = False,
    use_image_tool: bool | None = None,
) -> dict[str, Any]:
    """The JSON body of a generation (or, with `previous` or `images`, an edit) on `route`.

    `previous` is an earlier result to refine (a `Response`, an image call, or
    a response id on the Responses API); `images` are input images to edit.
    `modalities` is what a chat model is asked to output.
    """
    given = _given(options)
    if route == "images":
        return _images_body(prompt, model, given, stream, previous, images)
    if route == "chat":
        return _chat_body(prompt, model, given, stream, previous, images, modalities)
    return _responses_body(
        prompt, model, given, stream, partial_images, previous, images,
        use_previous_response_id, use_image_tool,
    )  # fmt: skip


def _images_body(
    prompt: str,
    model: str,
    given: dict[str, Any],
    stream: bool,
    previous: Previous | None,
    images: Sequence[ImageInput],
) -> dict[str, Any]:
    urls = _image_urls(given, previous, images)
    body: dict[str, Any] = {"model": model, "prompt": prompt}
    for name in IMAGE_API_OPTIONS:
        if name in given:
            body[name] = given[name]
    if urls:
        body["input_references"] = [{"type": "image_url", "image_url": {"url": u}} for u in urls]
    if given.get("image_config"):
        body.update(copy.deepcopy(dict(given["image_config"])))
    return _finish(body, given, stream)


def _image_urls(
    given: dict[str, Any], previous: Previous | None, images: Sequence[ImageInput]
) -> list[str]:
    """The images a stateless route is sent: the earlier results, then the references."""
    earlier = [call.result for call in _previous_calls(previous) if call.result]
    return [_as_url(result) for result in earlier] + _input_urls(given, images)


def _finish(body: dict[str, Any], given: dict[str, Any], stream: bool) -> dict[str, Any]:
    """What every route's body ends with: provider routing, streaming, `extra_body`."""
    if "provider" in given:
        body["provider"] = copy.deepcopy(dict(given["provider"]))
    if stream:
        body["stream"] = True
    extra_body = given.get("extra_body")
    if extra_body:
        body.update(copy.deepcopy(dict(extra_body)))
    return body


def _as_url(result: str) -> str:
    """A result as a URL an API accepts as an input image (bare base64 becomes a data URL)."""
    if result.startswith(("https://", "http://", "data:")):
        return result
    from openrouter_imagegen.images import decode_result

    return decode_result(result).data_url()


def _chat_body(
    prompt: str,
    model: str,
    given: dict[str, Any],
    stream: bool,
    previous: Previous | None,
    images: Sequence[ImageInput],
    modalities: Sequence[str],
) -> dict[str, Any]:
    urls = _image_urls(given, previous, images)
    content: str | list[dict[str, Any]] = prompt
    if urls:
        content = [{"type": "text", "text": prompt}] + [
            {"type": "image_url", "image_url": {"url": url}} for url in urls
        ]
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "modalities": list(modalities),
    }
    config = _image_config(given, _CONFIG_FIELDS)
    if config:
        body["image_config"] = config
    if "seed" in given:
        body["seed"] = given["seed"]
    return _finish(body, given, stream)


def _responses_body(
    prompt: str,
    model: str,
    given: dict[str, Any],
    stream: bool,
    partial_images: int | None,
    previous: Previous | None,
    images: Sequence[ImageInput],
    use_previous_response_id: bool,
    use_image_tool: bool | None,
) -> dict[str, Any]:
    previous_id: str | None = None
    if isinstance(previous, str):
        previous_id = previous
    elif use_previous_response_id and isinstance(previous, Response):
        previous_id = previous.id
    urls = _input_urls(given, images)
    items: str | list[Any] = prompt
    if previous is not None or urls:
        # OpenRouter's Responses API is stateless: earlier calls go back as input items.
        earlier = [] if previous_id else [c.to_dict() for c in _previous_calls(previous)]
        content: list[dict[str, Any]] = [{"type": "input_text", "text": prompt}]
        content += [{"type": "input_image", "image_url": url, "detail": "auto"} for url in urls]
        items = [*earlier, {"type": "message", "role": "user", "content": content}]
    body: dict[str, Any] = {"model": model, "input": items, "modalities": ["image", "text"]}
    tool_fields = {name: given[name] for name in _TOOL_FIELDS if name in given}
    if use_image_tool if use_image_tool is not None else uses_image_tool(model):
        tool: dict[str, Any] = {"type": "image_generation", **tool_fields}
        if stream:
            # The API refuses a streamed image_generation tool without 1 to 3 previews.
            tool["partial_images"] = min(max(partial_images or 1, 1), 3)
        elif partial_images:
            tool["partial_images"] = partial_images
        body["tools"] = [tool]
        config = _image_config(given, ("aspect_ratio", "n"))
    else:
        config = _image_config(given, (*_CONFIG_FIELDS, "output_compression"))
    if "seed" in given:
        config.setdefault("seed", given["seed"])
    if config:
        body["image_config"] = config
    if previous_id is not None:
        body["previous_response_id"] = previous_id
    return _finish(body, given, stream)
