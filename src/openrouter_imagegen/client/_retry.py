"""HTTP errors to typed exceptions, and when and how long to wait before retrying."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

import httpx
import msgspec

from openrouter_imagegen._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
)

__all__ = [
    "Attempts",
    "RetryPolicy",
    "error_from_body",
    "error_from_response",
    "error_from_transport",
]

RETRY_AFTER_CAP = 60.0
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: RequestTooLargeError,
    429: RateLimitError,
}


def _error_class(status: int | None) -> type[APIError]:
    if status is None:
        return APIError
    if status >= 500:
        return ServerError
    return _STATUS_ERRORS.get(status, APIError)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` in seconds (a number or an HTTP date), capped at 60 s."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), RETRY_AFTER_CAP)


def error_from_body(
    body: Any,
    *,
    status_code: int | None,
    generation_id: str | None = None,
    retry_after: float | None = None,
    fallback: str = "",
) -> APIError:
    """The exception for an error body `{"error": {"code", "message", "metadata"?}}`.

    The HTTP status decides the class; for errors reported inside a 200 body
    or a stream, the body's numeric `code` does.
    """
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = fallback or f"HTTP {status_code}"
    status = status_code
    if status is None or status < 400:
        status = code if isinstance(code, int) and 400 <= code <= 599 else None
    return _error_class(status)(
        message,
        status_code=status,
        body=body,
        code=code,
        generation_id=generation_id,
        retry_after=retry_after,
    )


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for an HTTP error response whose body has been read."""
    content = response.content
    try:
        body: Any = msgspec.json.decode(content) if content else None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        body = None
    text = content[:300].decode("utf-8", "replace").strip()
    return error_from_body(
        body,
        status_code=response.status_code,
        generation_id=response.headers.get("x-generation-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        fallback=text or response.reason_phrase,
    )


# Failures before the request went out: the server cannot have started anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def error_from_transport(
    exc: httpx.TransportError, url: str, *, generation_id: str | None = None
) -> APIConnectionError:
    """The exception for a request that never got a whole response.

    `url` is shown without its credentials or query string.
    """
    from openrouter_imagegen.images import display_url

    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    what = "timed out" if cls is APITimeoutError else "failed"
    detail = str(exc) or type(exc).__name__
    sent = not isinstance(exc, _NOT_SENT)
    return cls(
        f"request to {display_url(url)} {what}: {detail}",
        request_sent=sent,
        generation_id=generation_id,
    )


class RetryPolicy:
    """Which failures to retry and how long to wait: exponential backoff with
    jitter, `Retry-After` honoured (capped at 60 s), at most `max_retries`
    retries and never past `deadline` seconds after the first attempt.

    A generation is paid for once it starts, and OpenRouter has no
    idempotency keys, so a generation request is retried only where the
    server surely did not start it: the connection could not be made, or the
    server answered with a retryable status (408, 409, 429, a 402 with
    `Retry-After`, 5xx; OpenRouter answers with an error status only when
    the generation did not run). A timeout or a broken connection after the
    request went out is raised, unless `retry_unsafe=True`.
    """

    def __init__(
        self,
        max_retries: int = 2,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        deadline: float = 600.0,
        retry_unsafe: bool = False,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.deadline = deadline
        self.retry_unsafe = retry_unsafe

    def retryable(self, exc: APIError, *, generation: bool = True) -> bool:
        """Whether another attempt may help, and cannot bill a generation twice."""
        if isinstance(exc, APIConnectionError):
            return not (generation and exc.request_sent) or self.retry_unsafe
        status = exc.status_code
        if status == 402:
            return exc.retry_after is not None  # the in-flight budget: temporary
        return status is not None and (status in _RETRYABLE_STATUS or status >= 500)

    def delay(
        self, exc: APIError, retries_done: int, started: float, *, generation: bool = True
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise `exc`."""
        if retries_done >= self.max_retries or not self.retryable(exc, generation=generation):
            return None
        wait = exc.retry_after
        if wait is None:
            ceiling = min(self.max_backoff, self.backoff * 2**retries_done)
            wait = ceiling / 2 + random.uniform(0, ceiling / 2)
        if time.monotonic() + wait - started > self.deadline:
            return None
        return float(wait)

    def attempts(self, *, generation: bool = True) -> Attempts:
        """The state of one request's attempts (a client makes one per request)."""
        return Attempts(self, generation)


class Attempts:
    """One request's attempts so far: ask `after(error)` how long to wait, or None to raise."""

    def __init__(self, policy: RetryPolicy, generation: bool) -> None:
        self._policy = policy
        self._generation = generation
        self._started = time.monotonic()
        self._retries = 0

    def after(self, error: APIError) -> float | None:
        delay = self._policy.delay(error, self._retries, self._started, generation=self._generation)
        if delay is None:
            _note_billing(error, self._generation)
        else:
            self._retries += 1
        return delay


def _note_billing(error: APIError, generation: bool) -> None:
    """Say, on the error that ends a generation, that it may have been paid for."""
    if generation and isinstance(error, APIConnectionError) and error.request_sent:
        note = (
            " (the request had been sent: the generation may have run and been billed; "
            "it was not retried automatically, see retry_unsafe)"
        )
        if note not in error.message:
            error.message += note
            error.args = (error.message,)
