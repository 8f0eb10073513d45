"""Reading a generation request: the pictures it asks for, or a refusal naming the field."""

from __future__ import annotations

import binascii
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import pybase64

from openrouter_imagegen.emulator._catalog import is_served, output_modalities

__all__ = [
    "MAX_PROMPT_CHARS",
    "ImageRequest",
    "RequestRefused",
    "check_prompt",
    "choice",
    "decode_body",
    "inline_image",
    "integer",
    "pixel_size",
    "read_chat_request",
    "read_flag",
    "read_model",
    "read_responses_request",
    "read_seed",
]

_SIZE = re.compile(r"^(\d{1,5})x(\d{1,5})$")
_RATIO = re.compile(r"^(\d{1,3}):(\d{1,3})$")
_MAX_SIDE = 4096
_DEFAULT_SIDE = 1024
_MAX_N = 10
_MAX_PARTIAL_IMAGES = 3
# Longer than any real prompt; the bound keeps what a request can make the renderer do small.
MAX_PROMPT_CHARS = 32_000


class RequestRefused(Exception):
    """A request the emulator answers with an error status and message, as OpenRouter would."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class ImageRequest:
    """What a generation request asks for, validated."""

    model: str
    prompt: str
    context: str  # a digest of the images (or earlier results) the input carries, for edits
    width: int
    height: int
    output_format: str
    background: str
    quality: str
    n: int  # how many pictures: `image_config.n`, an emulator extension
    partial_images: int  # previews streamed before each picture
    stream: bool
    seed: int | None
    compression: int | None = None  # the JPEG and WebP quality, overriding `quality`'s
    input_image: bytes | None = None  # the last image sent inline, which an edit starts from


def decode_body(raw: bytes) -> dict[str, Any]:
    try:
        body = msgspec.json.decode(raw)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise RequestRefused(400, f"the request body is not valid JSON: {exc}") from None
    except RecursionError:  # msgspec's own depth limit: no request nests that deep
        raise RequestRefused(400, "the request body nests too deeply") from None
    if not isinstance(body, dict):
        raise RequestRefused(400, "the request body must be a JSON object")
    return body


def read_responses_request(
    body: dict[str, Any], history: Mapping[str, tuple[str, str]]
) -> ImageRequest:
    """A `POST /responses` body; `history` maps earlier response ids to (prompt, context)."""
    model = read_model(body, is_served)
    if "input" not in body:
        raise RequestRefused(400, "input: required")
    prompt, context, image = _prompt_and_context(body["input"], "input")
    previous = body.get("previous_response_id")
    if previous is not None:
        if not isinstance(previous, str) or previous not in history:
            raise RequestRefused(
                404, f"previous_response_id: no response {previous!r} on this emulator"
            )
        earlier_prompt, earlier_context = history[previous]
        prompt, context = f"{earlier_prompt} / {prompt}", earlier_context + context
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise RequestRefused(400, "tools: expected an array")
    for index, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") == "image_generation":
            return _image_request(
                body, model, (prompt, context, image), "input", tool, f"tools[{index}]"
            )
    # Without the image tool, `modalities` is what asks for pictures (Gemini style).
    _check_modalities(body, model, required=False)
    return _image_request(body, model, (prompt, context, image), "input", {}, "")


def read_chat_request(body: dict[str, Any]) -> ImageRequest:
    """A `POST /chat/completions` body; the prompt is the last user message."""
    model = read_model(body, is_served)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestRefused(400, "messages: expected a non-empty array")
    _check_modalities(body, model, required=True)
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return _image_request(
        body, model, _prompt_and_context(users[-1:], "messages"), "messages", {}, ""
    )


def read_model(body: dict[str, Any], served: Callable[[str], bool]) -> str:
    """The `model` id, when `served` says it is one of the endpoint's."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestRefused(400, "model: a model id is required")
    if not served(model):
        raise RequestRefused(404, f"model: {model!r} is not a valid model ID")
    return model


def _check_modalities(body: dict[str, Any], model: str, *, required: bool) -> None:
    modalities = body.get("modalities")
    if modalities is None and not required:
        return
    if not isinstance(modalities, list) or not all(isinstance(m, str) for m in modalities):
        raise RequestRefused(400, f"modalities: expected an array of strings, got {modalities!r}")
    if set(modalities) - set(output_modalities(model)):
        # OpenRouter's wording: no provider of this model serves what was asked.
        raise RequestRefused(
            404,
            "No endpoints found that support the requested output modalities: "
            + ", ".join(modalities),
        )
    if "image" not in modalities:
        raise RequestRefused(400, "modalities: include 'image' to generate images")


def read_flag(body: dict[str, Any], name: str) -> bool:
    """An optional boolean field, false when absent."""
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise RequestRefused(400, f"{name}: expected a boolean, got {value!r}")
    return value


def read_seed(body: dict[str, Any]) -> int | None:
    seed = body.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise RequestRefused(400, f"seed: expected an integer, got {seed!r}")
    return seed


def _image_request(
    body: dict[str, Any],
    model: str,
    given: tuple[str, str, bytes | None],  # the prompt, the context digest, the input image
    prompt_field: str,
    tool: dict[str, Any],
    tool_field: str,
) -> ImageRequest:
    prompt, context, input_image = given
    config = body.get("image_config") or {}
    if not isinstance(config, dict):
        raise RequestRefused(400, "image_config: expected an object")

    def option(name: str) -> tuple[Any, str]:
        """An option from the image tool when it sets it, else from `image_config`."""
        if name in tool:
            return tool[name], f"{tool_field}.{name}"
        return config.get(name), f"image_config.{name}"

    tool_size = pixel_size(tool.get("size"), f"{tool_field}.size")
    config_size = pixel_size(config.get("size"), "image_config.size")
    aspect = _aspect(config.get("aspect_ratio"))  # checked even when a size wins
    width, height = tool_size or config_size or aspect or (_DEFAULT_SIDE, _DEFAULT_SIDE)
    output_format = choice(*option("output_format"), ("png", "jpeg", "webp"), "png")
    background = choice(*option("background"), ("transparent", "opaque", "auto"), "auto")
    quality = choice(*option("quality"), ("low", "medium", "high", "auto"), "auto")
    n = integer(config.get("n", 1), "image_config.n", 1, _MAX_N)
    partial = integer(
        tool.get("partial_images", 0), f"{tool_field}.partial_images", 0, _MAX_PARTIAL_IMAGES
    )
    stream = read_flag(body, "stream")
    if stream and tool and partial == 0:
        # OpenAI's rule, which OpenRouter passes on: a streamed image tool streams previews.
        raise RequestRefused(
            400,
            f"{tool_field}.partial_images: streaming the image_generation tool "
            "needs partial_images of 1 to 3",
        )
    seed = read_seed(body)
    if not prompt.strip():
        raise RequestRefused(400, f"{prompt_field}: the prompt is empty")
    check_prompt(prompt, prompt_field)
    return ImageRequest(
        model=model, prompt=prompt, context=context, width=width, height=height,
        output_format=output_format, background=background, quality=quality, n=n,
        partial_images=partial if stream else 0, stream=stream, seed=seed,
        input_image=input_image,
    )  # fmt: skip


def check_prompt(prompt: str, field: str) -> None:
    """Refuse a prompt longer than `MAX_PROMPT_CHARS`, naming `field`."""
    if len(prompt) > MAX_PROMPT_CHARS:
        raise RequestRefused(
            400,
            f"{field}: the prompt is {len(prompt)} characters long; "
            f"at most {MAX_PROMPT_CHARS} are accepted",
        )


def inline_image(value: str) -> bytes | None:
    """The bytes of an image sent inline: a base64 `data:` URL, or bare base64 (an earlier
    result). None for anything else (an http URL, a file id), which the emulator cannot read
    offline, and for base64 that does not decode."""
    if value.startswith("data:"):
        header, comma, value = value.partition(",")
        if not comma or not header.endswith(";base64"):
            return None
    elif value.startswith(("http://", "https://")):
        return None
    try:
        return bytes(pybase64.b64decode(value, validate=False))
    except (binascii.Error, ValueError):
        return None


def pixel_size(value: Any, field: str) -> tuple[int, int] | None:
    """A `WIDTHxHEIGHT` size; None for none or `auto`."""
    if value is None or value == "auto":
        return None
    match = _SIZE.match(value) if isinstance(value, str) else None
    if not match:
        raise RequestRefused(
            400, f"{field}: expected WIDTHxHEIGHT such as '1024x1024', got {value!r}"
        )
    width, height = int(match[1]), int(match[2])
    if not (1 <= width <= _MAX_SIDE and 1 <= height <= _MAX_SIDE):
        raise RequestRefused(
            400, f"{field}: each side must be 1 to {_MAX_SIDE} pixels, got {value!r}"
        )
    return width, height


def _aspect(value: Any) -> tuple[int, int] | None:
    """The size an aspect ratio gives: its long side is the default side."""
    if value is None:
        return None
    match = _RATIO.match(value) if isinstance(value, str) else None
    if not match or int(match[1]) == 0 or int(match[2]) == 0:
        raise RequestRefused(
            400, f"image_config.aspect_ratio: expected W:H such as '16:9', got {value!r}"
        )
    w, h = int(match[1]), int(match[2])
    if w >= h:
        return _DEFAULT_SIDE, max(1, _DEFAULT_SIDE * h // w)
    return max(1, _DEFAULT_SIDE * w // h), _DEFAULT_SIDE


def choice(value: Any, field: str, allowed: Iterable[str], default: str) -> str:
    """One of `allowed`, or `default` when absent."""
    if value is None:
        return default
    allowed = tuple(allowed)
    if value not in allowed:
        raise RequestRefused(400, f"{field}: expected one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def integer(value: Any, field: str, low: int, high: int) -> int:
    """An integer from `low` to `high`."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise RequestRefused(
            400, f"{field}: expected an integer from {low} to {high}, got {value!r}"
        )
    return value


def _prompt_and_context(items: Any, field: str) -> tuple[str, str, bytes | None]:
    """The prompt text of an input, a digest of the images and results it carries, and the
    last of them sent inline."""
    if isinstance(items, str):
        return items, "", None
    if not isinstance(items, list):
        raise RequestRefused(400, f"{field}: expected a string or an array of input items")
    texts: list[str] = []
    digest = hashlib.sha256()
    carries_images = False
    last_inline: bytes | None = None
    for item in items:
        if not isinstance(item, dict):
            continue
        for part in _parts(item):
            if part.get("type") in ("input_text", "text") and isinstance(part.get("text"), str):
                texts.append(part["text"])
            # Responses: `image_url` is a string; chat: `{"url": ...}`; an earlier result.
            url = part.get("image_url")
            url = url.get("url") if isinstance(url, dict) else url
            for image in (url, part.get("file_id"), part.get("result")):
                if isinstance(image, str):
                    digest.update(image.encode())
                    carries_images = True
            for image in (url, part.get("result")):  # a file id is no picture to start from
                if isinstance(image, str):
                    last_inline = inline_image(image) or last_inline
    return " ".join(texts), digest.hexdigest()[:16] if carries_images else "", last_inline


def _parts(item: dict[str, Any]) -> list[Any]:
    """A message's content parts; any other item (a bare part, an earlier output) is its own."""
    content = item.get("content")
    if isinstance(content, str):
        return [{"type": "input_text", "text": content}]
    if isinstance(content, list):
        return [part for part in content if isinstance(part, dict)]
    return [item]
