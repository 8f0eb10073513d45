"""Both clients behind one synchronous face, so that every client test runs
against `ImageClient` and `AsyncImageClient` alike.

The async client is driven on an event loop of its own: each awaited call
runs to completion there, and an async stream is stepped one update at a
time, so a test that `break`s out of a stream leaves it suspended exactly as
a user's code would.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Any, Literal, Self

import httpx

from openrouter_imagegen.client import AsyncImageClient, AsyncImageStream, ImageClient

Kind = Literal["sync", "async"]
# Makes a client of a test's kind: `client_for(base_url, fault=None, **options)`.
ClientFactory = Callable[..., Any]
KEY = "sk-or-test-secret-key-0123456789"


class AsyncStreamDriver:
    def __init__(self, stream: AsyncImageStream, loop: asyncio.AbstractEventLoop) -> None:
        self._stream = stream
        self._loop = loop

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Any]:
        updates = self._stream.__aiter__()
        while True:
            try:
                yield self._loop.run_until_complete(anext(updates))
            except StopAsyncIteration:
                return

    def final_response(self) -> Any:
        return self._loop.run_until_complete(self._stream.final_response())

    def close(self) -> None:
        self._loop.run_until_complete(self._stream.close())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class AsyncClientDriver:
    """An `AsyncImageClient` whose coroutine methods run to completion when called."""

    def __init__(self, client: AsyncImageClient) -> None:
        self._client = client
        self._loop = asyncio.new_event_loop()

    @property
    def wrapped(self) -> AsyncImageClient:
        return self._client

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._client.close())
        finally:
            self._loop.close()

    def run(self, coroutine: Any) -> Any:
        return self._loop.run_until_complete(coroutine)

    def stream(self, *args: Any, **kwargs: Any) -> AsyncStreamDriver:
        return AsyncStreamDriver(self._client.stream(*args, **kwargs), self._loop)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if inspect.iscoroutinefunction(value):
            method: Callable[..., Any] = value

            def call(*args: Any, **kwargs: Any) -> Any:
                return self._loop.run_until_complete(method(*args, **kwargs))

            return call
        return value

    def __repr__(self) -> str:
        return repr(self._client)


def make_client(kind: Kind, **options: Any) -> Any:
    """A client of `kind`, used the same way in either case."""
    if kind == "sync":
        return ImageClient(**options)
    return AsyncClientDriver(AsyncImageClient(**options))


def http_client(kind: Kind, transport: Any) -> httpx.Client | httpx.AsyncClient:
    """A user's own httpx client of `kind` over `transport`."""
    if kind == "sync":
        return httpx.Client(transport=transport)
    return httpx.AsyncClient(transport=transport)


class CountingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A real transport that records every request it sends: what a server receives."""

    def __init__(self) -> None:
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    @property
    def posts(self) -> list[str]:
        """The paths POSTed to, in order (the generations, which are paid for)."""
        return [r.url.path for r in self.requests if r.method == "POST"]

    @property
    def gets(self) -> list[str]:
        return [r.url.path for r in self.requests if r.method == "GET"]

    def bodies(self) -> list[Any]:
        """The JSON bodies POSTed, in order."""
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()
