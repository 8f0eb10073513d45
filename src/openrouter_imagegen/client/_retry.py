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
    ServerError,
)

__all__ = ["RetryPolicy", "error_from_body", "error_from_response", "error_from_transport"]

RETRY_AFTER_CAP = 60.0
_RETRYABLE_STATUS = frozenset({408, 409, 429})
_STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
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
    cls = _error_class(status)
    kwargs: dict[str, Any] = {
        "status_code": status,
        "body": body,
        "code": code,
        "generation_id": generation_id,
    }
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, **kwargs)
    return cls(message, **kwargs)


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for an HTTP error response whose body has been read."""
    content = response.content
    try:
        body: Any = msgspec.json.decode(content) if content else None
    except (msgspec.DecodeError, UnicodeDecodeError):
        body = None
    text = content[:300].decode("utf-8", "replace").strip()
    return error_from_body(
        body,
        status_code=response.status_code,
        generation_id=response.headers.get("x-generation-id"),
        retry_after=parse_retry_after(response.headers.get("retry-after")),
        fallback=text or response.reason_phrase,
    )


def error_from_transport(exc: httpx.TransportError, url: str) -> APIConnectionError:
    """The exception for a request that never got a whole response."""
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    what = "timed out" if cls is APITimeoutError else "failed"
    detail = str(exc) or type(exc).__name__
    return cls(f"request to {url} {what}: {detail}")


class RetryPolicy:
    """Which failures to retry and how long to wait: exponential backoff with
    jitter, `Retry-After` honoured (capped at 60 s), at most `max_retries`
    retries and never past `deadline` seconds after the first attempt."""

    def __init__(
        self,
        max_retries: int = 2,
        *,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
        deadline: float = 600.0,
    ) -> None:
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.deadline = deadline

    @staticmethod
    def retryable(exc: APIError) -> bool:
        if isinstance(exc, APIConnectionError):
            return True
        status = exc.status_code
        return status is not None and (status in _RETRYABLE_STATUS or status >= 500)

    def delay(self, exc: APIError, retries_done: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up and raise `exc`."""
        if retries_done >= self.max_retries or not self.retryable(exc):
            return None
        wait = getattr(exc, "retry_after", None)
        if wait is None:
            ceiling = min(self.max_backoff, self.backoff * 2**retries_done)
            wait = ceiling / 2 + random.uniform(0, ceiling / 2)
        if time.monotonic() + wait - started > self.deadline:
            return None
        return float(wait)
