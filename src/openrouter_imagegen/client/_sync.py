"""`ImageClient`: the synchronous client."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
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

__all__ = ["ImageClient", "ImageStream"]

_T = TypeVar("_T")


class ImageClient(BaseClient[httpx.Client]):
    """Generate images through OpenRouter (or any compatible server).

    ```python
    with ImageClient() as client:  # OPENROUTER_API_KEY from the environment
        response = client.generate("a lighthouse at dusk", model="openai/gpt-5-image")
        response.save_images("out/")
    ```

    `http_client` lets you bring your own `httpx.Client` (proxies, transports,
    event hooks); the client then leaves closing it to you.
    """

    def _new_http_client(self) -> httpx.Client:
        return httpx.Client(follow_redirects=False)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- requests ------------------------------------------------------------

    def _send(
        self,
        request: httpx.Request,
        handle: Callable[[httpx.Response], _T],
        *,
        stream: bool = False,
    ) -> _T:
        """Send with retries; `handle` turns a 2xx answer into the result (and may raise)."""
        started, retries = time.monotonic(), 0
        while True:
            try:
                return self._attempt(request, handle, stream)
            except APIError as error:
                delay = self.retry.delay(error, retries, started)
                if delay is None:
                    raise
            retries += 1
            time.sleep(delay)

    def _attempt(
        self, request: httpx.Request, handle: Callable[[httpx.Response], _T], stream: bool
    ) -> _T:
        try:
            response = self._http.send(request, stream=stream)
        except httpx.TransportError as exc:
            raise error_from_transport(exc, str(request.url)) from exc
        try:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response)
            return handle(response)
        except httpx.TransportError as exc:
            response.close()
            raise error_from_transport(exc, str(request.url)) from exc
        except BaseException:
            response.close()
            raise

    def _post(self, endpoint: Endpoint, body: dict[str, Any]) -> Response:
        request = self._request(endpoint, body)
        return self._send(request, lambda response: self._parse(endpoint, response))

    def generate(
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
        """Generate images from `prompt`; returns the whole `Response`.

        `size` ("1024x1024"), `output_format`, `quality` and `background` go
        to the `image_generation` tool for OpenAI's models and into
        `image_config` for the others, with `aspect_ratio` ("16:9") and `n`;
        `image_config` and `extra_body` are merged in as given (copied, never
        changed). `endpoint="chat"` uses `/chat/completions` instead, for
        models that speak only that; its images come back as the same image
        calls.
        """
        body = request_body(
            endpoint, prompt, model=model, size=size, aspect_ratio=aspect_ratio,
            output_format=output_format, quality=quality, background=background, n=n,
            image_config=image_config, extra_body=extra_body,
        )  # fmt: skip
        return self._post(endpoint, body)

    def generate_chat(
        self, prompt: str, *, model: str, images: Sequence[ImageInput] = (), **options: Any
    ) -> Response:
        """`generate` through `/chat/completions`; `images` are input images."""
        return self._post("chat", chat_body(prompt, model=model, images=images, **options))

    def edit(
        self,
        previous: Previous | None,
        prompt: str,
        *,
        model: str,
        images: Sequence[ImageInput] = (),
        use_previous_response_id: bool = False,
        **options: Any,
    ) -> Response:
        """Refine an earlier image (a `Response`, an image call, or a response id),
        and/or edit input `images` (paths, bytes or URLs), following `prompt`."""
        body = edit_body(
            previous, prompt, model=model, images=images,
            use_previous_response_id=use_previous_response_id, **options,
        )  # fmt: skip
        return self._post("responses", body)

    def stream(
        self,
        prompt: str,
        *,
        model: str,
        partial_images: int = 2,
        endpoint: Endpoint = "responses",
        replay_on_failure: bool = False,
        **options: Any,
    ) -> ImageStream:
        """Stream a generation: iterate the result for `StreamUpdate`s.

        ```python
        with client.stream("a fox", model=m) as stream:
            for update in stream:
                if update.partial_image:
                    update.partial_image.image().save("preview.png", overwrite=True)
            response = stream.final_response()
        ```

        A stream that breaks after its first event raises `StreamError` with
        everything received; it is replayed from the start only with
        `replay_on_failure=True`.
        """
        body = request_body(
            endpoint, prompt, model=model, stream=True, partial_images=partial_images, **options
        )
        return ImageStream(self, endpoint, body, replay_on_failure)

    # -- images ----------------------------------------------------------------

    def image(self, call: OutputImageGenerationCall, **options: Any) -> GeneratedImage:
        """`call.image(fetch=True)`, downloading through this client's transport and timeouts."""
        from openrouter_imagegen.images import image_from_call

        return image_from_call(call, **self._fetch_options(options))

    def images(self, response: Response, **options: Any) -> list[GeneratedImage]:
        """`response.images(fetch=True)` through this client's transport and timeouts."""
        from openrouter_imagegen.images import images_from_calls

        return images_from_calls(response.image_outputs, **self._fetch_options(options))

    def save_images(self, response: Response, directory: str | Path, **options: Any) -> list[Path]:
        """Save every image of `response` into `directory`, downloading remote ones."""
        overwrite = options.pop("overwrite", False)
        images = self.images(response, **options)
        return [image.save(directory, overwrite=overwrite) for image in images]


class ImageStream(BaseStream[ImageClient]):
    """A streamed generation: a context manager to iterate for `StreamUpdate`s.

    Nothing is sent until iteration starts; leaving the `with` block closes
    the connection.
    """

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def final_response(self) -> Response:
        """The final response, consuming what is left of the stream."""
        if self._final is None:
            for _ in self:
                pass
        assert self._final is not None
        return self._final

    def __iter__(self) -> Iterator[StreamUpdate]:
        if self._final is not None:
            return
        replays = 0
        while True:
            core = self._open()
            try:
                assert self._response is not None
                for chunk in self._response.iter_bytes():
                    yield from core.feed(chunk)
                    if core.done:
                        break
                yield from core.end()
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
                self.close()

    def _open(self) -> StreamCore:
        client = self._client
        request = client._request(self._endpoint, self._body)

        self._response = client._send(request, lambda response: response, stream=True)
        self._core = StreamCore(self._endpoint, self._response.headers.get("x-generation-id"))
        return self._core

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
