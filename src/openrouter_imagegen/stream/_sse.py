"""A sans-I/O Server-Sent Events decoder (and the encoder the emulator uses).

It follows the WHATWG EventSource rules for interpreting an event stream:
LF, CRLF and CR line ends (a CR at the end of one chunk and an LF at the
start of the next are one line end), a leading BOM skipped, comments
ignored, `data` lines joined with LF, `id` persisting across events.

Time is linear in the stream's size whatever the chunking: each chunk is
searched for line ends once, and a long line (a partial image is one
multi-megabyte `data:` line) is kept as a list of pieces joined once.
"""

from __future__ import annotations

__all__ = ["SSEDecoder", "ServerSentEvent", "encode_comment", "encode_event"]

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent:
    """One dispatched event. `offset` is the byte offset of its first line in the stream.

    `data` is decoded from UTF-8 on first use; `raw_data` is the same bytes
    undecoded, so that a JSON parser can read a multi-megabyte payload
    without a decoded copy being made first.
    """

    __slots__ = ("_data", "event", "id", "offset", "raw_data", "retry")

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
        self.event = event
        self.id = id
        self.retry = retry
        self.offset = offset
        self._data = data
        self.raw_data: bytes | memoryview = (
            raw_data if raw_data is not None else (data or "").encode("utf-8")
        )

    @property
    def data(self) -> str:
        if self._data is None:
            self._data = str(self.raw_data, "utf-8", "replace")
        return self._data

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
    """Feed it bytes in chunks of any size; it returns the events they complete."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []  # the current, unterminated line
        self._skip_lf = False  # the last chunk ended in CR: a leading LF is its pair
        self._bom_checked = False
        self._head = b""  # the stream's first bytes, held while they may be a BOM
        self._offset = 0  # bytes fed so far
        self._line_start = 0  # stream offset of the current line
        self._event_start: int | None = None  # stream offset of the pending event's first line
        self._data: list[bytes | memoryview] = []  # the pending event's data values
        self._event_type = ""
        self._retry: int | None = None
        self._last_id: str | None = None
        self.comment_count = 0

    @property
    def offset(self) -> int:
        """Bytes fed so far."""
        return self._offset

    @property
    def pending(self) -> bool:
        """True when buffered bytes belong to an event (or line) not yet complete."""
        return bool(self._pieces or self._head) or self._event_start is not None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        self._offset += len(chunk)
        if not self._bom_checked:
            # Hold the first bytes until we know whether they are a BOM.
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
            if chunk[0] == 0x0A:
                start = 1
                self._line_start = base + 1
        events: list[ServerSentEvent] = []
        cr, lf = chunk.find(b"\r", start), chunk.find(b"\n", start)
        while cr != -1 or lf != -1:
            if lf == -1 or (cr != -1 and cr < lf):
                end = after = cr + 1
                if after == len(chunk):
                    self._skip_lf = True  # its LF may open the next chunk
                elif chunk[after] == 0x0A:
                    after += 1
            else:
                end = after = lf + 1
            self._pieces.append(chunk[start : end - 1])
            line = self._pieces[0] if len(self._pieces) == 1 else b"".join(self._pieces)
            self._pieces.clear()
            event = self._line(line)
            if event is not None:
                events.append(event)
            start = after
            self._line_start = base + after
            if cr < start:
                cr = chunk.find(b"\r", start) if cr != -1 else -1
            if lf < start:
                lf = chunk.find(b"\n", start) if lf != -1 else -1
        if start < len(chunk):
            self._pieces.append(chunk[start:] if start else chunk)
        return events

    def end(self) -> list[ServerSentEvent]:
        """At the end of the stream: an unterminated event is discarded, as WHATWG says."""
        self._pieces.clear()
        self._reset_event()
        return []

    def _line(self, raw: bytes) -> ServerSentEvent | None:
        if not raw:
            return self._dispatch()
        if self._event_start is None:
            self._event_start = self._line_start
        if raw[0] == 0x3A:  # ':' starts a comment
            self.comment_count += 1
            return None
        if raw.startswith(b"data: "):  # the hot path: keep the bytes, copy nothing
            self._data.append(memoryview(raw)[6:])
            return None
        line = raw.decode("utf-8", "replace")
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value.encode("utf-8"))
        elif name == "event":
            self._event_type = value
        elif name == "id" and "\0" not in value:
            self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        event = None
        if self._data:
            event = ServerSentEvent(
                event=self._event_type or "message",
                raw_data=self._data[0] if len(self._data) == 1 else b"\n".join(self._data),
                id=self._last_id,
                retry=self._retry,
                offset=self._event_start or 0,
            )
        self._reset_event()
        return event

    def _reset_event(self) -> None:
        self._data = []
        self._event_type = ""
        self._retry = None
        self._event_start = None


def encode_event(
    data: str | bytes,
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
) -> bytes:
    """One event in wire form; multi-line data becomes several `data:` lines."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    lines = []
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    if retry is not None:
        lines.append(f"retry: {retry}")
    lines.extend(
        f"data: {line}" for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    )
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def encode_comment(text: str = "") -> bytes:
    """A comment line, e.g. OpenRouter's `: OPENROUTER PROCESSING` keep-alive."""
    return f": {text}\n\n".encode() if text else b":\n\n"
