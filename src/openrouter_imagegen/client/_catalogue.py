"""What the model catalogues decide before anything is paid for, sans I/O.

The clients fetch the catalogues (`GET /images/models`, a model's endpoints,
`GET /models?output_modalities=image`) and cache them; the pure functions
here then choose the route for a model, check the options against what the
model's endpoints accept, and estimate the cost from their pricing lines.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from openrouter_imagegen._exceptions import UnsupportedModelError, UnsupportedParameterError
from openrouter_imagegen.client._options import IMAGE_API_OPTIONS
from openrouter_imagegen.models.chat_models import ChatModel
from openrouter_imagegen.models.images import (
    ImageEndpoint,
    ImageModel,
    ImagePricingEntry,
    ParameterDescriptor,
)
from openrouter_imagegen.models.routes import Route

__all__ = [
    "TIERS",
    "Cache",
    "CostEstimate",
    "RouteChoice",
    "check_parameters",
    "choose_route",
    "estimate_cost",
    "output_dimensions",
]

_V = TypeVar("_V")

# The long side, in pixels, of each resolution tier.
TIERS = {"512": 512, "1K": 1024, "2K": 2048, "4K": 4096}
# An endpoint lists those of these it accepts among its supported parameters.
_CHECKED = (*IMAGE_API_OPTIONS, "input_references")


class Cache(Generic[_V]):
    """Values kept for `ttl` seconds (a catalogue changes rarely; a request is slow)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._values: dict[str, tuple[float, _V]] = {}

    def get(self, key: str) -> _V | None:
        entry = self._values.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, key: str, value: _V) -> _V:
        self._values[key] = (time.monotonic(), value)
        return value


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """Where a generation goes, and what a chat model is asked to output."""

    route: Route
    modalities: tuple[str, ...] = ("image", "text")


def choose_route(
    model: str,
    image_models: Sequence[ImageModel] | None,
    chat_models: Sequence[ChatModel] | None,
) -> RouteChoice:
    """`endpoint="auto"`: the Image API for a model in its catalogue, else chat
    completions with the model's own output modalities.

    A catalogue the server does not have is None. A model that is in neither
    catalogue cannot output images: `UnsupportedModelError`, naming the
    closest image models. With no catalogue at all (a server that lists no
    models), chat completions are used as a compatible server expects.
    """
    if image_models is None and chat_models is None:
        return RouteChoice("chat")
    if any(entry.id == model for entry in image_models or ()):
        return RouteChoice("images")
    for entry in chat_models or ():
        if entry.id == model:
            outputs = [m for m in ("image", "text") if m in entry.output_modalities]
            if "image" in outputs:
                return RouteChoice("chat", tuple(outputs))
    known = [entry.id for entry in image_models or ()] + [entry.id for entry in chat_models or ()]
    closest = difflib.get_close_matches(model, dict.fromkeys(known), n=3, cutoff=0.3)
    hint = f"; the closest image models: {', '.join(closest)}" if closest else ""
    raise UnsupportedModelError(
        f"{model!r} is not a model that outputs images{hint}",
        model=model,
        suggestions=closest,
    )


def _chosen_endpoints(
    endpoints: Sequence[ImageEndpoint], provider: Mapping[str, Any] | None
) -> list[ImageEndpoint]:
    """The endpoints a request may reach, after the provider preferences."""
    chosen = list(endpoints)
    provider = provider or {}
    only, ignore = provider.get("only"), provider.get("ignore")
    if only:
        chosen = [e for e in chosen if e.provider_slug in only or e.provider_tag in only]
    if ignore:
        chosen = [e for e in chosen if e.provider_slug not in ignore]
    return chosen


def _option_value(name: str, value: Any) -> Any:
    # A list of references is checked as "given"; the API bounds its length itself.
    return True if name == "input_references" else value


def check_parameters(
    model: str, endpoints: Sequence[ImageEndpoint], options: Mapping[str, Any]
) -> None:
    """Raise `UnsupportedParameterError` for an option that none of `model`'s
    endpoints accepts, or a value outside every endpoint's `enum` or `range`."""
    reachable = _chosen_endpoints(endpoints, options.get("provider"))
    for name in _CHECKED:
        if options.get(name) is None:
            continue
        value = _option_value(name, options[name])
        key = "resolution" if name == "size" and value in TIERS else name
        descriptors: list[ParameterDescriptor] = [
            e.supported_parameters[key] for e in reachable if key in e.supported_parameters
        ]
        if not descriptors:
            raise UnsupportedParameterError(
                f"{model} does not support {name!r} (it takes "
                f"{_names(reachable) or 'no parameters'})",
                model=model,
                parameter=name,
                value=options[name],
                accepted=None,
            )
        if not any(d.accepts(value) for d in descriptors):
            accepted = "; or ".join(dict.fromkeys(d.describe() for d in descriptors))
            raise UnsupportedParameterError(
                f"{model} does not accept {name}={options[name]!r}: it takes {accepted}",
                model=model,
                parameter=name,
                value=options[name],
                accepted=accepted,
            )


def _names(endpoints: Iterable[ImageEndpoint]) -> str:
    return ", ".join(sorted({name for e in endpoints for name in e.supported_parameters}))


def output_dimensions(options: Mapping[str, Any]) -> tuple[int, int] | None:
    """The pixels asked for: an explicit `WxH` size, or a tier at the aspect ratio."""
    size, resolution = options.get("size"), options.get("resolution")
    if isinstance(size, str) and "x" in size.lower():
        width, _, height = size.lower().partition("x")
        if width.isdigit() and height.isdigit():
            return int(width), int(height)
        return None
    tier = size if isinstance(size, str) and size in TIERS else resolution
    if tier not in TIERS:
        return None
    side = TIERS[tier]
    ratio = _ratio(options.get("aspect_ratio"))
    if ratio >= 1:
        return side, max(1, round(side / ratio))
    return max(1, round(side * ratio)), side


def _ratio(aspect: Any) -> float:
    if not isinstance(aspect, str) or ":" not in aspect:
        return 1.0
    width, _, height = aspect.partition(":")
    try:
        ratio = float(width) / float(height)
    except (ValueError, ZeroDivisionError):
        return 1.0
    return ratio if ratio > 0 else 1.0


@dataclass(frozen=True)
class CostEstimate:
    """What a generation should cost, in USD, from the model's pricing lines.

    `low` and `high` bound it over the endpoints that may serve the request
    (equal when only one price applies); both are None when it cannot be
    estimated, and `reason` says why. `lines` are the pricing lines used.
    """

    model: str
    low: float | None
    high: float | None
    lines: list[ImagePricingEntry] = field(default_factory=list)
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def known(self) -> bool:
        return self.low is not None and self.high is not None

    def describe(self) -> str:
        """One line for people: "$0.0400", "$0.02 to $0.08", or why it is unknown."""
        if self.low is None or self.high is None:
            return f"unknown ({self.reason})"
        if abs(self.high - self.low) < 1e-12:
            return f"${self.low:.4f}"
        return f"${self.low:.4f} to ${self.high:.4f}"


class _Unknown(Exception):
    """A pricing line whose amount cannot be known before the request."""


def _line_cost(
    line: ImagePricingEntry, prompt: str, options: Mapping[str, Any], references: int
) -> tuple[float, float]:
    n = int(options.get("n") or 1)
    if line.billable == "output_image":
        if line.unit == "image":
            cost = line.cost_usd * n
            return cost, cost
        if line.unit == "megapixel":
            size = output_dimensions(options)
            if size is None:
                raise _Unknown("it is priced per megapixel and no size or resolution was given")
            cost = line.cost_usd * n * size[0] * size[1] / 1_000_000
            return cost, cost
    if line.billable in ("input_image", "input_reference") and line.unit == "image":
        cost = line.cost_usd * references
        return cost, cost
    if line.billable == "input_text" and line.unit == "token":
        # No tokenizer here: nothing below, one token per UTF-8 byte above.
        return 0.0, line.cost_usd * len(prompt.encode("utf-8"))
    if line.billable in ("input_image", "input_reference") and references == 0:
        return 0.0, 0.0
    raise _Unknown(f"{line.billable} is priced per {line.unit}, which is not known in advance")


def _endpoint_cost(
    endpoint: ImageEndpoint, prompt: str, options: Mapping[str, Any], references: int
) -> tuple[float, float, list[ImagePricingEntry]]:
    """An endpoint's bounds: lines of one kind that differ by `variant` give a range,
    unless an option's value names the variant."""
    wanted = {str(v).lower() for v in options.values() if isinstance(v, str | int)}
    groups: dict[tuple[str, str], list[ImagePricingEntry]] = {}
    for line in endpoint.pricing:
        groups.setdefault((line.billable, line.unit), []).append(line)
    low = high = 0.0
    used: list[ImagePricingEntry] = []
    for lines in groups.values():
        named = [line for line in lines if line.variant and line.variant.lower() in wanted]
        lines = named or lines
        costs = [_line_cost(line, prompt, options, references) for line in lines]
        low += min(c[0] for c in costs)
        high += max(c[1] for c in costs)
        used += lines
    return low, high, used


def estimate_cost(
    model: str, endpoints: Sequence[ImageEndpoint], prompt: str, options: Mapping[str, Any]
) -> CostEstimate:
    """The cost of generating `prompt` with `options`, bounded over `model`'s endpoints."""
    reachable = _chosen_endpoints(endpoints, options.get("provider"))
    if not reachable:
        return CostEstimate(model, None, None, reason="no endpoint serves this request")
    references = len(options.get("input_references") or ())
    bounds: list[tuple[float, float]] = []
    lines: list[ImagePricingEntry] = []
    notes: list[str] = []
    for endpoint in reachable:
        try:
            low, high, used = _endpoint_cost(endpoint, prompt, options, references)
        except _Unknown as exc:
            notes.append(f"{endpoint.provider_slug}: {exc}")
            continue
        if not used:
            notes.append(f"{endpoint.provider_slug}: publishes no price")
            continue
        bounds.append((low, high))
        lines += used
    if not bounds:
        return CostEstimate(model, None, None, reason="; ".join(notes), notes=notes)
    return CostEstimate(
        model,
        round(min(b[0] for b in bounds), 10),
        round(max(b[1] for b in bounds), 10),
        lines=lines,
        notes=notes,
    )
