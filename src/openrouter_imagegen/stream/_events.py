"""From Server-Sent Events to typed stream events."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Any, Protocol

from openrouter_imagegen._exceptions import StreamError, ValidationError
from openrouter_imagegen.models._base import decode_json
from openrouter_imagegen.models.events import Event, parse_event
from openrouter_imagegen.stream._sse import ServerSentEvent, SSEDecoder

__all__ = ["EventDecoder", "Translator", "aiter_events", "iter_events"]

DONE = b"[DONE]"


class Translator(Protocol):
    """Turns the decoded `data:` objects of another stream format into events.

    The client's chat completions support is one: chunks in, Responses
    events out, so everything downstream handles a single shape.
    """

    def feed(self, obj: Any) -> list[Event]: ...

    def finish(self) -> list[Event]:
        """Events owed once the stream has ended (at `[DONE]` or end of input)."""
        ...


class EventDecoder:
    """Feed it bytes, get typed events; it stops at the `[DONE]` sentinel.

    After `[DONE]` (`done` is True) further bytes are ignored. A `data:`
    payload that is not a valid event raises `StreamError` naming the event's
    index in the stream and the byte offset where it began.
    """

    def __init__(self, translator: Translator | None = None) -> None:
        self._sse = SSEDecoder()
        self._translator = translator
        self.done = False
        self.count = 0  # `data:` messages decoded so far (keep-alive comments are not)

    @property
    def offset(self) -> int:
        """Bytes fed so far."""
        return self._sse.offset

    @property
    def pending(self) -> bool:
        """True when the bytes so far end inside an event."""
        return self._sse.pending

    def feed(self, chunk: bytes) -> list[Event]:
        if self.done:
            return []
        return self._typed(self._sse.feed(chunk))

    def end(self) -> list[Event]:
        """Call at the end of the byte stream; an unterminated event is discarded."""
        if self.done:
            return []
        events = self._typed(self._sse.end())
        if not self.done:
            self.done = True
            events += self._translator.finish() if self._translator else []
        return events

    def _typed(self, messages: list[ServerSentEvent]) -> list[Event]:
        events: list[Event] = []
        for message in messages:
            if message.raw_data == DONE:
                self.done = True
                events += self._translator.finish() if self._translator else []
                break
            events += self._parse(message)
        return events

    def feed_object(
        self, obj: Any, *, where: str | None = None, offset: int | None = None
    ) -> list[Event]:
        """Events from one already-decoded event object (a line of a JSONL recording)."""
        if self.done:
            return []
        return self._events(lambda: obj, None, where, offset)

    def feed_json(
        self, data: bytes, *, where: str | None = None, offset: int | None = None
    ) -> list[Event]:
        """Events from the JSON text of one event object (a line of a JSONL recording)."""
        if self.done:
            return []
        return self._events(lambda: decode_json(data), None, where, offset)

    def _parse(self, message: ServerSentEvent) -> list[Event]:
        return self._events(
            lambda: decode_json(message.raw_data),
            message.event,
            f"at byte {message.offset}",
            message.offset,
        )

    def _events(
        self,
        decode: Callable[[], Any],
        sse_type: str | None,
        where: str | None,
        offset: int | None,
    ) -> list[Event]:
        index = self.count
        self.count += 1
        try:
            obj = decode()
            if self._translator is not None:
                return self._translator.feed(obj)
            # Some servers name the type only in the SSE `event:` field.
            if (
                isinstance(obj, dict)
                and "type" not in obj
                and "error" not in obj
                and sse_type not in (None, "message")
            ):
                obj["type"] = sse_type
            return [parse_event(obj)]
        except ValidationError as exc:
            place = f" ({where})" if where else ""
            raise StreamError(
                f"stream event {index}{place} is not a valid event: {exc}",
                event_index=index,
                offset=offset,
            ) from exc


def iter_events(chunks: Iterable[bytes]) -> Iterator[Event]:
    """Typed events from a byte stream (any chunking), up to `[DONE]`."""
    decoder = EventDecoder()
    for chunk in chunks:
        yield from decoder.feed(chunk)
        if decoder.done:
            return
    yield from decoder.end()


async def aiter_events(chunks: AsyncIterable[bytes]) -> AsyncIterator[Event]:
    """The async twin of `iter_events`."""
    decoder = EventDecoder()
    async for chunk in chunks:
        for event in decoder.feed(chunk):
            yield event
        if decoder.done:
            return
    for event in decoder.end():
        yield event
