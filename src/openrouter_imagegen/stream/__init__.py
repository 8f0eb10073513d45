"""Streaming, sans-I/O: bytes in, Server-Sent Events, typed events, growing snapshots.

`ResponseStream` is the one pipeline: fed the bytes of an answer from any
route, it gives `StreamUpdate`s and the final `Response` (or a `StreamError`
holding everything that arrived). Its parts are public too: `SSEDecoder`
frames bytes into events, `EventDecoder` turns those into typed stream
events, and `ResponseAccumulator` builds a `Response` from them. None of them
does I/O, so one core serves the sync and async clients, saved captures, the
tests and the emulator; `iter_events`, `aiter_events`, `accumulate` and
`aaccumulate` are the thin loops around them, and `read_capture` (or
`capture_stream`) reads a saved SSE capture or JSONL recording of events.
"""

from openrouter_imagegen._exceptions import StreamError, StreamWarning
from openrouter_imagegen._public import publish
from openrouter_imagegen.stream._accumulator import ResponseAccumulator
from openrouter_imagegen.stream._events import EventDecoder, aiter_events, iter_events
from openrouter_imagegen.stream._pipeline import (
    ResponseStream,
    StreamUpdate,
    aaccumulate,
    accumulate,
    capture_stream,
    read_capture,
)
from openrouter_imagegen.stream._sse import (
    ServerSentEvent,
    SSEDecoder,
    encode_comment,
    encode_event,
)

__all__ = [
    "EventDecoder",
    "ResponseAccumulator",
    "ResponseStream",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamError",
    "StreamUpdate",
    "StreamWarning",
    "aaccumulate",
    "accumulate",
    "aiter_events",
    "capture_stream",
    "encode_comment",
    "encode_event",
    "iter_events",
    "read_capture",
]

publish(globals(), __all__, __name__)
