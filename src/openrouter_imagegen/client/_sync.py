# Generated from _async.py by scripts/unasync.py: edit that file, then run
# `python scripts/unasync.py`. `make lint` and the tests check this file is current.
"""`ImageClient`: the synchronous client.

Of the two clients only the async one is written by hand, in `_async.py`;
`_sync.py` is generated from it by `scripts/unasync.py` (as httpcore does),
so the two cannot drift.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

import httpx

from openrouter_imagegen._exceptions import APIError, APITimeoutError, NotFoundError, StreamError
from openrouter_imagegen.client._base import BaseClient, BaseStream, Planned, plan_of
from openrouter_imagegen.client._catalogue import (
    CostEstimate,
    RouteChoice,
    choose_route,
    estimate_cost,
)
from openrouter_imagegen.client._catalogue import check_parameters as check_model_parameters
from openrouter_imagegen.client._options import (
    Endpoint,
    GenerationOptions,
    ImageInput,
    check_options,
)
from openrouter_imagegen.client._requests import Previous, generation_body
from openrouter_imagegen.client._retry import error_from_response, error_from_transport
from openrouter_imagegen.images import save_all
from openrouter_imagegen.models.chat_models import ChatModel, ChatModelsList
from openrouter_imagegen.models.images import ImageModel, ImageModelEndpoints, ImageModelsList
from openrouter_imagegen.models.operations import OutputImageGenerationCall, Response
from openrouter_imagegen.stream import ResponseStream, StreamUpdate

if TYPE_CHECKING:
    from openrouter_imagegen.images import DownloadOptions, GeneratedImage

__all__ = ["ImageClient", "ImageStream"]

_T = TypeVar("_T")


class ImageClient(BaseClient[httpx.Client]):
    """Generate images through OpenRouter (or any server that speaks its API).

    ```python
    with ImageClient() as client:  # OPENROUTER_API_KEY from the environment
        response = client.generate("a lighthouse at dusk", model="openai/gpt-5-image")
        response.save_images("out/")
    ```

    `http_client` lets you bring your own httpx client (proxies, transports,
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

    # -- sending: every request goes through here ------------------------------

    def _send(
        self,
        request: httpx.Request,
        handle: Callable[[httpx.Response, bytes], _T],
        *,
        stream: bool = False,
        generation: bool = True,
    ) -> _T:
        """Send `request`, attempting again where the retry policy says so.

        `handle` turns a 2xx answer into the result (and may raise); with
        `stream=True` the body is left unread for it.
        """
        attempts = self.retry.attempts(generation=generation)
        while True:
            try:
                return self._attempt(request, handle, stream)
            except APIError as error:
                delay = attempts.after(error)
                if delay is None:
                    raise
            time.sleep(delay)

    def _attempt(
        self, request: httpx.Request, handle: Callable[[httpx.Response, bytes], _T], stream: bool
    ) -> _T:
        started = self._now()
        try:
            answer = self._http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise error_from_transport(exc, str(request.url)) from exc
        try:
            if answer.status_code >= 400:
                answer.read()
                raise error_from_response(answer)
            content = b"" if stream else self._body(answer, started)
            return handle(answer, content)
        except httpx.TransportError as exc:
            answer.close()
            generation_id = answer.headers.get("x-generation-id")
            raise error_from_transport(exc, str(request.url), generation_id=generation_id) from exc
        except BaseException:
            answer.close()
            raise

    def _body(self, answer: httpx.Response, started: float) -> bytes:
        """The whole body, read within `total_timeout` of the request's start."""
        chunks = []
        for chunk in answer.iter_bytes():
            chunks.append(chunk)
            self._check_deadline(started, answer)
        return b"".join(chunks)

    def _get(self, path: str, parse: Callable[[bytes], _T], **params: str) -> _T:
        """GET a catalogue resource (retried freely: reading one pays for nothing)."""
        request = self._get_request(path, params or None)
        return self._send(request, lambda _, content: parse(content), generation=False)

    # -- the catalogues ----------------------------------------------------------

    def image_models(self) -> list[ImageModel]:
        """The Image API's models (`GET /images/models`), cached for `catalogue_ttl`."""
        models = self._image_catalogue()
        if models is None:
            raise NotFoundError(
                f"{self._shown_base_url} has no image model catalogue", status_code=404
            )
        return models

    def _image_catalogue(self) -> list[ImageModel] | None:
        cached = self._image_models.get("")
        if cached is not None:
            return cached
        try:
            listing = self._get("/images/models", ImageModelsList.from_json)
        except NotFoundError:  # a compatible server without the Image API
            return self._image_models.put("", None)
        return self._image_models.put("", list(listing.data))

    def image_model_endpoints(self, model: str) -> ImageModelEndpoints:
        """The endpoints serving `model` on the Image API: providers, the parameters each
        accepts, and their pricing lines. Cached for `catalogue_ttl`."""
        cached = self._endpoints.get(model)
        if cached is not None:
            return cached
        path = self._endpoints_path(model)
        return self._endpoints.put(model, self._get(path, ImageModelEndpoints.from_json))

    def chat_image_models(self) -> list[ChatModel]:
        """The chat models that output images (`GET /models?output_modalities=image`)."""
        models = self._chat_catalogue()
        return models or []

    def _chat_catalogue(self) -> list[ChatModel] | None:
        cached = self._chat_models.get("")
        if cached is not None:
            return cached
        try:
            listing = self._get(
                "/models", ChatModelsList.from_json, output_modalities="image"
            )
        except NotFoundError:
            return self._chat_models.put("", None)
        return self._chat_models.put("", list(listing.data))

    def estimate_cost(
        self, prompt: str, *, model: str, **options: Unpack[GenerationOptions]
    ) -> CostEstimate:
        """What generating `prompt` should cost, from the model's Image API pricing
        lines (per image, per megapixel of the size or tier asked for, per token),
        before anything is paid. See `CostEstimate`."""
        check_options(options)
        models = self._image_catalogue()
        if not any(entry.id == model for entry in models or ()):
            reason = "only models of the Image API publish per-request prices"
            return CostEstimate(model, None, None, reason=reason)
        endpoints = self.image_model_endpoints(model)
        return estimate_cost(model, endpoints.endpoints, prompt, dict(options))

    def _choose(self, model: str, endpoint: Endpoint) -> RouteChoice:
        if endpoint == "auto":
            return choose_route(model, self._image_catalogue(), self._chat_catalogue())
        if endpoint == "chat":  # ask only for what the model can output
            for entry in self._chat_catalogue() or ():
                if entry.id == model and "image" in entry.output_modalities:
                    outputs = [m for m in ("image", "text") if m in entry.output_modalities]
                    return RouteChoice("chat", tuple(outputs))
        return RouteChoice(endpoint)

    def _plan(
        self,
        prompt: str,
        model: str,
        endpoint: Endpoint,
        options: GenerationOptions,
        check: bool,
        **request: Any,
    ) -> Planned:
        """The route and body of a generation, checked against the catalogue first."""
        choice = self._choose(model, endpoint)
        if check and choice.route == "images":
            endpoints = self.image_model_endpoints(model)
            check_model_parameters(model, endpoints.endpoints, options)
        body = generation_body(
            choice.route, prompt, model=model, options=options,
            modalities=choice.modalities, **request,
        )  # fmt: skip
        return plan_of(choice.route, body, prompt, model, options)

    # -- generation --------------------------------------------------------------

    def generate(
        self,
        prompt: str,
        *,
        model: str,
        endpoint: Endpoint = "auto",
        check_parameters: bool = True,
        allow_no_image: bool = False,
        **options: Unpack[GenerationOptions],
    ) -> Response:
        """Generate images from `prompt`; returns the whole `Response`.

        `endpoint="auto"` sends a model of the Image API's catalogue there
        and any other image model to chat completions, asking for the
        modalities it outputs; "images", "chat" or "responses" choose
        yourself. Every route's images come back as the same
        `OutputImageGenerationCall`s. On the Image API, an option the model
        does not accept raises `UnsupportedParameterError` before anything is
        sent, unless `check_parameters=False`. See `GenerationOptions`.

        A generation that completes without any image raises `NoImageError`
        (`GenerationRefusedError` for a refusal or a content filter), unless
        `allow_no_image=True`.
        """
        check_options(options)
        planned = self._plan(prompt, model, endpoint, options, check_parameters)
        return planned.result(self._post(planned), allow_no_image=allow_no_image)

    def edit(
        self,
        previous: Previous | None,
        prompt: str,
        *,
        model: str,
        images: Sequence[ImageInput] = (),
        endpoint: Endpoint = "auto",
        check_parameters: bool = True,
        allow_no_image: bool = False,
        use_previous_response_id: bool = False,
        **options: Unpack[GenerationOptions],
    ) -> Response:
        """Refine an earlier image (a `Response`, an image call, or a response id on
        the Responses API), and/or edit input `images` (paths, bytes or URLs),
        following `prompt`. On the Image API both go as `input_references`."""
        check_options(options)
        planned = self._plan(
            prompt, model, endpoint, options, check_parameters,
            previous=previous, images=images, use_previous_response_id=use_previous_response_id,
        )  # fmt: skip
        return planned.result(self._post(planned), allow_no_image=allow_no_image)

    def _post(self, planned: Planned) -> Response:
        request = self._post_request(planned.route, planned.body)
        return self._send(
            request, lambda answer, content: self._parse(planned.route, answer, content)
        )

    def stream(
        self,
        prompt: str,
        *,
        model: str,
        endpoint: Endpoint = "auto",
        partial_images: int = 2,
        previous: Previous | None = None,
        images: Sequence[ImageInput] = (),
        check_parameters: bool = True,
        allow_no_image: bool = False,
        replay_on_failure: bool = False,
        **options: Unpack[GenerationOptions],
    ) -> ImageStream:
        """Stream a generation (or, with `previous` or `images`, an edit).

        ```python
        with client.stream("a fox", model=m) as stream:
            for update in stream:
                if update.partial_image:
                    update.partial_image.image().save("preview.png", overwrite=True)
            response = stream.final_response()
        ```

        Nothing is sent until the stream is iterated (or `final_response()`
        is awaited). A model without native streaming answers in one piece:
        the stream then gives just the final result. A stream that breaks
        raises `StreamError` with everything received; `replay_on_failure=True`
        starts the request again instead, which may bill the generation twice.
        A stream that completes without any image raises `NoImageError`, as
        `generate` does, unless `allow_no_image=True`.
        """
        check_options(options)

        def plan() -> Planned:
            return self._plan(
                prompt, model, endpoint, options, check_parameters, stream=True,
                partial_images=partial_images, previous=previous, images=images,
            )  # fmt: skip

        return ImageStream(
            self, plan, replay_on_failure=replay_on_failure, allow_no_image=allow_no_image
        )

    # -- images --------------------------------------------------------------------

    def image(
        self, call: OutputImageGenerationCall, **options: Unpack[DownloadOptions]
    ) -> GeneratedImage:
        """The image of `call`, downloading a URL result through this client's transport."""
        from openrouter_imagegen.images import image_from_call

        return image_from_call(call, **{**self._download_options(), **options})

    def images(
        self, response: Response, *, strict: bool = False, **options: Unpack[DownloadOptions]
    ) -> list[GeneratedImage]:
        """Every image of `response` (each knowing its provenance), downloading URL
        results through this client."""
        from openrouter_imagegen.images import images_from_calls, with_provenance

        images = images_from_calls(
            response.image_outputs, strict=strict, **{**self._download_options(), **options}
        )
        return with_provenance(response, images)

    def save_images(
        self,
        response: Response,
        destination: str | Path,
        *,
        strict: bool = False,
        overwrite: bool = False,
        metadata: bool = True,
        sidecar: bool = False,
        **options: Unpack[DownloadOptions],
    ) -> list[Path]:
        """Save every image of `response` to `destination` (a directory, created when
        missing, or a file name: see `images.save_all`) with its provenance embedded,
        downloading URL results."""
        images = self.images(response, strict=strict, **options)
        return save_all(
            images, destination, overwrite=overwrite, metadata=metadata, sidecar=sidecar
        )


class ImageStream(BaseStream[ImageClient]):
    """A streamed generation: iterate it for `StreamUpdate`s, then ask for the
    final response. One stream is one request: iterating again, or asking
    for `final_response()` after a `break`, goes on reading the same answer.
    Leaving the `with` block closes the connection.
    """

    _updates: Generator[StreamUpdate, None, None] | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[StreamUpdate]:
        if self._updates is None:
            self._updates = self._run()
        return self._updates

    def final_response(self) -> Response:
        """The final response, reading what is left of the answer (never a new request).

        After the stream was closed early it raises the `StreamError` that
        says so, with everything received.
        """
        if not self._closed:
            for _ in self:
                pass
        return self._outcome()

    def _run(self) -> Generator[StreamUpdate, None, None]:
        replays = 0
        while not self._closed:
            pipeline = self._open()
            try:
                for chunk in self._answer_bytes():
                    for update in pipeline.feed(chunk):
                        yield update
                    if pipeline.done:
                        break
                    self._client._check_deadline(self._started, self._answer)
                for update in pipeline.end():
                    yield update
            except (httpx.TransportError, APITimeoutError) as exc:
                error = (
                    exc
                    if isinstance(exc, APITimeoutError)
                    else error_from_transport(exc, self._client._shown_base_url)
                )
                if not self._may_replay(pipeline, replays):
                    raise self._failed(pipeline.broken(error.message)) from exc
            except StreamError as exc:
                raise self._failed(exc) from exc.__cause__
            finally:
                self._close_answer()
            if pipeline.finished or not self._may_replay(pipeline, replays):
                self._finished(pipeline)
                return
            replays += 1  # the caller opted in: start the generation again

    def _open(self) -> ResponseStream:
        if self._planned is None:
            self._planned = self._plan()
        planned = self._planned
        self._started = self._client._now()
        request = self._client._post_request(planned.route, planned.body)
        answer = self._client._send(request, lambda answer, _: answer, stream=True)
        return self._new_pipeline(planned.route, answer)

    def _answer_bytes(self) -> Iterator[bytes]:
        assert self._answer is not None
        return self._answer.iter_bytes()

    def _close_answer(self) -> None:
        if self._answer is not None:
            self._answer.close()

    def close(self) -> None:
        """Close the connection; the stream keeps what it received."""
        self._closed = True
        if self._updates is not None:
            self._updates.close()
        self._close_answer()
