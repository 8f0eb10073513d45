"""The checks every request passes before the app sees it, and its whole body, read once.

A page in a browser can reach a server on loopback: through DNS rebinding (a
foreign host name resolving to 127.0.0.1), or with a cross-site POST the
browser sends without asking. So the `Host` must name this server, a request
from a browser must come from a page of this server (`Origin`), and a POST
typed as anything but JSON is refused. An untyped POST is served, as scripts
send them; one from a browser carries a foreign `Origin`, refused already.

The body is read here, up to a size limit, so that a huge one is refused as
it arrives rather than held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import urlsplit

import msgspec
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openrouter_imagegen.emulator._log import LoggedRequest, logged_request
from openrouter_imagegen.emulator._requests import RequestRefused

__all__ = ["Guard", "error_response", "json_response"]

_JSON = "application/json"


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(body), status, headers, media_type=_JSON)


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """OpenRouter's error body: `{"error": {"code": status, "message": message}}`."""
    return json_response(status, {"error": {"code": status, "message": message}}, headers)


class _Disconnected(Exception):
    """The client left before its body arrived: there is no one to answer."""


class Guard:
    """Wraps the app: refuses what it must not serve, reads the body, logs the request.

    `hosts` are the host names (without port) that the `Host` and `Origin`
    headers may name; None accepts any. A body over `max_body` bytes is a 413
    as soon as that many have come (at once when its `Content-Length` says
    so): none of it is kept. `log`, when given, gets every request.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hosts: Collection[str] | None,
        max_body: int,
        log: Callable[[LoggedRequest], None] | None,
    ) -> None:
        self.app = app
        self.hosts = None if hosts is None else frozenset(host.lower() for host in hosts)
        self.max_body = max_body
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check(scope["method"], Headers(scope=scope))
            body = await self._read_body(receive)
        except RequestRefused as refused:
            self._log(scope, b"")
            # The rest of the body is then read and dropped (for `read_timeout` at most): a
            # client that sends its whole body before reading gets the answer, not a reset.
            await error_response(refused.status, refused.message)(scope, receive, send)
            return
        except _Disconnected:
            return
        self._log(scope, body)
        await self.app(scope, _replay(body, receive), send)

    def _check(self, method: str, headers: Headers) -> None:
        if self.hosts is not None:
            host = headers.get("host")
            if host is not None and _host_name(host) not in self.hosts:
                raise RequestRefused(
                    421,
                    f"Host: {host!r} is not this emulator; it answers to "
                    f"{', '.join(sorted(self.hosts))} (a foreign name pointing at loopback is "
                    "DNS rebinding). Start it with allow_remote=True to answer any Host.",
                )
            origin = headers.get("origin")
            if origin is not None and _host_name(urlsplit(origin).netloc) not in self.hosts:
                raise RequestRefused(
                    403,
                    f"Origin: {origin!r} is a page of another site; the emulator answers "
                    "no cross-site browser requests",
                )
        if method == "POST":
            content_type = headers.get("content-type")
            media_type = (content_type or _JSON).partition(";")[0].strip().lower()
            if media_type != _JSON:
                raise RequestRefused(415, f"Content-Type: expected {_JSON}, got {content_type!r}")
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            raise RequestRefused(413, self._too_large(f"Content-Length is {length} bytes"))

    def _too_large(self, what: str) -> str:
        return f"request body too large: {what}; the limit is {self.max_body} bytes"

    async def _read_body(self, receive: Receive) -> bytes:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            body += message.get("body", b"")
            if len(body) > self.max_body:
                raise RequestRefused(
                    413, self._too_large(f"more than {self.max_body} bytes were sent")
                )
            if not message.get("more_body", False):
                return bytes(body)

    def _log(self, scope: Scope, body: bytes) -> None:
        if self.log is not None:
            query = scope["query_string"].decode("latin-1")
            self.log(logged_request(scope["method"], scope["path"], query, scope["headers"], body))


def _host_name(host: str) -> str:
    """`host` without its port: `[::1]:80` is `[::1]`, `localhost:80` is `localhost`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0]


def _replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app: the body already read, then the client's own messages (so that
    a disconnect is still seen)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed
