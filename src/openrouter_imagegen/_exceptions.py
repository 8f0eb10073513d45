"""Every exception and warning the library raises, in one hierarchy.

```
ImagegenError
├── ValidationError (also ValueError)      bad JSON or a value of the wrong shape
│   ├── UnsupportedParameterError          a parameter the chosen model does not take
│   └── UnsupportedModelError              a model that cannot output images
├── ImageError
│   ├── ImageUnavailableError              a call with no result
│   ├── ImageSaveError (also OSError)      an image that could not be written
│   │   └── ImageExistsError (also FileExistsError)
│   └── MetadataError                      provenance that cannot be embedded or read
│       ├── ContentCredentialsError        the image is signed (C2PA): never modified
│       └── UnsupportedMetadataFormatError (also ValueError)
│   ├── ImageIsRemoteError                 the result is a URL and fetching was not asked for
│   ├── ImageDecodeError (also ValueError) invalid base64 or a malformed data URL
│   ├── UnknownImageFormatError (also ValueError)
│   └── ImageDownloadError                 fetching a remote result failed
├── MissingDependencyError (also ImportError)
└── APIError                               anything the server or the transport did wrong
    ├── BadRequestError 400, AuthenticationError 401, InsufficientCreditsError 402,
    │   PermissionDeniedError 403, NotFoundError 404, RequestTooLargeError 413,
    │   RateLimitError 429, ServerError 5xx (524 and 529 included)
    ├── APIConnectionError
    │   └── APITimeoutError
    ├── StreamError                        a stream that failed, broke or ended early
    └── NoImageError                       a generation that completed without an image
        ├── GenerationRefusedError         a refusal or a content filter (never retried)
        └── NoImageReturnedError           an empty or text-only answer
```

This module imports nothing heavy: the models layer raises from here, and
every later layer adds to it only by subclassing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openrouter_imagegen.models.events import ImageGenCallPartialImageEvent
    from openrouter_imagegen.models.operations import Response

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ImageDecodeError",
    "ImageDownloadError",
    "ImageError",
    "ImageIsRemoteError",
    "ImageSkippedWarning",
    "ContentCredentialsError",
    "ContentCredentialsWarning",
    "ImageExistsError",
    "ImageSaveError",
    "MetadataError",
    "UnsupportedMetadataFormatError",
    "GenerationRefusedError",
    "ImageUnavailableError",
    "ImagegenError",
    "ImagegenWarning",
    "InsufficientCreditsError",
    "MediaTypeMismatchWarning",
    "MissingDependencyError",
    "NoImageError",
    "NoImageReturnedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTooLargeError",
    "ServerError",
    "StreamError",
    "StreamWarning",
    "UnknownImageFormatError",
    "UnsupportedModelError",
    "UnsupportedParameterError",
    "ValidationError",
    "shorten",
]


def shorten(value: Any, limit: int = 80) -> str:
    """The repr of `value`, cut to about `limit` characters with its full length noted."""
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text):,} chars)"


class ImagegenError(Exception):
    """Base class of every error this library raises."""


class ValidationError(ImagegenError, ValueError):
    """Input that is not what the wire format allows.

    `path` is a JSON path such as `$.output[2].status` (None for malformed
    JSON); `offset` is the byte offset of malformed JSON (None otherwise).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        value: Any = None,
        expected: str | None = None,
        offset: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.value = value
        self.expected = expected
        self.offset = offset


class UnsupportedParameterError(ValidationError):
    """A parameter the chosen model does not support, or a value outside what it takes.

    Raised before any generation request is sent; `model`, `parameter` and
    `accepted` (a description of what the model takes, or None when it takes
    no such parameter) say which.
    """

    def __init__(
        self, message: str, *, model: str, parameter: str, value: Any, accepted: str | None
    ) -> None:
        super().__init__(message, path=parameter, value=value, expected=accepted or "absent")
        self.model = model
        self.parameter = parameter
        self.accepted = accepted


class UnsupportedModelError(ValidationError):
    """A model that cannot output images; `suggestions` are the closest image models."""

    def __init__(self, message: str, *, model: str, suggestions: list[str]) -> None:
        super().__init__(message, path="model", value=model, expected="an image model")
        self.model = model
        self.suggestions = suggestions


class ImageError(ImagegenError):
    """A call's result could not be turned into an image."""


class ImageUnavailableError(ImageError):
    """The call carries no image (failed, unfinished, or an empty result)."""

    def __init__(self, message: str, *, call_id: str | None, status: str | None) -> None:
        super().__init__(message)
        self.call_id = call_id
        self.status = status


class ImageIsRemoteError(ImageError):
    """The result is a URL; pass `fetch=True` to download it."""

    def __init__(self, message: str, *, url: str, call_id: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.call_id = call_id


class ImageDecodeError(ImageError, ValueError):
    """Invalid base64 or a malformed data URL; `offset` is the first bad character."""

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset


class UnknownImageFormatError(ImageError, ValueError):
    """The bytes are no image format this library recognises."""

    def __init__(self, message: str, *, head: bytes = b"") -> None:
        super().__init__(message)
        self.head = head


class ImageDownloadError(ImageError):
    """Downloading a remote result failed or was refused."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class ImageSaveError(ImageError, OSError):
    """An image could not be written where asked (`errno`, `filename` as in `OSError`)."""

    def __init__(self, message: str, *, errno: int | None = None, filename: str | None = None):
        ImageError.__init__(self, message)
        self.errno = errno
        self.strerror = message
        self.filename = filename

    def __str__(self) -> str:
        return str(self.args[0])


class ImageExistsError(ImageSaveError, FileExistsError):
    """The file exists and `overwrite` was not asked for."""


class MetadataError(ImageError):
    """Provenance metadata that cannot be embedded in, or read from, an image."""


class ContentCredentialsError(MetadataError):
    """The image carries C2PA content credentials: changing a byte would break them."""


class UnsupportedMetadataFormatError(MetadataError, ValueError):
    """Metadata cannot be embedded in this format (or is too large for it)."""


class MissingDependencyError(ImagegenError, ImportError):
    """An optional extra is needed for this feature."""

    def __init__(self, feature: str, extra: str, package: str) -> None:
        install = f"pip install 'openrouter-imagegen[{extra}]'"
        super().__init__(f"{feature} needs {package}; install it with: {install}")
        self.extra = extra


class APIError(ImagegenError):
    """The server answered with an error, or could not be reached.

    `body` is the parsed error body (`{"error": {"code", "message", ...}}` on
    OpenRouter), `code` and `message` come from it when present, and
    `generation_id` is the `X-Generation-Id` response header when sent.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        body: Any = None,
        code: Any = None,
        generation_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.body = body
        self.code = code
        self.generation_id = generation_id
        self.retry_after = retry_after  # the server's `Retry-After`, in seconds

    def __str__(self) -> str:
        prefix = f"{self.status_code}: " if self.status_code is not None else ""
        return prefix + self.message


class BadRequestError(APIError):
    """400: the request was malformed; OpenRouter's message says which field."""


class AuthenticationError(APIError):
    """401: missing or wrong API key."""


class InsufficientCreditsError(APIError):
    """402: no credits, a key limit reached, or a request over budget.

    With `retry_after` set it is temporary (OpenRouter's in-flight spending
    budget answers so) and is retried after that wait; without, it is final.
    """

    @property
    def temporary(self) -> bool:
        return self.retry_after is not None


class PermissionDeniedError(APIError):
    """403: the key may not do this (moderation, region, or key limits)."""


class NotFoundError(APIError):
    """404: unknown model or endpoint."""


class RequestTooLargeError(APIError):
    """413: the request (often its input images) is larger than the server takes."""


class RateLimitError(APIError):
    """429: `retry_after` holds the server's wait in seconds when it gave one."""


class ServerError(APIError):
    """5xx: the server or an upstream provider failed."""


class APIConnectionError(APIError):
    """The server could not be reached or dropped the connection.

    `request_sent` is False when the connection could not even be made (the
    server surely did not start anything), True when the request had gone
    out: a generation may then have run, and been billed, all the same.
    """

    def __init__(self, message: str, *, request_sent: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.request_sent = request_sent


class APITimeoutError(APIConnectionError):
    """The request took longer than its timeout."""


class StreamError(APIError):
    """A stream failed, broke, or ended before its final event.

    Nothing received is lost: `response` is the last snapshot built (None when
    no response event arrived) and `partial_images` every partial image event
    received, in order. `event_index` and `offset` locate the problem in the
    stream when it was one of framing or JSON.
    """

    def __init__(
        self,
        message: str,
        *,
        response: Response | None = None,
        partial_images: list[ImageGenCallPartialImageEvent] | None = None,
        event_index: int | None = None,
        offset: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.response = response
        self.partial_images = partial_images if partial_images is not None else []
        self.event_index = event_index
        self.offset = offset


class NoImageError(APIError):
    """A generation that completed without any of the images asked for.

    `response` is what came back (its text in `text`), `partial_images` any
    previews a stream delivered, `finish_reason` and `native_finish_reason`
    why the model stopped (the provider's own words in the latter), and
    `images_returned` of `images_requested` how many images came back.
    `allow_no_image=True` returns the response instead of raising.
    """

    def __init__(
        self,
        message: str,
        *,
        response: Response,
        partial_images: list[ImageGenCallPartialImageEvent] | None = None,
        finish_reason: str | None = None,
        native_finish_reason: str | None = None,
        text: str = "",
        images_requested: int = 1,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.response = response
        self.partial_images = partial_images if partial_images is not None else []
        self.finish_reason = finish_reason
        self.native_finish_reason = native_finish_reason
        self.text = text
        self.images_returned = 0
        self.images_requested = images_requested


class GenerationRefusedError(NoImageError):
    """The model refused, or a content filter stopped it: asking again will not help."""


class NoImageReturnedError(NoImageError):
    """The answer held no image: empty, or text where an image was asked for."""


class ImagegenWarning(UserWarning):
    """Base class of every warning this library emits."""


class MediaTypeMismatchWarning(ImagegenWarning):
    """A data URL claimed one media type but the bytes are another."""


class ImageSkippedWarning(ImagegenWarning):
    """A call without an image was skipped by `Response.images()` or `save_images`."""


class ContentCredentialsWarning(ImagegenWarning):
    """An image carries C2PA content credentials: saved unchanged, its provenance in a sidecar."""


class StreamWarning(ImagegenWarning):
    """Something odd but recoverable in a stream (a repeated event, a late correction)."""
