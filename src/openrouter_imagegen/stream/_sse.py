"""A sans-I/O Server-Sent Events decoder (and the encoder the emulator uses).

It follows the WHATWG EventSource rules for interpreting an event stream:
LF, CRLF and CR line ends (a CR at the end of one chunk and an LF at the
start of the next are one line end), a leading BOM skipped, comments
ignored, `data` lines joined with LF, `id` persisting across events, and
an unterminated event at the end of the stream discarded.

Time is linear in the stream's size whatever the chunking: each chunk is
searched for line ends once, and a long line (a partial image is one
multi-megabyte `data:` line) is kept as a list of pieces joined once.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from typing import Any

from openrouter_imagegen._exceptions import ValidationError, shorten

__all__ = ["SSEDecoder", "ServerSentEvent", "encode_comment", "encode_event"]

_BOM = b"\xef\xbb\xbf"
_LF, _SPACE = 0x0A, 0x20


class ServerSentEvent:
    """One dispatched event, immutable. `offset` is the stream offset of its first field line.

    `data` is decoded from UTF-8 on first use; `raw_data` is the same bytes
    undecoded, so that a JSON parser can read a multi-megabyte payload
    without a decoded copy being made first.
    """

    __slots__ = ("_data", "event", "id", "offset", "raw_data", "retry")

    event: str
    id: str | None
    retry: int | None
    offset: int
    raw_data: bytes | memoryview
    _data: str | None

    def __init__(
        self,
        event: str = "message",
        data: str | None = None,
        id: str | None = None,
        retry: int | None = None,
        offset: int = 0,
        *,
        raw_data: bytes | memoryview | None = None,
    ) -> None:
        if data is not None and raw_data is not None:
            raise TypeError("give `data` or `raw_data`, not both")
        if raw_data is None:
            raw_data = (data or "").encode("utf-8")
        init = object.__setattr__  # this class's own __setattr__ refuses
        init(self, "event", event)
        init(self, "id", id)
        init(self, "retry", retry)
        init(self, "offset", offset)
        init(self, "raw_data", raw_data)
        init(self, "_data", data)

    @property
    def data(self) -> str:
        data = self._data
        if data is None:
            data = str(self.raw_data, "utf-8", "replace")
            object.__setattr__(self, "_data", data)
        return data

    def __setattr__(self, name: str, value: Any) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def _key(self) -> tuple[str, str, str | None, int | None, int]:
        return (self.event, self.data, self.id, self.retry, self.offset)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ServerSentEvent):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        size = len(self.raw_data)
        shown = repr(self.data) if size <= 80 else f"<{size:,} bytes>"
        return (
            f"ServerSentEvent(event={self.event!r}, data={shown}, id={self.id!r}, "
            f"retry={self.retry!r}, offset={self.offset})"
        )


class SSEDecoder:
    """Feed it bytes in chunks of any size; it returns the events they complete.

    Keep-alive comments (OpenRouter sends `: OPENROUTER PROCESSING`) are not
    events; `comment_count` counts them.
    """

    def __init__(self) -> None:
        self.comment_count = 0
        self._offset = 0  # bytes fed so far
        self._bom_checked = False
        self._head = b""  # the stream's first bytes, held while they may be a BOM
        self._pieces: list[bytes] = []  # the current, unterminated line
        self._line_start = 0  # stream offset of the current line
        self._skip_lf = False  # the last chunk ended in CR: a leading LF is its pair
        # The pending event: stream offset of its first field line, then its fields.
        self._event_start: int | None = None
        self._data: list[bytes | memoryview] = []
        self._event_type = ""
        self._retry: int | None = None
        self._last_id: str | None = None  # persists across events, as WHATWG says

    @property
    def offset(self) -> int:
        """Bytes fed so far."""
        return self._offset

    @property
    def pending(self) -> bool:
        """True when buffered bytes belong to an unfinished event or line.

        If the stream ends now, it was cut in the middle of an event.
        """
        return bool(self._pieces or self._head) or self._event_start is not None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self._offset += len(chunk)
        if not self._bom_checked:
            self._head += chunk
            if len(self._head) < len(_BOM) and _BOM.startswith(self._head):
                return []
            self._bom_checked = True
            chunk = self._head.removeprefix(_BOM)
            self._head = b""
            self._line_start = self._offset - len(chunk)
        base = self._offset - len(chunk)  # stream offset of chunk[0]
        start = 0
        if self._skip_lf and chunk:
            self._skip_lf = False
            if chunk[0] == _LF:
                start = 1
                self._line_start = base + 1
        events: list[ServerSentEvent] = []
        # The next CR and the next LF are tracked apart and each only searched
        # for forward, so every byte of the chunk is scanned once.
        cr = chunk.find(b"\r", start)
        lf = chunk.find(b"\n", start)
        while cr != -1 or lf != -1:
            if cr == -1 or (lf != -1 and lf < cr):
                end = lf
                start_next = lf + 1
            else:
                end = cr
                start_next = cr + 1
                if start_next == len(chunk):
                    self._skip_lf = True  # its LF may open the next chunk
                elif chunk[start_next] == _LF:
                    start_next += 1
            if self._pieces:
                self._pieces.append(chunk[start:end])
                line = b"".join(self._pieces)
                self._pieces.clear()
            else:
                line = chunk[start:end]
            event = self._line(line)
            if event is not None:
                events.append(event)
            start = start_next
            self._line_start = base + start
            if cr != -1 and cr < start:
                cr = chunk.find(b"\r", start)
            if lf != -1 and lf < start:
                lf = chunk.find(b"\n", start)
        if start < len(chunk):
            self._pieces.append(chunk[start:] if start else chunk)
        return events

    def end(self) -> list[ServerSentEvent]:
        """At the end of the stream: an unterminated event is discarded, as WHATWG says."""
        self._head = b""
        self._pieces.clear()
        self._skip_lf = False
        self._reset_event()
        return []

    def _line(self, line: bytes) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        colon = line.find(b":")
        if colon == 0:
            self.comment_count += 1
            return None
        if self._event_start is None:
            self._event_start = self._line_start
        if colon == -1:
            name, value_start = line, len(line)
        else:
            name = line[:colon]
            value_start = colon + 1
            if value_start < len(line) and line[value_start] == _SPACE:
                value_start += 1
        # Only the field's name is copied: a data value is kept as a view of the line.
        if name == b"data":
            self._data.append(memoryview(line)[value_start:])
        elif name == b"event":
            self._event_type = str(line[value_start:], "utf-8", "replace")
        elif name == b"id":
            value = line[value_start:]
            if b"\0" not in value:
                self._last_id = str(value, "utf-8", "replace")
        elif name == b"retry":
            value = line[value_start:]
            if value.isdigit():  # bytes.isdigit is ASCII digits only, as WHATWG wants
                self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event = None
        if self._data and self._event_start is not None:
            event = ServerSentEvent(
                event=self._event_type or "message",
                raw_data=self._data[0] if len(self._data) == 1 else b"\n".join(self._data),
                id=self._last_id,
                retry=self._retry,
                offset=self._event_start,
            )
        self._reset_event()
        return event

    def _reset_event(self) -> None:
        self._event_start = None
        self._data = []
        self._event_type = ""
        self._retry = None


def encode_event(
    data: str | bytes,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One event in wire form, ending with its blank line.

    Multi-line data becomes several `data:` lines; a CR or CRLF in it comes
    back as LF, since the decoder splits lines on all three. A value that
    would break the framing raises `ValidationError`.
    """
    head = []
    if event is not None:
        head.append(b"event: " + _single_line("event", event) + b"\n")
    if id is not None:
        if "\0" in id:
            raise ValidationError(
                f"an SSE id cannot contain NUL (decoders ignore it): {shorten(id)}",
                value=id,
                expected="no NUL",
            )
        head.append(b"id: " + _single_line("id", id) + b"\n")
    if retry is not None:
        if retry < 0:
            raise ValidationError(
                f"an SSE retry must be >= 0, got {retry}", value=retry, expected=">= 0"
            )
        head.append(b"retry: %d\n" % retry)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    if b"\r" in payload:
        payload = payload.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    # One copy of a large payload: `replace` returns it as is when it is one line.
    return b"".join([*head, b"data: ", payload.replace(b"\n", b"\ndata: "), b"\n\n"])


def encode_comment(text: str = "") -> bytes:
    """A comment and a blank line, e.g. OpenRouter's `: OPENROUTER PROCESSING` keep-alive."""
    if not text:
        return b":\n\n"
    return b": " + _single_line("comment", text) + b"\n\n"


def _single_line(what: str, text: str) -> bytes:
    if "\n" in text or "\r" in text:
        raise ValidationError(
            f"an SSE {what} cannot contain a line break: {shorten(text)}",
            value=text,
            expected="a single line",
        )
    return text.encode("utf-8")
