"""`AsyncImageClient`: the asynchronous client. It mirrors `ImageClient`
method for method; everything but the awaiting lives in `_base`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx

from openrouter_imagegen._exceptions import APIError
from openrouter_imagegen.client._base import (
    BaseClient,
    BaseStream,
    Endpoint,
    StreamCore,
    StreamUpdate,
)
from openrouter_imagegen.client._requests import (
    ImageInput,
    Previous,
    chat_body,
    edit_body,
    request_body,
)
from openrouter_imagegen.client._retry import error_from_response, error_from_transport
from openrouter_imagegen.models.operations import OutputImageGenerationCall, Response

if TYPE_CHECKING:
    from openrouter_imagegen.images import GeneratedImage

__all__ = ["AsyncImageClient", "AsyncImageStream"]

_T = TypeVar("_T")


class AsyncImageClient(BaseClient[httpx.AsyncClient]):
    """The async twin of `ImageClient`.

    ```python
    async with AsyncImageClient() as client:
        response = await client.generate("a lighthouse at dusk", model="openai/gpt-5-image")
    ```
    """

    def _new_http_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(follow_redirects=False)

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- requests ------------------------------------------------------------

    async def _send(
        self,
        request: httpx.Request,
        handle: Callable[[httpx.Response], Awaitable[_T]],
        *,
        stream: bool = False,
    ) -> _T:
        """Send with retries; `handle` turns a 2xx answer into the result (and may raise)."""
        started, retries = time.monotonic(), 0
        while True:
            try:
                return await self._attempt(request, handle, stream)
            except APIError as error:
                delay = self.retry.delay(error, retries, started)
                if delay is None:
                    raise
            retries += 1
            await asyncio.sleep(delay)

    async def _attempt(
        self,
        request: httpx.Request,
        handle: Callable[[httpx.Response], Awaitable[_T]],
        stream: bool,
    ) -> _T:
        try:
            response = await self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise error_from_transport(exc, str(request.url)) from exc
        try:
            if response.status_code >= 400:
                await response.aread()
                raise error_from_response(response)
            return await handle(response)
        except httpx.TransportError as exc:
            await response.aclose()
            raise error_from_transport(exc, str(request.url)) from exc
        except BaseException:
            await response.aclose()
            raise

    async def _post(self, endpoint: Endpoint, body: dict[str, Any]) -> Response:
        async def parse(response: httpx.Response) -> Response:
            return self._parse(endpoint, response)

        return await self._send(self._request(endpoint, body), parse)

    async def generate(
        self,
        prompt: str,
        *,
        model: str,
        size: str | None = None,
        aspect_ratio: str | None = None,
        output_format: str | None = None,
        quality: str | None = None,
        background: str | None = None,
        n: int | None = None,
        image_config: Mapping[str, Any] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        endpoint: Endpoint = "responses",
    ) -> Response:
        """See `ImageClient.generate`."""
        body = request_body(
            endpoint, prompt, model=model, size=size, aspect_ratio=aspect_ratio,
            output_format=output_format, quality=quality, background=background, n=n,
            image_config=image_config, extra_body=extra_body,
        )  # fmt: skip
        return await self._post(endpoint, body)

    async def generate_chat(
        self, prompt: str, *, model: str, images: Sequence[ImageInput] = (), **options: Any
    ) -> Response:
        """See `ImageClient.generate_chat`."""
        return await self._post("chat", chat_body(prompt, model=model, images=images, **options))

    async def edit(
        self,
        previous: Previous | None,
        prompt: str,
        *,
        model: str,
        images: Sequence[ImageInput] = (),
        use_previous_response_id: bool = False,
        **options: Any,
    ) -> Response:
        """See `ImageClient.edit`."""
        body = edit_body(
            previous, prompt, model=model, images=images,
            use_previous_response_id=use_previous_response_id, **options,
        )  # fmt: skip
        return await self._post("responses", body)

    def stream(
        self,
        prompt: str,
        *,
        model: str,
        partial_images: int = 2,
        endpoint: Endpoint = "responses",
        replay_on_failure: bool = False,
        **options: Any,
    ) -> AsyncImageStream:
        """See `ImageClient.stream`; use with `async with` and iterate with `async for`."""
        body = request_body(
            endpoint, prompt, model=model, stream=True, partial_images=partial_images, **options
        )
        return AsyncImageStream(self, endpoint, body, replay_on_failure)

    # -- images ----------------------------------------------------------------

    async def image(self, call: OutputImageGenerationCall, **options: Any) -> GeneratedImage:
        """`call.image(fetch=True)`, downloading through this client's transport and timeouts."""
        from openrouter_imagegen.images import aimage_from_call

        return await aimage_from_call(call, **self._fetch_options(options))

    async def images(self, response: Response, **options: Any) -> list[GeneratedImage]:
        """`response.images(fetch=True)` through this client's transport and timeouts."""
        from openrouter_imagegen.images import aimages_from_calls

        calls = response.image_outputs
        return await aimages_from_calls(calls, **self._fetch_options(options))

    async def save_images(
        self, response: Response, directory: str | Path, **options: Any
    ) -> list[Path]:
        """Save every image of `response` into `directory`, downloading remote ones."""
        overwrite = options.pop("overwrite", False)
        images = await self.images(response, **options)
        return [image.save(directory, overwrite=overwrite) for image in images]


class AsyncImageStream(BaseStream[AsyncImageClient]):
    """A streamed generation: an async context manager to iterate with `async for`.

    Nothing is sent until iteration starts; leaving the `async with` block
    closes the connection.
    """

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def final_response(self) -> Response:
        """The final response, consuming what is left of the stream."""
        if self._final is None:
            async for _ in self:
                pass
        assert self._final is not None
        return self._final

    async def __aiter__(self) -> AsyncIterator[StreamUpdate]:
        if self._final is not None:
            return
        replays = 0
        while True:
            core = await self._open()
            assert self._response is not None
            try:
                async for chunk in self._response.aiter_bytes():
                    for update in core.feed(chunk):
                        yield update
                    if core.done:
                        break
                for update in core.end():
                    yield update
                if core.cut_short and self._may_replay(replays):
                    replays += 1  # the caller opted in: start the generation again
                    continue
                self._final = core.finish()
                return
            except httpx.TransportError as exc:
                error = core.broken(error_from_transport(exc, self._client.base_url))
                if not self._may_replay(replays):
                    raise error from exc
                replays += 1
            finally:
                await self.close()

    async def _open(self) -> StreamCore:
        client = self._client

        async def opened(response: httpx.Response) -> httpx.Response:
            return response

        request = client._request(self._endpoint, self._body)
        self._response = await client._send(request, opened, stream=True)
        self._core = StreamCore(self._endpoint, self._response.headers.get("x-generation-id"))
        return self._core

    async def close(self) -> None:
        if self._response is not None:
            await self._response.aclose()
