"""Chat completion chunks translated into Responses stream events."""

from __future__ import annotations

from typing import Any

import msgspec

from openrouter_imagegen.models.chat import (
    ChatCompletion,
    ChatUsage,
    chat_image_call,
    chat_message_item,
)
from openrouter_imagegen.models.events import (
    ErrorEvent,
    Event,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
)
from openrouter_imagegen.models.operations import OutputAssistant, OutputTextContent

__all__ = ["ChatChunkTranslator"]


class ChatChunkTranslator:
    """Sans-I/O: feed decoded chunk objects, get Responses stream events.

    Text deltas (a string or `text` parts) become `response.output_text.delta`,
    each image (in `delta.images` or an `image_url` part) a finished
    `image_generation_call` item with the id the same completion gets
    unstreamed, and `finish()` (call it when the stream ended) emits
    `response.completed` once a choice has finished; a stream that never
    finished yields nothing there, so the accumulator reports it.
    """

    def __init__(self) -> None:
        self._first: ChatCompletion | None = None
        self._usage: ChatUsage | None = None
        self._output: list[Any] = []
        self._messages: dict[int, OutputAssistant] = {}
        self._images = 0
        self._finished = False

    def feed(self, obj: Any) -> list[Event]:
        chunk = ChatCompletion.from_dict(obj)
        events: list[Event] = []
        if self._first is None:
            self._first = chunk
            events.append(ResponseCreatedEvent(response=chunk.envelope("in_progress", [])))
        completion_id = self._first.id or "chatcmpl"
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta or choice.message
            if delta is not None:
                text, others = delta.text, delta.other_parts
                if text or others:
                    events.append(self._text(completion_id, choice.index, text, others))
                for url in delta.image_urls:
                    call = chat_image_call(completion_id, self._images, url)
                    self._images += 1
                    self._output.append(call)
                    events.append(
                        ResponseOutputItemDoneEvent(output_index=len(self._output) - 1, item=call)
                    )
            if choice.finish_reason is not None:
                self._finished = True
        if chunk.failed:  # the accumulator raises StreamError, keeping what arrived
            failure = chunk.failure
            events.append(ErrorEvent(code=failure.code, message=failure.message, error=chunk.error))
        return events

    def _text(
        self, completion_id: str, choice_index: int, text: str, others: list[Any]
    ) -> ResponseOutputTextDeltaEvent:
        message = self._messages.get(choice_index)
        if message is None:
            message = chat_message_item(completion_id, choice_index, "")
            self._messages[choice_index] = message
            self._output.append(message)
        part = message.content[0]
        assert isinstance(part, OutputTextContent)
        part.text += text
        message.content.extend(others)
        return ResponseOutputTextDeltaEvent(
            item_id=message.id or "",
            output_index=self._output.index(message),
            content_index=0,
            delta=text,
        )

    def finish(self) -> list[Event]:
        if self._first is None or not self._finished:
            return []
        events: list[Event] = [
            ResponseOutputItemDoneEvent(output_index=self._output.index(message), item=message)
            for message in self._messages.values()
        ]
        final = msgspec.structs.replace(self._first, usage=self._usage)
        events.append(ResponseCompletedEvent(response=final.envelope("completed", self._output)))
        return events
