"""What the sync and async clients share: configuration, requests, parsing,
error mapping, and the sans-I/O core of a stream. The two clients add only
the I/O: sending, sleeping between retries, reading the body."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import httpx
import msgspec

from openrouter_imagegen._exceptions import (
    APIConnectionError,
    APIError,
    StreamError,
    ValidationError,
)
from openrouter_imagegen.client._chat import ChatChunkTranslator, response_from_chat
from openrouter_imagegen.client._retry import RetryPolicy, error_from_body
from openrouter_imagegen.models._base import decode_json
from openrouter_imagegen.models.events import Event, ImageGenCallPartialImageEvent
from openrouter_imagegen.models.operations import Response
from openrouter_imagegen.stream import EventDecoder, ResponseAccumulator

__all__ = ["DEFAULT_BASE_URL", "BaseClient", "BaseStream", "Endpoint", "StreamCore", "StreamUpdate"]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(180.0, connect=10.0)
Endpoint = Literal["responses", "chat"]
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
_Client = TypeVar("_Client", bound="BaseClient[Any]")
_PATHS: dict[str, str] = {"responses": "/responses", "chat": "/chat/completions"}


@dataclass(frozen=True, slots=True)
class StreamUpdate:
    """One step of a stream: the event, and the response snapshot after it.

    `partial_image` is the event itself when it carried a partial image, so
    `update.partial_image.image()` decodes the preview.
    """

    event: Event
    response: Response

    @property
    def partial_image(self) -> ImageGenCallPartialImageEvent | None:
        return self.event if isinstance(self.event, ImageGenCallPartialImageEvent) else None


class StreamCore:
    """Sans-I/O: the bytes of one streamed request in, `StreamUpdate`s out."""

    def __init__(self, endpoint: Endpoint, generation_id: str | None) -> None:
        self.decoder = EventDecoder(ChatChunkTranslator() if endpoint == "chat" else None)
        self.accumulator = ResponseAccumulator()
        self.generation_id = generation_id

    def feed(self, chunk: bytes) -> list[StreamUpdate]:
        return self._apply(self.decoder.feed, chunk)

    def end(self) -> list[StreamUpdate]:
        return self._apply(lambda _: self.decoder.end(), b"")

    @property
    def done(self) -> bool:
        return self.decoder.done

    @property
    def cut_short(self) -> bool:
        """True when the bytes ended before the stream's final event."""
        return not self.accumulator.finished

    def _apply(self, decode: Callable[[bytes], list[Event]], chunk: bytes) -> list[StreamUpdate]:
        try:
            return [StreamUpdate(event, self.accumulator.feed(event)) for event in decode(chunk)]
        except StreamError as exc:
            raise self._complete(exc) from exc.__cause__

    def finish(self) -> Response:
        try:
            return self.accumulator.finish()
        except StreamError as exc:
            raise self._complete(exc) from None

    def broken(self, cause: APIError) -> StreamError:
        """The error for a connection that failed mid-stream, with all received so far."""
        error = self.accumulator.error(
            f"the stream broke after {self.decoder.count} event(s): {cause.message}",
            status_code=cause.status_code,
        )
        return self._complete(error)

    def _complete(self, exc: StreamError) -> StreamError:
        if exc.response is None:
            exc.response = self.accumulator.response
        if not exc.partial_images:
            exc.partial_images = list(self.accumulator.partial_images)
        if exc.generation_id is None:
            exc.generation_id = self.generation_id
        return exc


class BaseStream(Generic[_Client]):
    """What `ImageStream` and `AsyncImageStream` share: the request and what arrived."""

    def __init__(
        self, client: _Client, endpoint: Endpoint, body: dict[str, Any], replay: bool
    ) -> None:
        self._client = client
        self._endpoint = endpoint
        self._body = body
        self._replay = replay
        self._response: httpx.Response | None = None
        self._core: StreamCore | None = None
        self._final: Response | None = None

    @property
    def snapshot(self) -> Response | None:
        """The response built so far."""
        return self._core.accumulator.response if self._core else None

    @property
    def generation_id(self) -> str | None:
        """The `X-Generation-Id` of the request, once it was answered."""
        return self._core.generation_id if self._core else None

    @property
    def partial_images(self) -> list[ImageGenCallPartialImageEvent]:
        """Every partial image received so far, in order."""
        return list(self._core.accumulator.partial_images) if self._core else []

    def _may_replay(self, replays: int) -> bool:
        return self._replay and replays < self._client.max_retries


class BaseClient(Generic[_Http]):
    """Configuration and request handling shared by `ImageClient` and `AsyncImageClient`."""

    _http: _Http

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        app_url: str | None = None,
        app_name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        retry_deadline: float = 600.0,
        retry_backoff: float = 0.5,
        default_headers: Mapping[str, str] | None = None,
        http_client: _Http | None = None,
    ) -> None:
        """Settings not given come from the environment or a default:

        - `api_key`: `OPENROUTER_API_KEY`; sent as a Bearer token, never shown.
        - `base_url`: `OPENROUTER_BASE_URL`, else `https://openrouter.ai/api/v1`.
        - `app_url`, `app_name`: OpenRouter's attribution headers (`HTTP-Referer`, `X-Title`).
        - `timeout`: seconds (or an `httpx.Timeout`); 180 s to read, 10 s to connect.
        - `max_retries`, `retry_deadline`, `retry_backoff`: see `RetryPolicy`.
        - `http_client`: your own httpx client (proxies, transports, hooks); you close it.
        """
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else self._new_http_client()
        self._api_key = api_key if api_key is not None else os.environ.get("OPENROUTER_API_KEY")
        self.base_url = (
            base_url or os.environ.get("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL
        ).rstrip("/")
        self.timeout = (
            DEFAULT_TIMEOUT
            if timeout is None
            else timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout)
        )
        self.retry = RetryPolicy(max_retries, backoff=retry_backoff, deadline=retry_deadline)
        headers = {"Content-Type": "application/json"}
        if app_url:
            headers["HTTP-Referer"] = app_url
        if app_name:
            headers["X-Title"] = app_name
        headers.update(default_headers or {})
        self._headers = headers

    def _new_http_client(self) -> _Http:
        raise NotImplementedError

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    def __repr__(self) -> str:
        # Never the key: only whether there is one.
        key = "set" if self._api_key else "none"
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_key={key})"

    def _fetch_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Options for the images layer's downloads: this client's transport and read timeout."""
        read = self.timeout.read
        return {"fetch": True, "http_client": self._http, "timeout": read or 30.0, **options}

    def _request(self, endpoint: Endpoint, body: dict[str, Any]) -> httpx.Request:
        headers = dict(self._headers)
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if body.get("stream"):
            headers["Accept"] = "text/event-stream"
        return self._http.build_request(
            "POST",
            self.base_url + _PATHS[endpoint],
            content=msgspec.json.encode(body),
            headers=headers,
            timeout=self.timeout,
        )

    @staticmethod
    def _parse(endpoint: Endpoint, response: httpx.Response) -> Response:
        """The body of a 2xx answer as a `Response`; an error carried in it raises."""
        content = response.content
        generation_id = response.headers.get("x-generation-id")
        try:
            body = decode_json(content)
        except ValidationError as exc:
            if exc.offset == len(content):  # cut short: a transport failure, worth a retry
                raise APIConnectionError(
                    f"the response body ended early, after {len(content):,} bytes",
                    generation_id=generation_id,
                ) from exc
            raise
        if (
            isinstance(body, dict)
            and "error" in body
            and "output" not in body
            and "choices" not in body
        ):
            raise error_from_body(
                body,
                status_code=None,
                generation_id=generation_id,
                fallback="the server answered with an error",
            )
        if endpoint == "chat":
            return response_from_chat(body)
        return Response.from_dict(body)
