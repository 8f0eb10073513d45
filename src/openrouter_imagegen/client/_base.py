"""What the sync and async clients share: configuration, requests, parsing,
and the state of a stream. The clients themselves (`_async.py`, and `_sync.py`
generated from it) add only the I/O: sending, sleeping between attempts,
reading bodies."""

from __future__ import annotations

import ipaddress
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import msgspec

from openrouter_imagegen._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    NoImageError,
    StreamError,
    ValidationError,
)
from openrouter_imagegen.client._catalogue import Cache
from openrouter_imagegen.client._options import GenerationOptions
from openrouter_imagegen.client._outcome import no_image_error
from openrouter_imagegen.client._retry import RetryPolicy, error_from_body
from openrouter_imagegen.images import address_problem, display_url
from openrouter_imagegen.models._base import decode_json
from openrouter_imagegen.models.chat_models import ChatModel
from openrouter_imagegen.models.events import ImageGenCallPartialImageEvent
from openrouter_imagegen.models.images import ImageModel, ImageModelEndpoints
from openrouter_imagegen.models.operations import Response
from openrouter_imagegen.models.routes import ROUTE_PATHS, Route, error_of_body, response_from_body
from openrouter_imagegen.stream import ResponseStream

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "BaseClient", "BaseStream"]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# Slow models take minutes at high quality: reading may wait long; connecting may not.
DEFAULT_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
_Http = TypeVar("_Http", httpx.Client, httpx.AsyncClient)
_Client = TypeVar("_Client", bound="BaseClient[Any]")
_Error = TypeVar("_Error", bound=APIError)


def _checked_key(key: str | None) -> str | None:
    """The key without surrounding whitespace; one no header can carry is refused.

    The message says where the bad character is, never what the key is: the
    HTTP layer would otherwise quote the whole header value in its error.
    """
    key = key.strip() if key else None
    for position, char in enumerate(key or ""):
        if not " " <= char <= "~":
            kind = "a control character" if char.isascii() else "a non-ASCII character"
            raise ValidationError(
                f"api_key: character {position + 1} of {len(key or '')} is {kind} "
                f"(U+{ord(char):04X}); an API key is printable ASCII",
                path="api_key",
                expected="printable ASCII",
            )
    return key or None


def _checked_base_url(base_url: str) -> str:
    """`base_url` without a trailing slash, once httpx can parse it as an http(s) URL."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        # httpx's message names the bad character or part, not the URL's credentials.
        raise ValidationError(
            f"base_url: not a valid URL ({exc})", path="base_url", expected="an http(s) URL"
        ) from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValidationError(
            f"base_url: expected an http(s) URL with a host, got {display_url(base_url)!r}",
            path="base_url",
            expected="an http(s) URL",
        )
    if url.userinfo:
        logging.getLogger("httpx").addFilter(_MASK_URL_CREDENTIALS)
    return base_url.rstrip("/")


def _is_private_host(host: str) -> bool:
    """Whether `host` is this machine or a private network, by the downloads' own rule."""
    if host == "localhost":
        return True
    try:
        return address_problem(ipaddress.ip_address(host)) is not None
    except ValueError:  # a name: public, as far as can be told without resolving it
        return False


class _MaskUrlCredentials(logging.Filter):
    """Hides the credentials of URLs in httpx's log records ("HTTP Request: POST <url> ...")."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, httpx.URL) and arg.userinfo for arg in record.args
        ):
            record.args = tuple(
                display_url(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


_MASK_URL_CREDENTIALS = _MaskUrlCredentials()


@dataclass(frozen=True, slots=True)
class Planned:
    """A generation ready to send: where, what, and the record its result keeps."""

    route: Route
    body: dict[str, Any]
    record: dict[str, Any]  # becomes the result's `Response.generation_request`

    @property
    def requested(self) -> int:
        """How many images were asked for."""
        n = self.record["options"].get("n")
        return n if isinstance(n, int) else 1

    def result(
        self,
        response: Response,
        *,
        allow_no_image: bool,
        partial_images: list[ImageGenCallPartialImageEvent] | None = None,
    ) -> Response:
        """`response`, knowing what was asked for; `NoImageError` when it completed
        without any image, unless `allow_no_image`."""
        response.generation_request = self.record
        if not allow_no_image:
            error = no_image_error(
                response, requested=self.requested, partial_images=partial_images
            )
            if error is not None:
                raise error
        return response


def plan_of(
    route: Route, body: dict[str, Any], prompt: str, model: str, options: GenerationOptions
) -> Planned:
    """`Planned`, with a JSON record of the request (reference images by count only)."""
    recorded: dict[str, Any] = {k: v for k, v in options.items() if k != "input_references"}
    references = options.get("input_references")
    if references:
        recorded["input_references"] = len(references)
    record = {"prompt": prompt, "model": model, "route": route, "options": recorded}
    return Planned(route, body, record)


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
        total_timeout: float | None = None,
        max_retries: int = 2,
        retry_deadline: float = 600.0,
        retry_backoff: float = 0.5,
        retry_unsafe: bool = False,
        catalogue_ttl: float = 3600.0,
        default_headers: Mapping[str, str] | None = None,
        http_client: _Http | None = None,
    ) -> None:
        """Settings not given come from the environment or a default:

        - `api_key`: `OPENROUTER_API_KEY`; sent as a Bearer token, never shown.
          Surrounding whitespace (a CRLF `.env` file's `\\r`) is stripped; a key
          with other control or non-ASCII characters raises `ValidationError`.
        - `base_url`: `OPENROUTER_BASE_URL`, else `https://openrouter.ai/api/v1`.
          Credentials in it (`https://user:pass@host`) are used, never shown.
        - `app_url`, `app_name`: OpenRouter's attribution headers (`HTTP-Referer`, `X-Title`).
        - `timeout`: seconds (or an `httpx.Timeout`); 300 s to read, 10 s to connect.
        - `total_timeout`: seconds one request may take in all, however slowly
          its answer trickles in (None: no such bound, only `timeout`'s per read).
        - `max_retries`, `retry_deadline`, `retry_backoff`, `retry_unsafe`: see
          `RetryPolicy`. A generation is retried only where the server surely
          did not start it, unless `retry_unsafe=True` (which may pay twice).
        - `catalogue_ttl`: seconds the model catalogues are kept before they are
          asked for again (they decide routes and checks before each generation).
        - `http_client`: your own httpx client (proxies, transports, hooks); you close it.
        """
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else self._new_http_client()
        self._api_key = _checked_key(
            api_key if api_key is not None else os.environ.get("OPENROUTER_API_KEY")
        )
        # Requests use the URL as given; messages and reprs never show its credentials.
        self.base_url = _checked_base_url(
            base_url or os.environ.get("OPENROUTER_BASE_URL") or DEFAULT_BASE_URL
        )
        self._shown_base_url = display_url(self.base_url)
        self._private_server = _is_private_host(httpx.URL(self.base_url).host)
        self.timeout = (
            DEFAULT_TIMEOUT
            if timeout is None
            else timeout
            if isinstance(timeout, httpx.Timeout)
            else httpx.Timeout(timeout)
        )
        self.total_timeout = total_timeout
        self.retry = RetryPolicy(
            max_retries, backoff=retry_backoff, deadline=retry_deadline, retry_unsafe=retry_unsafe
        )
        headers = {"Content-Type": "application/json"}
        if app_url:
            headers["HTTP-Referer"] = app_url
        if app_name:
            headers["X-Title"] = app_name
        headers.update(default_headers or {})
        self._headers = headers
        self._image_models: Cache[list[ImageModel] | None] = Cache(catalogue_ttl)
        self._chat_models: Cache[list[ChatModel] | None] = Cache(catalogue_ttl)
        self._endpoints: Cache[ImageModelEndpoints] = Cache(catalogue_ttl)

    def _new_http_client(self) -> _Http:
        raise NotImplementedError

    @property
    def max_retries(self) -> int:
        return self.retry.max_retries

    def __repr__(self) -> str:
        # Never the key: only whether there is one.
        key = "set" if self._api_key else "none"
        return f"{type(self).__name__}(base_url={self._shown_base_url!r}, api_key={key})"

    def _download_options(self) -> dict[str, Any]:
        """The images layer's downloads go through this client's transport and read timeout.

        A client pointed at a server on this machine or a private network (the
        emulator, a gateway of your own) trusts result URLs there, and over
        http when that is how it talks to the server itself.
        """
        return {
            "fetch": True,
            "http_client": self._http,
            "timeout": self.timeout.read or 30.0,
            "allow_private_hosts": self._private_server,
            "allow_http": self._private_server and self.base_url.startswith("http:"),
        }

    def _headers_for(self, *, stream: bool = False) -> dict[str, str]:
        headers = dict(self._headers)
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if stream:
            headers["Accept"] = "text/event-stream"
        return headers

    def _post_request(self, route: Route, body: dict[str, Any]) -> httpx.Request:
        return self._http.build_request(
            "POST",
            self.base_url + ROUTE_PATHS[route],
            content=msgspec.json.encode(body),
            headers=self._headers_for(stream=bool(body.get("stream"))),
            timeout=self.timeout,
        )

    def _get_request(self, path: str, params: Mapping[str, str] | None = None) -> httpx.Request:
        headers = self._headers_for()
        del headers["Content-Type"]
        return self._http.build_request(
            "GET", self.base_url + path, params=params, headers=headers, timeout=self.timeout
        )

    @staticmethod
    def _endpoints_path(model: str) -> str:
        author, slash, slug = model.partition("/")
        if not slash or not author or not slug or "/" in slug:
            raise ValidationError(
                f"model must be 'author/slug', got {model!r}",
                path="model",
                value=model,
                expected="author/slug",
            )
        return f"/images/models/{quote(author, safe='')}/{quote(slug, safe='')}/endpoints"

    @staticmethod
    def _now() -> float:
        return time.monotonic()

    def _check_deadline(self, started: float, answer: httpx.Response | None) -> None:
        """Raise `APITimeoutError` once a request has run past `total_timeout`."""
        if self.total_timeout is None or self._now() - started <= self.total_timeout:
            return
        generation_id = answer.headers.get("x-generation-id") if answer is not None else None
        raise APITimeoutError(
            f"the request took longer than total_timeout={self.total_timeout:g} s",
            generation_id=generation_id,
        )

    @staticmethod
    def _parse(route: Route, response: httpx.Response, content: bytes) -> Response:
        """The body of a 2xx answer as a `Response`; an error carried in it raises."""
        generation_id = response.headers.get("x-generation-id")
        try:
            body = decode_json(content)
        except ValidationError as exc:
            if exc.offset == len(content):  # cut short: the transport failed, not the server
                raise APIConnectionError(
                    f"the response body ended early, after {len(content):,} bytes",
                    generation_id=generation_id,
                ) from exc
            raise
        if error_of_body(body) is not None:
            raise error_from_body(
                body,
                status_code=None,
                generation_id=generation_id,
                fallback="the server answered with an error",
            )
        return response_from_body(route, body, generation_id=generation_id)


class BaseStream(Generic[_Client]):
    """What `ImageStream` and `AsyncImageStream` share: the request and what arrived.

    One stream object is one request: iterating it twice, or asking for
    `final_response()` after a `break`, goes on reading the same answer.
    """

    def __init__(
        self, client: _Client, plan: Any, *, replay_on_failure: bool, allow_no_image: bool
    ) -> None:
        self._client = client
        self._plan = plan  # makes the `Planned` request once, when the stream is first read
        self._planned: Planned | None = None
        self._allow_no_image = allow_no_image
        self._started = 0.0  # when the request went out (for `total_timeout`)
        self._replay_on_failure = replay_on_failure
        self._answer: httpx.Response | None = None
        self._pipeline: ResponseStream | None = None
        self._final: Response | None = None
        self._error: APIError | None = None
        self._closed = False

    @property
    def route(self) -> Route | None:
        """The API this stream's request goes to, once it was chosen."""
        return self._planned.route if self._planned else None

    @property
    def snapshot(self) -> Response | None:
        """The response built so far."""
        return self._pipeline.snapshot if self._pipeline else None

    @property
    def generation_id(self) -> str | None:
        """The `X-Generation-Id` of the request, once it was answered."""
        return self._pipeline.generation_id if self._pipeline else None

    @property
    def partial_images(self) -> list[ImageGenCallPartialImageEvent]:
        """Every partial image received so far, in order."""
        return list(self._pipeline.partial_images) if self._pipeline else []

    def _new_pipeline(self, route: Route, answer: httpx.Response) -> ResponseStream:
        self._answer = answer
        self._pipeline = ResponseStream(
            route,
            generation_id=answer.headers.get("x-generation-id"),
            content_type=answer.headers.get("content-type"),
        )
        return self._pipeline

    def _may_replay(self, pipeline: ResponseStream, replays: int) -> bool:
        return (
            self._replay_on_failure and pipeline.replayable and replays < self._client.max_retries
        )

    def _failed(self, error: _Error) -> _Error:
        self._error = error
        return error

    def _finished(self, pipeline: ResponseStream) -> Response:
        """The final response, or the error of one that completed without an image."""
        assert self._planned is not None  # a stream finishes only once it was sent
        try:
            final = self._planned.result(
                pipeline.finish(),
                allow_no_image=self._allow_no_image,
                partial_images=list(pipeline.partial_images),
            )
        except (StreamError, NoImageError) as exc:
            raise self._failed(exc) from None
        self._final = final
        return final

    def _outcome(self) -> Response:
        """The final response, or the error that ended the stream."""
        if self._final is not None:
            return self._final
        if self._error is not None:
            raise self._error
        pipeline = self._pipeline
        message = "the stream was closed before it finished"
        if pipeline is None:
            raise StreamError(message)
        raise self._failed(pipeline.broken("it was closed before its final event"))
