"""uvicorn's h11 protocol, with a deadline for each request to arrive whole.

uvicorn closes a connection left idle after a response (`timeout_keep_alive`),
but waits forever for one that trickles in its headers or body, or never
sends a byte (slowloris): each would hold a connection, and so a place under
`limit_concurrency`, for good.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["deadline_protocol"]


class _DeadlineProtocol(H11Protocol):
    """Closes the connection when a request has not arrived whole (headers and body) within
    `read_timeout` seconds of the connection opening or of the previous response ending."""

    read_timeout = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self._deadline = self.loop.call_later(self.read_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        # IDLE: no request yet, or its headers are incomplete; SEND_BODY: its body is.
        # Once the request is whole (DONE), the answer may take as long as it takes.
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.transport.close()


def deadline_protocol(read_timeout: float) -> type[asyncio.Protocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with this `read_timeout`."""
    return type("EmulatorHTTPProtocol", (_DeadlineProtocol,), {"read_timeout": read_timeout})
