"""The `openrouter-imagegen` commands.

Only click is imported up front, so `--help` stays fast; each command
imports what it uses (httpx, msgspec, rich, the emulator) when it runs.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from openrouter_imagegen._exceptions import ImagegenError

if TYPE_CHECKING:
    from rich.console import Console

    from openrouter_imagegen.client import Endpoint, ImageClient
    from openrouter_imagegen.images import GeneratedImage
    from openrouter_imagegen.models.operations import Response

DEFAULT_MODEL = "openai/gpt-5-image"
FORMATS = click.Choice(["png", "jpeg", "webp"])
QUALITIES = click.Choice(["low", "medium", "high", "auto"])
BACKGROUNDS = click.Choice(["transparent", "opaque", "auto"])
ENDPOINTS = click.Choice(["responses", "chat"])


def _stderr() -> Console:
    from rich.console import Console

    # rich honours NO_COLOR itself; no live widgets unless stderr is a terminal.
    return Console(stderr=True, highlight=False, soft_wrap=True)


def _client(base_url: str | None, timeout: float | None, max_retries: int) -> ImageClient:
    from openrouter_imagegen.client import ImageClient

    return ImageClient(
        base_url=base_url, timeout=timeout, max_retries=max_retries, app_name="openrouter-imagegen"
    )


def _describe(image: GeneratedImage) -> str:
    size = f"{image.width}x{image.height}" if image.width is not None else "size unknown"
    return f"{image.media_type}, {size}, {len(image.data):,} bytes"


def _partial_name(image: GeneratedImage, index: int) -> str:
    return f"{image.filename().rsplit('.', 1)[0]}.partial-{index}.{image.extension}"


def _results(response: Response, images: list[GeneratedImage], paths: list[Path]) -> dict[str, Any]:
    return {
        "response_id": response.id,
        "generation_id": response.generation_id,
        "model": response.model,
        "status": str(response.status) if response.status else None,
        "images": [
            {
                "path": str(path),
                "id": image.call_id,
                "media_type": image.media_type,
                "width": image.width,
                "height": image.height,
                "bytes": len(image.data),
            }
            for image, path in zip(images, paths, strict=True)
        ],
        "usage": response.usage.to_dict() if response.usage else None,
    }


def _report(
    response: Response,
    images: list[GeneratedImage],
    paths: list[Path],
    as_json: bool,
) -> None:
    if as_json:
        click.echo(json.dumps(_results(response, images, paths), indent=2))
        return
    for image, path in zip(images[:-1], paths[:-1], strict=False):
        click.echo(f"saved {path} ({_describe(image)})")
    click.echo(f"saved {paths[-1]} ({_describe(images[-1])})")


def _stream(
    client: ImageClient,
    prompt: str,
    options: dict[str, Any],
    output: Path,
    save_partials: bool,
    console: Console,
) -> Response:
    """Stream one generation, showing progress on stderr."""
    from rich.status import Status

    live = console.is_terminal
    status = Status("waiting for the server…", console=console) if live else None
    if status:
        status.start()
    try:
        with client.stream(prompt, **options) as stream:
            for update in stream:
                preview = update.partial_image
                call = update.response.image_generation_calls
                state = str(call[0].status) if call else "starting"
                message = f"{state}: {len(stream.partial_images)} partial image(s) received"
                if preview is not None:
                    if save_partials:
                        image = preview.image()
                        directory = (
                            output if output.is_dir() or not output.suffix else output.parent
                        )
                        directory.mkdir(parents=True, exist_ok=True)
                        name = _partial_name(image, preview.partial_image_index)
                        path = image.save(directory / name, overwrite=True)
                        message += f" (saved {path})"
                    if not live:
                        console.print(message)
                if status:
                    status.update(message)
            return stream.final_response()
    finally:
        if status:
            status.stop()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="openrouter-imagegen")
def cli() -> None:
    """Generate images through OpenRouter and get them back as typed, validated, saved files.

    Reads OPENROUTER_API_KEY and OPENROUTER_BASE_URL from the environment.
    """


def _generation_options(function: Any) -> Any:
    options = [
        click.option(
            "-m",
            "--model",
            default=lambda: os.environ.get("OPENROUTER_IMAGEGEN_MODEL", DEFAULT_MODEL),
            show_default=DEFAULT_MODEL,
            help="Model id.",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Path(path_type=Path),
            default=Path("."),
            show_default=True,
            help="Directory or file to save to.",
        ),
        click.option("--size", help="WIDTHxHEIGHT, e.g. 1024x1024."),
        click.option("--aspect-ratio", help="W:H, e.g. 16:9."),
        click.option("--format", "output_format", type=FORMATS, help="Image format."),
        click.option("--quality", type=QUALITIES),
        click.option("--background", type=BACKGROUNDS),
        click.option("-n", "n", type=click.IntRange(1, 10), help="How many images."),
        click.option(
            "--stream/--no-stream",
            default=False,
            show_default=True,
            help="Stream progress and partial images.",
        ),
        click.option(
            "--save-partials", is_flag=True, help="With --stream, save each partial image too."
        ),
        click.option("--endpoint", type=ENDPOINTS, default="responses", show_default=True),
        click.option(
            "--base-url",
            envvar="OPENROUTER_BASE_URL",
            help="API base URL (env OPENROUTER_BASE_URL).",
        ),
        click.option("--timeout", type=float, default=None, help="Seconds to wait for the server."),
        click.option("--max-retries", type=click.IntRange(0, 20), default=2, show_default=True),
        click.option("--overwrite", is_flag=True, help="Replace existing files."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable results on stdout."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _run_generation(
    prompt: str, kwargs: dict[str, Any], previous: Any = None, images: tuple[Path, ...] = ()
) -> None:
    from openrouter_imagegen.images import save_all

    output: Path = kwargs.pop("output")
    as_json: bool = kwargs.pop("as_json")
    stream: bool = kwargs.pop("stream")
    save_partials: bool = kwargs.pop("save_partials")
    overwrite: bool = kwargs.pop("overwrite")
    endpoint: Endpoint = kwargs.pop("endpoint")
    console = _stderr()
    with _client(
        kwargs.pop("base_url"), kwargs.pop("timeout"), kwargs.pop("max_retries")
    ) as client:
        options = {k: v for k, v in kwargs.items() if v is not None}
        if previous is not None or images:
            response = client.edit(previous, prompt, images=list(images), **options)
        elif stream:
            if endpoint != "responses":
                options["endpoint"] = endpoint
            response = _stream(client, prompt, options, output, save_partials, console)
        else:
            response = client.generate(prompt, endpoint=endpoint, **options)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = client.images(response)
    for warning in caught:  # one clean line each, not Python's warning format
        console.print(f"warning: {warning.message}")
    if not found:
        raise ImagegenError(f"no image came back (response status {response.status or 'unknown'})")
    paths = save_all(found, output, overwrite=overwrite)
    _report(response, found, paths, as_json)


@cli.command()
@click.argument("prompt")
@_generation_options
def generate(prompt: str, **kwargs: Any) -> None:
    """Generate images from PROMPT and save them."""
    _run_generation(prompt, kwargs)


@cli.command()
@click.argument("image_or_response", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("prompt")
@_generation_options
def edit(image_or_response: Path, prompt: str, **kwargs: Any) -> None:
    """Refine an earlier image: an image file, or a saved response whose images to continue."""
    from openrouter_imagegen.images import sniff_media_type

    head = image_or_response.read_bytes()[:4096]
    if sniff_media_type(head) is not None:
        _run_generation(prompt, kwargs, images=(image_or_response,))
        return
    from openrouter_imagegen.cli._saved import read_saved
    from openrouter_imagegen.models.operations import Response

    saved = read_saved(image_or_response)
    calls = [call for _, call in saved.calls if call.result]
    if saved.error or not calls:
        raise ImagegenError(f"{image_or_response}: {saved.error or 'holds no image to refine'}")
    _run_generation(prompt, kwargs, previous=Response(output=list(calls)))


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option(
    "--api-key-env", default=None, help="Require the key held in this environment variable."
)
@click.option("--faults", default="", help="Comma-separated faults to inject, e.g. 429,500,reset.")
@click.option("--fault-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--seed", type=int, default=0)
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (needs a key).")
def serve(
    host: str,
    port: int,
    api_key_env: str | None,
    faults: str,
    fault_rate: float,
    seed: int,
    allow_remote: bool,
) -> None:
    """Run the local OpenRouter-compatible emulator."""
    from openrouter_imagegen.emulator import serve as serve_emulator

    api_key = os.environ.get(api_key_env) if api_key_env else None
    click.echo(f"emulator: http://{host}:{port}/api/v1", err=True)
    try:
        serve_emulator(
            host=host,
            port=port,
            api_key=api_key,
            faults=tuple(f for f in faults.split(",") if f),
            fault_rate=fault_rate,
            seed=seed,
            allow_remote=allow_remote,
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
)
def demo(output: Path) -> None:
    """Start the emulator on 127.0.0.1, generate an image over real HTTP, save it, stop."""
    from openrouter_imagegen.client import ImageClient
    from openrouter_imagegen.emulator import run

    console = _stderr()
    prompt = "a lighthouse on a cliff at dusk, watercolour"
    with run() as base_url, ImageClient(base_url=base_url, api_key="") as client:
        console.print(f"emulator running at {base_url}")
        response = _stream(
            client,
            prompt,
            {"model": DEFAULT_MODEL, "size": "768x512", "partial_images": 2},
            output,
            False,
            console,
        )
        images = response.images()
    output.mkdir(parents=True, exist_ok=True)
    paths = [image.save(output, overwrite=True) for image in images]
    console.print(f"generated {len(paths)} image(s) from {prompt!r}; the emulator has stopped")
    for image, path in zip(images, paths, strict=True):
        click.echo(f"saved {path} ({_describe(image)})")


# Registered last: the batch command imports this module's helpers.
from openrouter_imagegen.cli._batch_command import batch  # noqa: E402
from openrouter_imagegen.cli._saved_commands import extract, inspect  # noqa: E402

for _command in (batch, extract, inspect):
    cli.add_command(_command)
