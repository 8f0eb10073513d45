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
    ContentCredentialsError,
    ContentCredentialsWarning,
    GenerationRefusedError,
    ImageDecodeError,
    ImageDownloadError,
    ImageError,
    ImageExistsError,
    ImagegenError,
    ImagegenWarning,
    ImageIsRemoteError,
    ImageSaveError,
    ImageSkippedWarning,
    ImageUnavailableError,
    InsufficientCreditsError,
    MediaTypeMismatchWarning,
    MetadataError,
    MissingDependencyError,
    NoImageError,
    NoImageReturnedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestTooLargeError,
    ServerError,
    StreamError,
    StreamWarning,
    UnknownImageFormatError,
    UnsupportedMetadataFormatError,
    UnsupportedModelError,
    UnsupportedParameterError,
    ValidationError,
)
from openrouter_imagegen._public import publish

if TYPE_CHECKING:
    from openrouter_imagegen.cli import compare_models
    from openrouter_imagegen.client import (
        AsyncImageClient,
        AsyncImageStream,
        CostEstimate,
        Endpoint,
        GenerationOptions,
        ImageClient,
        ImageStream,
        ProviderPreferences,
        RetryPolicy,
    )
    from openrouter_imagegen.gallery import write_gallery
    from openrouter_imagegen.images import (
        DownloadOptions,
        GeneratedImage,
        ImageMetadata,
        adecode_result,
        decode_result,
        read_metadata,
        save_all,
        save_images,
    )
    from openrouter_imagegen.models.chat_models import ChatModel
    from openrouter_imagegen.models.events import (
        Event,
        ImageGenCallPartialImageEvent,
        UnknownEvent,
        parse_event,
    )
    from openrouter_imagegen.models.images import (
        ImageEndpoint,
        ImageModel,
        ImageModelEndpoints,
        ImagePricingEntry,
    )
    from openrouter_imagegen.models.operations import (
        Output,
        OutputImageGenerationCall,
        OutputImageGenerationServerTool,
        OutputStatusEnum3,
        OutputTypeImageGenerationCall,
        Response,
        ResponseUsage,
        UnknownOutput,
        parse_response,
    )
    from openrouter_imagegen.models.routes import Route
    from openrouter_imagegen.stream import (
        ResponseAccumulator,
        ResponseStream,
        ServerSentEvent,
        SSEDecoder,
        StreamUpdate,
        aaccumulate,
        accumulate,
        aiter_events,
        capture_stream,
        iter_events,
        read_capture,
    )

__version__ = "0.1.0"

# The one table of what loads on first use: public name -> the module it comes from.
_LAZY = {
    "Output": "openrouter_imagegen.models.operations",
    "OutputImageGenerationCall": "openrouter_imagegen.models.operations",
    "OutputImageGenerationServerTool": "openrouter_imagegen.models.operations",
    "OutputStatusEnum3": "openrouter_imagegen.models.operations",
    "OutputTypeImageGenerationCall": "openrouter_imagegen.models.operations",
    "Response": "openrouter_imagegen.models.operations",
    "ResponseUsage": "openrouter_imagegen.models.operations",
    "UnknownOutput": "openrouter_imagegen.models.operations",
    "parse_response": "openrouter_imagegen.models.operations",
    "Event": "openrouter_imagegen.models.events",
    "ImageGenCallPartialImageEvent": "openrouter_imagegen.models.events",
    "UnknownEvent": "openrouter_imagegen.models.events",
    "parse_event": "openrouter_imagegen.models.events",
    "Route": "openrouter_imagegen.models.routes",
    "ChatModel": "openrouter_imagegen.models.chat_models",
    "ImageEndpoint": "openrouter_imagegen.models.images",
    "ImageModel": "openrouter_imagegen.models.images",
    "ImageModelEndpoints": "openrouter_imagegen.models.images",
    "ImagePricingEntry": "openrouter_imagegen.models.images",
    "CostEstimate": "openrouter_imagegen.client",
    "AsyncImageClient": "openrouter_imagegen.client",
    "AsyncImageStream": "openrouter_imagegen.client",
    "Endpoint": "openrouter_imagegen.client",
    "GenerationOptions": "openrouter_imagegen.client",
    "ImageClient": "openrouter_imagegen.client",
    "ImageStream": "openrouter_imagegen.client",
    "ProviderPreferences": "openrouter_imagegen.client",
    "RetryPolicy": "openrouter_imagegen.client",
    "DownloadOptions": "openrouter_imagegen.images",
    "GeneratedImage": "openrouter_imagegen.images",
    "ImageMetadata": "openrouter_imagegen.images",
    "read_metadata": "openrouter_imagegen.images",
    "write_gallery": "openrouter_imagegen.gallery",
    "compare_models": "openrouter_imagegen.cli",
    "adecode_result": "openrouter_imagegen.images",
    "decode_result": "openrouter_imagegen.images",
    "save_all": "openrouter_imagegen.images",
    "save_images": "openrouter_imagegen.images",
    "ResponseAccumulator": "openrouter_imagegen.stream",
    "ResponseStream": "openrouter_imagegen.stream",
    "SSEDecoder": "openrouter_imagegen.stream",
    "ServerSentEvent": "openrouter_imagegen.stream",
    "StreamUpdate": "openrouter_imagegen.stream",
    "aaccumulate": "openrouter_imagegen.stream",
    "accumulate": "openrouter_imagegen.stream",
    "aiter_events": "openrouter_imagegen.stream",
    "iter_events": "openrouter_imagegen.stream",
    "read_capture": "openrouter_imagegen.stream",
    "capture_stream": "openrouter_imagegen.stream",
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
    "AsyncImageStream",
    "AuthenticationError",
    "BadRequestError",
    "ChatModel",
    "ContentCredentialsError",
    "ContentCredentialsWarning",
    "CostEstimate",
    "DownloadOptions",
    "Endpoint",
    "Event",
    "GeneratedImage",
    "GenerationOptions",
    "GenerationRefusedError",
    "ImageClient",
    "ImageDecodeError",
    "ImageDownloadError",
    "ImageEndpoint",
    "ImageError",
    "ImageExistsError",
    "ImageGenCallPartialImageEvent",
    "ImageIsRemoteError",
    "ImageMetadata",
    "ImageModel",
    "ImageModelEndpoints",
    "ImagePricingEntry",
    "ImageSaveError",
    "ImageSkippedWarning",
    "ImageStream",
    "ImageUnavailableError",
    "ImagegenError",
    "ImagegenWarning",
    "InsufficientCreditsError",
    "MediaTypeMismatchWarning",
    "MetadataError",
    "MissingDependencyError",
    "NoImageError",
    "NoImageReturnedError",
    "NotFoundError",
    "Output",
    "OutputImageGenerationCall",
    "OutputImageGenerationServerTool",
    "OutputStatusEnum3",
    "OutputTypeImageGenerationCall",
    "PermissionDeniedError",
    "ProviderPreferences",
    "RateLimitError",
    "RequestTooLargeError",
    "Response",
    "ResponseAccumulator",
    "ResponseStream",
    "ResponseUsage",
    "RetryPolicy",
    "Route",
    "SSEDecoder",
    "ServerError",
    "ServerSentEvent",
    "StreamError",
    "StreamUpdate",
    "StreamWarning",
    "UnknownEvent",
    "UnknownImageFormatError",
    "UnknownOutput",
    "UnsupportedMetadataFormatError",
    "UnsupportedModelError",
    "UnsupportedParameterError",
    "ValidationError",
    "__version__",
    "aaccumulate",
    "accumulate",
    "adecode_result",
    "aiter_events",
    "capture_stream",
    "compare_models",
    "decode_result",
    "iter_events",
    "parse_event",
    "parse_response",
    "read_capture",
    "read_metadata",
    "save_all",
    "save_images",
    "write_gallery",
]

# The exceptions are defined in a private module; they report this package as theirs.
publish(globals(), __all__, __name__)
