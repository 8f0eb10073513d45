"""The chat models listing, `GET /models` (with `?output_modalities=image` for
the chat models that output images)."""

from __future__ import annotations

from typing import Any

import msgspec

from openrouter_imagegen.models._base import WireModel

__all__ = ["ChatModel", "ChatModelArchitecture", "ChatModelsList"]


class ChatModelArchitecture(WireModel, kw_only=True):
    """What a model takes and gives: "text", "image", "file", "audio", ..."""

    modality: str | None = None
    input_modalities: list[str] = msgspec.field(default_factory=list)
    output_modalities: list[str] = msgspec.field(default_factory=list)


class ChatModel(WireModel, kw_only=True):
    """One model of the listing; the fields not named here are kept in its source."""

    id: str
    name: str | None = None
    description: str | None = None
    architecture: ChatModelArchitecture | None = None
    pricing: dict[str, Any] | None = None
    supported_parameters: list[str] | None = None

    @property
    def output_modalities(self) -> list[str]:
        return list(self.architecture.output_modalities) if self.architecture else []


class ChatModelsList(WireModel, kw_only=True):
    """The body of `GET /models`."""

    data: list[ChatModel]
