"""From typed stream events to a growing `Response` snapshot."""

from __future__ import annotations

import warnings
from typing import Any

from openrouter_imagegen._exceptions import StreamError, StreamWarning
from openrouter_imagegen.models import events as ev
from openrouter_imagegen.models.operations import (
    Output,
    OutputAssistant,
    OutputImageGenerationCall,
    OutputReasoning,
    OutputRefusalContent,
    OutputStatusEnum3,
    OutputTextContent,
    ReasoningText,
    Response,
)

__all__ = ["ResponseAccumulator"]

_IMAGE_STATUS = {
    ev.ImageGenCallInProgressEvent: OutputStatusEnum3.IN_PROGRESS,
    ev.ImageGenCallGeneratingEvent: OutputStatusEnum3.GENERATING,
    ev.ImageGenCallCompletedEvent: OutputStatusEnum3.COMPLETED,
}


class ResponseAccumulator:
    """Feed it stream events; `.response` is the `Response` built so far.

    The snapshot is one object updated in place (copying multi-megabyte
    responses per event would cost more than it is worth); keep a
    `to_dict()` of it if you need a moment frozen. Partial images are kept in
    `partial_images`, in arrival order, each decodable with `.image()`.

    `feed` raises `StreamError` for an `error` or `response.error` event or
    `response.failed`, with the server's code and message; `finish()` returns
    the final response, or raises when the stream ended before
    `response.completed` or `response.incomplete`. Every `StreamError`
    carries the last snapshot and every partial image received.

    A response event's `output` adds to what events built and never takes
    away: an item built from events is kept unless that response carries it
    too (the same id, else the same place), and an image call keeps the
    result it had even if the response's copy lacks one. Some backends send
    finished items only in `response.output_item.done`, then
    `response.completed` with `output: []`.
    """

    def __init__(self) -> None:
        self.response = Response(output=[])
        self.partial_images: list[ev.ImageGenCallPartialImageEvent] = []
        self.warnings: list[str] = []
        self.final_event: ev.Event | None = None
        self._sequence_numbers: set[int] = set()
        self._highest_sequence = -1

    @property
    def finished(self) -> bool:
        """True once `response.completed` or `response.incomplete` arrived."""
        return self.final_event is not None

    def feed(self, event: ev.Event) -> Response:
        """Apply one event; returns the snapshot."""
        if not self._check_sequence(event):
            return self.response
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)
        return self.response

    def finish(self) -> Response:
        """The final response; raises `StreamError` if the stream ended early."""
        if self.final_event is None:
            raise self.error(
                "the stream ended before response.completed "
                f"(status {self.response.status or 'unknown'}, "
                f"{len(self.partial_images)} partial image(s) received)"
            )
        return self.response

    def error(self, message: str, **details: Any) -> StreamError:
        """A `StreamError` carrying the snapshot and the partial images so far."""
        return StreamError(
            message, response=self.response, partial_images=list(self.partial_images), **details
        )

    def warn(self, message: str) -> None:
        """Note something odd but recoverable: kept in `warnings`, and a `StreamWarning`."""
        self.warnings.append(message)
        warnings.warn(message, StreamWarning, stacklevel=4)

    def _check_sequence(self, event: ev.Event) -> bool:
        number = getattr(event, "sequence_number", None)
        if not isinstance(number, int):
            return True
        if number in self._sequence_numbers:
            self.warn(f"ignored a repeated event with sequence number {number}")
            return False
        if number < self._highest_sequence:
            raise self.error(
                f"sequence number {number} arrived after {self._highest_sequence}: "
                "the stream is out of order"
            )
        self._sequence_numbers.add(number)
        self._highest_sequence = number
        return True

    # -- handlers, one per event kind ---------------------------------------

    def _take(self, response: Response) -> list[str]:
        """Make a final `response` the snapshot, keeping what only events built.

        Returns how the two disagreed.
        """
        response.output, differences = _merge(self.response.output, response.output)
        self.response = response
        return differences

    def _on_envelope(self, event: ev.ResponseCreatedEvent | ev.ResponseInProgressEvent) -> None:
        # An envelope may predate the items built since: ours win, its others join.
        event.response.output, _ = _merge(event.response.output, self.response.output)
        self.response = event.response

    def _on_completed(self, event: ev.ResponseCompletedEvent | ev.ResponseIncompleteEvent) -> None:
        differences = self._take(event.response)
        if differences:
            self.warn(
                f"{event.type} disagrees with the items built from events "
                f"({'; '.join(differences)}): its copies win, and the items it lacks are kept"
            )
        self.final_event = event

    def _on_failed(self, event: ev.ResponseFailedEvent) -> None:
        self._take(event.response)
        error = event.response.error
        message = error.message if error is not None and error.message else "response.failed"
        raise self.error(
            f"generation failed: {message}",
            code=error.code if error is not None else None,
            body=event.response.to_dict().get("error"),
        )

    def _on_error(self, event: ev.ErrorEvent | ev.ResponseErrorEvent) -> None:
        failure = event.failure
        code = f" ({failure.code})" if failure.code is not None else ""
        raise self.error(
            f"the server reported an error mid-stream{code}: {failure.message or 'no message'}",
            code=failure.code,
            body=event.to_dict(),
        )

    def _on_item(
        self, event: ev.ResponseOutputItemAddedEvent | ev.ResponseOutputItemDoneEvent
    ) -> None:
        self._place(event.output_index, event.item)

    def _on_image_status(
        self,
        event: ev.ImageGenCallInProgressEvent
        | ev.ImageGenCallGeneratingEvent
        | ev.ImageGenCallCompletedEvent,
    ) -> None:
        self._image_call(event).status = _IMAGE_STATUS[type(event)]

    def _on_partial_image(self, event: ev.ImageGenCallPartialImageEvent) -> None:
        self.partial_images.append(event)
        call = self._image_call(event)
        if call.status == OutputStatusEnum3.IN_PROGRESS:
            call.status = OutputStatusEnum3.GENERATING

    def _on_content_part(
        self, event: ev.ResponseContentPartAddedEvent | ev.ResponseContentPartDoneEvent
    ) -> None:
        content = self._message(event.output_index, event.item_id).content
        _put(content, event.content_index, event.part)

    def _on_text_delta(self, event: ev.ResponseOutputTextDeltaEvent) -> None:
        part = self._text_part(event.output_index, event.item_id, event.content_index)
        part.text += event.delta  # messages beside images are short: += is fine

    def _on_text_done(self, event: ev.ResponseOutputTextDoneEvent) -> None:
        self._text_part(event.output_index, event.item_id, event.content_index).text = event.text

    def _on_refusal_delta(self, event: ev.ResponseRefusalDeltaEvent) -> None:
        self._refusal_part(
            event.output_index, event.item_id, event.content_index
        ).refusal += event.delta

    def _on_refusal_done(self, event: ev.ResponseRefusalDoneEvent) -> None:
        part = self._refusal_part(event.output_index, event.item_id, event.content_index)
        part.refusal = event.refusal

    def _on_summary_delta(self, event: ev.ResponseReasoningSummaryTextDeltaEvent) -> None:
        reasoning = self._reasoning(event.output_index, event.item_id)
        _reasoning_text(reasoning.summary, event.summary_index, "summary_text").text += event.delta

    def _on_summary_done(self, event: ev.ResponseReasoningSummaryTextDoneEvent) -> None:
        reasoning = self._reasoning(event.output_index, event.item_id)
        _reasoning_text(reasoning.summary, event.summary_index, "summary_text").text = event.text

    def _on_reasoning_delta(self, event: ev.ResponseReasoningTextDeltaEvent) -> None:
        reasoning = self._reasoning(event.output_index, event.item_id)
        if reasoning.content is None:
            reasoning.content = []
        _reasoning_text(
            reasoning.content, event.content_index, "reasoning_text"
        ).text += event.delta

    def _on_reasoning_done(self, event: ev.ResponseReasoningTextDoneEvent) -> None:
        reasoning = self._reasoning(event.output_index, event.item_id)
        if reasoning.content is None:
            reasoning.content = []
        _reasoning_text(reasoning.content, event.content_index, "reasoning_text").text = event.text

    # -- finding (or making) the item an event is about ---------------------

    def _place(self, index: int, item: Output) -> None:
        _put(self.response.output, index, item)

    def _find(self, index: int, item_id: str, kind: type[Any]) -> Any:
        output = self.response.output
        if 0 <= index < len(output) and isinstance(output[index], kind):
            return output[index]
        for item in output:  # a proxy may renumber; the id is the better key
            if isinstance(item, kind) and getattr(item, "id", None) == item_id:
                return item
        return None

    def _image_call(self, event: ev._ImageGenCallEvent) -> OutputImageGenerationCall:
        call = self._find(event.output_index, event.item_id, OutputImageGenerationCall)
        if call is None:  # its output_item.added was lost: start it here
            call = OutputImageGenerationCall(id=event.item_id, status=OutputStatusEnum3.IN_PROGRESS)
            self._place(event.output_index, call)
        assert isinstance(call, OutputImageGenerationCall)
        return call

    def _message(self, index: int, item_id: str) -> OutputAssistant:
        message = self._find(index, item_id, OutputAssistant)
        if message is None:
            message = OutputAssistant(id=item_id, status="in_progress")
            self._place(index, message)
        assert isinstance(message, OutputAssistant)
        return message

    def _reasoning(self, index: int, item_id: str) -> OutputReasoning:
        reasoning = self._find(index, item_id, OutputReasoning)
        if reasoning is None:
            reasoning = OutputReasoning(id=item_id)
            self._place(index, reasoning)
        assert isinstance(reasoning, OutputReasoning)
        return reasoning

    def _text_part(self, index: int, item_id: str, content_index: int) -> OutputTextContent:
        content = self._message(index, item_id).content
        part = content[content_index] if 0 <= content_index < len(content) else None
        if not isinstance(part, OutputTextContent):
            part = OutputTextContent(text="")
            _put(content, content_index, part)
        return part

    def _refusal_part(self, index: int, item_id: str, content_index: int) -> OutputRefusalContent:
        content = self._message(index, item_id).content
        part = content[content_index] if 0 <= content_index < len(content) else None
        if not isinstance(part, OutputRefusalContent):
            part = OutputRefusalContent(refusal="")
            _put(content, content_index, part)
        return part


def _put(items: list[Any], index: int, item: Any) -> None:
    """Set `items[index]`, appending when the index is past the end."""
    if 0 <= index < len(items):
        items[index] = item
    else:
        items.append(item)


def _reasoning_text(parts: list[ReasoningText], index: int, kind: str) -> ReasoningText:
    if not 0 <= index < len(parts):
        parts.append(ReasoningText(type=kind, text=""))
        index = len(parts) - 1
    return parts[index]


def _merge(built: list[Output], given: list[Output]) -> tuple[list[Output], list[str]]:
    """`given` with every built item it does not carry kept at its place; the differences.

    A new order alone is no difference: chat and proxies reorder items.
    """
    carriers = _carriers(built, given)
    changed: list[str] = []
    for index, given_index in carriers.items():
        item, copy = built[index], given[given_index]
        if item.to_dict() != copy.to_dict():
            changed.append(str(index))
        if isinstance(item, OutputImageGenerationCall) and item.result:
            assert isinstance(copy, OutputImageGenerationCall)  # _carriers matches kinds
            copy.result = copy.result or item.result
    output = list(given)
    kept = [index for index in range(len(built)) if index not in carriers]
    for index in kept:
        output.insert(min(index, len(output)), built[index])
    differences = [f"output items {', '.join(changed)} differ"] if changed else []
    if kept:
        differences.append(f"it lacks {len(kept)} item(s)")
    if len(given) > len(carriers):
        differences.append(f"it has {len(given) - len(carriers)} item(s) never streamed")
    return output, differences


def _carriers(built: list[Output], given: list[Output]) -> dict[int, int]:
    """For each built item that `given` carries, the index of its copy there.

    The copy is the item of the same kind with the same id, else the one at
    the same index (a proxy may renumber ids) unless that one is taken.
    """
    by_id = {_id(item): index for index, item in enumerate(given) if _id(item) is not None}
    carriers: dict[int, int] = {}
    for index, item in enumerate(built):
        match = by_id.get(_id(item))
        if match is not None and type(given[match]) is type(item):
            carriers[index] = match
    taken = set(carriers.values())
    for index, item in enumerate(built):
        free = index not in carriers and index < len(given) and index not in taken
        if free and type(given[index]) is type(item):
            carriers[index] = index
            taken.add(index)
    return carriers


def _id(item: Output) -> str | None:
    value = getattr(item, "id", None)
    return value if isinstance(value, str) else None


_HANDLERS: dict[type[Any], Any] = {
    ev.ResponseCreatedEvent: ResponseAccumulator._on_envelope,
    ev.ResponseInProgressEvent: ResponseAccumulator._on_envelope,
    ev.ResponseCompletedEvent: ResponseAccumulator._on_completed,
    ev.ResponseIncompleteEvent: ResponseAccumulator._on_completed,
    ev.ResponseFailedEvent: ResponseAccumulator._on_failed,
    ev.ErrorEvent: ResponseAccumulator._on_error,
    ev.ResponseErrorEvent: ResponseAccumulator._on_error,
    ev.ResponseOutputItemAddedEvent: ResponseAccumulator._on_item,
    ev.ResponseOutputItemDoneEvent: ResponseAccumulator._on_item,
    ev.ImageGenCallInProgressEvent: ResponseAccumulator._on_image_status,
    ev.ImageGenCallGeneratingEvent: ResponseAccumulator._on_image_status,
    ev.ImageGenCallCompletedEvent: ResponseAccumulator._on_image_status,
    ev.ImageGenCallPartialImageEvent: ResponseAccumulator._on_partial_image,
    ev.ResponseContentPartAddedEvent: ResponseAccumulator._on_content_part,
    ev.ResponseContentPartDoneEvent: ResponseAccumulator._on_content_part,
    ev.ResponseOutputTextDeltaEvent: ResponseAccumulator._on_text_delta,
    ev.ResponseOutputTextDoneEvent: ResponseAccumulator._on_text_done,
    ev.ResponseRefusalDeltaEvent: ResponseAccumulator._on_refusal_delta,
    ev.ResponseRefusalDoneEvent: ResponseAccumulator._on_refusal_done,
    ev.ResponseReasoningSummaryTextDeltaEvent: ResponseAccumulator._on_summary_delta,
    ev.ResponseReasoningSummaryTextDoneEvent: ResponseAccumulator._on_summary_done,
    ev.ResponseReasoningTextDeltaEvent: ResponseAccumulator._on_reasoning_delta,
    ev.ResponseReasoningTextDoneEvent: ResponseAccumulator._on_reasoning_done,
}
