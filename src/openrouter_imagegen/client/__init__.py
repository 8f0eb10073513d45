"""Sync and async clients for OpenRouter's image generation (on httpx).

They speak OpenRouter's three image routes, the Image API (`POST /images`),
chat completions and the Responses API, and return every route's images as
the same `Response` of `OutputImageGenerationCall`s. `AsyncImageClient` is
written by hand; `ImageClient` is generated from it, method for method.
"""

from openrouter_imagegen._exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    GenerationRefusedError,
    InsufficientCreditsError,
    NoImageError,
    NoImageReturnedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
    StreamError,
    UnsupportedModelError,
    UnsupportedParameterError,
)
from openrouter_imagegen._public import publish
from openrouter_imagegen.client._async import AsyncImageClient, AsyncImageStream
from openrouter_imagegen.client._base import DEFAULT_BASE_URL, DEFAULT_TIMEOUT
from openrouter_imagegen.client._catalogue import CostEstimate
from openrouter_imagegen.client._options import (
    IMAGE_API_OPTIONS,
    Endpoint,
    GenerationOptions,
    ImageInput,
    ProviderPreferences,
)
from openrouter_imagegen.client._pool import ShardedTransport
from openrouter_imagegen.client._requests import generation_body
from openrouter_imagegen.client._retry import RetryPolicy
from openrouter_imagegen.client._sync import ImageClient, ImageStream
from openrouter_imagegen.stream import StreamUpdate

__all__ = [
    "DEFAULT_BASE_URL",
    "IMAGE_API_OPTIONS",
    "DEFAULT_TIMEOUT",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AsyncImageClient",
    "AsyncImageStream",
    "AuthenticationError",
    "BadRequestError",
    "CostEstimate",
    "Endpoint",
    "GenerationOptions",
    "GenerationRefusedError",
    "ImageClient",
    "ImageInput",
    "ImageStream",
    "InsufficientCreditsError",
    "NoImageError",
    "NoImageReturnedError",
    "NotFoundError",
    "PermissionDeniedError",
    "ProviderPreferences",
    "RateLimitError",
    "RequestTooLargeError",
    "RetryPolicy",
    "ServerError",
    "ShardedTransport",
    "StreamError",
    "StreamUpdate",
    "UnsupportedModelError",
    "UnsupportedParameterError",
    "generation_body",
]

publish(globals(), __all__, __name__)
