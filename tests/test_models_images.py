"""OpenRouter's Image API models: request, response, stream events, catalogue, and the
translation of a response into the common `Response`."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import msgspec
import pytest
from conftest import load_reference_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from openrouter_imagegen import ValidationError, parse_response
from openrouter_imagegen.models import (
    BooleanParameter,
    EnumParameter,
    ImageData,
    ImageEndpoint,
    ImageGenCompletedEvent,
    ImageGenerationRequest,
    ImageGenerationResponse,
    ImageGenerationUsage,
    ImageGenPartialImageEvent,
    ImageGenStreamError,
    ImageGenStreamErrorEvent,
    ImageGenTextChunkEvent,
    ImageInputReference,
    ImageModel,
    ImageModelArchitecture,
    ImageModelEndpoints,
    ImageModelsList,
    ImagePricingEntry,
    ImageProviderPreferences,
    ImageUrl,
    OutputImageGenerationCall,
    RangeParameter,
    Response,
    UnknownImageEvent,
    UnknownParameter,
    parse_image_event,
    response_from_image_generation,
)
from openrouter_imagegen.models._base import WireModel

SPEC = "openrouter-openapi-2026-08.yaml"

# -- our own copies of the payloads (so the suite means something without ../shared)

REQUEST: dict[str, Any] = {
    "model": "bytedance-seed/seedream-4.5",
    "prompt": "a red panda astronaut floating in space, studio lighting",
    "aspect_ratio": "16:9",
    "resolution": "2K",
    "n": 2,
    "seed": 7,
    "output_format": "webp",
    "output_compression": 80,
    "background": "auto",
    "quality": "high",
    "size": "2K",
    "stream": False,
    "input_references": [
        {"type": "image_url", "image_url": {"url": "https://example.com/ref.png"}},
    ],
    "provider": {
        "allow_fallbacks": False,
        "only": ["google-ai-studio"],
        "ignore": None,
        "order": ["openai", "anthropic"],
        "options": {"black-forest-labs": {"guidance": 3, "steps": 40}},
        "sort": {"by": "price", "partition": "model"},
    },
}

USAGE: dict[str, Any] = {
    "completion_tokens": 4175,
    "cost": 0.04,
    "prompt_tokens": 0,
    "total_tokens": 4175,
}

RESPONSE: dict[str, Any] = {
    "created": 1748372400,
    "data": [
        {"b64_json": "<base64-encoded-image>", "media_type": "image/png"},
        {"b64_json": "<another-image>"},
    ],
    "usage": USAGE,
}

PARTIAL: dict[str, Any] = {
    "b64_json": "<base64-encoded-partial-image>",
    "partial_image_index": 0,
    "type": "image_generation.partial_image",
}
TEXT_CHUNK: dict[str, Any] = {
    "phase": "content",
    "text": '<svg xmlns="http://www.w3.org/2000/svg">',
    "type": "image_generation.text_chunk",
}
COMPLETED: dict[str, Any] = {
    "b64_json": "<base64-encoded-final-image>",
    "created": 1748372400,
    "media_type": "image/png",
    "type": "image_generation.completed",
    "usage": USAGE,
}
STREAM_ERROR: dict[str, Any] = {
    "error": {
        "code": "upstream_error",
        "message": "The upstream provider returned an error",
        "param": None,
        "type": "provider_error",
    },
    "type": "error",
}

SUPPORTED: dict[str, Any] = {
    "output_compression": {"max": 100, "min": 0, "type": "range"},
    "resolution": {"type": "enum", "values": ["1K", "2K", "4K"]},
    "seed": {"type": "boolean"},
}
ENDPOINT: dict[str, Any] = {
    "allowed_passthrough_parameters": [],
    "pricing": [{"billable": "output_image", "cost_usd": 0.05, "unit": "image"}],
    "provider_name": "Bytedance",
    "provider_slug": "bytedance",
    "provider_tag": "bytedance",
    "supported_parameters": SUPPORTED,
    "supports_streaming": False,
}
MODEL: dict[str, Any] = {
    "architecture": {"input_modalities": ["text", "image"], "output_modalities": ["image"]},
    "created": 1692901234,
    "description": "A text-to-image model.",
    "endpoints": "/api/v1/images/models/bytedance-seed/seedream-4.5/endpoints",
    "id": "bytedance-seed/seedream-4.5",
    "name": "Seedream 4.5",
    "supported_parameters": SUPPORTED,
    "supports_streaming": False,
}
MODELS: dict[str, Any] = {"data": [MODEL]}
ENDPOINTS: dict[str, Any] = {"endpoints": [ENDPOINT], "id": "bytedance-seed/seedream-4.5"}


def tiny_png() -> bytes:
    image = pytest.importorskip("PIL.Image")
    buffer = io.BytesIO()
    image.new("RGB", (3, 2), (200, 30, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


# -- parsing and round trips --------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (ImageGenerationRequest, REQUEST),
        (ImageGenerationResponse, RESPONSE),
        (ImageGenerationUsage, USAGE),
        (ImageEndpoint, ENDPOINT),
        (ImageModel, MODEL),
        (ImageModelsList, MODELS),
        (ImageModelEndpoints, ENDPOINTS),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_own_payloads_parse_and_round_trip(model: type[WireModel], body: dict[str, Any]) -> None:
    parsed = model.from_json(json.dumps(body))
    assert parsed.to_dict() == body
    assert model.from_json(parsed.to_json()) == parsed


def test_request_fields_are_typed() -> None:
    request = ImageGenerationRequest.from_dict(REQUEST)
    assert request.n == 2 and request.seed == 7 and request.stream is False
    assert request.input_references is not None
    assert request.input_references[0].image_url.url == "https://example.com/ref.png"
    assert request.provider is not None
    assert request.provider.allow_fallbacks is False
    assert request.provider.options == {"black-forest-labs": {"guidance": 3, "steps": 40}}
    assert request.provider.sort == {"by": "price", "partition": "model"}
    assert ImageProviderPreferences.from_dict({"sort": "price"}).sort == "price"


def test_constructed_request_serialises_only_what_was_set() -> None:
    request = ImageGenerationRequest(
        model="openai/gpt-image-1",
        prompt="a lighthouse",
        n=1,
        input_references=[
            ImageInputReference(image_url=ImageUrl(url="data:image/png;base64,AA=="))
        ],
        provider=ImageProviderPreferences(only=["openai"]),
    )
    assert request.to_dict() == {
        "model": "openai/gpt-image-1",
        "prompt": "a lighthouse",
        "input_references": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA=="}}
        ],
        "n": 1,
        "provider": {"only": ["openai"]},
    }
    assert ImageGenerationRequest.from_json(request.to_json()) == request


def test_request_with_an_empty_prompt_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        ImageGenerationRequest.from_dict({"model": "m", "prompt": ""})
    assert info.value.path == "$.prompt"
    assert "non-empty" in str(info.value)


def test_response_fields_are_typed() -> None:
    response = ImageGenerationResponse.from_dict(RESPONSE)
    assert response.created == 1748372400
    assert [d.media_type for d in response.data] == ["image/png", None]
    assert response.usage is not None
    assert response.usage.cost == 0.04
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (0, 4175)


def test_catalogue_fields_are_typed() -> None:
    listing = ImageModelsList.from_dict(MODELS)
    model = listing.data[0]
    assert isinstance(model, ImageModel)
    assert model.endpoints_url == "/api/v1/images/models/bytedance-seed/seedream-4.5/endpoints"
    assert model.architecture == ImageModelArchitecture(
        input_modalities=["text", "image"], output_modalities=["image"]
    )
    parameters = model.supported_parameters
    assert parameters["resolution"] == EnumParameter(values=["1K", "2K", "4K"])
    assert parameters["output_compression"] == RangeParameter(min=0, max=100)
    assert parameters["seed"] == BooleanParameter()

    endpoints = ImageModelEndpoints.from_dict(ENDPOINTS)
    endpoint = endpoints.endpoints[0]
    assert isinstance(endpoint, ImageEndpoint)
    assert endpoint.provider_tag == "bytedance"
    assert endpoint.pricing == [
        ImagePricingEntry(billable="output_image", unit="image", cost_usd=0.05)
    ]
    assert isinstance(endpoint.supported_parameters["resolution"], EnumParameter)


def test_nullable_provider_tag_and_pricing_variant() -> None:
    endpoint = ImageEndpoint.from_dict(
        {
            **ENDPOINT,
            "provider_tag": None,
            "pricing": [
                {"billable": "input_image", "cost_usd": 1, "unit": "megapixel", "variant": "hd"}
            ],
        }
    )
    assert endpoint.provider_tag is None
    assert endpoint.pricing[0].variant == "hd"
    assert endpoint.pricing[0].cost_usd == 1 and isinstance(endpoint.pricing[0].cost_usd, int)


# -- unknown things are kept --------------------------------------------------------------


def test_unknown_fields_round_trip_on_every_level() -> None:
    response = {
        **RESPONSE,
        "data": [{"b64_json": "AAAA", "media_type": "image/png", "revised_prompt": "x"}],
        "usage": {**USAGE, "new_counter": 3, "server_tool_use": {"web_search_requests": 0}},
        "brand_new": {"nested": [1, 2]},
    }
    assert ImageGenerationResponse.from_dict(response).to_dict() == response

    endpoint = {
        **ENDPOINT,
        "pricing": [{"billable": "output_image", "cost_usd": 0.05, "unit": "image", "tier": 2}],
        "supported_parameters": {
            "resolution": {"type": "enum", "values": ["1K"], "default": "1K"},
            "n": {"type": "range", "min": 1, "max": 4, "step": 1},
        },
        "latency_ms": 1200,
    }
    listing = {
        "data": [{**MODEL, "architecture": {**MODEL["architecture"], "tokenizer": "x"}, "z": 1}],
        "next_cursor": None,
    }
    endpoints = {"id": "a/b", "endpoints": [endpoint], "extra": True}
    assert ImageEndpoint.from_dict(endpoint).to_dict() == endpoint
    assert ImageModelsList.from_dict(listing).to_dict() == listing
    assert ImageModelEndpoints.from_dict(endpoints).to_dict() == endpoints
    for event in (PARTIAL, TEXT_CHUNK, COMPLETED, STREAM_ERROR):
        with_extra = {**event, "sequence_number": 4}
        assert parse_image_event(with_extra).to_dict() == with_extra


def test_new_enum_values_are_kept_as_strings() -> None:
    request = {"model": "m", "prompt": "p", "aspect_ratio": "7:3", "quality": "ultra"}
    assert ImageGenerationRequest.from_dict(request).aspect_ratio == "7:3"
    entry = {"billable": "output_video", "cost_usd": 0.1, "unit": "second"}
    assert ImagePricingEntry.from_dict(entry).to_dict() == entry
    chunk = {**TEXT_CHUNK, "phase": "outline"}
    assert parse_image_event(chunk).to_dict() == chunk


def test_unknown_event_kind_is_kept_whole() -> None:
    body = {"type": "image_generation.progress", "percent": 40, "eta": {"s": 3}}
    event = parse_image_event(json.dumps(body))
    assert isinstance(event, UnknownImageEvent)
    assert event.type == "image_generation.progress"
    assert event.raw == body
    assert event.to_dict() == body


def test_unknown_descriptor_kind_is_kept_whole() -> None:
    parameters = {**SUPPORTED, "mask": {"type": "regex", "pattern": "^[a-z]+$"}}
    endpoint = ImageEndpoint.from_dict({**ENDPOINT, "supported_parameters": parameters})
    mask = endpoint.supported_parameters["mask"]
    assert isinstance(mask, UnknownParameter)
    assert mask.type == "regex"
    assert mask.raw == {"type": "regex", "pattern": "^[a-z]+$"}
    assert endpoint.to_dict()["supported_parameters"] == parameters


# -- stream events ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (PARTIAL, ImageGenPartialImageEvent),
        (TEXT_CHUNK, ImageGenTextChunkEvent),
        (COMPLETED, ImageGenCompletedEvent),
        (STREAM_ERROR, ImageGenStreamErrorEvent),
    ],
)
def test_events_parse_to_their_models(body: dict[str, Any], kind: type[WireModel]) -> None:
    from_text = parse_image_event(json.dumps(body))
    from_object = parse_image_event(body)
    assert type(from_text) is kind
    assert from_text == from_object
    assert from_text.to_dict() == body


def test_event_fields_are_typed() -> None:
    partial = parse_image_event(PARTIAL)
    assert isinstance(partial, ImageGenPartialImageEvent)
    assert partial.partial_image_index == 0
    completed = parse_image_event(COMPLETED)
    assert isinstance(completed, ImageGenCompletedEvent)
    assert completed.media_type == "image/png"
    assert completed.usage == ImageGenerationUsage.from_dict(USAGE)
    error = parse_image_event(STREAM_ERROR)
    assert isinstance(error, ImageGenStreamErrorEvent)
    assert error.error == ImageGenStreamError(
        code="upstream_error",
        message="The upstream provider returned an error",
        type="provider_error",
    )


def test_an_error_object_without_a_type_is_an_error_event() -> None:
    body = {"error": {"code": 502, "message": "Provider returned error"}}
    event = parse_image_event(json.dumps(body))
    assert isinstance(event, ImageGenStreamErrorEvent)
    assert event.error.code == 502
    assert event.to_dict() == body


@pytest.mark.parametrize(
    ("data", "path", "needle"),
    [
        ("[1, 2]", "$", "object"),
        ("null", "$", "object"),
        ("5", "$", "object"),
        ("{}", "$.type", "string"),
        ('{"type": 3}', "$.type", "string"),
        (
            '{"type": "image_generation.partial_image", "b64_json": "x"}',
            "$.partial_image_index",
            "",
        ),
        ('{"type": "image_generation.completed", "b64_json": 1}', "$.b64_json", "str"),
        ('{"type": "error"}', "$.error", "required"),
        ('{"error": {"message": 5}}', "$.error.message", "str"),
    ],
)
def test_bad_events_raise_validation_error_naming_the_path(
    data: str, path: str, needle: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_image_event(data)
    assert info.value.path == path
    assert needle in str(info.value)


def test_malformed_event_json_reports_the_byte_offset() -> None:
    with pytest.raises(ValidationError) as info:
        parse_image_event(b'{"type": "error",}')
    assert info.value.offset == 17
    assert info.value.path is None


# -- capability descriptors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("descriptor", "accepted", "refused", "description"),
    [
        (
            EnumParameter(values=["1K", "2K", "4K"]),
            ["1K", "4K"],
            ["8K", "1k", 1, None],
            "one of 1K, 2K, 4K",
        ),
        (EnumParameter(values=[]), [], ["", "1K"], "no value (none listed)"),
        (
            RangeParameter(min=1, max=10),
            [1, 10, 5, 3.0],
            [0, 11, 2.5, True, "5", None],
            "an integer from 1 to 10",
        ),
        (
            RangeParameter(min=0.5, max=2),
            [0.5, 1, 1.25, 2],
            [0.25, 2.5, False, "1"],
            "a number from 0.5 to 2",
        ),
        (
            BooleanParameter(),
            [True, False, 42, "x", None],
            [],
            "supported (no constraint on its value given)",
        ),
        (
            UnknownParameter(type="regex", raw={"type": "regex", "pattern": "x"}),
            ["anything", 1],
            [],
            "a value described by a 'regex' descriptor this library does not know",
        ),
    ],
)
def test_descriptors_accept_and_describe(
    descriptor: EnumParameter | RangeParameter | BooleanParameter | UnknownParameter,
    accepted: list[Any],
    refused: list[Any],
    description: str,
) -> None:
    assert all(descriptor.accepts(value) for value in accepted)
    assert not any(descriptor.accepts(value) for value in refused)
    assert descriptor.describe() == description


@pytest.mark.parametrize(
    ("parameters", "path", "needle"),
    [
        ("all of them", "$.supported_parameters", "object"),
        ({"seed": "boolean"}, "$.supported_parameters.seed", "object"),
        ({"seed": {}}, "$.supported_parameters.seed.type", "string"),
        ({"n": {"type": "range", "min": 1}}, "$.supported_parameters.n.max", "required"),
        ({"r": {"type": "enum", "values": "1K"}}, "$.supported_parameters.r.values", "array"),
    ],
)
def test_bad_descriptors_name_their_path(parameters: Any, path: str, needle: str) -> None:
    with pytest.raises(ValidationError) as info:
        ImageEndpoint.from_dict({**ENDPOINT, "supported_parameters": parameters})
    assert info.value.path == path
    assert needle in str(info.value)


def test_bad_catalogue_items_name_their_path() -> None:
    with pytest.raises(ValidationError) as info:
        ImageModelEndpoints.from_dict({"id": "a/b", "endpoints": [ENDPOINT, {"provider_name": 1}]})
    assert info.value.path == "$.endpoints[1].provider_name"
    with pytest.raises(ValidationError) as info:
        ImageModelsList.from_dict({"data": {"id": "x"}})
    assert info.value.path == "$.data"
    with pytest.raises(ValidationError) as info:
        ImageModelsList.from_dict(
            {"data": [{"id": "x", "supported_parameters": {"s": {"type": 1}}}]}
        )
    assert info.value.path == "$.data[0].supported_parameters.s.type"


# -- into the common Response ------------------------------------------------------------


def test_response_from_image_generation_with_a_generation_id() -> None:
    png = base64.b64encode(tiny_png()).decode()
    body = {
        "created": 1748372400,
        "data": [{"b64_json": png, "media_type": "image/png"}, {"b64_json": png}],
        "usage": {**USAGE, "is_byok": False, "server_tool_use": {"web_search_requests": 0}},
    }
    response = response_from_image_generation(body, generation_id="gen-123", model="m/x")
    assert isinstance(response, Response)
    assert response.id == "gen-123"
    assert response.generation_id == "gen-123"
    assert response.object == "response"
    assert response.status == "completed"
    assert response.created_at == 1748372400
    assert response.model == "m/x"
    calls = response.image_generation_calls
    assert [c.id for c in calls] == ["gen-123-image-0", "gen-123-image-1"]
    assert [c.status for c in calls] == ["completed", "completed"]
    assert [c.result for c in calls] == [png, png]
    assert [c.media_type for c in calls] == ["image/png", None]
    usage = response.usage
    assert usage is not None
    assert usage.cost == 0.04
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (0, 4175, 4175)
    assert usage.is_byok is False
    assert usage.to_dict()["server_tool_use"] == {"web_search_requests": 0}

    images = response.images()
    assert [image.media_type for image in images] == ["image/png", "image/png"]
    assert images[0].data == tiny_png()
    assert (images[0].width, images[0].height) == (3, 2)

    back = parse_response(response.to_json())
    assert back == response
    assert back.image_generation_calls[0].media_type == "image/png"


def test_ids_without_a_generation_id_are_stable_and_distinct() -> None:
    first = response_from_image_generation(RESPONSE, generation_id=None)
    again = response_from_image_generation(
        ImageGenerationResponse.from_dict(json.loads(json.dumps(RESPONSE))), generation_id=None
    )
    ids = [c.id for c in first.image_generation_calls]
    assert ids == [c.id for c in again.image_generation_calls]
    assert len(set(ids)) == 2
    stem = ids[0].removesuffix("-image-0")
    assert ids == [f"{stem}-image-0", f"{stem}-image-1"]
    assert first.id is None and first.generation_id is None
    assert response_from_image_generation(RESPONSE, generation_id="").generation_id is None

    for changed in (
        {**RESPONSE, "created": RESPONSE["created"] + 1},
        {**RESPONSE, "data": [{"b64_json": "<other>"}, RESPONSE["data"][1]]},
        {**RESPONSE, "data": list(reversed(RESPONSE["data"]))},
    ):
        other = response_from_image_generation(changed, generation_id=None)
        assert other.image_generation_calls[0].id != ids[0]


def test_response_from_image_generation_without_usage_or_images() -> None:
    response = response_from_image_generation({"created": 5, "data": []}, generation_id="g")
    assert response.output == [] and response.usage is None
    assert response.to_dict() == {
        "id": "g",
        "object": "response",
        "created_at": 5,
        "status": "completed",
        "output": [],
    }


def test_response_from_image_generation_validates_a_dict() -> None:
    with pytest.raises(ValidationError) as info:
        response_from_image_generation({"data": [{"media_type": "image/png"}]}, generation_id=None)
    assert info.value.path == "$.data[0].b64_json"


def test_response_from_image_generation_does_not_decode() -> None:
    body = ImageGenerationResponse(data=[ImageData(b64_json="not base64 at all!")])
    call = response_from_image_generation(body, generation_id="g").output[0]
    assert isinstance(call, OutputImageGenerationCall)
    assert call.result == "not base64 at all!"


# -- the reference spec (skipped without ../shared) --------------------------------------

_SCHEMA_MODELS: dict[str, type[WireModel]] = {
    "ImageGenerationRequest": ImageGenerationRequest,
    "ImageGenerationProviderPreferences": ImageProviderPreferences,
    "ImageGenerationResponse": ImageGenerationResponse,
    "ImageGenerationUsage": ImageGenerationUsage,
    "ImageModelsListResponse": ImageModelsList,
    "ImageModelListItem": ImageModel,
    "ImageModelArchitecture": ImageModelArchitecture,
    "ImageModelEndpointsResponse": ImageModelEndpoints,
    "ImageEndpoint": ImageEndpoint,
    "ImagePricingEntry": ImagePricingEntry,
    "ContentPartImage": ImageInputReference,
    "EnumCapability": EnumParameter,
    "RangeCapability": RangeParameter,
    "BooleanCapability": BooleanParameter,
}
_EVENT_SCHEMAS = [
    "ImageGenPartialImageEvent",
    "ImageGenTextChunkEvent",
    "ImageGenCompletedEvent",
    "ImageGenStreamErrorEvent",
]
_EVENT_MODELS: list[type[WireModel]] = [
    ImageGenPartialImageEvent,
    ImageGenTextChunkEvent,
    ImageGenCompletedEvent,
    ImageGenStreamErrorEvent,
]


@pytest.fixture(scope="module")
def spec() -> Any:
    # Parsing the 1.3 MB document takes seconds: once per module.
    return load_reference_spec(SPEC)


def _wire_fields(model: type[WireModel]) -> set[str]:
    return set(model.__struct_encode_fields__)


def test_every_spec_property_has_a_field(spec: Any) -> None:
    schemas = spec["components"]["schemas"]
    pairs = [*_SCHEMA_MODELS.items(), *zip(_EVENT_SCHEMAS, _EVENT_MODELS, strict=True)]
    for name, model in pairs:
        assert set(schemas[name]["properties"]) <= _wire_fields(model), name
    data_item = schemas["ImageGenerationResponse"]["properties"]["data"]["items"]
    assert set(data_item["properties"]) <= _wire_fields(ImageData)
    error = schemas["ImageGenStreamErrorEvent"]["properties"]["error"]
    assert set(error["properties"]) <= _wire_fields(ImageGenStreamError)


def test_every_spec_schema_example_parses_and_round_trips(spec: Any) -> None:
    schemas = spec["components"]["schemas"]
    for name, model in _SCHEMA_MODELS.items():
        example = schemas[name]["example"]
        assert model.from_dict(example).to_dict() == example, name
    for name, kind in zip(_EVENT_SCHEMAS, _EVENT_MODELS, strict=True):
        example = schemas[name]["example"]
        event = parse_image_event(example)
        assert type(event) is kind
        assert event.to_dict() == example
    streamed = parse_image_event(schemas["ImageStreamingResponse"]["example"]["data"])
    assert isinstance(streamed, ImageGenPartialImageEvent)
    for name in ("SupportedParameters", "CapabilityDescriptor"):
        example = schemas[name]["example"]
        parameters = example if name == "SupportedParameters" else {"p": example}
        endpoint = ImageEndpoint.from_dict({**ENDPOINT, "supported_parameters": parameters})
        assert not any(
            isinstance(d, UnknownParameter) for d in endpoint.supported_parameters.values()
        )
        assert endpoint.to_dict()["supported_parameters"] == parameters


def test_every_path_example_parses_and_round_trips(spec: Any) -> None:
    paths = spec["paths"]
    post = paths["/images"]["post"]
    request = post["requestBody"]["content"]["application/json"]["example"]
    assert ImageGenerationRequest.from_dict(request).to_dict() == request
    ok = post["responses"]["200"]["content"]
    body = ok["application/json"]["example"]
    assert ImageGenerationResponse.from_dict(body).to_dict() == body
    assert response_from_image_generation(body, generation_id="g").usage is not None
    streamed = ok["text/event-stream"]["example"]["data"]
    assert parse_image_event(streamed).to_dict() == streamed
    listing = paths["/images/models"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ImageModelsList.from_dict(listing["example"]).to_dict() == listing["example"]
    endpoints = paths["/images/models/{author}/{slug}/endpoints"]["get"]["responses"]["200"]
    example = endpoints["content"]["application/json"]["example"]
    assert ImageModelEndpoints.from_dict(example).to_dict() == example


# -- properties ---------------------------------------------------------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
_EVENT_TYPES = [
    "image_generation.partial_image",
    "image_generation.text_chunk",
    "image_generation.completed",
    "error",
]
_EVENT_KEYS = ["b64_json", "partial_image_index", "text", "phase", "created", "media_type"]
_EVENT_KEYS += ["usage", "error"]


def _field(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A well-typed value most of the time, any JSON value sometimes."""
    return st.one_of(value, value, value, _json_values)


_usage = st.fixed_dictionaries(
    {}, optional={k: _field(st.integers(0, 10**6)) for k in ("prompt_tokens", "total_tokens")}
)
_event_values: dict[str, st.SearchStrategy[Any]] = {
    "b64_json": _field(st.text(max_size=16)),
    "partial_image_index": _field(st.integers(0, 5)),
    "text": _field(st.text(max_size=16)),
    "phase": _field(st.sampled_from(["content", "reasoning", "draft"])),
    "created": _field(st.integers(0, 2**40)),
    "media_type": _field(st.sampled_from(["image/png", "image/webp"])),
    "usage": _field(_usage | st.none()),
    "error": _field(
        st.fixed_dictionaries({}, optional={"message": _field(st.text()), "code": _json_scalars})
    ),
}


@st.composite
def event_objects(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    if draw(st.integers(0, 9)):
        obj["type"] = draw(_field(st.sampled_from(_EVENT_TYPES) | st.text(max_size=10)))
    for key in draw(st.lists(st.sampled_from(_EVENT_KEYS), unique=True)):
        obj[key] = draw(_event_values[key])
    obj.update(draw(st.dictionaries(st.text(max_size=8), _json_values, max_size=2)))
    return obj


_descriptors = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("enum"), "values": _field(st.lists(st.text(max_size=4)))}
    ),
    st.fixed_dictionaries(
        {"type": st.just("range")},
        optional={"min": _field(st.integers() | st.floats(allow_nan=False)), "max": st.integers()},
    ),
    st.fixed_dictionaries({"type": st.just("boolean")}),
    st.fixed_dictionaries({"type": _field(st.text(max_size=6))}, optional={"x": _json_values}),
    _json_values,
)
_endpoint_values: dict[str, st.SearchStrategy[Any]] = {
    "provider_name": _field(st.text(max_size=8)),
    "provider_slug": _field(st.text(max_size=8)),
    "provider_tag": _field(st.none() | st.text(max_size=8)),
    "supported_parameters": _field(st.dictionaries(st.text(max_size=6), _descriptors, max_size=3)),
    "allowed_passthrough_parameters": _field(st.lists(st.text(max_size=6), max_size=2)),
    "supports_streaming": _field(st.booleans()),
    "pricing": _field(
        st.lists(
            st.fixed_dictionaries(
                {
                    "billable": _field(st.text(max_size=6)),
                    "unit": _field(st.text(max_size=6)),
                    "cost_usd": _field(st.floats(0, 10) | st.integers(0, 10)),
                },
                optional={"variant": _field(st.text(max_size=4))},
            ),
            max_size=2,
        )
    ),
}


@st.composite
def endpoint_objects(draw: st.DrawFn) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in _endpoint_values.items():
        if draw(st.integers(0, 7)):  # required fields present most of the time
            obj[key] = draw(value)
    obj.update(draw(st.dictionaries(st.text(max_size=8), _json_values, max_size=2)))
    return obj


def _round_trips(parsed: WireModel, obj: dict[str, Any]) -> None:
    assert parsed.to_dict() == obj
    assert msgspec.json.decode(parsed.to_json()) == obj


@settings(max_examples=400)
@given(event_objects() | _json_values)
def test_property_any_json_into_parse_image_event(obj: Any) -> None:
    # As JSON text, so that a JSON string is not read as JSON text itself.
    wire = msgspec.json.encode(obj)
    try:
        event = parse_image_event(wire)
    except ValidationError as exc:
        assert exc.path is not None and exc.path.startswith("$")
        return
    assert isinstance(obj, dict)
    _round_trips(event, obj)
    assert parse_image_event(obj) == event
    assert parse_image_event(event.to_json()) == event


@settings(max_examples=400)
@given(endpoint_objects() | _json_values)
def test_property_any_json_into_image_endpoint(obj: Any) -> None:
    try:
        endpoint = ImageEndpoint.from_dict(obj)
    except ValidationError as exc:
        assert exc.path is not None and exc.path.startswith("$")
        return
    assert isinstance(obj, dict)
    _round_trips(endpoint, obj)
    assert ImageEndpoint.from_json(endpoint.to_json()) == endpoint
    for descriptor in endpoint.supported_parameters.values():
        assert isinstance(descriptor.describe(), str)
        assert isinstance(descriptor.accepts(1), bool)


@given(
    st.lists(st.binary(max_size=20).map(lambda b: base64.b64encode(b).decode()), max_size=4),
    st.integers(0, 2**40) | st.none(),
)
def test_property_response_ids_are_stable_and_unique(
    images: list[str], created: int | None
) -> None:
    body: dict[str, Any] = {"data": [{"b64_json": b64} for b64 in images]}
    if created is not None:
        body["created"] = created
    first = response_from_image_generation(body, generation_id=None)
    second = response_from_image_generation(json.loads(json.dumps(body)), generation_id=None)
    ids = [c.id for c in first.image_generation_calls]
    assert ids == [c.id for c in second.image_generation_calls]
    assert len(set(ids)) == len(images)
    assert [c.result for c in first.image_generation_calls] == images
