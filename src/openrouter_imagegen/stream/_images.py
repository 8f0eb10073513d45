"""The Image API's stream events translated into Responses stream events."""

from __future__ import annotations

from typing import Any

from openrouter_imagegen.models.events import (
    ErrorEvent,
    Event,
    ImageGenCallPartialImageEvent,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    UnknownEvent,
    parse_event,
)
from openrouter_imagegen.models.images import (
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
    ImageGenStreamErrorEvent,
    image_usage,
    parse_image_event,
)
from openrouter_imagegen.models.operations import (
    Output,
    OutputImageGenerationCall,
    OutputStatusEnum3,
    Response,
    ResponseUsage,
)

__all__ = ["ImageEventTranslator"]


def _is_responses_event(obj: Any) -> bool:
    if not isinstance(obj, dict):
        return False
    kind = obj.get("type")
    flat_error = kind == "error" and not isinstance(obj.get("error"), dict)
    return flat_error or (isinstance(kind, str) and kind.startswith("response."))


class ImageEventTranslator:
    """Sans-I/O: feed decoded Image API events, get Responses stream events.

    Each image is an `image_generation_call` with the id the same generation
    gets unstreamed (`{generation id}-image-{index}`): partial images are
    previews of the image not yet completed, `image_generation.completed`
    finishes it, and `finish()` emits `response.completed` once at least one
    image completed. `text_chunk` events (SVG markup as it grows) are passed
    on as they are, and an `error` event becomes the stream's `error`.
    """

    def __init__(self, generation_id: str | None = None) -> None:
        self._stem = generation_id or "imagegen"
        self._generation_id = generation_id
        self._calls: list[OutputImageGenerationCall] = []
        self._current: OutputImageGenerationCall | None = None
        self._started = False
        self._created: int | float | None = None
        self._usage: ResponseUsage | None = None

    def feed(self, obj: Any) -> list[Event]:
        if _is_responses_event(obj):  # a flat error, or a Responses event, sent into this stream
            return [parse_event(obj)]
        event = parse_image_event(obj)
        events: list[Event] = []
        if not self._started:
            self._started = True
            events.append(ResponseCreatedEvent(response=self._response("in_progress")))
        if isinstance(event, ImageGenPartialImageEvent):
            events += self._open_call()
            assert self._current is not None
            events.append(
                ImageGenCallPartialImageEvent(
                    item_id=self._current.id,
                    output_index=len(self._calls) - 1,
                    partial_image_b64=event.b64_json,
                    partial_image_index=event.partial_image_index,
                )
            )
        elif isinstance(event, ImageGenCompletedEvent):
            events += self._open_call()
            events.append(self._complete(event))
        elif isinstance(event, ImageGenStreamErrorEvent):
            error = event.error
            message = error.message or "the generation failed"
            events.append(ErrorEvent(code=error.code, message=message, error=error.to_dict()))
        else:  # text chunks (SVG markup as it grows) and kinds not known yet: passed on
            events.append(UnknownEvent(type=str(event.type), raw=event.to_dict()))
        return events

    def _open_call(self) -> list[Event]:
        """Start the next image's call, unless one is already under way."""
        if self._current is not None:
            return []
        self._current = OutputImageGenerationCall(
            id=f"{self._stem}-image-{len(self._calls)}", status=OutputStatusEnum3.GENERATING
        )
        self._calls.append(self._current)
        return [ResponseOutputItemAddedEvent(output_index=len(self._calls) - 1, item=self._current)]

    def _complete(self, event: ImageGenCompletedEvent) -> Event:
        call = self._current
        assert call is not None
        call.status = OutputStatusEnum3.COMPLETED
        call.result = event.b64_json
        call.media_type = event.media_type
        self._current = None
        self._created = event.created if event.created is not None else self._created
        if event.usage is not None:
            self._usage = image_usage(event.usage)
        return ResponseOutputItemDoneEvent(output_index=len(self._calls) - 1, item=call)

    def _response(self, status: str) -> Response:
        return Response(
            id=self._generation_id,
            object="response",
            created_at=self._created,
            status=status,
            output=[],
            usage=self._usage,
        )

    def finish(self) -> list[Event]:
        completed: list[Output] = [
            c for c in self._calls if c.status == OutputStatusEnum3.COMPLETED
        ]
        if not completed:
            return []
        response = self._response("completed")
        response.output = completed
        return [ResponseCompletedEvent(response=response)]
