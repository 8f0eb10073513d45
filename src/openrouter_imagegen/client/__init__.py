"""Sync and async clients for OpenRouter's image generation (on httpx).

Both speak `POST /responses` and, for models that need it,
`POST /chat/completions`, whose images are normalised into the same
`Response` of `OutputImageGenerationCall`s.
"""

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
    StreamError,
)
from openrouter_imagegen.client._async import AsyncImageClient, AsyncImageStream
from openrouter_imagegen.client._base import DEFAULT_BASE_URL, StreamUpdate
from openrouter_imagegen.client._requests import chat_body, edit_body, generate_body
from openrouter_imagegen.client._retry import RetryPolicy
from openrouter_imagegen.client._sync import ImageClient, ImageStream

__all__ = [
    "DEFAULT_BASE_URL",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "InsufficientCreditsError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "StreamError",
    "AsyncImageClient",
    "AsyncImageStream",
    "ImageClient",
    "ImageStream",
    "RetryPolicy",
    "StreamUpdate",
    "chat_body",
    "edit_body",
    "generate_body",
]
