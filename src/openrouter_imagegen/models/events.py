"""Typed Responses API stream events.

Each event is named after its `type` (`response.created` ->
`ResponseCreatedEvent`); the four image generation events keep the names
OpenRouter's reference gives them. A type this library does not know becomes
an `UnknownEvent`, never an error: the API adds event kinds often.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from openrouter_imagegen.models._base import (
    Converter,
    KeptWhole,
    OpenUnion,
    WireModel,
    decode_json,
    validation_error,
)
from openrouter_imagegen.models.operations import CONTENT, OUTPUT, Response, ResponseError

if TYPE_CHECKING:
    from openrouter_imagegen.images import GeneratedImage
    from openrouter_imagegen.models.operations import Output, OutputContent

    _Item = Output
    _Part = OutputContent
else:
    # Built by OUTPUT / CONTENT, not by msgspec (see WireModel.__converters__).
    _Item = Any
    _Part = Any

__all__ = [
    "ErrorEvent",
    "Event",
    "ImageGenCallCompletedEvent",
    "ImageGenCallGeneratingEvent",
    "ImageGenCallInProgressEvent",
    "ImageGenCallPartialImageEvent",
    "ResponseCompletedEvent",
    "ResponseContentPartAddedEvent",
    "ResponseContentPartDoneEvent",
    "ResponseCreatedEvent",
    "ResponseErrorEvent",
    "ResponseFailedEvent",
    "ResponseInProgressEvent",
    "ResponseIncompleteEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseOutputTextDeltaEvent",
    "ResponseOutputTextDoneEvent",
    "ResponseReasoningSummaryPartAddedEvent",
    "ResponseReasoningSummaryPartDoneEvent",
    "ResponseReasoningSummaryTextDeltaEvent",
    "ResponseReasoningSummaryTextDoneEvent",
    "ResponseReasoningTextDeltaEvent",
    "ResponseReasoningTextDoneEvent",
    "ResponseRefusalDeltaEvent",
    "ResponseRefusalDoneEvent",
    "UnknownEvent",
    "parse_event",
]


class _Event(WireModel, kw_only=True):
    # The spec requires it; some proxies drop it, and gaps are harmless.
    sequence_number: int | None = None


def _envelope(data: Any, path: str, strict: bool) -> Response:
    # Some backends send `response.failed` (and envelopes) without `output`.
    if not strict and isinstance(data, dict) and "output" not in data:
        data = {**data, "output": []}
    return Response._convert(data, path, strict)


class _ResponseEvent(_Event, kw_only=True):
    """An event carrying the whole response; its `output` may be absent (then empty)."""

    response: Response

    __converters__: ClassVar[dict[str, Converter]] = {"response": _envelope}


class ResponseCreatedEvent(_ResponseEvent, kw_only=True):
    type: Literal["response.created"] = "response.created"


class ResponseInProgressEvent(_ResponseEvent, kw_only=True):
    type: Literal["response.in_progress"] = "response.in_progress"


class ResponseCompletedEvent(_ResponseEvent, kw_only=True):
    type: Literal["response.completed"] = "response.completed"


class ResponseFailedEvent(_ResponseEvent, kw_only=True):
    type: Literal["response.failed"] = "response.failed"


class ResponseIncompleteEvent(_ResponseEvent, kw_only=True):
    type: Literal["response.incomplete"] = "response.incomplete"


class _ItemEvent(_Event, kw_only=True):
    output_index: int
    item: _Item

    __converters__: ClassVar[dict[str, Converter]] = {"item": OUTPUT.convert}


class ResponseOutputItemAddedEvent(_ItemEvent, kw_only=True):
    type: Literal["response.output_item.added"] = "response.output_item.added"


class ResponseOutputItemDoneEvent(_ItemEvent, kw_only=True):
    type: Literal["response.output_item.done"] = "response.output_item.done"


class _ImageGenCallEvent(_Event, kw_only=True):
    item_id: str
    output_index: int


class ImageGenCallInProgressEvent(_ImageGenCallEvent, kw_only=True):
    type: Literal["response.image_generation_call.in_progress"] = (
        "response.image_generation_call.in_progress"
    )


class ImageGenCallGeneratingEvent(_ImageGenCallEvent, kw_only=True):
    type: Literal["response.image_generation_call.generating"] = (
        "response.image_generation_call.generating"
    )


class ImageGenCallPartialImageEvent(_ImageGenCallEvent, kw_only=True):
    """A preview of an image still being generated; `image()` decodes it."""

    type: Literal["response.image_generation_call.partial_image"] = (
        "response.image_generation_call.partial_image"
    )
    partial_image_b64: str
    partial_image_index: int

    def image(self) -> GeneratedImage:
        """The decoded preview (it is always inline base64)."""
        from openrouter_imagegen.images import decode_result

        return decode_result(self.partial_image_b64, call_id=self.item_id)


class ImageGenCallCompletedEvent(_ImageGenCallEvent, kw_only=True):
    type: Literal["response.image_generation_call.completed"] = (
        "response.image_generation_call.completed"
    )


class _ContentPartEvent(_Event, kw_only=True):
    item_id: str
    output_index: int
    content_index: int
    part: _Part

    __converters__: ClassVar[dict[str, Converter]] = {"part": CONTENT.convert}


class ResponseContentPartAddedEvent(_ContentPartEvent, kw_only=True):
    type: Literal["response.content_part.added"] = "response.content_part.added"


class ResponseContentPartDoneEvent(_ContentPartEvent, kw_only=True):
    type: Literal["response.content_part.done"] = "response.content_part.done"


class _ContentDeltaEvent(_Event, kw_only=True):
    item_id: str
    output_index: int
    content_index: int = 0
    delta: str


class ResponseOutputTextDeltaEvent(_ContentDeltaEvent, kw_only=True):
    type: Literal["response.output_text.delta"] = "response.output_text.delta"
    logprobs: list[Any] | None = None


class ResponseRefusalDeltaEvent(_ContentDeltaEvent, kw_only=True):
    type: Literal["response.refusal.delta"] = "response.refusal.delta"


class ResponseReasoningTextDeltaEvent(_ContentDeltaEvent, kw_only=True):
    type: Literal["response.reasoning_text.delta"] = "response.reasoning_text.delta"


class ResponseOutputTextDoneEvent(_Event, kw_only=True):
    type: Literal["response.output_text.done"] = "response.output_text.done"
    item_id: str
    output_index: int
    content_index: int = 0
    text: str
    logprobs: list[Any] | None = None


class ResponseRefusalDoneEvent(_Event, kw_only=True):
    type: Literal["response.refusal.done"] = "response.refusal.done"
    item_id: str
    output_index: int
    content_index: int = 0
    refusal: str


class ResponseReasoningTextDoneEvent(_Event, kw_only=True):
    type: Literal["response.reasoning_text.done"] = "response.reasoning_text.done"
    item_id: str
    output_index: int
    content_index: int = 0
    text: str


class _SummaryEvent(_Event, kw_only=True):
    item_id: str
    output_index: int
    summary_index: int = 0


class ResponseReasoningSummaryPartAddedEvent(_SummaryEvent, kw_only=True):
    type: Literal["response.reasoning_summary_part.added"] = "response.reasoning_summary_part.added"
    part: dict[str, Any] | None = None


class ResponseReasoningSummaryPartDoneEvent(_SummaryEvent, kw_only=True):
    type: Literal["response.reasoning_summary_part.done"] = "response.reasoning_summary_part.done"
    part: dict[str, Any] | None = None


class ResponseReasoningSummaryTextDeltaEvent(_SummaryEvent, kw_only=True):
    type: Literal["response.reasoning_summary_text.delta"] = "response.reasoning_summary_text.delta"
    delta: str


class ResponseReasoningSummaryTextDoneEvent(_SummaryEvent, kw_only=True):
    type: Literal["response.reasoning_summary_text.done"] = "response.reasoning_summary_text.done"
    text: str


class _ErrorReport(_Event, kw_only=True):
    code: str | int | None = None
    message: str | None = None
    param: str | None = None
    error: dict[str, Any] | str | None = None

    @property
    def failure(self) -> ResponseError:
        """The server's code and message, from the event or from its nested `error`."""
        nested = self.error if isinstance(self.error, dict) else {"message": self.error}
        code = self.code if self.code is not None else nested.get("code")
        message = self.message or nested.get("message")
        return ResponseError(
            code=code if isinstance(code, str | int) else None,
            message=message if isinstance(message, str) and message else None,
        )


class ErrorEvent(_ErrorReport, kw_only=True):
    """A failure reported in the stream; `failure` has its code and message.

    Servers send the spec's flat form (`code` and `message` beside `type`), a
    nested one (`{"type": "error", "error": {"code": ..., "message": ...}}`),
    and OpenRouter `{"error": {...}}` with no `type` when generation fails
    mid-stream; `parse_event` makes each an `ErrorEvent`.
    """

    type: Literal["error"] = "error"


class ResponseErrorEvent(_ErrorReport, kw_only=True):
    """`response.error`, which some compatible servers send instead of `error`."""

    type: Literal["response.error"] = "response.error"


class UnknownEvent(KeptWhole, kw_only=True):
    """An event of a type this library does not know, kept whole in `raw`."""


EVENTS = OpenUnion(
    [
        ResponseCreatedEvent,
        ResponseInProgressEvent,
        ResponseCompletedEvent,
        ResponseFailedEvent,
        ResponseIncompleteEvent,
        ResponseOutputItemAddedEvent,
        ResponseOutputItemDoneEvent,
        ImageGenCallInProgressEvent,
        ImageGenCallGeneratingEvent,
        ImageGenCallPartialImageEvent,
        ImageGenCallCompletedEvent,
        ResponseContentPartAddedEvent,
        ResponseContentPartDoneEvent,
        ResponseOutputTextDeltaEvent,
        ResponseOutputTextDoneEvent,
        ResponseRefusalDeltaEvent,
        ResponseRefusalDoneEvent,
        ResponseReasoningTextDeltaEvent,
        ResponseReasoningTextDoneEvent,
        ResponseReasoningSummaryPartAddedEvent,
        ResponseReasoningSummaryPartDoneEvent,
        ResponseReasoningSummaryTextDeltaEvent,
        ResponseReasoningSummaryTextDoneEvent,
        ErrorEvent,
        ResponseErrorEvent,
    ],
    UnknownEvent,
)

Event = (
    ResponseCreatedEvent
    | ResponseInProgressEvent
    | ResponseCompletedEvent
    | ResponseFailedEvent
    | ResponseIncompleteEvent
    | ResponseOutputItemAddedEvent
    | ResponseOutputItemDoneEvent
    | ImageGenCallInProgressEvent
    | ImageGenCallGeneratingEvent
    | ImageGenCallPartialImageEvent
    | ImageGenCallCompletedEvent
    | ResponseContentPartAddedEvent
    | ResponseContentPartDoneEvent
    | ResponseOutputTextDeltaEvent
    | ResponseOutputTextDoneEvent
    | ResponseRefusalDeltaEvent
    | ResponseRefusalDoneEvent
    | ResponseReasoningTextDeltaEvent
    | ResponseReasoningTextDoneEvent
    | ResponseReasoningSummaryPartAddedEvent
    | ResponseReasoningSummaryPartDoneEvent
    | ResponseReasoningSummaryTextDeltaEvent
    | ResponseReasoningSummaryTextDoneEvent
    | ErrorEvent
    | ResponseErrorEvent
    | UnknownEvent
)


def parse_event(
    data: bytes | bytearray | memoryview | str | dict[str, Any], *, strict: bool = False
) -> Event:
    """Parse one stream event (the JSON of an SSE `data:` field, or its decoded object)."""
    obj = decode_json(data) if isinstance(data, bytes | bytearray | memoryview | str) else data
    if isinstance(obj, dict) and "type" not in obj and isinstance(obj.get("error"), dict):
        nested = obj["error"]
        code, message = nested.get("code"), nested.get("message")
        if not isinstance(code, str | int | None) or not isinstance(message, str | None):
            raise validation_error("$.error", nested, "an object with a string message and code")
        return ErrorEvent(code=code, message=message, error=nested)
    event: Event = EVENTS.convert(obj, "$", strict)
    return event
