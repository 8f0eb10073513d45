"""One pipeline from the bytes of an answer to growing `Response` snapshots.

`ResponseStream` is the whole of streaming, sans I/O: whatever route made
the answer (the Responses API's events, chat completion chunks, the Image
API's events, or plain JSON where a server did not stream), it is fed bytes
and gives `StreamUpdate`s, the final `Response`, or the `StreamError` with
everything that arrived. The clients, `accumulate`, and the reading of saved
captures all drive this one object; each adds only where the bytes come from.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from openrouter_imagegen._exceptions import StreamError, ValidationError
from openrouter_imagegen.models._base import decode_json
from openrouter_imagegen.models.events import (
    Event,
    ImageGenCallPartialImageEvent,
    ResponseCompletedEvent,
    ResponseOutputItemDoneEvent,
)
from openrouter_imagegen.models.operations import Response
from openrouter_imagegen.models.routes import Route, error_of_body, response_from_body
from openrouter_imagegen.stream._accumulator import ResponseAccumulator
from openrouter_imagegen.stream._events import EventDecoder, Translator

__all__ = [
    "ResponseStream",
    "StreamUpdate",
    "aaccumulate",
    "accumulate",
    "capture_stream",
    "read_capture",
]


@dataclass(frozen=True, slots=True)
class StreamUpdate:
    """One step of a stream: the event, and the response snapshot after it.

    `partial_image` is the event itself when it carried a partial image, so
    `update.partial_image.image()` decodes the preview.
    """

    event: Event
    response: Response

    @property
    def partial_image(self) -> ImageGenCallPartialImageEvent | None:
        return self.event if isinstance(self.event, ImageGenCallPartialImageEvent) else None


def _translator(route: Route, generation_id: str | None) -> Translator | None:
    if route == "chat":
        from openrouter_imagegen.stream._chat import ChatChunkTranslator

        return ChatChunkTranslator()
    if route == "images":
        from openrouter_imagegen.stream._images import ImageEventTranslator

        return ImageEventTranslator(generation_id)
    return None


def _is_event_stream(content_type: str | None) -> bool:
    return content_type is None or "event-stream" in content_type.lower()


class ResponseStream:
    """Feed it the bytes of one answer; get `StreamUpdate`s, then the final response.

    - `route`: which API made the answer ("responses", "chat" or "images");
      its events are translated into the Responses API's, so every route
      builds the same `Response` of image calls.
    - `content_type`: the answer's `Content-Type`. A JSON answer (a server
      that does not stream, though asked to) is collected whole and becomes
      one `response.completed` at `end()`.
    - `saved=True` reads a capture from a file: an unterminated last event
      is still taken when its JSON is complete. A live stream keeps the SSE
      rule (it is discarded, and `finish()` reports the stream cut short).

    `feed` and `end` raise `StreamError` for a failure the server reported
    or a malformed event; every `StreamError` carries the snapshot, the
    partial images and the generation id.
    """

    def __init__(
        self,
        route: Route = "responses",
        *,
        generation_id: str | None = None,
        content_type: str | None = None,
        saved: bool = False,
    ) -> None:
        self.route: Route = route
        self.generation_id = generation_id
        self.accumulator = ResponseAccumulator()
        self._decoder = EventDecoder(_translator(route, generation_id))
        self._body: list[bytes] | None = None if _is_event_stream(content_type) else []
        self._saved = saved

    # -- what arrived ---------------------------------------------------------

    @property
    def snapshot(self) -> Response:
        """The response built so far."""
        return self.accumulator.response

    @property
    def partial_images(self) -> list[ImageGenCallPartialImageEvent]:
        """Every partial image received so far, in order."""
        return self.accumulator.partial_images

    @property
    def done(self) -> bool:
        """True once the stream's end marker arrived: nothing after it matters."""
        return self._decoder.done

    @property
    def finished(self) -> bool:
        """True once the final event (`response.completed` or `.incomplete`) arrived."""
        return self.accumulator.finished

    @property
    def events_received(self) -> int:
        return self._decoder.count

    # -- feeding ----------------------------------------------------------------

    def feed(self, chunk: bytes) -> list[StreamUpdate]:
        """The updates the next bytes complete."""
        if self._body is not None:
            self._body.append(chunk)
            return []
        return self._apply(lambda: self._decoder.feed(chunk))

    def feed_object(self, obj: Any, *, where: str | None = None) -> list[StreamUpdate]:
        """The updates of one decoded event object (a line of a JSONL recording)."""
        return self._apply(lambda: self._decoder.feed_object(obj, where=where))

    def feed_jsonl(self, data: bytes) -> list[StreamUpdate]:
        """The updates of a whole JSONL recording: one event object a line, blank lines skipped.

        As with a saved capture, a last line that is cut short is left out
        with a warning; a malformed line before it raises `StreamError`.
        """
        lines = [
            (number, offset, line)
            for number, (offset, line) in enumerate(_lines(data), 1)
            if line.strip()
        ]
        updates: list[StreamUpdate] = []
        for number, offset, line in lines:
            decode = partial(self._decoder.feed_json, line, where=f"line {number}", offset=offset)
            try:
                updates += self._apply(decode)
            except StreamError as exc:
                if number != lines[-1][0] or not _malformed(exc):
                    raise
                self.accumulator.warn(f"the last line is incomplete and was left out: {exc}")
        return updates

    def end(self) -> list[StreamUpdate]:
        """Call when the bytes ended: the updates still owed."""
        if self._body is not None:
            return self._apply(self._whole_body)
        updates: list[StreamUpdate] = []
        if self._saved and self._decoder.pending:
            updates = self._last_saved_event()
        return updates + self._apply(self._decoder.end)

    def _last_saved_event(self) -> list[StreamUpdate]:
        # A file often ends without the blank line that dispatches its last event.
        try:
            return self._apply(lambda: self._decoder.feed(b"\n\n"))
        except StreamError as exc:
            if not _malformed(exc):
                raise
            self.accumulator.warn(f"the last event is incomplete and was left out: {exc}")
            return []

    def _whole_body(self) -> list[Event]:
        body = b"".join(self._body or ())
        try:
            decoded = decode_json(body)
        except ValidationError as exc:
            raise StreamError(
                f"the answer was neither an event stream nor whole JSON: {exc}", offset=exc.offset
            ) from exc
        error = error_of_body(decoded)
        if error is not None:
            code, message = error.get("code"), error.get("message")
            raise StreamError(
                f"the server reported an error: {message or 'no message'}",
                code=code if isinstance(code, str | int) else None,
                body=decoded,
            )
        try:
            response = response_from_body(self.route, decoded, generation_id=self.generation_id)
        except ValidationError as exc:
            raise StreamError(f"the answer is not a valid {self.route} body: {exc}") from exc
        self._decoder.done = True
        # Each item as done first, so that the snapshot and the final response agree.
        done: list[Event] = [
            ResponseOutputItemDoneEvent(output_index=index, item=item)
            for index, item in enumerate(response.output)
        ]
        return [*done, ResponseCompletedEvent(response=response)]

    def _apply(self, decode: Any) -> list[StreamUpdate]:
        try:
            return [StreamUpdate(event, self.accumulator.feed(event)) for event in decode()]
        except StreamError as exc:
            raise self._complete(exc) from exc.__cause__

    # -- the outcome ------------------------------------------------------------

    def finish(self) -> Response:
        """The final response; raises `StreamError` when the stream ended before it."""
        try:
            response = self.accumulator.finish()
        except StreamError as exc:
            raise self._complete(exc) from None
        response.generation_id = self.generation_id
        return response

    def broken(self, reason: str, *, status_code: int | None = None) -> StreamError:
        """The error for a connection that failed mid-stream, with all received so far."""
        error = self.accumulator.error(
            f"the stream broke after {self.events_received} event(s): {reason}",
            status_code=status_code,
        )
        return self._complete(error)

    @property
    def replayable(self) -> bool:
        """Whether the answer was cut short before its final event, so that only
        starting the request again (which may bill the generation again) could
        give the rest. A failure the server reported is raised, never replayed."""
        return not self.finished

    def _complete(self, exc: StreamError) -> StreamError:
        if exc.response is None:
            exc.response = self.accumulator.response
        if not exc.partial_images:
            exc.partial_images = list(self.accumulator.partial_images)
        if exc.generation_id is None:
            exc.generation_id = self.generation_id
        return exc


def _malformed(exc: StreamError) -> bool:
    """Whether the event's JSON itself was malformed (as when a file is cut short)."""
    cause = exc.__cause__
    return isinstance(cause, ValidationError) and cause.offset is not None


def _lines(data: bytes) -> Iterable[tuple[int, bytes]]:
    """Each line of `data` (LF, CRLF or CR ended) with its byte offset."""
    offset = 0
    for line in data.splitlines(keepends=True):
        yield offset, line.rstrip(b"\r\n")
        offset += len(line)


# The first match names the route: a chat chunk, an Image API event, else a
# Responses event. The key's closing quote is required, which a key quoted
# inside a JSON string (`\"type\"`) lacks; the one leading quote lets the
# regex engine skip base64 payloads fast.
_ROUTE_MARKER = re.compile(
    rb'"(?:object"\s*:\s*"(?P<chat>chat)\.completion\.chunk"'
    rb'|type"\s*:\s*"(?:(?P<images>image_generation)|response)\.)'
)


def _guess_route(data: bytes) -> Route:
    found = _ROUTE_MARKER.search(data)
    if found is None or found.lastgroup is None:
        return "responses"
    return "chat" if found.lastgroup == "chat" else "images"


def capture_stream(data: bytes, *, route: Route | None = None) -> ResponseStream:
    """A `ResponseStream` fed the whole of a saved capture, and ended.

    `data` is an SSE capture (LF or CRLF, its last event with or without the
    blank line after it) or a JSONL recording of the events. `route` is
    guessed from the content when None: chat completion chunks, the Image
    API's `image_generation.*` events, else the Responses API's. Its
    `partial_images` and `finish()` give what the capture held; a failure it
    recorded raises `StreamError` here already.
    """
    stream = ResponseStream(route or _guess_route(data), saved=True)
    text = data.removeprefix(b"\xef\xbb\xbf")
    if text.lstrip().startswith(b"{"):  # an SSE capture never starts with an object
        stream.feed_jsonl(text)
    else:
        stream.feed(data)
    stream.end()
    return stream


def read_capture(data: bytes, *, route: Route | None = None) -> Response:
    """The final `Response` of a saved capture: an SSE stream or a JSONL recording of events.

    Raises `StreamError`, carrying the snapshot and partial images that
    arrived, when the capture holds a failure or ends before its final
    event. See `capture_stream` for what is read and how the route is guessed.
    """
    return capture_stream(data, route=route).finish()


def accumulate(chunks: Iterable[bytes], *, route: Route = "responses") -> Response:
    """Decode a whole byte stream of `route` and return its final `Response`.

    Raises `StreamError` (with the snapshot and partial images so far) for a
    stream that failed, broke, or ended before its final event.
    """
    stream = ResponseStream(route)
    for chunk in chunks:
        stream.feed(chunk)
        if stream.done:
            break
    stream.end()
    return stream.finish()


async def aaccumulate(chunks: AsyncIterable[bytes], *, route: Route = "responses") -> Response:
    """The async twin of `accumulate`."""
    stream = ResponseStream(route)
    async for chunk in chunks:
        stream.feed(chunk)
        if stream.done:
            break
    stream.end()
    return stream.finish()
