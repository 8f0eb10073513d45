"""Chat completions with images, normalised to the Responses API's shapes.

Models that speak only `/chat/completions` return images as
`choices[].message.images[].image_url.url` (data URLs or https URLs). Here a
completion becomes a `Response` whose `output` holds one
`OutputImageGenerationCall` per image plus the assistant message, and a
stream of completion chunks becomes the Responses stream events that build
the same `Response`, so callers handle one shape.
"""

from __future__ import annotations

from typing import Any

import msgspec

from openrouter_imagegen.models._base import WireModel
from openrouter_imagegen.models.events import (
    ErrorEvent,
    Event,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputTextDeltaEvent,
)
from openrouter_imagegen.models.operations import (
    OutputAssistant,
    OutputImageGenerationCall,
    OutputStatusEnum3,
    OutputTextContent,
    Response,
    ResponseError,
    ResponseUsage,
)

__all__ = ["ChatChunkTranslator", "response_from_chat"]


class ChatImageUrl(WireModel, kw_only=True):
    url: str


class ChatImage(WireModel, kw_only=True):
    type: str = "image_url"
    image_url: ChatImageUrl


class ChatMessage(WireModel, kw_only=True):
    role: str | None = None
    content: str | None = None
    images: list[ChatImage] = msgspec.field(default_factory=list)


class ChatChoice(WireModel, kw_only=True):
    index: int = 0
    message: ChatMessage | None = None
    delta: ChatMessage | None = None
    finish_reason: str | None = None


class ChatUsage(WireModel, kw_only=True):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    cost: int | float | None = None


class ChatCompletion(WireModel, kw_only=True):
    """A chat completion, or one chunk of a streamed one."""

    id: str | None = None
    object: str | None = None
    created: int | float | None = None
    model: str | None = None
    choices: list[ChatChoice] = msgspec.field(default_factory=list)
    usage: ChatUsage | None = None
    error: dict[str, Any] | None = None

    @property
    def failed(self) -> bool:
        """OpenRouter reports a failed generation with `error` and `finish_reason: "error"`."""
        return self.error is not None or any(c.finish_reason == "error" for c in self.choices)

    def error_event(self) -> ErrorEvent:
        error = self.error or {}
        code, message = error.get("code"), error.get("message")
        return ErrorEvent(
            code=code if isinstance(code, str | int) else None,
            message=message if isinstance(message, str) else "the generation failed",
            error=self.error,
        )


def _usage(usage: ChatUsage | None) -> ResponseUsage | None:
    if usage is None:
        return None
    return ResponseUsage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        total_tokens=usage.total_tokens,
        cost=usage.cost,
    )


def _image_call(completion_id: str, number: int, url: str) -> OutputImageGenerationCall:
    return OutputImageGenerationCall(
        id=f"{completion_id}-image-{number}", status=OutputStatusEnum3.COMPLETED, result=url
    )


def _envelope(completion: ChatCompletion, status: str, output: list[Any]) -> Response:
    failure = completion.error_event() if completion.failed else None
    return Response(
        id=completion.id,
        object="response",
        created_at=completion.created,
        model=completion.model,
        status="failed" if failure else status,
        output=output,
        error=ResponseError(code=failure.code, message=failure.message) if failure else None,
        usage=_usage(completion.usage),
    )


def response_from_chat(body: Any) -> Response:
    """A chat completion (decoded JSON) as a `Response`."""
    completion = ChatCompletion.from_dict(body)
    completion_id = completion.id or "chatcmpl"
    output: list[Any] = []
    for choice in completion.choices:
        message = choice.message
        if message is None:
            continue
        for image in message.images:
            output.append(_image_call(completion_id, len(output), image.image_url.url))
        if message.content:
            output.append(
                OutputAssistant(
                    id=f"{completion_id}-message-{choice.index}",
                    status="completed",
                    content=[OutputTextContent(text=message.content)],
                )
            )
    return _envelope(completion, "completed", output)


class ChatChunkTranslator:
    """Sans-I/O: feed decoded chunk objects, get Responses stream events.

    Text deltas become `response.output_text.delta`, each image a finished
    `image_generation_call` item, and `finish()` (call it when the stream
    ended) emits `response.completed` once a choice has finished; a stream
    that never finished yields nothing there, so the accumulator reports it.
    """

    def __init__(self) -> None:
        self._first: ChatCompletion | None = None
        self._usage: ChatUsage | None = None
        self._output: list[Any] = []
        self._message: OutputAssistant | None = None
        self._finished = False

    def feed(self, obj: Any) -> list[Event]:
        chunk = ChatCompletion.from_dict(obj)
        events: list[Event] = []
        if self._first is None:
            self._first = chunk
            events.append(ResponseCreatedEvent(response=_envelope(chunk, "in_progress", [])))
        completion_id = self._first.id or "chatcmpl"
        if chunk.usage is not None:
            self._usage = chunk.usage
        for choice in chunk.choices:
            delta = choice.delta or choice.message
            if delta is not None:
                if delta.content:
                    events.append(self._text(completion_id, delta.content))
                for image in delta.images:
                    call = _image_call(completion_id, len(self._output), image.image_url.url)
                    self._output.append(call)
                    events.append(
                        ResponseOutputItemDoneEvent(output_index=len(self._output) - 1, item=call)
                    )
            if choice.finish_reason is not None:
                self._finished = True
        if chunk.failed:  # the accumulator raises StreamError, keeping what arrived
            events.append(chunk.error_event())
        return events

    def _text(self, completion_id: str, text: str) -> ResponseOutputTextDeltaEvent:
        if self._message is None:
            self._message = OutputAssistant(
                id=f"{completion_id}-message",
                status="completed",
                content=[OutputTextContent(text="")],
            )
            self._output.append(self._message)
        part = self._message.content[0]
        assert isinstance(part, OutputTextContent)
        part.text += text
        return ResponseOutputTextDeltaEvent(
            item_id=self._message.id or "",
            output_index=self._output.index(self._message),
            content_index=0,
            delta=text,
        )

    def finish(self) -> list[Event]:
        if self._first is None or not self._finished:
            return []
        events: list[Event] = []
        if self._message is not None:
            index = self._output.index(self._message)
            events.append(ResponseOutputItemDoneEvent(output_index=index, item=self._message))
        final = msgspec.structs.replace(self._first, usage=self._usage)
        response = _envelope(final, "completed", list(self._output))
        events.append(ResponseCompletedEvent(response=response))
        return events
