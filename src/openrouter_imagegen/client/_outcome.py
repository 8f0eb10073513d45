"""Whether a completed generation gave what was asked for, sans I/O."""

from __future__ import annotations

from openrouter_imagegen._exceptions import (
    GenerationRefusedError,
    NoImageError,
    NoImageReturnedError,
)
from openrouter_imagegen.models.events import ImageGenCallPartialImageEvent
from openrouter_imagegen.models.operations import Response

__all__ = ["no_image_error"]

# Finish reasons (OpenRouter's and providers' own, lowercased) that mean "refused".
_REFUSALS = frozenset(
    {
        "content_filter",
        "refusal",
        "safety",
        "image_safety",
        "prohibited_content",
        "blocklist",
        "spii",
        "recitation",
        "image_prohibited_content",
        "moderation",
    }
)


def no_image_error(
    response: Response,
    *,
    requested: int,
    partial_images: list[ImageGenCallPartialImageEvent] | None = None,
) -> NoImageError | None:
    """The error for a response that completed without any image, else None.

    A failed response is not one: it carries its own `error`. A refusal part,
    or a finish reason of a content filter or a refusal, is a
    `GenerationRefusedError`; any other answer without an image (empty, or
    text alone) a `NoImageReturnedError`.
    """
    if response.status == "failed" or any(item.result for item in response.image_outputs):
        return None
    finish, native = response.finish_reason, response.native_finish_reason
    refusal = response.refusal
    reasons = {reason.lower() for reason in (finish, native) if reason}
    refused = bool(refusal) or bool(reasons & _REFUSALS)
    text = refusal or response.output_text
    why = ", ".join(f"{name} {value!r}" for name, value in (
        ("finish reason", finish), ("the provider's", native)) if value)  # fmt: skip
    said = f"; the model said: {text[:300]!r}" if text else ""
    kind = GenerationRefusedError if refused else NoImageReturnedError
    what = "refused (never retried)" if refused else "came back without an image"
    return kind(
        f"the generation {what}: 0 of {requested} image(s)" + (f" ({why})" if why else "") + said,
        response=response,
        partial_images=partial_images,
        finish_reason=finish,
        native_finish_reason=native,
        text=text,
        images_requested=requested,
        generation_id=response.generation_id,
    )
