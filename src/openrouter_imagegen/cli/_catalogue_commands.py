"""`models` and `estimate`: what the catalogue says before anything is paid for."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import click

from openrouter_imagegen.cli._console import JSON_ERRORS
from openrouter_imagegen.cli._options import (
    client_options,
    connection_options,
    generation_options,
    read_prompt,
    to_generation_options,
)

if TYPE_CHECKING:
    from openrouter_imagegen.client import AsyncImageClient, CostEstimate
    from openrouter_imagegen.models.chat_models import ChatModel
    from openrouter_imagegen.models.images import ImageModel, ImageModelEndpoints

__all__ = ["estimate", "models"]


def _cheapest(endpoints: ImageModelEndpoints | None) -> tuple[float, str] | None:
    """The lowest output price over the endpoints, with its unit."""
    prices = [
        (line.cost_usd, line.unit)
        for endpoint in (endpoints.endpoints if endpoints else ())
        for line in endpoint.pricing
        if line.billable == "output_image"
    ]
    return min(prices) if prices else None


def _image_row(model: ImageModel, endpoints: ImageModelEndpoints | None) -> dict[str, Any]:
    price = _cheapest(endpoints)
    return {
        "id": model.id,
        "name": model.name,
        "route": "images",
        "streaming": model.supports_streaming,
        "parameters": sorted(model.supported_parameters),
        "price_usd": price[0] if price else None,
        "unit": price[1] if price else None,
        "output_modalities": ["image"],
    }


def _chat_row(model: ChatModel) -> dict[str, Any]:
    image_price = (model.pricing or {}).get("image")
    try:
        price = float(image_price) if image_price is not None else None
    except (TypeError, ValueError):
        price = None
    return {
        "id": model.id,
        "name": model.name,
        "route": "chat",
        "streaming": True,
        "parameters": sorted(model.supported_parameters or ()),
        "price_usd": price or None,
        "unit": "image" if price else None,
        "output_modalities": model.output_modalities,
    }


async def _rows(client: AsyncImageClient, text: str | None) -> list[dict[str, Any]]:
    image_models = await client.image_models()
    chat_models = await client.chat_image_models()
    wanted = text.lower() if text else None

    def matches(model: Any) -> bool:
        return wanted is None or wanted in f"{model.id} {model.name or ''}".lower()

    chosen = [m for m in image_models if matches(m)]
    endpoints = await asyncio.gather(
        *(client.image_model_endpoints(m.id) for m in chosen), return_exceptions=True
    )
    rows = [
        _image_row(model, found if not isinstance(found, BaseException) else None)
        for model, found in zip(chosen, endpoints, strict=True)
    ]
    served = {row["id"] for row in rows}
    rows += [_chat_row(m) for m in chat_models if matches(m) and m.id not in served]
    return rows


@click.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable rows on stdout.")
@connection_options
def models(text: str | None, as_json: bool, **kwargs: Any) -> None:
    """The image models: the Image API's, then the chat models that output images.

    TEXT keeps only models whose id or name contains it. Prices are the cheapest
    endpoint's, per unit (image or megapixel).
    """
    from openrouter_imagegen.cli._session import explained, make_async_client

    JSON_ERRORS["enabled"] = as_json
    connection = client_options(kwargs)

    async def listing() -> list[dict[str, Any]]:
        async with make_async_client(connection) as client:
            return await _rows(client, text)

    with explained(connection["base_url"]):
        rows = asyncio.run(listing())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{len(rows)} image model(s)")
    for column in ("id", "name", "route", "streaming", "parameters", "cheapest"):
        table.add_column(column, overflow="fold")
    for row in rows:
        price = f"${row['price_usd']:.4f} / {row['unit']}" if row["price_usd"] else "-"
        cells = (
            row["id"],
            row["name"] or "-",
            row["route"],
            "yes" if row["streaming"] else "no",
            ", ".join(row["parameters"]) or "-",
            price,
        )
        table.add_row(*map(escape, cells))  # what a server sent is text, never markup
    Console(soft_wrap=True).print(table)


def _estimate_json(found: CostEstimate) -> dict[str, Any]:
    return {
        "model": found.model,
        "low_usd": found.low,
        "high_usd": found.high,
        "reason": found.reason,
        "notes": found.notes,
        "lines": [line.to_dict() for line in found.lines],
    }


@click.command()
@click.argument("prompt")
@generation_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable estimate on stdout.")
@connection_options
def estimate(prompt: str, model: str, as_json: bool, **kwargs: Any) -> None:
    """What generating PROMPT with MODEL should cost, from the Image API's pricing lines.

    Nothing is generated. Exits 1 when no estimate can be made (the reason is said).
    """
    from openrouter_imagegen._exceptions import ImagegenError
    from openrouter_imagegen.cli._session import explained, make_client

    JSON_ERRORS["enabled"] = as_json
    connection = client_options(kwargs)
    options = to_generation_options(kwargs)
    prompt = read_prompt(prompt)
    with explained(connection["base_url"]), make_client(connection) as client:
        found = client.estimate_cost(prompt, model=model, **options)
    if as_json:
        click.echo(json.dumps(_estimate_json(found), indent=2))
        if not found.known:
            click.get_current_context().exit(1)
        return
    click.echo(f"{model}: {found.describe()}")
    for line in found.lines:
        variant = f" ({line.variant})" if line.variant else ""
        click.echo(f"  {line.billable}{variant}: ${line.cost_usd} per {line.unit}")
    for note in found.notes:
        click.echo(f"  note: {note}")
    if not found.known:
        raise ImagegenError(f"no estimate for {model}: {found.reason}")
