"""What the emulator answers: bodies and stream events, built as plain dicts.

A stream comes with the places where the `truncate` and `reset` faults cut
it, so that the faults stay in the app and the event order stays here.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import pybase64

from openrouter_imagegen.emulator._catalog import ImageModel
from openrouter_imagegen.emulator._render import Rendered
from openrouter_imagegen.emulator._requests import ImageRequest
from openrouter_imagegen.stream import encode_event

__all__ = [
    "MEDIA_TYPES",
    "EventStream",
    "chat_completion",
    "chat_events",
    "image_events",
    "image_generation",
    "new_id",
    "response_events",
    "response_object",
]

MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "svg": "image/svg+xml",
}
# Roughly what OpenAI bills for one 1024x1024 image, so that usage looks plausible.
_TOKENS_PER_IMAGE = 1056
_COST_PER_IMAGE = 0.04
_FAILURE = "image generation failed (emulated)"
_DONE = encode_event("[DONE]")


@dataclass(frozen=True, slots=True)
class EventStream:
    """A stream's SSE events, and where the stream faults cut it."""

    events: list[bytes]
    truncate_at: int  # `truncate` sends this many events, then ends the body cleanly
    reset_at: int  # `reset` sends this many events, then drops the connection


def new_id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:24]
    return f"{prefix}_{digest}"


def _b64(data: bytes) -> str:
    return pybase64.b64encode(data).decode("ascii")


def _words(text: str) -> list[str]:
    """`text` in word-sized deltas that join back to exactly `text`."""
    return re.findall(r"\S+\s*|\s+", text)


def _reply_text(request: ImageRequest, failed: bool) -> str:
    return "The image failed to generate." if failed else f"Here is your image of: {request.prompt}"


# -- Responses API ---------------------------------------------------------------------


def response_object(
    request: ImageRequest,
    images: Sequence[Rendered],
    generation_id: str,
    *,
    failed: bool,
    created: int,
    urls: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The `response` object: the image calls, then a short assistant message unless they failed.

    With `urls` (one a picture), the calls are OpenRouter's `openrouter:image_generation`
    items, whose result is the URL; their status has no `failed`, so a failure is `incomplete`.
    """
    output: list[dict[str, Any]] = []
    for variant, image in enumerate(images):
        call_id = new_id("ig", generation_id, variant)
        if urls is None:
            output.append(
                {
                    "type": "image_generation_call",
                    "id": call_id,
                    "status": "failed" if failed else "completed",
                    "result": None if failed else _b64(image.data),
                    "prompt": request.prompt,
                }
            )
        else:
            item: dict[str, Any] = {
                "type": "openrouter:image_generation",
                "id": call_id,
                "status": "incomplete" if failed else "completed",
                "result": None if failed else urls[variant],
                "prompt": request.prompt,
            }
            if not failed:
                item["imageUrl"] = urls[variant]
            output.append(item)
    if not failed:
        output.append(
            {
                "type": "message",
                "id": new_id("msg", generation_id),
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": _reply_text(request, False), "annotations": []}
                ],
            }
        )
    words = len(request.prompt.split())
    return {
        "id": new_id("resp", generation_id),
        "object": "response",
        "created_at": created,
        "completed_at": None if failed else created,
        "model": request.model,
        "status": "failed" if failed else "completed",
        "output": output,
        "error": {"code": "server_error", "message": _FAILURE} if failed else None,
        "incomplete_details": None,
        "usage": {
            "input_tokens": words,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": _TOKENS_PER_IMAGE * request.n,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": words + _TOKENS_PER_IMAGE * request.n,
            "cost": round(_COST_PER_IMAGE * request.n, 6),
        },
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "temperature": None,
        "top_p": None,
        "presence_penalty": None,
        "frequency_penalty": None,
        "instructions": None,
        "metadata": {},
    }


def response_events(images: Sequence[Rendered], final: dict[str, Any]) -> EventStream:
    """OpenRouter's event order for `final`, the response a plain request gets.

    Each image call goes added, in_progress, generating, its partial images,
    completed, done; then the message item; then `response.completed` (or,
    for failed calls, done with status failed and `response.failed`). An
    `openrouter:image_generation` item, whose result is a URL, has no
    progress of its own: it is only added, then done.
    """
    numbers = itertools.count()

    def event(kind: str, **fields: Any) -> bytes:
        body = {"type": kind, **fields, "sequence_number": next(numbers)}
        return encode_event(msgspec.json.encode(body))

    started = {**final, "status": "in_progress", "output": [], "completed_at": None, "error": None}
    del started["usage"]
    events = [event("response.created", response=started)]
    events.append(event("response.in_progress", response=started))
    truncate_at = reset_at = 0
    for index, item in enumerate(final["output"]):
        if item["type"] == "message":
            events += _message_events(event, index, item)
            continue
        ids = {"item_id": item["id"], "output_index": index}
        in_progress = {**item, "status": "in_progress", "result": None}
        in_progress.pop("imageUrl", None)
        events.append(event("response.output_item.added", output_index=index, item=in_progress))
        call = item["type"] == "image_generation_call"
        if call:
            events.append(event("response.image_generation_call.in_progress", **ids))
            events.append(event("response.image_generation_call.generating", **ids))
        previews_from = len(events)
        for number, preview in enumerate(images[index].previews if call else ()):
            events.append(
                event(
                    "response.image_generation_call.partial_image",
                    **ids,
                    partial_image_b64=_b64(preview),
                    partial_image_index=number,
                )
            )
        if not truncate_at:  # the first call: reset after its first preview, truncate after all
            reset_at = min(previews_from + 1, len(events))
            truncate_at = len(events)
        if call and item["status"] == "completed":
            events.append(event("response.image_generation_call.completed", **ids))
        events.append(event("response.output_item.done", output_index=index, item=item))
    ending = {"failed": "response.failed", "incomplete": "response.incomplete"}
    events.append(event(ending.get(final["status"], "response.completed"), response=final))
    events.append(_DONE)
    return EventStream(events, truncate_at, reset_at)


def _message_events(event: Callable[..., bytes], index: int, item: dict[str, Any]) -> list[bytes]:
    """A message's one part (text, or a refusal) word by word, numbered in order."""
    part = item["content"][0]
    ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
    refusal = part["type"] == "refusal"
    empty: dict[str, Any] = (
        {"type": "refusal", "refusal": ""}
        if refusal
        else {"type": "output_text", "text": "", "annotations": []}
    )
    in_progress = {**item, "status": "in_progress", "content": []}
    events = [
        event("response.output_item.added", output_index=index, item=in_progress),
        event("response.content_part.added", **ids, part=empty),
    ]
    if refusal:
        events += [event("response.refusal.delta", **ids, delta=w) for w in _words(part["refusal"])]
        events.append(event("response.refusal.done", **ids, refusal=part["refusal"]))
    else:
        text = part["text"]
        events += [
            event("response.output_text.delta", **ids, delta=w, logprobs=[]) for w in _words(text)
        ]
        events.append(event("response.output_text.done", **ids, text=text, logprobs=[]))
    events.append(event("response.content_part.done", **ids, part=part))
    events.append(event("response.output_item.done", output_index=index, item=item))
    return events


# -- chat completions --------------------------------------------------------------------


def chat_completion(
    request: ImageRequest,
    images: Sequence[Rendered],
    generation_id: str,
    *,
    failed: bool,
    created: int,
    urls: Sequence[str] | None = None,
) -> dict[str, Any]:
    """A `chat.completion` whose message carries the pictures as data URLs, or as `urls`."""
    media_type = MEDIA_TYPES[request.output_format]
    message: dict[str, Any] = {"role": "assistant", "content": _reply_text(request, failed)}
    if not failed:
        message["images"] = [
            {
                "type": "image_url",
                "image_url": {
                    "url": f"data:{media_type};base64,{_b64(image.data)}"
                    if urls is None
                    else urls[variant]
                },
            }
            for variant, image in enumerate(images)
        ]
    words = len(request.prompt.split())
    return {
        "id": generation_id,
        "object": "chat.completion",
        "created": created,
        "system_fingerprint": None,
        "model": request.model,
        "choices": [
            {"index": 0, "finish_reason": "error" if failed else "stop", "message": message}
        ],
        "usage": {
            "prompt_tokens": words,
            "completion_tokens": _TOKENS_PER_IMAGE * request.n,
            "total_tokens": words + _TOKENS_PER_IMAGE * request.n,
            "cost": round(_COST_PER_IMAGE * request.n, 6),
        },
    }


def chat_events(whole: dict[str, Any]) -> EventStream:
    """`whole` as `chat.completion.chunk`s.

    The role, the text word by word, each picture, then a last chunk with the
    finish reason and usage; a failure ends instead with a chunk carrying an
    `error` and finish reason `error`, as OpenRouter reports errors mid-stream.
    """
    head = {k: whole[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    choice = whole["choices"][0]
    message = choice["message"]

    def chunk(
        delta: dict[str, Any], finish: str | None = None, native: Any = None, **extra: Any
    ) -> bytes:
        choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
        if native is not None:  # the provider's own reason, beside OpenRouter's
            choice["native_finish_reason"] = native
        return encode_event(msgspec.json.encode({**head, "choices": [choice], **extra}))

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": word}) for word in _words(message["content"])]
    reset_at = len(events)
    events += [chunk({"images": [image]}) for image in message.get("images", [])]
    truncate_at = len(events)
    if choice["finish_reason"] == "error":
        error = {"code": 502, "message": _FAILURE, "metadata": {"error_type": "server"}}
        events.append(chunk({"content": ""}, "error", error=error))
    else:
        native = choice.get("native_finish_reason")
        events.append(chunk({}, choice["finish_reason"], native, usage=whole["usage"]))
    events.append(_DONE)
    return EventStream(events, truncate_at, reset_at)


# -- the Image API -----------------------------------------------------------------------


def image_generation(
    model: ImageModel, request: ImageRequest, images: Sequence[Rendered], *, created: int
) -> dict[str, Any]:
    """The `ImageGenerationResponse`: the pictures, and a usage whose cost is the model's price.

    The pictures are always `b64_json`: the API has no URL form of them.
    """
    media_type = MEDIA_TYPES[request.output_format]
    words = len(request.prompt.split())
    return {
        "created": created,
        "data": [{"b64_json": _b64(image.data), "media_type": media_type} for image in images],
        "usage": {
            "prompt_tokens": words,
            "completion_tokens": _TOKENS_PER_IMAGE * request.n,
            "total_tokens": words + _TOKENS_PER_IMAGE * request.n,
            "cost": model.cost(request.width, request.height, request.n),
        },
    }


def image_events(images: Sequence[Rendered], whole: dict[str, Any], *, failed: bool) -> EventStream:
    """`whole` streamed: for each picture its previews, or its SVG markup a line at a time, then
    `image_generation.completed` (the last one carries the usage). A failure ends the stream
    with an `error` event after the first picture's progress."""

    def event(body: dict[str, Any]) -> bytes:
        return encode_event(msgspec.json.encode(body))

    events: list[bytes] = []
    truncate_at = reset_at = 0
    for index, (image, item) in enumerate(zip(images, whole["data"], strict=True)):
        if item["media_type"] == MEDIA_TYPES["svg"]:
            events += [
                event({"type": "image_generation.text_chunk", "text": line, "phase": "content"})
                for line in image.data.decode().splitlines(keepends=True)
            ]
        else:
            events += [
                event(
                    {
                        "type": "image_generation.partial_image",
                        "b64_json": _b64(preview),
                        "partial_image_index": number,
                    }
                )
                for number, preview in enumerate(image.previews)
            ]
        if index == 0:  # reset after the first piece of progress, truncate before completion
            reset_at = min(1, len(events))
            truncate_at = len(events)
        if failed:
            error = {
                "code": "server_error",
                "message": _FAILURE,
                "param": None,
                "type": "provider_error",
            }
            events.append(event({"type": "error", "error": error}))
            break
        completed = {"type": "image_generation.completed", **item, "created": whole["created"]}
        if index == len(images) - 1:
            completed["usage"] = whole["usage"]
        events.append(event(completed))
    events.append(_DONE)
    return EventStream(events, truncate_at, reset_at)


REFUSAL = "I can't create that image: it goes against the content policy (emulated)."


def refuse(payload: dict[str, Any], *, chat: bool) -> None:
    """Turn an answer without pictures into a refusal, as a content filter gives one.

    Chat: the text is the refusal, finish reason `content_filter`, the provider's own
    reason `SAFETY`. Responses: the message holds a `refusal` part and the response is
    `incomplete` for `content_filter`.
    """
    if chat:
        choice = payload["choices"][0]
        choice["message"]["content"] = REFUSAL
        choice.update(finish_reason="content_filter", native_finish_reason="SAFETY")
        return
    for item in payload["output"]:
        if item["type"] == "message":
            item["content"] = [{"type": "refusal", "refusal": REFUSAL}]
    payload.update(status="incomplete", incomplete_details={"reason": "content_filter"})
