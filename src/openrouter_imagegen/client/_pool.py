"""`ShardedTransport`: many requests in flight over several small connection pools.

httpcore's pool rescans its waiting requests against every connection on each
change, and keeps at most `max_keepalive_connections` (20 by default) alive,
closing the rest after one use: at hundreds of requests in flight one wide
pool spends most of the process's time on bookkeeping and opens a new TCP
connection for nearly every request. Pools of a few connections, each kept
alive, have neither cost.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import httpx

__all__ = ["ShardedTransport"]

_PER_SHARD = 8


class ShardedTransport(httpx.AsyncBaseTransport):
    """An `httpx` transport that spreads requests over `ceil(max_in_flight / per_shard)`
    pools of `per_shard` keep-alive connections each, sending each request to the
    pool with the fewest requests in flight.

    ```python
    transport = ShardedTransport(256)
    async with httpx.AsyncClient(transport=transport) as http:
        async with AsyncImageClient(http_client=http) as client:
            ...
    ```

    `options` go to each `httpx.AsyncHTTPTransport` (`verify`, `http2`,
    `retries`, ...); `limits` is this class's to set. A request counts as in
    flight until its response is closed.
    """

    def __init__(self, max_in_flight: int, *, per_shard: int = _PER_SHARD, **options: Any) -> None:
        if max_in_flight < 1 or per_shard < 1:
            raise ValueError(
                f"max_in_flight and per_shard must be at least 1, got {max_in_flight} "
                f"and {per_shard}"
            )
        if "limits" in options:
            raise TypeError("ShardedTransport sets each pool's limits itself: pass per_shard")
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        # One TLS context for every pool: making one takes milliseconds.
        options["verify"] = httpx.create_ssl_context(
            verify=options.get("verify", True),
            cert=options.pop("cert", None),
            trust_env=options.get("trust_env", True),
        )
        count = math.ceil(max_in_flight / per_shard)
        self._shards = [httpx.AsyncHTTPTransport(limits=limits, **options) for _ in range(count)]
        self._in_flight = [0] * count

    @property
    def shards(self) -> int:
        """How many pools there are."""
        return len(self._shards)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        in_flight = self._in_flight
        index = in_flight.index(min(in_flight))
        in_flight[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            in_flight[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Counted(response.stream, in_flight, index),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _Counted(httpx.AsyncByteStream):
    """A response body that takes its request off its pool's count when closed."""

    def __init__(self, stream: httpx.AsyncByteStream, in_flight: list[int], index: int) -> None:
        self._stream = stream
        self._in_flight = in_flight
        self._index = index
        self._open = True

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._open:  # closing twice must not count twice
            self._open = False
            self._in_flight[self._index] -= 1
        await self._stream.aclose()
