"""Chat completion chunks translated into Responses stream events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from openrouter_imagegen.models.chat import (
    ChatChoice,
    ChatCompletion,
    ChatImageNumbering,
    ChatMessage,
    ChatUsage,
    chat_message_item,
)
from openrouter_imagegen.models.events import (
    ErrorEvent,
    Event,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
    parse_event,
)
from openrouter_imagegen.models.operations import (
    Output,
    OutputAssistant,
    OutputImageGenerationCall,
    OutputTextContent,
    UnknownContent,
)

__all__ = ["ChatChunkTranslator"]


@dataclass
class _Choice:
    """What one choice has built: its images (from `images`, from content parts), its message."""

    images: list[OutputImageGenerationCall] = field(default_factory=list)
    content_images: list[OutputImageGenerationCall] = field(default_factory=list)
    message: OutputAssistant | None = None

    @property
    def output(self) -> list[Output]:
        """Its items in the order `response_from_chat` gives them."""
        message = [self.message] if self.message is not None else []
        return [*self.images, *self.content_images, *message]


class ChatChunkTranslator:
    """Sans-I/O: feed decoded chunk objects, get Responses stream events.

    Text deltas (a string or `text` parts) become `response.output_text.delta`,
    each image (in `delta.images` or an `image_url` part) a finished
    `image_generation_call` item, and parts of other kinds join the message.
    `finish()` (call it when the stream ended) emits `response.completed`
    once a choice has finished, holding the items, ids and order the same
    completion gets unstreamed; a stream that never finished yields nothing
    there, so the accumulator reports it. An object with a `type` and no
    `choices` (an `error` event, say, that a server sent into a chat stream)
    is parsed as the Responses event it is.
    """

    def __init__(self) -> None:
        self._first: ChatCompletion | None = None
        self._numbering: ChatImageNumbering | None = None
        self._usage: ChatUsage | None = None
        self._output: list[Output] = []  # in arrival order: the events' output_index
        self._choices: dict[int, _Choice] = {}
        self._finished = False
        self._finish_reasons: dict[int, ChatChoice] = {}  # index -> why it stopped

    def feed(self, obj: Any) -> list[Event]:
        if isinstance(obj, dict) and "type" in obj and "choices" not in obj:
            return [parse_event(obj)]
        chunk = ChatCompletion.from_dict(obj)
        events: list[Event] = []
        if self._first is None:
            self._first = chunk
            self._numbering = ChatImageNumbering(chunk.id or "chatcmpl")
            events.append(ResponseCreatedEvent(response=chunk.envelope("in_progress", [])))
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta or choice.message
            if delta is not None:
                events += self._delta(choice.index, delta.text, delta.other_parts)
                events += self._images(choice.index, delta)
            if choice.finish_reason is not None:
                self._finished = True
                self._finish_reasons[choice.index] = ChatChoice(
                    index=choice.index,
                    finish_reason=choice.finish_reason,
                    native_finish_reason=choice.native_finish_reason,
                )
        if chunk.failed:  # the accumulator raises StreamError, keeping what arrived
            failure = chunk.failure
            events.append(ErrorEvent(code=failure.code, message=failure.message, error=chunk.error))
        return events

    def _choice(self, index: int) -> _Choice:
        return self._choices.setdefault(index, _Choice())

    def _delta(
        self, choice_index: int, text: str, others: list[UnknownContent]
    ) -> list[ResponseOutputTextDeltaEvent]:
        if not text and not others:
            return []
        choice = self._choice(choice_index)
        message = choice.message
        if message is None:
            assert self._first is not None
            message = chat_message_item(self._first.id or "chatcmpl", choice_index, "")
            choice.message = message
            self._output.append(message)
        part = message.content[0]
        assert isinstance(part, OutputTextContent)
        part.text += text
        message.content.extend(others)
        return [
            ResponseOutputTextDeltaEvent(
                item_id=message.id or "",
                output_index=self._output.index(message),
                content_index=0,
                delta=text,
            )
        ]

    def _images(self, choice_index: int, delta: ChatMessage) -> list[ResponseOutputItemDoneEvent]:
        assert self._numbering is not None
        images, content_images = self._numbering.calls(choice_index, delta)
        if not images and not content_images:
            return []
        choice = self._choice(choice_index)
        choice.images += images
        choice.content_images += content_images
        events = []
        for call in images + content_images:
            self._output.append(call)
            events.append(
                ResponseOutputItemDoneEvent(output_index=len(self._output) - 1, item=call)
            )
        return events

    def finish(self) -> list[Event]:
        if self._first is None or not self._finished:
            return []
        messages = [c.message for c in self._choices.values() if c.message is not None]
        events: list[Event] = [
            ResponseOutputItemDoneEvent(output_index=self._output.index(message), item=message)
            for message in messages
        ]
        output = [item for _, c in sorted(self._choices.items()) for item in c.output]
        final = msgspec.structs.replace(
            self._first, usage=self._usage, choices=list(self._finish_reasons.values())
        )
        events.append(ResponseCompletedEvent(response=final.envelope("completed", output)))
        return events
