"""openrouter-imagegen: generate images through OpenRouter and get them back as
typed, validated, saved files.

Only the exceptions load with the package; every other public name (the
models and msgspec behind them, images, stream, client) loads on first use,
so that importing the package, or a CLI that only prints its help, stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from openrouter_imagegen._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ImageDecodeError,
    ImageDownloadError,
    ImageError,
    ImagegenError,
    ImagegenWarning,
    ImageIsRemoteError,
    ImageSkippedWarning,
    ImageUnavailableError,
    InsufficientCreditsError,
    MediaTypeMismatchWarning,
    MissingDependencyError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    StreamError,
    StreamWarning,
    UnknownImageFormatError,
    ValidationError,
)

if TYPE_CHECKING:
    from openrouter_imagegen.client import AsyncImageClient, ImageClient
    from openrouter_imagegen.images import GeneratedImage, decode_result, save_images
    from openrouter_imagegen.models.events import Event, parse_event
    from openrouter_imagegen.models.operations import (
        OutputImageGenerationCall,
        OutputStatusEnum3,
        OutputTypeImageGenerationCall,
        Response,
        UnknownOutput,
        parse_response,
    )
    from openrouter_imagegen.stream import (
        ResponseAccumulator,
        SSEDecoder,
        accumulate,
        aiter_events,
        iter_events,
    )

__version__ = "0.1.0"

# name -> module it lives in, imported on first access.
_LAZY = {
    "OutputImageGenerationCall": "openrouter_imagegen.models.operations",
    "OutputStatusEnum3": "openrouter_imagegen.models.operations",
    "OutputTypeImageGenerationCall": "openrouter_imagegen.models.operations",
    "Response": "openrouter_imagegen.models.operations",
    "UnknownOutput": "openrouter_imagegen.models.operations",
    "parse_response": "openrouter_imagegen.models.operations",
    "ImageClient": "openrouter_imagegen.client",
    "AsyncImageClient": "openrouter_imagegen.client",
    "GeneratedImage": "openrouter_imagegen.images",
    "decode_result": "openrouter_imagegen.images",
    "save_images": "openrouter_imagegen.images",
    "Event": "openrouter_imagegen.models.events",
    "parse_event": "openrouter_imagegen.models.events",
    "ResponseAccumulator": "openrouter_imagegen.stream",
    "SSEDecoder": "openrouter_imagegen.stream",
    "accumulate": "openrouter_imagegen.stream",
    "aiter_events": "openrouter_imagegen.stream",
    "iter_events": "openrouter_imagegen.stream",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'openrouter_imagegen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncImageClient",
    "AuthenticationError",
    "BadRequestError",
    "Event",
    "GeneratedImage",
    "ImageClient",
    "ImageDecodeError",
    "ImageDownloadError",
    "ImageError",
    "ImageIsRemoteError",
    "ImageSkippedWarning",
    "ImageUnavailableError",
    "ImagegenError",
    "ImagegenWarning",
    "InsufficientCreditsError",
    "MediaTypeMismatchWarning",
    "MissingDependencyError",
    "NotFoundError",
    "OutputImageGenerationCall",
    "OutputStatusEnum3",
    "OutputTypeImageGenerationCall",
    "PermissionDeniedError",
    "RateLimitError",
    "Response",
    "ResponseAccumulator",
    "SSEDecoder",
    "ServerError",
    "StreamError",
    "StreamWarning",
    "UnknownImageFormatError",
    "UnknownOutput",
    "ValidationError",
    "__version__",
    "accumulate",
    "aiter_events",
    "decode_result",
    "iter_events",
    "parse_event",
    "parse_response",
    "save_images",
]
