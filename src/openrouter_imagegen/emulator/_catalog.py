"""Every model the emulator serves, in one table: chat models and the Image API's models.

Chat models answer `/responses` and `/chat/completions` and are listed by
`GET /models`; Image API models answer `POST /images` and are listed by
`GET /images/models`, each with the parameters it accepts and its pricing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "IMAGE_MODELS",
    "MODELS",
    "ImageModel",
    "image_model",
    "image_model_endpoints",
    "image_models_listing",
    "is_served",
    "models_listing",
    "output_modalities",
]

_CREATED = 1750000000
_CONTEXT_LENGTH = 32768
_MODALITY_ORDER = ("text", "image")  # how OpenRouter writes `modality`: text+image->text+image
_LISTABLE = ("text", "image", "audio", "embeddings")


@dataclass(frozen=True, slots=True)
class _ChatModel:
    id: str
    name: str
    output_modalities: tuple[str, ...] = ("image", "text")


_CHAT_MODELS = (
    _ChatModel("openai/gpt-5-image", "OpenAI: GPT-5 Image"),
    _ChatModel("openai/gpt-image-1", "OpenAI: GPT Image 1"),
    _ChatModel("google/gemini-2.5-flash-image", "Google: Gemini 2.5 Flash Image"),
    _ChatModel("emulator/pillow-image", "Emulator: Pillow Image"),
    _ChatModel("black-forest-labs/flux.2-pro", "Black Forest Labs: FLUX.2 Pro", ("image",)),
)
_CHAT_BY_ID = {model.id: model for model in _CHAT_MODELS}
# What `GET /models` lists without a filter: OpenRouter's default is the models that output text.
MODELS = tuple(model.id for model in _CHAT_MODELS if "text" in model.output_modalities)


def _enum(*values: str) -> dict[str, Any]:
    return {"type": "enum", "values": list(values)}


def _range(low: int, high: int) -> dict[str, Any]:
    return {"type": "range", "min": low, "max": high}


_FLAG = {"type": "boolean"}  # accepted, with any value of the parameter's type
_WIDE_ASPECTS = ("1:1", "2:3", "3:2", "3:4", "4:3", "9:16", "16:9", "21:9", "9:21")


@dataclass(frozen=True, slots=True)
class ImageModel:
    """An Image API model, served by one endpoint.

    `parameters` maps each request parameter the endpoint accepts to its
    capability descriptor (`enum` values, a numeric `range`, or `boolean`:
    accepted as is); `pricing` maps a unit (`image` or `megapixel`) to the
    USD it costs per output image or per megapixel of output. The first
    `output_format` value is the default one.
    """

    id: str
    name: str
    description: str
    provider_name: str
    provider_slug: str
    parameters: Mapping[str, Mapping[str, Any]]
    streaming: bool
    pricing: Mapping[str, float]
    input_modalities: tuple[str, ...] = ("text", "image")
    passthrough: tuple[str, ...] = ()  # options accepted under provider.options[provider_slug]

    @property
    def default_format(self) -> str:
        return str(self.parameters["output_format"]["values"][0])

    def cost(self, width: int, height: int, images: int) -> float:
        """What `images` pictures of `width` x `height` pixels cost, by the pricing lines."""
        units = {"image": 1.0, "megapixel": width * height / 1_000_000}
        return round(sum(units[unit] * usd * images for unit, usd in self.pricing.items()), 10)


_IMAGE_MODELS = (
    ImageModel(
        id="openai/gpt-image-1",
        name="OpenAI: GPT Image 1",
        description="Streams partial images as it draws; priced per image.",
        provider_name="OpenAI",
        provider_slug="openai",
        parameters={
            "n": _range(1, 10),
            "size": _FLAG,
            "aspect_ratio": _enum("1:1", "2:3", "3:2", "auto"),
            "quality": _enum("auto", "low", "medium", "high"),
            "background": _enum("auto", "transparent", "opaque"),
            "output_format": _enum("png", "jpeg", "webp"),
            "output_compression": _range(0, 100),
            "input_references": _FLAG,
        },
        streaming=True,
        pricing={"image": 0.04},
    ),
    ImageModel(
        id="black-forest-labs/flux-1.1-pro",
        name="Black Forest Labs: FLUX 1.1 [pro]",
        description="One image per request, priced per megapixel.",
        provider_name="Black Forest Labs",
        provider_slug="black-forest-labs",
        parameters={
            "n": _range(1, 1),
            "size": _FLAG,
            "aspect_ratio": _enum(*_WIDE_ASPECTS),
            "output_format": _enum("jpeg", "png"),
            "seed": _FLAG,
            "input_references": _FLAG,
        },
        streaming=False,
        pricing={"megapixel": 0.04},
        passthrough=("guidance", "steps", "safety_tolerance"),
    ),
    ImageModel(
        id="bytedance-seed/seedream-4.5",
        name="ByteDance Seed: Seedream 4.5",
        description="Seeded, in 1K, 2K or 4K tiers; priced per image.",
        provider_name="Bytedance",
        provider_slug="bytedance",
        parameters={
            "n": _range(1, 4),
            "size": _FLAG,
            "resolution": _enum("1K", "2K", "4K"),
            "aspect_ratio": _enum(*_WIDE_ASPECTS),
            "output_format": _enum("png", "jpeg"),
            "seed": _FLAG,
            "input_references": _FLAG,
        },
        streaming=False,
        pricing={"image": 0.03},
    ),
    ImageModel(
        id="recraft/recraft-v3-svg",
        name="Recraft: Recraft V3 SVG",
        description="Vector images as SVG markup, streamed as text; priced per image.",
        provider_name="Recraft",
        provider_slug="recraft",
        parameters={
            "n": _range(1, 2),
            "size": _FLAG,
            "aspect_ratio": _enum("1:1", "2:3", "3:2", "4:5", "5:4", "9:16", "16:9"),
            "output_format": _enum("svg"),
        },
        streaming=True,
        pricing={"image": 0.08},
        input_modalities=("text",),
    ),
)
_IMAGE_BY_ID = {model.id: model for model in _IMAGE_MODELS}
IMAGE_MODELS = tuple(_IMAGE_BY_ID)


def is_served(model: str) -> bool:
    """Listed chat models, and any other id naming an image model, so that new ones just work."""
    return model in _CHAT_BY_ID or "image" in model


def output_modalities(model: str) -> tuple[str, ...]:
    """What a served chat model can output; an unlisted one, text and images."""
    listed = _CHAT_BY_ID.get(model)
    return listed.output_modalities if listed else ("image", "text")


def image_model(model: str) -> ImageModel:
    """The Image API model `model` (one of `IMAGE_MODELS`)."""
    return _IMAGE_BY_ID[model]


def models_listing(wanted: str | None = None) -> dict[str, Any]:
    """`GET /models`: the chat models with an output in `wanted` (comma-separated, or `all`).

    Raises `ValueError` naming an unknown modality.
    """
    asked = {part.strip() for part in (wanted or "text").split(",")}
    unknown = sorted(asked - {"all", *_LISTABLE})
    if unknown:
        raise ValueError(
            f"output_modalities: expected a comma-separated list of {', '.join(_LISTABLE)} "
            f"or 'all', got {', '.join(map(repr, unknown))}"
        )
    data = [
        _chat_entry(model)
        for model in _CHAT_MODELS
        if "all" in asked or asked & set(model.output_modalities)
    ]
    return {"data": data, "total_count": len(data), "links": {"next": None}}


def _chat_entry(model: _ChatModel) -> dict[str, Any]:
    inputs = ["text", "image"]
    outputs = [m for m in _MODALITY_ORDER if m in model.output_modalities]
    return {
        "id": model.id,
        "canonical_slug": model.id,
        "name": model.name,
        "created": _CREATED,
        "description": f"{model.name}, emulated locally with Pillow.",
        "context_length": _CONTEXT_LENGTH,
        "architecture": {
            "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
            "input_modalities": inputs,
            "output_modalities": list(model.output_modalities),
            "tokenizer": "Other",
            "instruct_type": None,
        },
        "pricing": {"prompt": "0", "completion": "0", "image": "0.04", "request": "0"},
        "top_provider": {
            "context_length": _CONTEXT_LENGTH,
            "max_completion_tokens": None,
            "is_moderated": False,
        },
        "per_request_limits": None,
        "supported_parameters": ["seed", "tools", "tool_choice"],
        "default_parameters": None,
        "supported_voices": None,
        "links": {"details": f"/api/v1/models/{model.id}/endpoints"},
    }


def image_models_listing() -> dict[str, Any]:
    """`GET /images/models`."""
    return {
        "data": [
            {
                "id": model.id,
                "name": model.name,
                "description": model.description,
                "created": _CREATED,
                "architecture": {
                    "input_modalities": list(model.input_modalities),
                    "output_modalities": ["image"],
                },
                # One endpoint per model: its parameters are the union over endpoints.
                "supported_parameters": _plain(model.parameters),
                "supports_streaming": model.streaming,
                "endpoints": f"/api/v1/images/models/{model.id}/endpoints",
            }
            for model in _IMAGE_MODELS
        ]
    }


def image_model_endpoints(model_id: str) -> dict[str, Any] | None:
    """`GET /images/models/{author}/{slug}/endpoints`, or None for an unknown model."""
    model = _IMAGE_BY_ID.get(model_id)
    if model is None:
        return None
    endpoint = {
        "provider_name": model.provider_name,
        "provider_slug": model.provider_slug,
        "provider_tag": model.provider_slug,
        "supported_parameters": _plain(model.parameters),
        "allowed_passthrough_parameters": list(model.passthrough),
        "supports_streaming": model.streaming,
        "pricing": [
            {"billable": "output_image", "unit": unit, "cost_usd": usd}
            for unit, usd in model.pricing.items()
        ],
    }
    return {"id": model.id, "endpoints": [endpoint]}


def _plain(parameters: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {name: dict(descriptor) for name, descriptor in parameters.items()}
