"""The image models the emulator serves, and its `GET /models` listing."""

from __future__ import annotations

from typing import Any

__all__ = ["MODELS", "is_served", "models_listing"]

_NAMES = {
    "openai/gpt-5-image": "OpenAI: GPT-5 Image",
    "openai/gpt-image-1": "OpenAI: GPT Image 1",
    "google/gemini-2.5-flash-image": "Google: Gemini 2.5 Flash Image",
    "emulator/pillow-image": "Emulator: Pillow Image",
}
MODELS = tuple(_NAMES)
_CONTEXT_LENGTH = 32768


def is_served(model: str) -> bool:
    """Listed models, and any other id naming an image model, so that new ones just work."""
    return model in _NAMES or "image" in model


def models_listing() -> dict[str, Any]:
    data = [
        {
            "id": model_id,
            "canonical_slug": model_id,
            "name": name,
            "created": 1750000000,
            "description": f"{name}, emulated locally with Pillow.",
            "context_length": _CONTEXT_LENGTH,
            "architecture": {
                "modality": "text+image->text+image",
                "input_modalities": ["text", "image"],
                "output_modalities": ["image", "text"],
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
            "links": {"details": f"/api/v1/models/{model_id}/endpoints"},
        }
        for model_id, name in _NAMES.items()
    ]
    return {"data": data, "total_count": len(data), "links": {"next": None}}
