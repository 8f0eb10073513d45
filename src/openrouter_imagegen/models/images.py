"""OpenRouter's Image API (`/images`): its request, response, stream events and catalogue.

Names follow the schemas of OpenRouter's OpenAPI document. Values the spec
lists as enums (aspect ratios, qualities, billables, modalities) are plain
strings here, so that a value the API adds later never stops a body from
parsing; unknown stream event kinds and capability descriptor kinds are kept
whole, like unknown output items in the Responses API.

`response_from_image_generation` turns an Image API body into the same
`Response` of `OutputImageGenerationCall`s every other route gives.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import msgspec

from openrouter_imagegen.models._base import (
    Converter,
    KeptWhole,
    OpenUnion,
    WireModel,
    decode_json,
    validation_error,
)
from openrouter_imagegen.models.operations import (
    Output,
    OutputImageGenerationCall,
    OutputStatusEnum3,
    Response,
    ResponseStatus,
    ResponseUsage,
)

__all__ = [
    "BooleanParameter",
    "EnumParameter",
    "ImageData",
    "ImageEndpoint",
    "ImageGenCompletedEvent",
    "ImageGenPartialImageEvent",
    "ImageGenStreamError",
    "ImageGenStreamErrorEvent",
    "ImageGenTextChunkEvent",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageGenerationUsage",
    "ImageInputReference",
    "ImageModel",
    "ImageModelArchitecture",
    "ImageModelEndpoints",
    "ImageModelsList",
    "ImagePricingEntry",
    "ImageProviderPreferences",
    "ImageStreamEvent",
    "ImageUrl",
    "ParameterDescriptor",
    "RangeParameter",
    "UnknownImageEvent",
    "UnknownParameter",
    "image_usage",
    "parse_image_event",
    "response_from_image_generation",
]


def _list_of(model: type[WireModel]) -> Converter:
    """A converter for an array of `model`, for models whose own fields need converters
    (msgspec, building nested structs itself, would skip them)."""

    def convert(data: Any, path: str, strict: bool) -> list[Any]:
        if not isinstance(data, list):
            raise validation_error(path, data, "an array")
        return [model._convert(item, f"{path}[{i}]", strict) for i, item in enumerate(data)]

    return convert


# -- the request --------------------------------------------------------------


class ImageUrl(WireModel, kw_only=True):
    """Where a reference image is: a `data:` URL with base64, or an http(s) URL."""

    url: str


class ImageInputReference(WireModel, kw_only=True):
    """One reference image for image-to-image generation (the spec's `ContentPartImage`)."""

    type: str = "image_url"
    image_url: ImageUrl


class ImageProviderPreferences(WireModel, kw_only=True):
    """Provider routing for one request (`ImageGenerationProviderPreferences`).

    `options` maps a provider slug to options passed through to that
    provider only (e.g. `{"black-forest-labs": {"steps": 40}}`); `sort` is a
    strategy name (`price`, `throughput`, `latency`, `exacto`) or an object
    `{"by": ..., "partition": ...}`.
    """

    allow_fallbacks: bool | None = None
    ignore: list[str] | None = None
    only: list[str] | None = None
    order: list[str] | None = None
    options: dict[str, dict[str, Any]] | None = None
    sort: str | dict[str, Any] | None = None


class ImageGenerationRequest(WireModel, kw_only=True):
    """The body of `POST /images`. Only `model` and `prompt` are required.

    Known values: `aspect_ratio` "1:1", "16:9", "9:16", ... or "auto";
    `background` "auto", "transparent", "opaque"; `output_format` "png",
    "jpeg", "webp", "svg"; `quality` "auto", "low", "medium", "high";
    `resolution` "512", "1K", "2K", "4K"; `size` a tier ("2K") or pixels
    ("2048x2048"). `n` is an upper bound: providers may return fewer images.
    """

    model: str
    prompt: str
    aspect_ratio: str | None = None
    background: str | None = None
    input_references: list[ImageInputReference] | None = None
    n: int | None = None
    output_compression: int | None = None
    output_format: str | None = None
    provider: ImageProviderPreferences | None = None
    quality: str | None = None
    resolution: str | None = None
    seed: int | None = None
    size: str | None = None
    stream: bool | None = None

    def _validate(self, path: str, strict: bool) -> None:
        if not self.prompt:
            raise validation_error(f"{path}.prompt", self.prompt, "a non-empty string")


# -- the response -------------------------------------------------------------


class ImageGenerationUsage(WireModel, kw_only=True):
    """Token counts and OpenRouter's cost, in the Chat Completions vocabulary.

    The spec requires the three token counts; they are None when a provider
    leaves them out, as usage is reported only "when available".
    """

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None
    cost: int | float | None = None
    cost_details: dict[str, Any] | None = None
    is_byok: bool | None = None
    server_tool_use: dict[str, Any] | None = None
    service_tier: str | None = None
    iterations: list[Any] | None = None
    cache_creation: Any = None
    speed: Any = None


class ImageData(WireModel, kw_only=True):
    """One generated image: base64 bytes and, when the format was determined, its media type."""

    b64_json: str
    media_type: str | None = None


class ImageGenerationResponse(WireModel, kw_only=True):
    """The JSON body `POST /images` answers with.

    `created` (Unix seconds) is required by the spec but None when absent,
    like the other envelope fields of `Response`.
    """

    created: int | float | None = None
    data: list[ImageData]
    usage: ImageGenerationUsage | None = None


# -- stream events ----------------------------------------------------------------


class ImageGenPartialImageEvent(WireModel, kw_only=True):
    """A preview of the image being generated (`image_generation.partial_image`)."""

    type: Literal["image_generation.partial_image"] = "image_generation.partial_image"
    b64_json: str
    partial_image_index: int


class ImageGenTextChunkEvent(WireModel, kw_only=True):
    """A fragment of a text-based image, such as SVG markup (`image_generation.text_chunk`).

    `phase` "content" is renderable output; "reasoning" and "draft" are a
    provider's intermediate phases. None when the server leaves it out.
    """

    type: Literal["image_generation.text_chunk"] = "image_generation.text_chunk"
    text: str
    phase: str | None = None


class ImageGenCompletedEvent(WireModel, kw_only=True):
    """The final image of a stream (`image_generation.completed`)."""

    type: Literal["image_generation.completed"] = "image_generation.completed"
    b64_json: str
    created: int | float | None = None
    media_type: str | None = None
    usage: ImageGenerationUsage | None = None


class ImageGenStreamError(WireModel, kw_only=True):
    """The provider's error inside an `ImageGenStreamErrorEvent`.

    The spec requires `message`; it is optional here so that an error event
    is always reported as one, never as a parsing failure.
    """

    code: str | int | None = None
    message: str | None = None
    param: str | None = None
    type: str | None = None


class ImageGenStreamErrorEvent(WireModel, kw_only=True):
    """Generation failed after the stream started (`type: "error"`)."""

    type: Literal["error"] = "error"
    error: ImageGenStreamError


class UnknownImageEvent(KeptWhole, kw_only=True):
    """An Image API stream event of a type this library does not know, kept whole in `raw`."""


IMAGE_EVENTS = OpenUnion(
    [
        ImageGenPartialImageEvent,
        ImageGenTextChunkEvent,
        ImageGenCompletedEvent,
        ImageGenStreamErrorEvent,
    ],
    UnknownImageEvent,
)

ImageStreamEvent = (
    ImageGenPartialImageEvent
    | ImageGenTextChunkEvent
    | ImageGenCompletedEvent
    | ImageGenStreamErrorEvent
    | UnknownImageEvent
)


def parse_image_event(
    data: bytes | bytearray | memoryview | str | dict[str, Any], *, strict: bool = False
) -> ImageStreamEvent:
    """Parse one Image API stream event (an SSE `data:` field's JSON, or its decoded object).

    An object with no `type` but an `error` object is an error event too:
    OpenRouter reports some mid-stream failures that way on every route.
    """
    obj = decode_json(data) if isinstance(data, bytes | bytearray | memoryview | str) else data
    if isinstance(obj, dict) and "type" not in obj and isinstance(obj.get("error"), dict):
        return ImageGenStreamErrorEvent._convert(obj, "$", strict)
    event: ImageStreamEvent = IMAGE_EVENTS.convert(obj, "$", strict)
    return event


# -- the catalogue: capability descriptors ------------------------------------------


class EnumParameter(WireModel, kw_only=True):
    """A parameter that takes one of the strings in `values`."""

    type: Literal["enum"] = "enum"
    values: list[str]

    def accepts(self, value: Any) -> bool:
        """Whether `value` is one of `values`."""
        return isinstance(value, str) and value in self.values

    def describe(self) -> str:
        """What the parameter takes, for messages: "one of 1K, 2K, 4K"."""
        return f"one of {', '.join(self.values)}" if self.values else "no value (none listed)"


class RangeParameter(WireModel, kw_only=True):
    """A parameter that takes a number from `min` to `max`, both included.

    When both bounds are integers the parameter is an integer (every numeric
    field of `ImageGenerationRequest` is), so a fractional value is refused.
    """

    type: Literal["range"] = "range"
    min: int | float
    max: int | float

    @property
    def integral(self) -> bool:
        """True when both bounds are integers, so only integers are accepted."""
        return isinstance(self.min, int) and isinstance(self.max, int)

    def accepts(self, value: Any) -> bool:
        """Whether `value` is a number within the range (an integer, when `integral`)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.integral and isinstance(value, float) and not value.is_integer():
            return False
        return self.min <= value <= self.max

    def describe(self) -> str:
        """What the parameter takes, for messages: "an integer from 1 to 10"."""
        kind = "an integer" if self.integral else "a number"
        return f"{kind} from {self.min} to {self.max}"


class BooleanParameter(WireModel, kw_only=True):
    """A parameter that is supported, with no constraint on its value.

    Per the spec this is "a supported-or-not flag": its presence means the
    endpoint accepts the parameter (e.g. `seed`), not that the parameter is
    itself a boolean.
    """

    type: Literal["boolean"] = "boolean"

    def accepts(self, value: Any) -> bool:
        """Always True: the parameter is supported and its values are not described."""
        return True

    def describe(self) -> str:
        """What the parameter takes, for messages."""
        return "supported (no constraint on its value given)"


class UnknownParameter(KeptWhole, kw_only=True):
    """A capability descriptor of a kind this library does not know, kept whole in `raw`."""

    def accepts(self, value: Any) -> bool:
        """Always True: an unknown descriptor cannot be checked, so the server decides."""
        return True

    def describe(self) -> str:
        """What the parameter takes, for messages."""
        return f"a value described by a {self.type!r} descriptor this library does not know"


PARAMETERS = OpenUnion([EnumParameter, RangeParameter, BooleanParameter], UnknownParameter)

ParameterDescriptor = EnumParameter | RangeParameter | BooleanParameter | UnknownParameter


def _convert_parameters(data: Any, path: str, strict: bool) -> dict[str, ParameterDescriptor]:
    """A `SupportedParameters` object: parameter name -> its descriptor."""
    if not isinstance(data, dict):
        raise validation_error(path, data, "an object mapping parameter names to descriptors")
    return {
        name: PARAMETERS.convert(value, f"{path}.{name}", strict) for name, value in data.items()
    }


if TYPE_CHECKING:
    _Parameters = dict[str, ParameterDescriptor]
else:
    # Built by `_convert_parameters`, not by msgspec (see WireModel.__converters__).
    _Parameters = Any


# -- the catalogue: models and endpoints ----------------------------------------------


class ImagePricingEntry(WireModel, kw_only=True):
    """One billable line of an endpoint's price.

    `billable` is what is charged for ("output_image", "input_image",
    "input_font", "input_reference", "input_text"), `cost_usd` the price in
    US dollars of one `unit` ("image", "megapixel", "token"), and `variant`,
    when present, which variant of the billable the line prices.
    """

    billable: str
    unit: str
    cost_usd: int | float
    variant: str | None = None


class ImageEndpoint(WireModel, kw_only=True):
    """One provider serving an image model, with the parameters it definitively accepts.

    `allowed_passthrough_parameters` names the options accepted under
    `provider.options[provider_slug]` of a request.
    """

    provider_name: str
    provider_slug: str
    provider_tag: str | None = None
    supported_parameters: _Parameters = msgspec.field(default_factory=dict)
    allowed_passthrough_parameters: list[str] = msgspec.field(default_factory=list)
    supports_streaming: bool = False
    pricing: list[ImagePricingEntry] = msgspec.field(default_factory=list)

    __converters__: ClassVar[dict[str, Converter]] = {"supported_parameters": _convert_parameters}


class ImageModelArchitecture(WireModel, kw_only=True):
    """The modalities a model takes and gives ("text", "image", "file", "audio", "video", ...)."""

    input_modalities: list[str] = msgspec.field(default_factory=list)
    output_modalities: list[str] = msgspec.field(default_factory=list)


class ImageModel(WireModel, kw_only=True):
    """One image model in the listing of `GET /images/models`.

    `supported_parameters` is the union over the model's endpoints, a
    discovery aid; each `ImageEndpoint` holds the definitive set.
    `endpoints_url` (`endpoints` on the wire) is the relative URL of the
    model's per-endpoint records.
    """

    id: str
    name: str | None = None
    description: str | None = None
    created: int | float | None = None
    architecture: ImageModelArchitecture | None = None
    supported_parameters: _Parameters = msgspec.field(default_factory=dict)
    supports_streaming: bool = False
    endpoints_url: str | None = msgspec.field(default=None, name="endpoints")

    __converters__: ClassVar[dict[str, Converter]] = {"supported_parameters": _convert_parameters}


if TYPE_CHECKING:
    _Models = list[ImageModel]
    _Endpoints = list[ImageEndpoint]
else:
    # Built by `_list_of`, not by msgspec: the items have converters of their own.
    _Models = Any
    _Endpoints = Any


class ImageModelsList(WireModel, kw_only=True):
    """The body of `GET /images/models`."""

    data: _Models

    __converters__: ClassVar[dict[str, Converter]] = {"data": _list_of(ImageModel)}


class ImageModelEndpoints(WireModel, kw_only=True):
    """The body of `GET /images/models/{author}/{slug}/endpoints`."""

    id: str
    endpoints: _Endpoints

    __converters__: ClassVar[dict[str, Converter]] = {"endpoints": _list_of(ImageEndpoint)}


# -- into the common Response -------------------------------------------------------

# Image API usage key -> the `ResponseUsage` key with the same meaning.
_USAGE_KEYS = {
    "prompt_tokens": "input_tokens",
    "completion_tokens": "output_tokens",
    "prompt_tokens_details": "input_tokens_details",
    "completion_tokens_details": "output_tokens_details",
}


def image_usage(usage: ImageGenerationUsage) -> ResponseUsage:
    """Image API usage in the Responses API's names (cost and unknown keys kept)."""
    # Through the dict so that keys `ResponseUsage` has no field for
    # (server_tool_use, service_tier, new ones) are kept, not dropped.
    renamed = {_USAGE_KEYS.get(key, key): value for key, value in usage.to_dict().items()}
    return ResponseUsage.from_dict(renamed)


def _id_stem(body: ImageGenerationResponse) -> str:
    """A stable stand-in for a generation id: the same body always gives the same stem."""
    digest = hashlib.sha256(repr(body.created).encode())
    for image in body.data:
        data = image.b64_json.encode("utf-8", "surrogatepass")
        digest.update(f"{len(data)}:".encode())
        digest.update(data)
    return f"imagegen-{digest.hexdigest()[:16]}"


def response_from_image_generation(
    body: ImageGenerationResponse | dict[str, Any],
    *,
    generation_id: str | None,
    model: str | None = None,
) -> Response:
    """An Image API body as the `Response` every other route gives.

    Each image becomes a completed `OutputImageGenerationCall` whose `result`
    is the base64 as sent and whose `media_type` is the one declared; its id
    is `f"{generation_id}-image-{index}"`, or, with no generation id, built
    on a stem hashed from `created` and the images so it is still stable.
    The response's `id` and `generation_id` are the generation id (None when
    unknown).
    """
    if not isinstance(body, ImageGenerationResponse):
        body = ImageGenerationResponse.from_dict(body)  # a non-object: ValidationError
    generation_id = generation_id or None
    stem = generation_id or _id_stem(body)
    calls: list[Output] = [
        OutputImageGenerationCall(
            id=f"{stem}-image-{index}",
            status=OutputStatusEnum3.COMPLETED,
            result=image.b64_json,
            media_type=image.media_type,
        )
        for index, image in enumerate(body.data)
    ]
    response = Response(
        id=generation_id,
        object="response",
        created_at=body.created,
        model=model,
        status=ResponseStatus.COMPLETED,
        output=calls,
        usage=image_usage(body.usage) if body.usage is not None else None,
    )
    response.generation_id = generation_id
    return response
