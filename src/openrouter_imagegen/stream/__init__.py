"""Streaming, sans-I/O: bytes in, Server-Sent Events, typed events, growing snapshots.

`SSEDecoder` frames bytes into events, `EventDecoder` turns those into typed
stream events, and `ResponseAccumulator` builds a `Response` from them. None
of them does I/O, so one core serves the sync and async clients, the tests and
the emulator; `iter_events`, `aiter_events`, `accumulate` and `aaccumulate`
are the thin loops around them.
"""

from openrouter_imagegen._exceptions import StreamError, StreamWarning
from openrouter_imagegen.stream._accumulator import ResponseAccumulator, aaccumulate, accumulate
from openrouter_imagegen.stream._events import EventDecoder, aiter_events, iter_events
from openrouter_imagegen.stream._sse import (
    ServerSentEvent,
    SSEDecoder,
    encode_comment,
    encode_event,
)

__all__ = [
    "EventDecoder",
    "ResponseAccumulator",
    "SSEDecoder",
    "ServerSentEvent",
    "StreamError",
    "StreamWarning",
    "aaccumulate",
    "accumulate",
    "aiter_events",
    "encode_comment",
    "encode_event",
    "iter_events",
]
